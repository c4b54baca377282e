import type { GatePass } from "../../lib/gateway/forwarded-headers";
import { PRICING } from "../../lib/gateway/pricing";
import type { DebitOutcome } from "../../lib/metering";
import type { Violation } from "./checks";
import type { Model } from "./model";
import type { Prng } from "./prng";
import type { SimStore } from "./store";
import type { Trace } from "./trace";
import { ALLOWANCE, type Instance, METERING, SEED_USER } from "./world";

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
}

export const REGULAR_USERS = ["user-1", "user-2", "user-3", "user-4", "user-5", SEED_USER];

/** How a single request's debit is made. */
type Path = "debit" | "coalesced" | "gated";

/** One simulated request's end, as its caller saw it. */
type Ending = "paid" | "refused" | "replay" | "error" | "in-use";

let opCounter = 0;

function label(inst: Instance, what: string): string {
  return `op${++opCounter} ${inst.name} ${what}`;
}

/** Module counters restart with every run, or a second run in one process would differ. */
export function resetOpCounter(): void {
  opCounter = 0;
  creditCalls = 0;
}

function pickUser(ctx: ActorContext): string {
  const p = ctx.prng;
  if (p.chance(ctx.hotUserChance)) return REGULAR_USERS[0]!;
  // Users met through their first requests join the crowd once those are answered (until
  // then their first requests must be their only activity: see firstRequests).
  const known = [...ctx.model.users.values()].filter((u) => !u.fresh && u.id.startsWith("new-") && !ctx.model.reserved.has(u.id)).map((u) => u.id);
  if (known.length > 0 && p.chance(0.3)) return p.pick(known.slice(-8));
  return p.pick(REGULAR_USERS);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 90)}` : String(error);
}

/** A debit made straight through metering or an instance's coalescer (no HTTP). */
async function debitOnce(ctx: ActorContext, inst: Instance, userId: string, cost: number, key: string | null, coalesced: boolean): Promise<Ending> {
  ctx.model.started(userId);
  const via = `${inst.name}/${coalesced ? "coalesced" : "debit"}`;
  const name = label(inst, `${coalesced ? "coalesced " : ""}debit ${userId} ${cost}${key ? ` key=${key}` : ""}`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  let outcome: DebitOutcome;
  try {
    outcome = await (coalesced ? inst.coalescer.debit : inst.metering.debit)({ userId, cost, route: "sim", reason: "Simulated work", idempotencyKey: key });
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
    return "error";
  }
  switch (outcome.status) {
    case "ok": {
      ctx.model.answeredPaid({ id: outcome.debitId, userId, cost, via, startedAt, answeredAt: Date.now() });
      // Now and then the caller dies between its answer and the settle: a healer must do it.
      const dies = ctx.prng.chance(0.08);
      ctx.trace.note(`${name}: paid ${outcome.debitId} balance ${outcome.balance}${dies ? " (caller dies before settling)" : ""}`);
      if (!dies) await outcome.settle().catch((error: unknown) => ctx.trace.note(`${name}: settle failed ${errorText(error)}`));
      return "paid";
    }
    case "insufficient_tokens":
      ctx.trace.note(`${name}: refused, balance ${outcome.balance}`);
      return "refused";
    case "replay":
      ctx.trace.note(`${name}: replay of ${outcome.originalDebitId}`);
      return "replay";
  }
}

/**
 * A request through the gate in the handler (createGate signer:null + metered()). The
 * handler takes some virtual time and then succeeds, answers 4xx or 5xx, or throws; on
 * all but success metered() gives the tokens back.
 */
async function gatedOnce(
  ctx: ActorContext, inst: Instance, userId: string, key: string | null,
  behaviour: "2xx" | "4xx" | "5xx" | "throw", workMs: number, routeId?: string,
): Promise<Ending> {
  ctx.model.started(userId);
  const route = PRICING.find((r) => r.id === routeId) ?? ctx.prng.pick(PRICING);
  const name = label(inst, `gated ${route.id} ${userId} → ${behaviour}${key ? ` key=${key}` : ""}`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  let pass: GatePass | null = null;
  const handler = async (_request: Request, p: GatePass): Promise<Response> => {
    pass = p;
    ctx.model.answeredPaid({ id: p.debitId, userId, cost: p.cost, via: `${inst.name}/gate`, startedAt, answeredAt: Date.now() });
    ctx.trace.note(`${name}: handler runs on ${p.debitId} (balance ${p.balance})`);
    await new Promise((resolve) => setTimeout(resolve, workMs));
    if (behaviour === "throw") throw new Error("simulated handler crash");
    const status = behaviour === "2xx" ? 200 : behaviour === "4xx" ? 422 : 502;
    return new Response(JSON.stringify({ work: status === 200 ? "done" : "failed" }), { status, headers: { "content-type": "application/json" } });
  };
  const headers: Record<string, string> = { authorization: `Bearer ${userId}`, "content-type": "application/json" };
  if (key !== null) headers["idempotency-key"] = key;
  let response: Response;
  try {
    response = await inst.route(handler)(new Request(`http://sim.test${route.path}`, { method: "POST", headers, body: "{}" }));
  } catch (error) {
    ctx.trace.note(`${name}: threw ${errorText(error)}`);
    return "error";
  }
  const status = response.status;
  const p = pass as GatePass | null;
  if (p === null) {
    ctx.trace.note(`${name}: answered ${status} before the handler${response.headers.get("idempotent-replayed") ? " (replayed)" : ""}`);
    if (status === 402) return "refused";
    if (status === 409) return "in-use";
    if (status >= 200 && status < 300) return "replay";
    return "error";
  }
  const refunded = response.headers.get("x-tokens-refunded");
  const remaining = response.headers.get("x-tokens-remaining");
  ctx.trace.note(`${name}: answered ${status} refunded=${refunded ?? "-"} remaining=${remaining ?? "-"}`);
  if (status >= 300) {
    ctx.model.owesRefund(userId, { debitId: p.debitId, why: `metered() answered ${status}`, optional: false });
    if (refunded !== null && remaining !== null) checkRemainingAfterRefund(ctx, userId, p, Number(remaining), status);
  }
  return "paid";
}

