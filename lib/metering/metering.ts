import { type ApplyOutcome } from "./apply";
import { type MeteringOptions, resolveConfig } from "./config";
import type { MeteringContext } from "./context";
import { credit, type CreditRequest } from "./credit";
import { type DebitOutcome, type DebitRequest, directTransport, storeIdempotentResponse } from "./debit";
import { ensureGrants } from "./grants";
import { heal, type HealReport } from "./heal";
import type { HistoryEntry } from "./history";
import type { MeteringKv } from "./kv";
import { runMonthlyGrants, type MonthlyRunReport } from "./monthly";
import { refund, type RefundOutcome } from "./refund";
import { reset } from "./reset";
import { runDebit } from "./run-debit";
import { readLedger, statsFromLedger, type UserStats } from "./stats";

export interface RecordGenerationResult {
  success: boolean;
  stats: UserStats;
  message: string;
}

export interface Metering {
  readonly context: MeteringContext;
  debit(request: DebitRequest): Promise<DebitOutcome>;
  credit(request: CreditRequest): Promise<ApplyOutcome>;
  /** `actor`: the operator who asked for it, recorded in the history entry. */
  refund(userId: string, debitId: string, reason?: string | null, actor?: string | null): Promise<RefundOutcome>;
  reset(userId: string, reason?: string, actor?: string | null): Promise<HistoryEntry>;
  heal(userId: string): Promise<HealReport>;
  runMonthlyGrants(options?: { maxUsers?: number }): Promise<MonthlyRunReport>;
  // The seed application's API, names kept:
  getUserStats(userId: string): Promise<UserStats>;
  recordArticleGeneration(userId: string, cost?: number): Promise<RecordGenerationResult>;
  addTokens(userId: string, amount: number, reason: string): Promise<UserStats>;
  resetStats(userId: string, actor?: string | null): Promise<UserStats>;
  storeIdempotentResponse(userId: string, idempotencyKey: string, encoded: string): Promise<void>;
}

export function createMetering(kv: MeteringKv, options: MeteringOptions): Metering {
  const ctx: MeteringContext = { kv, config: resolveConfig(options) };
  const transport = directTransport(ctx);

  async function getUserStats(userId: string): Promise<UserStats> {
    let ledger = await readLedger(ctx, userId);
    if (ledger.staleIds.length > 0 || ledger.missingGrants.length > 0) {
      if (ledger.staleIds.length > 0) await heal(ctx, userId);
      if (ledger.missingGrants.length > 0) await ensureGrants(ctx, userId, ledger.missingGrants);
      ledger = await readLedger(ctx, userId);
    }
    return statsFromLedger(ctx, ledger);
  }

  return {
    context: ctx,
    debit: (request) => runDebit(ctx, request, transport),
    credit: (request) => credit(ctx, request),
    refund: (userId, debitId, reason, actor) => refund(ctx, userId, debitId, reason, actor),
    reset: (userId, reason, actor) => reset(ctx, userId, reason, actor),
    heal: (userId) => heal(ctx, userId),
    runMonthlyGrants: (opts) => runMonthlyGrants(ctx, opts),
    getUserStats,
    storeIdempotentResponse: (userId, key, encoded) => storeIdempotentResponse(ctx, userId, key, encoded),
    async recordArticleGeneration(userId, cost = 3) {
      const outcome = await runDebit(ctx, { userId, cost, route: "article", reason: "Article generation" }, transport);
      // A library call has no response to outlive: its work is finished before it returns.
      await outcome.pending?.catch(() => undefined);
      if (outcome.status === "unavailable") throw outcome.error;
      if (outcome.status === "ok") await outcome.settle().catch(() => undefined);
      const stats = await getUserStats(userId);
      if (outcome.status === "ok") {
        return { success: true, stats, message: `Article generated: ${cost} tokens used, ${outcome.balance} left.` };
      }
      return {
        success: false,
        stats,
        message: `Not enough tokens: an article costs ${cost}, the balance is ${stats.balance}.`,
      };
    },
    async addTokens(userId, amount, reason) {
      await credit(ctx, { userId, amount, reason });
      return getUserStats(userId);
    },
    async resetStats(userId, actor) {
      await reset(ctx, userId, undefined, actor);
      return getUserStats(userId);
    },
  };
}
