import { checkInvariants, type HistoryEntry, type LedgerSnapshot, periodOf } from "../../lib/metering";
import type { Model, UserModel } from "./model";

/** A failed check: a stable name (what a report cites) and what was seen. */
export interface Violation {
  check: string;
  userId: string;
  detail: string;
}

/** The label a simulated credit carries in its reason ("key=K" or "call=N"). */
export function creditLabel(entry: HistoryEntry): string | null {
  const match = /^Top-up (key=\S+|call=\S+)$/.exec(entry.reason ?? "");
  return match ? match[1]! : null;
}

/**
 * Checks that hold at every step, in flight or not: the ledger's own invariants
 * (lib/metering/invariants.ts; I1 and I3 only apply at rest, and the function knows), and
 * the history against what callers were answered:
 * - every debit in the history was answered as paid (a refused, replayed or 503 debit
 *   never is), and appears once; a debit made before `answeredBy` must have been
 *   answered by now (later ones may still be on their way to their caller);
 * - no refund, grant or keyed top-up is applied twice;
 * - nothing from before a reset shows up in the ledger that replaced it, except what the
 *   reset carried over (the debits open when it landed: `carried`, read from the store).
 */
export function iso(t: number): string {
  return new Date(t).toISOString();
}

/** From the store's order of transactions: did a grant win its claim before a reset landed? */
export type ClaimedBeforeReset = (grantId: string, resetId: string) => boolean;

export function stepChecks(
  ledger: LedgerSnapshot, user: UserModel, model: Model, answeredBy: number, carried: ReadonlySet<string>, claimedBeforeReset: ClaimedBeforeReset,
): Violation[] {
  const out: Violation[] = [];
  const add = (check: string, detail: string) => out.push({ check, userId: user.id, detail });
  for (const problem of checkInvariants(ledger, { historyComplete: true })) {
    add(`invariant ${problem.slice(0, 2)}`, `${problem} (open: ${ledger.openIds.length})`);
  }

  const ids = new Map<string, number>();
  const refundsOf = new Map<string, number>();
  const grantsIn = new Map<string, string[]>();
  const credits = new Map<string, number>();
  for (const e of ledger.history) {
    ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
    if (e.type === "debit") {
      const paid = model.paidById.get(e.id);
      if (paid === undefined) {
        if (e.at < answeredBy && !model.chargedWithoutAnswer(e.id)) add("history-debit-was-answered-paid", `debit ${e.id} (${-e.amount}) is in the history, but no caller was answered that id as paid`);
      } else if (user.lastReset !== null && paid.answeredAt < user.lastReset.startedAt && !carried.has(e.id)) {
        add("reset-isolates-old-ledger/settle", `debit ${e.id}, answered before the reset at ${iso(user.lastReset.startedAt)}, was settled into the new ledger`);
      }
    }
    if (e.type === "refund" && e.ref !== undefined) {
      refundsOf.set(e.ref, (refundsOf.get(e.ref) ?? 0) + 1);
      const paid = model.paidById.get(e.ref);
      if (paid === undefined) add("refund-of-a-paid-debit", `refund ${e.id} gives back ${e.ref}, which was never answered as paid`);
      // A refund in flight when the reset landed (its claim open then, so the reset carried
      // it) still lands, on the new ledger (reset.ts); one claimed after it must not.
      else if (user.lastReset !== null && paid.answeredAt < user.lastReset.startedAt && !carried.has(e.ref) && !carried.has(e.id)) {
        add("reset-isolates-old-ledger/refund", `refund ${e.id} of debit ${e.ref}, answered before the reset at ${iso(user.lastReset.startedAt)}, was applied to the new ledger (+${e.amount})`);
      }
    }
    const grant = grantOf(e, ledger.history, claimedBeforeReset);
    if (grant !== null) grantsIn.set(grant, [...(grantsIn.get(grant) ?? []), `${e.type} ${e.id} +${e.amount}`]);
    const label = creditLabel(e);
    if (e.type === "credit" && label !== null) credits.set(label, (credits.get(label) ?? 0) + 1);
  }
  for (const [id, n] of ids) if (n > 1) add("history-entry-once", `entry ${id} is in the history ${n} times`);
  for (const [ref, n] of refundsOf) if (n > 1) add("refund-at-most-once", `debit ${ref} was refunded ${n} times`);
  // While a reset's carry step is open, an older reset's carry step that landed after it may
  // have written its entry into this ledger; the open step undoes that (reset.ts).
  const carrying = ledger.openIds.some((id) => id.startsWith("rst_"));
  for (const [period, grants] of grantsIn) {
    if (grants.length > 1 && !carrying) add("grant-once-per-month", `${period} was granted ${grants.length} times: ${grants.join(", ")}`);
  }
  for (const [label, n] of credits) if (n > 1) add("top-up-at-most-once", `top-up ${label} was applied ${n} times`);
  return out;
}

