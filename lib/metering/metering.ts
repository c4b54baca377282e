import { type ApplyOutcome } from "./apply";
import { type MeteringOptions, resolveConfig } from "./config";
import type { MeteringContext } from "./context";
import { credit, type CreditRequest } from "./credit";
import { type DebitOutcome, type DebitRequest, directTransport, storeIdempotentResponse } from "./debit";
import { ensureGrants } from "./grants";
import { heal, type HealReport } from "./heal";
import { type HoldOutcome, type HoldRequest, type HoldTicket, runHold, settleHold, type Settlement } from "./hold";
import type { HistoryEntry } from "./history";
import type { MeteringKv } from "./kv";
import { runMonthlyGrants, type MonthlyRunReport } from "./monthly";
import { refund, type RefundOutcome } from "./refund";
import { reset } from "./reset";
import { runDebit } from "./run-debit";
import { readLedger, readOpenHolds, statsFromLedger, type UserStats } from "./stats";

export interface Metering {
  readonly context: MeteringContext;
  debit(request: DebitRequest): Promise<DebitOutcome>;
  /** Holds the most a usage-priced request may cost; the request settles it with what it used (hold.ts). */
  hold(request: HoldRequest): Promise<HoldOutcome>;
  /** Settles a hold from its ticket, on any instance (the middleware holds, the handler settles): see hold.ts. */
  settleHold(ticket: HoldTicket, charge: number): Promise<Settlement>;
  credit(request: CreditRequest): Promise<ApplyOutcome>;
  /** `actor`: the operator who asked for it, recorded in the history entry. */
  refund(userId: string, debitId: string, reason?: string | null, actor?: string | null): Promise<RefundOutcome>;
  reset(userId: string, reason?: string, actor?: string | null): Promise<HistoryEntry>;
  heal(userId: string): Promise<HealReport>;
  runMonthlyGrants(options?: { maxUsers?: number }): Promise<MonthlyRunReport>;
  /**
   * A user's balance, totals and history, after finishing what is due: an operation left
   * open past the heal delay is healed and a missing grant applied first, so what is shown
   * is final.
   */
  stats(userId: string): Promise<UserStats>;
  storeIdempotentResponse(userId: string, idempotencyKey: string, encoded: string): Promise<void>;
}

export function createMetering(kv: MeteringKv, options: MeteringOptions): Metering {
  const ctx: MeteringContext = { kv, config: resolveConfig(options) };
  const transport = directTransport(ctx);

  async function stats(userId: string): Promise<UserStats> {
    let ledger = await readLedger(ctx, userId);
    if (ledger.staleIds.length > 0 || ledger.missingGrants.length > 0) {
      if (ledger.staleIds.length > 0) await heal(ctx, userId);
      if (ledger.missingGrants.length > 0) await ensureGrants(ctx, userId, ledger.missingGrants);
      ledger = await readLedger(ctx, userId);
    }
    return statsFromLedger(ctx, ledger, await readOpenHolds(ctx, ledger));
  }

  return {
    context: ctx,
    debit: (request) => runDebit(ctx, request, transport),
    hold: (request) => runHold(ctx, request, transport),
    settleHold: (ticket, charge) => settleHold(ctx, ticket, charge),
    credit: (request) => credit(ctx, request),
    refund: (userId, debitId, reason, actor) => refund(ctx, userId, debitId, reason, actor),
    reset: (userId, reason, actor) => reset(ctx, userId, reason, actor),
    heal: (userId) => heal(ctx, userId),
    runMonthlyGrants: (opts) => runMonthlyGrants(ctx, opts),
    stats,
    storeIdempotentResponse: (userId, key, encoded) => storeIdempotentResponse(ctx, userId, key, encoded),
  };
}