/**
 * A refunded answer's X-Tokens-Remaining must be a balance the store held after the
 * refund was applied (and before the answer): anything else tells the client a number
 * that never included the tokens the same answer says were given back.
 */
function checkRemainingAfterRefund(ctx: ActorContext, userId: string, pass: GatePass, remaining: number, status: number): void {
  const appliedAt = ctx.store.refundAppliedAt.get(pass.debitId);
  const held = (ctx.store.balances.get(userId) ?? []).filter((b) => appliedAt !== undefined && b.seq >= appliedAt).map((b) => b.balance);
  if (appliedAt === undefined || !held.includes(remaining)) {
    ctx.violate({
      check: "refunded-answer-shows-balance-after-refund",
      userId,
      detail: `HTTP ${status} for ${pass.debitId} says X-Tokens-Refunded ${pass.cost}, X-Tokens-Remaining ${remaining} (balance before the refund: ${pass.balance}); ` +
        (appliedAt === undefined ? "the refund had not changed the balance yet" : `balances since the refund: ${held.join(", ")}`),
    });
  }
}

/** Everything the scheduler can start, with its weight. */
export const OPERATIONS = {
  debit: 14,
  coalesced: 14,
  gated: 18,
  refund: 6,
  credit: 5,
  reset: 1,
  heal: 5,
  stats: 4,
  slowHeal: 1,
  firstRequest: 3,
  burst: 1,
  monthlyCron: 1,
} as const;

export type OperationKind = keyof typeof OPERATIONS;