/**
 * After everything settled (time past healAfterMs, every user healed): nothing is open,
 * and everything callers were told happened is in the ledger exactly once.
 */
export function finalChecks(ledger: LedgerSnapshot, user: UserModel, carried: ReadonlySet<string>): Violation[] {
  const out: Violation[] = [];
  const add = (check: string, detail: string) => out.push({ check, userId: user.id, detail });
  if (ledger.openIds.length > 0) add("nothing-open-after-healing", `still open: ${ledger.openIds.join(", ")}`);
  const debits = countBy(ledger.history.filter((e) => e.type === "debit"), (e) => e.id);
  const refunds = countBy(ledger.history.filter((e) => e.type === "refund"), (e) => e.ref ?? "");
  const credits = countBy(ledger.history.filter((e) => e.type === "credit"), (e) => creditLabel(e) ?? "");
  for (const paid of user.paid.values()) {
    // Before the last reset only what it carried over is certain to be in this ledger.
    if (paid.startedAt < user.certainSince && !carried.has(paid.id)) continue;
    const n = debits.get(paid.id) ?? 0;
    if (n !== 1) add("paid-debit-in-history-once", `debit ${paid.id} (${paid.cost}, ${paid.via}) was answered as paid; the history has it ${n} times`);
  }
  for (const owed of user.owedRefunds.values()) {
    const paid = user.paid.get(owed.debitId);
    if (paid === undefined || paid.startedAt < user.certainSince) continue;
    const n = refunds.get(owed.debitId) ?? 0;
    if (n > 1 || (n === 0 && !owed.optional)) add("owed-refund-in-history-once", `refund of ${owed.debitId} (${owed.why}): the history has it ${n} times`);
  }
  for (const [label, startedAt] of user.appliedCredits) {
    if (startedAt < user.certainSince) continue;
    const n = credits.get(label) ?? 0;
    if (n !== 1) add("applied-top-up-in-history-once", `top-up ${label} was answered "applied"; the history has it ${n} times`);
  }
  return out;
}

/**
 * After settling, for each hold a caller was answered "held" for (its presence exactly once
 * is `paid-debit-in-history-once`): its entry shows what the caller was told it held, and,
 * when the caller learnt the charge the store fixed, that charge.
 */
export function holdChecks(ledger: LedgerSnapshot, user: UserModel, model: Model): Violation[] {
  const out: Violation[] = [];
  for (const e of ledger.history) {
    const hold = model.holds.get(e.id);
    if (hold === undefined || hold.userId !== user.id) continue;
    if (e.held !== hold.held) out.push({ check: "hold-entry-shows-what-was-held", userId: user.id, detail: `hold ${e.id} was answered as holding ${hold.held}; its entry says ${e.held}` });
    if (hold.charged !== null && -e.amount !== hold.charged) {
      out.push({ check: "hold-charged-as-claimed", userId: user.id, detail: `hold ${e.id}: the store's claim said ${hold.charged}; its entry charged ${-e.amount}` });
    }
  }
  return out;
}

/**
 * Which month's allowance an entry stands for: a refill, a reset, a seed grant. A grant
 * claimed before a reset in the same month and applied after it is the one race the
 * design leaves open (README "Limits": a top-up's amount is read before it is added, and a
 * reset can land in between): not counted, so the check keeps catching every other case.
 * "Claimed before the reset landed" is read from the store's own order of transactions,
 * not guessed from stamps (a reset lands up to half the heal delay after its stamp).
 */
function grantOf(e: HistoryEntry, history: readonly HistoryEntry[], claimedBeforeReset: ClaimedBeforeReset): string | null {
  const resetAfter = (month: string) => history.some((r) => r.type === "reset" && periodOf(r.at) === month && claimedBeforeReset(e.id, r.id));
  if (e.type === "refill") {
    const month = e.amount > 0 ? (/^Monthly allowance (\d{4}-\d{2})$/.exec(e.reason ?? "")?.[1] ?? periodOf(e.at)) : null;
    return month !== null && resetAfter(month) ? null : month;
  }
  if (e.type === "credit" && e.reason === "Initial balance" && resetAfter(periodOf(e.at))) return null;
  if (e.type === "reset") return periodOf(e.at);
  if (e.type === "credit" && e.reason === "Initial balance") return periodOf(e.at);
  return null;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

