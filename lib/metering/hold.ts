import { assertAmount, assertNonNegativeAmount, MAX_AMOUNT } from "./amount";
import type { MeteringContext } from "./context";
import {
  compensate, dailyField, type DebitReading, type DebitTransport, directTransport, grantNamesFor, type PreparedDebit,
  voidDebit,
} from "./debit";
import { InvalidInputError, KvProtocolError } from "./errors";
import { ensureGrants } from "./grants";
import { appendSettleEntry, type HistoryEntry, type HoldEnding } from "./history";
import { type UserKeys, userKeys } from "./keys";
import { asInt, asStringOrNull, execTx, type Transaction } from "./kv";
import { type HoldExpiry, newOperationId, openMember, type Operation } from "./operation";
import { periodOf } from "./period";
import { retryUntilDone } from "./retry";
import { PendingWork } from "./pending-work";
import { sendOrVoid } from "./run-debit";
import { assertOperationId, optionalText } from "./text";
import { type Fence, FenceClosedError, fenceUntil, ownerDeadline } from "./timing";
import { execSteps, TxSteps } from "./tx-steps";

/**
 * Holds: metering a request whose price is known only once it has run (a model's answer,
 * priced by the tokens it produced). Lua-free, like the debit, and built from it:
 *
 *   hold     the debit transaction with the most the request may cost (DECRBY H → r), its
 *            record marked as a hold with a deadline; in the `open` set it is scored by
 *            that deadline, so the healer's delay (timing.ts) counts from there.
 *            r ≥ 0: held in full.
 *            r < 0 but r + H ≥ the minimum: a partial hold. The owner gives back only the
 *            shortfall −r (a second transaction, inside its window, that records the
 *            smaller hold), so what it holds is exactly what the balance had.
 *            Otherwise: given back in full, 402, as a refused debit.
 *   settle   two steps, because an INCRBY cannot be conditional inside MULTI:
 *            1. claim the charge: SET hc:<id> "<charge>:<how>" NX GET. Conditional in the
 *               store, so the owner may retry it freely and a healer may race it: the first
 *               claim fixes the charge, every later one reads it back.
 *            2. release what was held beyond the charge, in the transaction that writes the
 *               request's one history entry (held and charged) and closes the hold. Sent
 *               once, by the owner inside its window (counted from the deadline), or by a
 *               healer once the deadline is healAfterMs past: never by both.
 *   expire   a hold nobody settled by its deadline (the instance died, the platform's
 *            maxDuration ended it, the store was away): the healer claims the route's
 *            expiry charge (what was held, by default; nothing for `release`) and releases.
 *
 * Why a partial hold cannot overdraw: each hold holds at most what the balance was just
 * before its DECRBY; every debit and hold before it had taken at least what it ends up
 * holding (give-backs only ever add), so the holds together never exceed the balance.
 */
export interface HoldRequest {
  userId: string;
  /** The most the request may cost. */
  amount: number;
  /** The smallest hold worth starting the work for: less than that is a 402. @default amount */
  minimum?: number;
  /** How long the work may take; a hold nobody settled by then is finished by a healer. */
  deadlineMs: number;
  /** What the healer does with an expired hold. @default "charge" */
  onExpiry?: HoldExpiry;
  route?: string | null;
  reason?: string | null;
}

export type HoldOutcome = (
  | { status: "held"; hold: Hold }
  | { status: "insufficient_tokens"; balance: number; minimum: number }
  /** The store did not answer: nothing may be served; a hold that was taken is given back (`pending`). */
  | { status: "unavailable"; error: unknown }
) & {
  userId: string;
  requested: number;
  /** Work the hold started that must outlive the answer (see DebitOutcome.pending). */
  pending: Promise<void> | null;
};

export interface Hold {
  readonly id: string;
  readonly userId: string;
  readonly requested: number;
  /** What is held: the request, or less when the balance covered only part of it. */
  readonly held: number;
  /** The balance right after the hold. */
  readonly balance: number;
  /** Metering-clock time after which a healer finishes the hold. */
  readonly deadline: number;
  /** What any instance needs to settle this hold (`metering.settleHold`): the gate signs it into its pass. */
  readonly ticket: HoldTicket;
  /**
   * Ends the hold with this charge (clamped to what was held). Once: a second call returns
   * the first call's settlement.
   */
  settle(charge: number): Promise<Settlement>;
}

