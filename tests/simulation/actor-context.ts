import type { Violation } from "./checks";
import type { Model } from "./model";
import type { Prng } from "./prng";
import type { SimStore } from "./store";
import type { Trace } from "./trace";
import { type Instance, SEED_USER } from "./world";

/** What an actor may touch: the instances it calls through, and the simulator's books. */
export interface ActorContext {
  prng: Prng;
  model: Model;
  trace: Trace;
  store: SimStore;
  instances: Instance[];
  /** Users the oracle last saw with operations open, most first (heals prefer them). */
  openUsers: () => string[];
  /** This seed's share of traffic that goes to one hot user (swarm testing). */
  hotUserChance: number;
  /** Makes an instance's round trips crawl for a while (faults.ts, Weather.slowUntil). */
  slowDown(instance: string, ms: number): void;
  /** A prefix that changes with every clock jump and every virtual day: keys whose claims
   * live 24 h are reused within it (to race and replay) and never across it. */
  keyEpoch: () => string;
  violate(v: Violation): void;
  /** How many requests have failed or lost their answer so far (faults.ts Network). */
  networkFailures: () => number;
  /** Numbers for labels, per run (module state would leak from one run into the next). */
  counters: { ops: number; credits: number };
}


export const REGULAR_USERS = ["user-1", "user-2", "user-3", "user-4", "user-5", SEED_USER];

/** "op17 i2 debit user-3 5": how an operation is named in the trace. */
export function label(ctx: ActorContext, inst: Instance, what: string): string {
  return `op${++ctx.counters.ops} ${inst.name} ${what}`;
}

export function pickUser(ctx: ActorContext): string {
  const p = ctx.prng;
  if (p.chance(ctx.hotUserChance)) return REGULAR_USERS[0]!;
  // Users met through their first requests join the crowd once those are answered (until
  // then their first requests must be their only activity: see firstRequests).
  const known = [...ctx.model.users.values()].filter((u) => !u.fresh && u.id.startsWith("new-") && !ctx.model.reserved.has(u.id)).map((u) => u.id);
  if (known.length > 0 && p.chance(0.3)) return p.pick(known.slice(-8));
  return p.pick(REGULAR_USERS);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 90)}` : String(error);
}
