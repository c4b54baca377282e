import type { MeteringContext } from "./context";
import { ensureGrants, grantMonthly } from "./grants";
import { balancePattern, userIdFromBalanceKey } from "./keys";
import { periodOf } from "./period";
import { isValidUserId } from "./user-id";

export interface MonthlyRunReport {
  period: string;
  users: number;
  granted: number;
  alreadyGranted: number;
  failed: number;
}

/**
 * The cron side of the monthly grant: walks every user with a balance and grants the
 * month's allowance. Each grant is claimed per user and month (grants.ts), so this may run
 * as often as wanted, concurrently with lazy grants on requests, and still grants once.
 */
export async function runMonthlyGrants(ctx: MeteringContext, { maxUsers = 100_000 } = {}): Promise<MonthlyRunReport> {
  const period = periodOf(ctx.config.clock());
  const report: MonthlyRunReport = { period, users: 0, granted: 0, alreadyGranted: 0, failed: 0 };
  if (ctx.config.monthlyAllowance === 0) return report;
  let cursor: string | number = "0";
  do {
    const [next, keys] = (await ctx.kv.scan(cursor, { match: balancePattern(ctx.config.namespace), count: 500 })) as [string | number, string[]];
    cursor = String(next);
    for (const key of keys) {
      const userId = userIdFromBalanceKey(ctx.config.namespace, key);
      if (userId === null || !isValidUserId(userId)) continue;
      if (report.users >= maxUsers) return report;
      report.users++;
      try {
        // A seeded user gets the seed first: the seed stands for its month, so the cron must
        // not grant the month before a new seeded user's seed lands (it would add both).
        if (userId in ctx.config.seedUsers) await ensureGrants(ctx, userId, ["seed"]);
        const outcome = await grantMonthly(ctx, userId, period);
        if (outcome?.status === "applied") report.granted++;
        else report.alreadyGranted++;
      } catch {
        report.failed++;
      }
    }
  } while (cursor !== "0");
  return report;
}
