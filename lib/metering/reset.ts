import type { MeteringContext } from "./context";
import { encodeEntry, type HistoryEntry } from "./history";
import { userKeys } from "./keys";
import { execTx } from "./kv";
import { newOperationId } from "./operation";
import { periodOf } from "./period";

/**
 * Starts a user over: the balance becomes the user's starting amount (the seed for a
 * seeded user, else the monthly allowance), totals and history are replaced by a single
 * `reset` entry, and this month counts as granted. One transaction, so no reader ever sees
 * half a reset and I2/I3 hold right after it.
 *
 * Operations still in flight for the user when the reset lands belong to the old ledger;
 * their late settle or compensation can make the new one disagree with the balance. An
 * operator resets a quiet account; the gateway does not pause a user for it.
 */
export async function reset(ctx: MeteringContext, userId: string, reason = "Reset by an administrator"): Promise<HistoryEntry> {
  const keys = userKeys(ctx.config.namespace, userId);
  const now = ctx.config.clock();
  const start = ctx.config.seedUsers[userId] ?? ctx.config.monthlyAllowance;
  const entry: HistoryEntry = {
    id: newOperationId("rst"), type: "reset", amount: start, balanceAfter: start,
    reason, route: null, at: now,
  };
  const tx = ctx.kv.multi();
  tx.set(keys.balance, start);
  tx.del(keys.totals, keys.history, keys.open, keys.daily);
  tx.hset(keys.totals, { credits: start, debits: 0, refunds: 0, generations: 0 });
  tx.zadd(keys.history, { score: now, member: encodeEntry(entry) });
  tx.set(keys.grant(periodOf(now)), entry.id, { ex: 40 * 86_400 });
  if (userId in ctx.config.seedUsers) tx.set(keys.grant("seed"), entry.id);
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  return entry;
}
