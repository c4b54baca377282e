import { createGateSigner } from "../../lib/gateway/forwarded-headers";
import { createGate } from "../../lib/gateway/gate";
import { createMeteredRoute, type MeteredHandler } from "../../lib/gateway/metered-route";
import { PRICING } from "../../lib/gateway/pricing";
import { createMetering, type Metering, type MeteringOptions, nextPeriodStart } from "../../lib/metering";
import { createDebitCoalescer, type DebitCoalescer } from "../../lib/metering/coalescer";
import type { Network } from "./faults";
import { createInProcessKv } from "./transport";

export const NAMESPACE = "sim:ledger";
export const ALLOWANCE = 100;
export const SEED_USER = "seeded-1";
export const SEED_BALANCE = 50;
/** The longest deadline a simulated hold takes (settling waits this long past it). */
export const MAX_SIM_HOLD_DEADLINE_MS = 40_000;

/** The settings every instance shares (as one deployment's instances would). */
export const METERING: Omit<MeteringOptions, "clock"> = {
  namespace: NAMESPACE,
  monthlyAllowance: ALLOWANCE,
  seedUsers: { [SEED_USER]: SEED_BALANCE },
  // Large enough that no history is ever trimmed in a run, so I3 can use all of it.
  historyLimit: 10_000,
  healAfterMs: 30_000,
  kvTimeoutMs: 2_000,
};

/** One server instance: its own client, metering, coalescer, gate and clock. */
export interface Instance {
  name: string;
  skewMs: number;
  metering: Metering;
  coalescer: DebitCoalescer;
  /** The gate in the handler (signer null) in front of a handler, via metered(). */
  route(handler: MeteredHandler): (request: Request) => Promise<Response>;
  /** metered() gave up refunding these debits (its "route.refund_failed" log). */
  refundsGivenUp: Set<string>;
  /** The platform's waitUntil: keeps a request's background work alive until it ends. */
  keep(task: Promise<unknown>): void;
}

/** Background work of every instance (voids, compensations, heals, settles, retries). */
export class Background {
  private readonly tasks = new Set<Promise<unknown>>();

  add = (task: Promise<unknown>): void => {
    const guarded = task.catch(() => undefined);
    this.tasks.add(guarded);
    void guarded.finally(() => this.tasks.delete(guarded));
  };

  get size(): number {
    return this.tasks.size;
  }
}

const SIGNING_SECRET = "simulation-gate-secret-0123456789abcdef";

export function buildInstance(
  name: string, skewMs: number, network: Network, background: Background, coalescedGate: boolean,
  onUnknownOutcome: (debitIds: string[]) => void,
): Instance {
  const kv = createInProcessKv((path, body) => network.send(name, path, body), METERING.kvTimeoutMs!, (body) => {
    // A debit's or hold's transaction (COPY to r:<id>), or a partial hold's give-back (HSET op:<id>).
    onUnknownOutcome([...body.matchAll(/:(?:r|op):((?:deb|hld)_[0-9a-f]{32})/g)].map((m) => m[1]!));
  });
  const clock = () => Date.now() + skewMs;
  const metering = createMetering(kv, { ...METERING, clock });
  const coalescer = createDebitCoalescer(metering);
  const refundsGivenUp = new Set<string>();
  const log = (event: string, fields: Record<string, unknown>) => {
    if (event === "route.refund_failed") refundsGivenUp.add(String(fields.debit));
  };
  const gate = createGate({
    // Authentication is not what is simulated: the bearer token is the user id.
    verify: async (token) => ({ status: "verified", userId: token, isAdmin: false, expiresAt: 4_102_444_800 }),
    debit: coalescedGate ? coalescer.debit : metering.debit,
    // Usage-priced routes hold; a deadline inside the settling phase's wait (requests.ts).
    hold: metering.hold,
    holdDeadlineMs: MAX_SIM_HOLD_DEADLINE_MS,
    pricing: PRICING,
    signer: null,
    topUpUrl: "https://tollgate.test/buy",
    monthlyAllowance: ALLOWANCE,
    secondsToPeriodEnd: () => (nextPeriodStart(clock()) - clock()) / 1000,
    log,
  });
  const metered = createMeteredRoute({
    signer: createGateSigner({ secret: SIGNING_SECRET }),
    gate,
    pricing: PRICING,
    tokenHeaders: { monthlyAllowance: ALLOWANCE, secondsToPeriodEnd: () => (nextPeriodStart(clock()) - clock()) / 1000 },
    refund: (userId, debitId, reason) => metering.refund(userId, debitId, reason),
    storeResponse: (userId, key, encoded) => metering.storeIdempotentResponse(userId, key, encoded),
    settleHold: metering.settleHold,
    background: background.add,
    log,
  });
  return { name, skewMs, metering, coalescer, route: metered, refundsGivenUp, keep: background.add };
}
