import type { HistoryEntry } from "../../../lib/metering";
import { api, control } from "../../e2e/support/context";

/** A user's ledger as the e2e control server reads it (straight from Redis, no healing). */
export interface LedgerView {
  ledger: {
    balance: number;
    totals: { credits: number; debits: number; refunds: number; generations: number };
    history: HistoryEntry[];
    openIds: string[];
    staleIds: string[];
  };
  historyComplete: boolean;
  /** checkInvariants (lib/metering/invariants.ts); empty when they all hold. */
  problems: string[];
}

/** The app's TOLLGATE_HEAL_AFTER_MS in the e2e setup. */
export const HEAL_AFTER_MS = 10_000;

export async function ledgerOf(userId: string): Promise<LedgerView> {
  const view = (await control("/ledger", { userId })) as LedgerView & { error?: string };
  if (view.error !== undefined) throw new Error(`reading the ledger of ${userId} failed: ${view.error}`);
  return view;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until no operation of the user is open. Settlements ride on the next debit batch
 * or leave alone within 100 ms; anything still open after that (a compensation or a void
 * lost with the KV) needs the healer, which acts on operations older than the heal delay
 * when someone reads the user (here: the admin stats route, as an operator would).
 * `since` is when the user's last request was answered (default: now).
 */
export async function atRest(userId: string, { since = Date.now(), deadlineMs = 30_000 } = {}): Promise<LedgerView> {
  const started = Date.now();
  let view = await ledgerOf(userId);
  for (let i = 0; i < 5 && view.ledger.openIds.length > 0; i++) {
    await sleep(100);
    view = await ledgerOf(userId);
  }
  if (view.ledger.openIds.length === 0) return view;
  // `since`: when the last request that could have opened an operation was answered.
  await sleep(Math.max(0, since + HEAL_AFTER_MS + 300 - Date.now()));
  const healStarted = Date.now();
  while (Date.now() - started < deadlineMs) {
    const res = await api(`/api/admin/users/${encodeURIComponent(userId)}`, { admin: true });
    await res.arrayBuffer();
    view = await ledgerOf(userId);
    if (view.ledger.openIds.length === 0) {
      if (process.env.RELIABILITY_DEBUG) console.log(`${userId}: at rest ${Date.now() - healStarted} ms after the heal delay`);
      return view;
    }
    // Another healer may hold this user's lock (lib/metering/heal.ts keeps it 15 s).
    await sleep(1000);
  }
  throw new Error(`${userId} still has open operations after ${deadlineMs} ms: ${view.ledger.openIds.join(", ")}`);
}

export function countHistory(view: LedgerView, type: HistoryEntry["type"]): number {
  return view.ledger.history.filter((e) => e.type === type).length;
}
