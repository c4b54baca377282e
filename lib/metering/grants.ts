import { claimAndApply, type ApplyOutcome, MARK_TTL_SECONDS } from "./apply";
import type { MeteringContext } from "./context";
import { type UserKeys, userKeys } from "./keys";
import { KvUnavailableError } from "./errors";
import { execTx } from "./kv";
import { periodOf } from "./period";
import { ownerWaitMs } from "./timing";
import { retryUntilDone } from "./retry";

/** Grant claims outlive their month comfortably, so a late healer still sees who won. */
const GRANT_CLAIM_TTL_SECONDS = 40 * 86_400;

/**
 * Grants what a user is owed once: the seed balance of a seeded user (the test user) and
 * the monthly allowance. Each is claimed with SET NX on `g:<name>`, so racing instances
 * and the cron grant it exactly once (see apply.ts). The seed also marks its month as
 * granted: a new test user starts with the seed, not seed + allowance.
 *
 * Resolves once the grants are in the balance, whoever applied them: a caller that lost
 * the claim to a concurrent request (or found it claimed but not yet applied) waits
 * briefly for the winner to apply it, so a burst of first requests, from one instance or
 * many, is served from the grant instead of refused. Throws when that cannot be known.
 */
export async function ensureGrants(ctx: MeteringContext, userId: string, missing: readonly string[]): Promise<void> {
  const keys = userKeys(ctx.config.namespace, userId);
  const period = periodOf(ctx.config.clock());
  const pending: { opId: string; names: string[] }[] = [];
  if (missing.includes("seed")) {
    const seed = ctx.config.seedUsers[userId] ?? 0;
    const outcome = await claimAndApply(ctx, {
      keys, kind: "credit", guardKey: keys.grant("seed"), guardTtlSeconds: 10 * 365 * 86_400,
      alsoMark: ctx.config.monthlyAllowance > 0 ? [keys.grant(period)] : [],
      markApplied: ctx.config.monthlyAllowance > 0 ? [keys.grantApplied("seed"), keys.grantApplied(period)] : [keys.grantApplied("seed")],
      amount: seed, reason: "Initial balance",
    });
    if (outcome.status === "duplicate") pending.push({ opId: outcome.opId, names: ["seed"] });
    // The seed stands for its month: nothing more to grant now.
    if (outcome.status === "applied") return;
  }
  // Any month the caller found missing means this month now: a request stamped in the last
  // instant of a month may reach here in the next one, and the old month's grant is moot.
  if (missing.some((name) => name !== "seed") && ctx.config.monthlyAllowance > 0) {
    const outcome = await grantMonthly(ctx, userId, period);
    if (outcome?.status === "duplicate") pending.push({ opId: outcome.opId, names: [period] });
  }
  for (const { opId, names } of pending) {
    // Not applied in time: the store is too slow to tell whether the user can pay. Saying
    // "insufficient tokens" would be a guess; the caller answers 503 (nothing was charged).
    if (!(await awaitApplied(ctx, keys, opId))) throw new KvUnavailableError("the month's grant is being applied; try again");
    // A grant applied by an older version (or whose marker expired) has no "applied"
    // marker: set it, so the next refusals do not wait for it again.
    const mark = ctx.kv.multi();
    for (const name of names) mark.set(keys.grantApplied(name), opId, { ex: MARK_TTL_SECONDS });
    await execTx(mark, { timeoutMs: ctx.config.kvTimeoutMs });
  }
}

/**
 * Waits until a claimed operation another caller won has been applied (its record leaves
 * the "claimed" state in the transaction that adds the tokens), for at most the owner's
 * window (timing.ts); past it, the healer applies it, later. Polls: the winner is one or
 * two round trips from applying.
 */
async function awaitApplied(ctx: MeteringContext, keys: UserKeys, opId: string): Promise<boolean> {
  const deadline = Date.now() + ownerWaitMs(ctx.config);
  const applied = await retryUntilDone(async () => {
    const tx = ctx.kv.multi();
    tx.hget(keys.op(opId), "state");
    const [state] = await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
    // No record: applied and long gone, or dropped (it lost its own claim): nothing to wait for.
    return state !== "claimed" ? true : undefined;
  }, { first: 10, max: 100 }, (pause) => Date.now() + pause <= deadline);
  return applied ?? false;
}

/** The monthly allowance for `period`, at most once per user. */
export async function grantMonthly(ctx: MeteringContext, userId: string, period = periodOf(ctx.config.clock())): Promise<ApplyOutcome | null> {
  const allowance = ctx.config.monthlyAllowance;
  if (allowance === 0) return null;
  const keys = userKeys(ctx.config.namespace, userId);
  return claimAndApply(ctx, {
    keys, kind: "refill", guardKey: keys.grant(period), guardTtlSeconds: GRANT_CLAIM_TTL_SECONDS,
    markApplied: [keys.grantApplied(period)],
    amount: ctx.config.refillPolicy === "add" ? allowance : { topUpTo: allowance },
    reason: `Monthly allowance ${period}`,
    period,
  });
}