/**
 * Everything settling a hold needs, known to whoever took it: the gate signs it into the
 * pass it forwards, so the handler settles in two round trips (claim, release) without
 * reading the hold back. Settling from a ticket is safe from anywhere and any number of
 * times: the charge is claimed once in the store, and only the claim's winner releases,
 * inside the owner's window (a healer after it).
 */
export interface HoldTicket {
  userId: string;
  id: string;
  requested: number;
  /** What is held (the request, or less for a partial hold). */
  held: number;
  /** The balance the hold's own DECRBY left (r: negative for a partial hold). */
  after: number;
  at: number;
  deadline: number;
  route: string | null;
  reason: string | null;
}

/**
 * The balance the hold's DECRBY left, from what a pass carries: r itself for a full hold
 * (the answer's balance); for a partial one r + requested = held, so r = held − requested.
 */
export function afterOfHold(ticket: Pick<HoldTicket, "held" | "requested">, balance: number): number {
  return ticket.held === ticket.requested ? balance : ticket.held - ticket.requested;
}

export interface Settlement {
  /**
   * "settled": the hold is closed and the rest is back in the balance. "pending": the
   * charge is fixed (or being fixed, retried in `pending`) but the release was not
   * confirmed: it lands with the retry, or a healer finishes it after the deadline.
   */
  status: "settled" | "pending";
  charged: number;
  released: number;
  /** The balance right after the release, when it is known. */
  balance: number | null;
  /** "expired" when a healer had claimed the charge first (the request ran past its deadline). */
  ended: HoldEnding;
  pending: Promise<void> | null;
}

/** Hold ids are "hld_…": the `open` set tells holds apart by id, without their records (stats.ts). */
export const HOLD_ID_PREFIX = "hld";

/** The longest hold deadline accepted: a day (holds are for requests, not subscriptions). */
export const MAX_HOLD_DEADLINE_MS = 86_400_000;

/**
 * Whether a hold the store applied (r:<id> = `after`) was ever held: in full (r ≥ 0) or
 * partly (its owner gave the shortfall back and recorded the smaller amount). One that was
 * refused and not yet given back never was; nor was a voided one.
 */
export function wasHeld(op: Operation, after: number): boolean {
  return after >= 0 || (op.hold != null && op.amount < op.hold.requested);
}

/** What `decideHold` decides from the hold transaction's answer. Pure. */
export type HoldDecision =
  | { status: "held"; held: number }
  | { status: "partial"; held: number; giveBack: number }
  | { status: "refused"; retry: "after_grants" | null };

export function decideHold(reading: Pick<DebitReading, "after" | "missingGrants" | "pendingGrants">, requested: number, minimum: number, retried: boolean): HoldDecision {
  if (reading.after >= 0) return { status: "held", held: requested };
  // The month's grant may be what is missing: try again once it is in, for the full hold.
  if (!retried && (reading.missingGrants.length > 0 || reading.pendingGrants.length > 0)) return { status: "refused", retry: "after_grants" };
  const covered = reading.after + requested;
  if (covered >= minimum && covered > 0) return { status: "partial", held: covered, giveBack: -reading.after };
  return { status: "refused", retry: null };
}

function prepareHold(ctx: MeteringContext, request: HoldRequest): { d: PreparedDebit; minimum: number } {
  const keys = userKeys(ctx.config.namespace, request.userId);
  const requested = assertAmount(request.amount, "hold");
  const minimum = request.minimum === undefined ? requested : assertAmount(request.minimum, "minimum hold");
  if (minimum > requested) throw new InvalidInputError("invalid_amount", "the minimum hold must not exceed the hold");
  const deadlineMs = request.deadlineMs;
  if (!Number.isSafeInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > MAX_HOLD_DEADLINE_MS) {
    throw new InvalidInputError("invalid_argument", `the hold deadline must be a whole number of milliseconds between 1 and ${MAX_HOLD_DEADLINE_MS}`);
  }
  const onExpiry = request.onExpiry ?? "charge";
  if (onExpiry !== "charge" && onExpiry !== "release") throw new InvalidInputError("invalid_argument", 'onExpiry must be "charge" or "release"');
  const now = ctx.config.clock();
  const period = periodOf(now);
  const op: Operation = {
    id: newOperationId(HOLD_ID_PREFIX),
    kind: "hold",
    state: "open",
    amount: requested,
    at: now,
    period,
    route: optionalText(request.route, "route"),
    reason: optionalText(request.reason, "reason"),
    ref: null,
    claim: null,
    idempotencyKey: null,
    target: null,
    usage: null,
    hold: { requested, deadline: now + deadlineMs, onExpiry, held: null },
  };
  return { d: { keys, op, idempotencyKey: null, fingerprint: null, grantNames: grantNamesFor(ctx, request.userId, period) }, minimum };
}

