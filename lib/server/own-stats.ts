import type { UserStats } from "../metering";

/**
 * A user's view of their own stats: the history without `actor`. Which operator topped up,
 * refunded or reset an account (an admin JWT's subject, often an e-mail address) is for
 * operators; the user sees the change and its reason. The admin API keeps it.
 */
export function ownStats(stats: UserStats): UserStats {
  return { ...stats, history: stats.history.map(({ actor: _actor, ...entry }) => entry) };
}
