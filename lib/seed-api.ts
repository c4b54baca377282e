import type { Metering, UserStats } from "./metering";

/**
 * The seed application's API, with its names and defaults kept: the original application
 * calls `getUserStats`, `recordArticleGeneration(userId, cost = 3)`, `addTokens` and
 * `resetStats`, and keeps working unchanged on top of the metering core. Each is a few
 * lines over the core's own operations; none adds a rule of its own.
 */
export interface RecordGenerationResult {
  success: boolean;
  stats: UserStats;
  message: string;
}

export interface SeedApi {
  getUserStats(userId: string): Promise<UserStats>;
  /** One article, paid like a metered request (one debit, settled before it returns). */
  recordArticleGeneration(userId: string, cost?: number): Promise<RecordGenerationResult>;
  addTokens(userId: string, amount: number, reason: string): Promise<UserStats>;
  /** `actor`: the operator who asked for it, recorded in the history entry. */
  resetStats(userId: string, actor?: string | null): Promise<UserStats>;
}

export function createSeedApi(metering: Metering): SeedApi {
  return {
    getUserStats: (userId) => metering.stats(userId),

    async recordArticleGeneration(userId, cost = 3) {
      const outcome = await metering.debit({ userId, cost, route: "article", reason: "Article generation" });
      if (outcome.status === "unavailable") {
        // Thrown at once, as before: the void keeps retrying in this process (up to the
        // owner's window, seconds in an outage) without holding the caller up.
        void outcome.pending?.catch(() => undefined);
        throw outcome.error;
      }
      // Otherwise the debit's background work (a compensation, a grant) ends before the
      // stats are read, so they show it.
      await outcome.pending?.catch(() => undefined);
      // A settle that fails is finished by the next reader's heal (the debit stays paid).
      if (outcome.status === "ok") await outcome.settle().catch(() => undefined);
      const stats = await metering.stats(userId);
      if (outcome.status === "ok") {
        return { success: true, stats, message: `Article generated: ${cost} tokens used, ${outcome.balance} left.` };
      }
      return { success: false, stats, message: `Not enough tokens: an article costs ${cost}, the balance is ${stats.balance}.` };
    },

    async addTokens(userId, amount, reason) {
      await metering.credit({ userId, amount, reason });
      return metering.stats(userId);
    },

    async resetStats(userId, actor) {
      await metering.reset(userId, undefined, actor);
      return metering.stats(userId);
    },
  };
}