/** Takes a hold: send → decide → act, like runDebit. */
export async function runHold(ctx: MeteringContext, request: HoldRequest, transport: DebitTransport = directTransport(ctx)): Promise<HoldOutcome> {
  const first = prepareHold(ctx, request);
  const userId = first.d.keys.userId;
  const requested = first.d.op.amount;
  const work = new PendingWork();
  const background = (task: Promise<unknown>) => work.add(task);
  try {
    return await attempt(first.d, false);
  } catch (error) {
    return { status: "unavailable", error, userId, requested, pending: work.settled() };
  }

  async function attempt(d: PreparedDebit, retried: boolean): Promise<HoldOutcome> {
    const sent = await sendOrVoid(ctx, d, transport, work);
    if (sent.status === "failed") return { status: "unavailable", error: sent.error, userId, requested, pending: work.settled() };
    const reading = sent.reading;
    const decision = decideHold(reading, requested, first.minimum, retried);
    switch (decision.status) {
      case "held":
        if (reading.missingGrants.length > 0) background(ensureGrants(ctx, userId, reading.missingGrants));
        return held(d, decision.held, reading.after, reading.after);
      case "partial": {
        let balance: number;
        try {
          balance = await trim(ctx, d, decision.held, decision.giveBack);
        } catch (error) {
          // The give-back may have landed or not: the hold is voided and a healer gives back
          // whatever it still holds (its record says which).
          background(voidDebit(ctx, d));
          return { status: "unavailable", error, userId, requested, pending: work.settled() };
        }
        return held(d, decision.held, reading.after, balance);
      }
      case "refused":
        try {
          await compensate(ctx, d, false);
        } catch {
          // left to the healer: the hold stays open with r < 0, which it gives back
        }
        if (decision.retry === "after_grants") {
          await ensureGrants(ctx, userId, [...reading.missingGrants, ...reading.pendingGrants]);
          return attempt(prepareHold(ctx, request).d, true);
        }
        return { status: "insufficient_tokens", userId, requested, minimum: first.minimum, balance: Math.max(0, reading.after + requested), pending: work.settled() };
    }
  }

  function held(d: PreparedDebit, amount: number, after: number, balance: number): HoldOutcome {
    const { op } = d;
    const ticket: HoldTicket = {
      userId, id: op.id, requested, held: amount, after, at: op.at, deadline: op.hold!.deadline, route: op.route, reason: op.reason,
    };
    let settlement: Promise<Settlement> | null = null;
    const hold: Hold = {
      id: op.id,
      userId,
      requested,
      held: amount,
      balance,
      deadline: ticket.deadline,
      ticket,
      settle(charge) {
        if (settlement === null) {
          // A charge that is not a whole number of tokens is refused without using up the settle.
          try {
            chargeFor(charge, amount);
          } catch (error) {
            return Promise.reject(error);
          }
          settlement = settleHold(ctx, ticket, charge);
        }
        return settlement;
      },
    };
    return { status: "held", hold, userId, requested, pending: work.settled() };
  }
}

/**
 * A partial hold gives back the shortfall, and records the smaller hold (amount, and the
 * `open` member that carries it) in the same transaction. An unconditional INCRBY: sent
 * only inside the owner's window.
 */
async function trim(ctx: MeteringContext, d: PreparedDebit, held: number, giveBack: number): Promise<number> {
  if (ctx.config.clock() > ownerDeadline(ctx.config, d.op.at)) throw new FenceClosedError("partial hold");
  const { keys, op } = d;
  const steps = new TxSteps(ctx.kv.multi());
  const balance = steps.read((tx) => tx.incrby(keys.balance, giveBack), (raw) => asInt(raw, "balance"));
  steps.write((tx) => appendUsage(tx, keys, op, -giveBack));
  steps.write((tx) => tx.hset(keys.op(op.id), { amount: held }));
  steps.write((tx) => tx.zrem(keys.open, openMember(op.id, op.amount)));
  steps.write((tx) => tx.zadd(keys.open, { score: op.hold!.deadline, member: openMember(op.id, held) }));
  return balance(await execSteps(steps, { timeoutMs: ctx.config.kvTimeoutMs }));
}

