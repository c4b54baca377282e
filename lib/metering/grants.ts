import { claimAndApply, type ApplyOutcome } from "./apply";
import type { MeteringContext } from "./context";
import { userKeys } from "./keys";
import { periodOf } from "./period";

/** Grant claims outlive their month comfortably, so a late healer still sees who won. */
const GRANT_CLAIM_TTL_SECONDS = 40 * 86_400;

/**
 * Grants what a user is owed once: the seed balance of a seeded user (the test user) and
 * the monthly allowance. Each is claimed with SET NX on `g:<name>`, so racing instances
 * and the cron grant it exactly once (see apply.ts). The seed also marks its month as
 * granted: a new test user starts with the seed, not seed + allowance.
 *
 * Returns true when any tokens were added.
 */
export async function ensureGrants(ctx: MeteringContext, userId: string, missing: readonly string[]): Promise<boolean> {
  const keys = userKeys(ctx.config.namespace, userId);
  const period = periodOf(ctx.config.clock());
  let added = false;
  if (missing.includes("seed")) {
    const seed = ctx.config.seedUsers[userId] ?? 0;
    const outcome = await claimAndApply(ctx, {
      keys, kind: "credit", guardKey: keys.grant("seed"), guardTtlSeconds: 10 * 365 * 86_400,
      alsoMark: ctx.config.monthlyAllowance > 0 ? [keys.grant(period)] : [],
      amount: seed, reason: "Initial balance",
    });
    if (outcome.status === "applied" && outcome.amount > 0) added = true;
    if (outcome.status === "applied") return added;
  }
  if (missing.includes(period)) {
    const outcome = await grantMonthly(ctx, userId, period);
    if (outcome?.status === "applied" && outcome.amount > 0) added = true;
  }
  return added;
}

/** The monthly allowance for `period`, at most once per user. */
export async function grantMonthly(ctx: MeteringContext, userId: string, period = periodOf(ctx.config.clock())): Promise<ApplyOutcome | null> {
  const allowance = ctx.config.monthlyAllowance;
  if (allowance === 0) return null;
  const keys = userKeys(ctx.config.namespace, userId);
  return claimAndApply(ctx, {
    keys, kind: "refill", guardKey: keys.grant(period), guardTtlSeconds: GRANT_CLAIM_TTL_SECONDS,
    amount: ctx.config.refillPolicy === "add" ? allowance : { topUpTo: allowance },
    reason: `Monthly allowance ${period}`,
    period,
  });
}