/** Starts one operation; the promise ends when its caller got its answer. */
export function startOperation(ctx: ActorContext, kind: OperationKind): Promise<unknown> {
  const p = ctx.prng;
  const inst = p.pick(ctx.instances);
  const maybeKey = (userId: string) => (p.chance(0.25) ? `${ctx.keyEpoch()}-${userId}-r${p.int(1, 6)}` : null);
  switch (kind) {
    case "debit":
    case "coalesced": {
      const userId = pickUser(ctx);
      return debitOnce(ctx, inst, userId, p.pick([1, 3, 5, 10]), maybeKey(userId), kind === "coalesced");
    }
    case "gated": {
      const userId = pickUser(ctx);
      const behaviour = p.weighted({ "2xx": 60, "4xx": 15, "5xx": 10, throw: 15 } as const);
      return gatedOnce(ctx, inst, userId, maybeKey(userId), behaviour, p.int(0, 3_000));
    }
    case "refund":
      return adminRefund(ctx, inst);
    case "credit":
      return topUp(ctx, inst);
    case "reset":
      return resetUser(ctx, inst, pickUser(ctx));
    case "heal": {
      const open = ctx.openUsers();
      const userId = open.length > 0 && p.chance(0.7) ? p.pick(open) : pickUser(ctx);
      const name = label(inst, `heal ${userId}`);
      ctx.trace.note(`${name}: start`);
      return inst.metering.heal(userId).then(
        (r) => ctx.trace.note(`${name}: ${r.locked ? `examined ${r.examined} settled ${r.settled} compensated ${r.compensated} applied ${r.applied} dropped ${r.dropped}` : "locked by another healer"}`),
        (error: unknown) => ctx.trace.note(`${name}: error ${errorText(error)}`),
      );
    }
    case "slowHeal": {
      // A healer whose round trips crawl (each just under the KV timeout) while it works
      // through the user with the most open operations: its pass can outlive the heal
      // lock (15 s), and the next healer then takes the lock in the middle of it.
      const [userId] = ctx.openUsers();
      if (userId === undefined) return Promise.resolve();
      ctx.slowDown(inst.name, p.int(20_000, 40_000));
      const name = label(inst, `slowed heal ${userId}`);
      ctx.trace.note(`${name}: start`);
      return inst.metering.heal(userId).then(
        (r) => ctx.trace.note(`${name}: ${r.locked ? `examined ${r.examined} settled ${r.settled} compensated ${r.compensated} applied ${r.applied} dropped ${r.dropped}` : "locked by another healer"}`),
        (error: unknown) => ctx.trace.note(`${name}: error ${errorText(error)}`),
      );
    }
    case "stats": {
      const userId = pickUser(ctx);
      ctx.model.started(userId);
      const name = label(inst, `stats ${userId}`);
      ctx.trace.note(`${name}: start`);
      return inst.metering.getUserStats(userId).then(
        (s) => ctx.trace.note(`${name}: balance ${s.balance} pending ${s.pending}`),
        (error: unknown) => ctx.trace.note(`${name}: error ${errorText(error)}`),
      );
    }
    case "firstRequest":
      return firstRequests(ctx, inst, 1);
    case "burst":
      return firstRequests(ctx, inst, 30);
    case "monthlyCron": {
      const name = label(inst, "monthly cron");
      ctx.trace.note(`${name}: start`);
      return inst.metering.runMonthlyGrants().then(
        (r) => ctx.trace.note(`${name}: ${r.period} users ${r.users} granted ${r.granted} already ${r.alreadyGranted} failed ${r.failed}`),
        (error: unknown) => ctx.trace.note(`${name}: error ${errorText(error)}`),
      );
    }
  }
}

/**
 * `count` concurrent first requests of a user nobody has seen, each costing 3 against the
 * monthly allowance of 100. Whatever the allowance covers must be served: a refusal here
 * is a false one (unless a request failed outright, which makes the burst inconclusive).
 */