/** Moves the debit totals and usage figures by `delta` (negative: given back). */
function appendUsage(tx: Transaction, keys: UserKeys, op: Operation, delta: number): void {
  if (delta === 0) return;
  tx.hincrby(keys.totals, "debits", delta);
  tx.hincrby(keys.totals, `used:${op.period}`, delta);
  tx.hincrby(keys.daily, dailyField(op), delta);
}

/** A claimed charge: what the hold is charged, how it ended, and which claimant fixed it. */
interface ChargeClaim {
  charge: number;
  ended: HoldEnding;
  /** A random id per claimant: a retry recognises its own claim, and only the winner releases. */
  by: string;
}

function wantedClaim(charge: number, ended: HoldEnding): ChargeClaim {
  return { charge, ended, by: newOperationId("clm") };
}

/**
 * Claims the charge (step 1): the first claim wins, and every claimant learns it. Retry-safe:
 * a claimant that lost an answer and asks again reads back its own claim (`won`).
 */
export async function claimCharge(ctx: MeteringContext, keys: UserKeys, op: Operation, wanted: ChargeClaim): Promise<{ claim: ChargeClaim; won: boolean }> {
  const tx = ctx.kv.multi();
  tx.set(keys.holdCharge(op.id), encodeChargeClaim(wanted), { nx: true, get: true, ex: ctx.config.refundWindowSeconds });
  const [raw] = await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  const existing = asStringOrNull(raw);
  const claim = existing === null ? wanted : parseChargeClaim(op, existing);
  return { claim, won: claim.by === wanted.by };
}

function encodeChargeClaim(claim: ChargeClaim): string {
  return `${claim.charge}:${claim.ended}:${claim.by}`;
}

function parseChargeClaim(op: Operation, value: string): ChargeClaim {
  const match = /^(\d{1,10}):(settled|expired):([a-z]{1,8}_[0-9a-f]{32})$/.exec(value);
  const charge = match === null ? NaN : Number(match[1]);
  if (match === null || charge > op.amount) throw new KvProtocolError(`the charge claimed for ${op.id} is malformed`);
  return { charge, ended: match[2] as HoldEnding, by: match[3]! };
}

/**
 * Step 2: release what was held beyond the charge, write the one history entry and close
 * the hold. Unconditional: sent once, while `fence` is open. `op.amount` is what is held;
 * `after` is the balance the hold transaction left (r: the entry's balanceAfter is the
 * balance as if the request had cost its charge from the start).
 */
async function release(ctx: MeteringContext, keys: UserKeys, op: Operation, after: number, claim: ChargeClaim, fence: Fence): Promise<number> {
  if (!fence.isOpen()) throw new FenceClosedError(`releasing ${op.id}`);
  const held = op.amount;
  const give = held - claim.charge;
  const steps = new TxSteps(ctx.kv.multi());
  const balance = steps.read((tx) => tx.incrby(keys.balance, give), (raw) => asInt(raw, "balance"));
  steps.write((tx) => appendUsage(tx, keys, op, -give));
  steps.write((tx) => tx.hset(keys.op(op.id), { amount: claim.charge, held }));
  steps.write((tx) => appendSettleEntry(tx, keys, holdEntry(op, after, claim), openMember(op.id, held), ctx.config.historyLimit));
  return balance(await execSteps(steps, { timeoutMs: ctx.config.kvTimeoutMs }));
}

export function holdEntry(op: Operation, after: number, claim: ChargeClaim): HistoryEntry {
  const requested = op.hold!.requested;
  return {
    id: op.id, type: "debit", amount: claim.charge === 0 ? 0 : -claim.charge, balanceAfter: after + requested - claim.charge,
    reason: op.reason, route: op.route, at: op.at, held: op.amount, ended: claim.ended,
  };
}

/** The charge the owner asks for: a whole number of tokens, at most what is held. */
export function chargeFor(charge: number, held: number): number {
  if (typeof charge !== "number" || !Number.isSafeInteger(charge) || charge < 0 || charge > MAX_AMOUNT) {
    throw new InvalidInputError("invalid_amount", "a charge must be a whole number of tokens, 0 or more");
  }
  return Math.min(assertNonNegativeAmount(charge, "charge"), held);
}

