import { KvProtocolError } from "./errors";
import { asIntOrNull, asRecord } from "./kv";

/**
 * An operation record (`op:<id>` hash) describes one balance change from the moment it is
 * started until long after it settles: the healer needs it to finish an operation whose
 * caller vanished, and a refund needs the debit's amount and route.
 *
 * Lifecycle: claimed (credits, refunds, refills: the right to apply was won) → open (the
 * balance changed, the result is captured in `r:<id>`) → settled (the history has it, the
 * id has left the user's `open` set and `r:<id>` is gone). A refused debit is compensated
 * instead, and its record deleted. A reset opens a "carry" operation: carrying the debits it
 * found in flight over to the new ledger (reset.ts). A hold (hold.ts) is a debit whose amount
 * is the most the request may cost, settled later by what it used.
 */
export type OperationKind = "debit" | "hold" | "credit" | "refund" | "refill" | "carry";
export type OperationState = "claimed" | "open";

export interface Operation {
  id: string;
  kind: OperationKind;
  state: OperationState;
  /** Magnitude, always positive (0 only for a refill that had nothing to add). */
  amount: number;
  at: number;
  period: string;
  route: string | null;
  reason: string | null;
  /** For a refund, the debit; for claimed operations, the claim key that must name this op. */
  ref: string | null;
  claim: string | null;
  idempotencyKey: string | null;
  /** For a top-up refill: the balance to raise to (the amount is decided when applied). */
  target: number | null;
  /** For a refund: the daily-usage field ("<day>|<route>") of the debit it gives back. */
  usage: string | null;
  /** Keys set in the transaction that applies the operation (a grant's "applied" marker). */
  marks?: readonly string[];
  /** For a hold (hold.ts): what it asked for, when it expires, and what a healer does then. */
  hold?: HoldTerms | null;
  /** The operator who asked for it (history.ts `actor`); the healer writes it into the entry too. */
  actor?: string | null;
}

export function operationFields(op: Operation): Record<string, string | number> {
  const fields: Record<string, string | number> = {
    kind: op.kind, state: op.state, amount: op.amount, at: op.at, period: op.period,
  };
  if (op.route !== null) fields.route = op.route;
  if (op.reason !== null) fields.reason = op.reason;
  if (op.ref !== null) fields.ref = op.ref;
  if (op.claim !== null) fields.claim = op.claim;
  if (op.idempotencyKey !== null) fields.idem = op.idempotencyKey;
  if (op.target !== null) fields.target = op.target;
  if (op.usage !== null) fields.usage = op.usage;
  if (op.actor != null) fields.actor = op.actor;
  if (op.hold != null) {
    fields.requested = op.hold.requested;
    fields.deadline = op.hold.deadline;
    fields.expiry = op.hold.onExpiry;
    if (op.hold.held !== null) fields.held = op.hold.held;
  }
  // Keys never contain "," (user ids cannot), so a plain list is unambiguous.
  if (op.marks !== undefined && op.marks.length > 0) fields.marks = op.marks.join(",");
  return fields;
}

const KINDS: ReadonlySet<string> = new Set(["debit", "hold", "credit", "refund", "refill", "carry"]);
const STATES: ReadonlySet<string> = new Set(["claimed", "open"]);

/** Parses an HGETALL reply; null when the record does not exist (expired or compensated). */
export function parseOperation(id: string, raw: unknown): Operation | null {
  const h = asRecord(raw);
  if (Object.keys(h).length === 0) return null;
  const kind = String(h.kind);
  const state = String(h.state);
  const amount = asIntOrNull(h.amount, "op.amount");
  const at = asIntOrNull(h.at, "op.at");
  if (!KINDS.has(kind) || !STATES.has(state) || amount === null || at === null) {
    throw new KvProtocolError(`operation ${id} is malformed`);
  }
  const str = (v: unknown) => (v === undefined || v === null ? null : String(v));
  return {
    id,
    kind: kind as OperationKind,
    state: state as OperationState,
    amount,
    at,
    period: String(h.period),
    route: str(h.route),
    reason: str(h.reason),
    ref: str(h.ref),
    claim: str(h.claim),
    idempotencyKey: str(h.idem),
    target: asIntOrNull(h.target, "op.target"),
    usage: str(h.usage),
    marks: typeof h.marks === "string" && h.marks !== "" ? h.marks.split(",") : [],
    actor: str(h.actor),
    hold: kind === "hold" ? parseHoldTerms(id, h) : null,
  };
}

/**
 * A hold's terms. While it is open, the operation's `amount` is what it holds (the request,
 * or less when the balance covered only part of it); once settled, `amount` is the charge
 * and `held` keeps what was held.
 */
export interface HoldTerms {
  /** What the request asked to hold (the route's hold). */
  requested: number;
  /** Metering-clock time after which a healer finishes a hold nobody settled. */
  deadline: number;
  /** What the healer does then: charge what was held, or release it. */
  onExpiry: HoldExpiry;
  /** Set when the hold is settled: what it held. */
  held: number | null;
}

export type HoldExpiry = "charge" | "release";

function parseHoldTerms(id: string, h: Record<string, unknown>): HoldTerms {
  const requested = asIntOrNull(h.requested, "hold.requested");
  const deadline = asIntOrNull(h.deadline, "hold.deadline");
  const onExpiry = String(h.expiry);
  if (requested === null || deadline === null || (onExpiry !== "charge" && onExpiry !== "release")) {
    throw new KvProtocolError(`hold ${id} is malformed`);
  }
  return { requested, deadline, onExpiry, held: asIntOrNull(h.held, "hold.held") };
}

/**
 * Members of a user's `open` set are "<id>:<debited amount>" (0 for operations that add
 * tokens), so one atomic read of the balance and the set tells how much is in flight.
 */
export function openMember(id: string, debited: number): string {
  return `${id}:${debited}`;
}

export function parseOpenMember(member: unknown): { id: string; debited: number } {
  const text = String(member);
  const colon = text.lastIndexOf(":");
  const debited = Number(text.slice(colon + 1));
  if (colon <= 0 || colon === text.length - 1 || !Number.isSafeInteger(debited) || debited < 0) throw new KvProtocolError("malformed open operation");
  return { id: text.slice(0, colon), debited };
}

/** Fresh operation id: random, so two instances never collide and a replay is recognisable. */
export function newOperationId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;
}