async function firstRequests(ctx: ActorContext, inst: Instance, count: number): Promise<void> {
  const p = ctx.prng;
  const userId = ctx.model.freshUserId();
  const path = p.pick<Path>(["debit", "coalesced", "gated"]);
  const cost = 3;
  ctx.trace.note(`${inst.name}: ${count} first request(s) of ${userId} via ${path}`);
  ctx.model.reserved.add(userId);
  const endings = await Promise.all(Array.from({ length: count }, () =>
    path === "gated" ? gatedOnce(ctx, inst, userId, null, "2xx", p.int(0, 50), "article") : debitOnce(ctx, inst, userId, cost, null, path === "coalesced")));
  ctx.model.reserved.delete(userId);
  const covered = count * cost <= ALLOWANCE;
  const tally = (e: Ending) => endings.filter((x) => x === e).length;
  ctx.trace.note(`${userId}: first requests: ${tally("paid")} paid, ${tally("refused")} refused, ${tally("error")} failed`);
  if (covered && tally("error") === 0 && tally("refused") > 0) {
    ctx.violate({
      check: "allowance-covers-first-requests",
      userId,
      detail: `${count} concurrent first request(s) via ${inst.name}/${path}, ${count} × ${cost} within the allowance of ${ALLOWANCE}: ${tally("paid")} served, ${tally("refused")} refused`,
    });
  }
}

async function adminRefund(ctx: ActorContext, inst: Instance): Promise<void> {
  const p = ctx.prng;
  const all = ctx.model.paidOrder;
  if (all.length === 0) return;
  // Mostly recent debits: those still in a handler race metered()'s own refund.
  const target = p.chance(0.6) ? p.pick(all.slice(-10)) : p.pick(all);
  const name = label(inst, `admin refund ${target.userId} ${target.id}`);
  ctx.trace.note(`${name}: start`);
  try {
    const outcome = await inst.metering.refund(target.userId, target.id, "Admin refund");
    ctx.trace.note(`${name}: ${outcome.status}${outcome.status === "refunded" ? ` balance ${outcome.balance}` : ""}`);
    if (outcome.status === "refunded") ctx.model.owesRefund(target.userId, { debitId: target.id, why: "admin refund answered refunded", optional: false });
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
  }
}

let creditCalls = 0;

async function topUp(ctx: ActorContext, inst: Instance): Promise<void> {
  const p = ctx.prng;
  const userId = pickUser(ctx);
  ctx.model.started(userId);
  // Keyed top-ups reuse a few keys per user, so retries and races happen.
  const key = p.chance(0.6) ? `${ctx.keyEpoch()}-${userId}-c${p.int(1, 4)}` : null;
  const labelText = key !== null ? `key=${key}` : `call=${++creditCalls}`;
  const amount = p.int(1, 40);
  const name = label(inst, `top-up ${userId} +${amount} ${labelText}`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  try {
    const outcome = await inst.metering.credit({ userId, amount, reason: `Top-up ${labelText}`, idempotencyKey: key });
    ctx.trace.note(`${name}: ${outcome.status}`);
    if (outcome.status === "applied") ctx.model.user(userId).appliedCredits.set(labelText, startedAt);
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
  }
}

async function resetUser(ctx: ActorContext, inst: Instance, userId: string): Promise<void> {
  const u = ctx.model.started(userId);
  const name = label(inst, `reset ${userId}`);
  const startedAt = Date.now();
  ctx.trace.note(`${name}: start`);
  try {
    await inst.metering.reset(userId);
    const answeredAt = Date.now();
    ctx.trace.note(`${name}: done`);
    u.lastReset = { startedAt, answeredAt };
    u.certainSince = Math.max(u.certainSince, answeredAt);
  } catch (error) {
    ctx.trace.note(`${name}: error ${errorText(error)}`);
    // It may still land, within the timing bound: nothing before then is certain.
    u.certainSince = Math.max(u.certainSince, startedAt + METERING.healAfterMs!);
  }
}
