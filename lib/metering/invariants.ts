import type { LedgerSnapshot } from "./stats";

/**
 * The ledger's invariants, stated positively. Tests assert them after every concurrency
 * and fault scenario; an operator can run them against a live user (GET /api/admin/...).
 *
 *   I1 at rest, the balance is not negative;
 *   I2 balance = credits − debits + refunds (always: each transaction moves both);
 *   I3 when the history is complete, its amounts sum to the balance, and every
 *      settled debit left the balance non-negative;
 *   I5 at rest, the totals are not negative (no refund without its debit, no debit counted
 *      twice);
 *   I6 a settled hold charged between 0 and what it held, and ended once: its id is in the
 *      history once (hold.ts).
 *
 * "At rest" means no operation is open. "Complete" means nothing was trimmed: the caller
 * knows (history shorter than the limit and never reset mid-flight).
 */
export interface InvariantOptions {
  historyComplete: boolean;
}

export function checkInvariants(ledger: LedgerSnapshot, { historyComplete }: InvariantOptions): string[] {
  const problems: string[] = [];
  const { balance, totals, history } = ledger;
  const atRest = ledger.openIds.length === 0;
  if (atRest && balance < 0) problems.push(`I1: balance ${balance} is negative at rest`);
  const expected = totals.credits - totals.debits + totals.refunds;
  if (balance !== expected) {
    problems.push(`I2: balance ${balance} ≠ credits ${totals.credits} − debits ${totals.debits} + refunds ${totals.refunds} = ${expected}`);
  }
  if (historyComplete && atRest) {
    const sum = history.reduce((acc, e) => acc + e.amount, 0);
    if (sum !== balance) problems.push(`I3: history sums to ${sum}, balance is ${balance}`);
  }
  for (const e of history) {
    if (e.type === "debit" && e.balanceAfter < 0) problems.push(`I3: settled debit ${e.id} left the balance at ${e.balanceAfter}`);
  }
  const holdEntries = new Map<string, number>();
  for (const e of history) {
    if (e.held === undefined) continue;
    holdEntries.set(e.id, (holdEntries.get(e.id) ?? 0) + 1);
    if (e.amount > 0 || -e.amount > e.held) problems.push(`I6: hold ${e.id} charged ${-e.amount} of the ${e.held} it held`);
  }
  for (const [id, n] of holdEntries) if (n > 1) problems.push(`I6: hold ${id} ended ${n} times`);
  // While a reset's carry step is open, a refund or compensation of a carried debit may
  // come before the carry that accounts for it: the totals are whole again at rest.
  if (atRest && (totals.debits < 0 || totals.refunds < 0 || totals.credits < 0 || totals.generations < 0)) {
    problems.push(`I5: a total is negative: ${JSON.stringify(totals)}`);
  }
  if (atRest && totals.refunds > totals.debits) problems.push(`I5: refunds ${totals.refunds} exceed debits ${totals.debits}`);
  return problems;
}
