/**
 * What the simulated callers were told, and nothing else: the model never peeks at the
 * store. Checks (checks.ts) hold the store's ledger against it.
 */
export interface PaidDebit {
  id: string;
  userId: string;
  cost: number;
  /** How it was made: "i0/debit", "i1/coalesced", "i2/gate", ... */
  via: string;
  startedAt: number;
  answeredAt: number;
}

/** A refund the ledger owes exactly once (an admin refund answered "refunded", a failed route). */
export interface OwedRefund {
  debitId: string;
  why: string;
  /** The refund may legitimately be missing (metered() gave up retrying; logged). */
  optional: boolean;
}

export interface UserModel {
  id: string;
  /** No operation was ever started for this user. */
  fresh: boolean;
  paid: Map<string, PaidDebit>;
  owedRefunds: Map<string, OwedRefund>;
  /** Credits answered "applied", by the label in their reason; each must be in the history once. */
  appliedCredits: Map<string, number>;
  /**
   * Operations started before this time may have been wiped by a reset (or not): the
   * final exactly-once checks only cover later ones. A reset that failed may still land
   * within the timing bound, so it moves this to its start + healAfterMs.
   */
  certainSince: number;
  /** The last reset known to have been applied: [started, answered]. */
  lastReset: { startedAt: number; answeredAt: number } | null;
}

/** A hold its caller was answered "held" for, and what it learnt at settle time. */
export interface AnsweredHold {
  id: string;
  userId: string;
  held: number;
  /** The charge the store fixed, when the caller learnt it (its settle's claim was answered). */
  charged: number | null;
}

export class Model {
  readonly users = new Map<string, UserModel>();
  /** Every id ever answered as a paid debit, whoever made it. */
  readonly paidById = new Map<string, PaidDebit>();
  /** Paid debits in answer order, for picking refund targets. */
  readonly paidOrder: PaidDebit[] = [];
  /** Holds answered "held", by id. */
  readonly holds = new Map<string, AnsweredHold>();
  /** Debits whose transaction's answer the caller never got (so it answered an error). */
  readonly unknownOutcome = new Set<string>();
  /** Debits whose void reached the store (the store's own record, set by the simulator). */
  voidLanded: ReadonlySet<string> = new Set();
  /** Users whose first requests are in flight: no other operation may touch them yet. */
  readonly reserved = new Set<string>();
  private freshCounter = 0;

  user(id: string): UserModel {
    let u = this.users.get(id);
    if (u === undefined) {
      u = {
        id, fresh: true, paid: new Map(), owedRefunds: new Map(), appliedCredits: new Map(),
        certainSince: 0, lastReset: null,
      };
      this.users.set(id, u);
    }
    return u;
  }

  /**
   * A debit no caller was answered as paid may still be charged in one case, by design
   * (README "Limits"): its caller answered an error because the answer was lost, and its
   * void never reached the store before the owner's window closed, so a healer settled it.
   */
  chargedWithoutAnswer(debitId: string): boolean {
    return this.unknownOutcome.has(debitId) && !this.voidLanded.has(debitId);
  }

  /** A user id no operation has used yet. */
  freshUserId(): string {
    this.freshCounter++;
    return `new-${String(this.freshCounter).padStart(4, "0")}`;
  }

  started(userId: string): UserModel {
    const u = this.user(userId);
    u.fresh = false;
    return u;
  }

  answeredPaid(debit: PaidDebit): void {
    const u = this.user(debit.userId);
    u.paid.set(debit.id, debit);
    this.paidById.set(debit.id, debit);
    this.paidOrder.push(debit);
  }

  owesRefund(userId: string, refund: OwedRefund): void {
    const u = this.user(userId);
    const known = u.owedRefunds.get(refund.debitId);
    // A refund owed for certain stays owed even if another path only may have made it.
    if (known === undefined || (known.optional && !refund.optional)) u.owedRefunds.set(refund.debitId, refund);
  }
}