/**
 * Settles a hold as its owner, from its ticket: claim the charge (retried in the background
 * when the store does not answer), then, when this claim won, release the rest inside the
 * owner's window. A claim another won (a second settle, or a healer past the deadline)
 * reads back the charge that stands and releases nothing.
 */
export async function settleHold(ctx: MeteringContext, ticket: HoldTicket, requestedCharge: number): Promise<Settlement> {
  const charge = chargeFor(requestedCharge, ticket.held);
  const keys = userKeys(ctx.config.namespace, ticket.userId);
  const op = operationOf(ticket);
  const after = ticket.after;
  const held = ticket.held;
  const fence = fenceUntil(ctx.config.clock, ownerDeadline(ctx.config, ticket.deadline));
  const wanted = wantedClaim(charge, "settled");
  const outcome = (claim: ChargeClaim, status: Settlement["status"], balance: number | null, pending: Promise<void> | null): Settlement => ({
    status, charged: claim.charge, released: held - claim.charge, balance, ended: claim.ended, pending,
  });

  let claimed: { claim: ChargeClaim; won: boolean };
  try {
    claimed = await claimCharge(ctx, keys, op, wanted);
  } catch {
    // The store did not answer: the claim is retried in the background until it lands or a
    // healer has claimed the expiry instead (after the deadline + healAfterMs); the charge
    // reported is the one measured.
    const work = new PendingWork();
    work.add(claimLater(ctx, keys, op, after, wanted, fence));
    return outcome(wanted, "pending", null, work.settled());
  }
  // Another claimant fixed the charge first (a healer after the deadline): it releases.
  if (!claimed.won) return outcome(claimed.claim, "pending", null, null);
  try {
    return outcome(claimed.claim, "settled", await release(ctx, keys, op, after, claimed.claim, fence), null);
  } catch {
    // Lost, or past the owner's window: a healer releases it after the deadline.
    return outcome(claimed.claim, "pending", null, null);
  }
}

/** The hold's record as its transaction wrote it, rebuilt from the ticket (what holding is now: `held`). */
function operationOf(ticket: HoldTicket): Operation {
  return {
    id: assertOperationId(ticket.id), kind: "hold", state: "open", amount: ticket.held, at: ticket.at, period: periodOf(ticket.at),
    route: ticket.route, reason: ticket.reason, ref: null, claim: null, idempotencyKey: null, target: null, usage: null,
    // What the healer does at expiry is in the stored record; the owner's settle never reads it.
    hold: { requested: ticket.requested, deadline: ticket.deadline, onExpiry: "charge", held: null },
  };
}

async function claimLater(ctx: MeteringContext, keys: UserKeys, op: Operation, after: number, wanted: ChargeClaim, fence: Fence): Promise<void> {
  const giveUpAt = op.hold!.deadline + ctx.config.healAfterMs;
  const claimed = await retryUntilDone(async () => {
    try {
      return await claimCharge(ctx, keys, op, wanted);
    } catch {
      return undefined;
    }
  }, { first: 100, max: Math.min(2_000, ctx.config.healAfterMs / 10) }, (pause) => ctx.config.clock() + pause < giveUpAt);
  if (claimed === undefined) throw new FenceClosedError(`claiming the charge of ${op.id}`);
  // Best effort inside the window; past it (or lost) a healer releases.
  if (claimed.won && fence.isOpen()) await release(ctx, keys, op, after, claimed.claim, fence).catch(() => undefined);
}

/**
 * The healer's end of a hold nobody settled by its deadline: claim the route's expiry
 * charge (an owner's claim that got there first wins), then release. Called inside the
 * healer's pass; `fence` is the pass's.
 */
export async function finishHold(ctx: MeteringContext, keys: UserKeys, op: Operation, after: number, fence: Fence): Promise<void> {
  const terms = op.hold!;
  if (!fence.isOpen()) throw new FenceClosedError(`finishing ${op.id}`);
  // Past every owner's window: whoever claimed, the healer releases (an owner whose claim
  // won has not released, or its release would have closed the hold before this read).
  const { claim } = await claimCharge(ctx, keys, op, wantedClaim(terms.onExpiry === "charge" ? op.amount : 0, "expired"));
  await release(ctx, keys, op, after, claim, fence);
}
