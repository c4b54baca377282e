import { KvProtocolError } from "./errors";
import type { UserKeys } from "./keys";
import type { Transaction } from "./kv";
import { openMember } from "./operation";

export type EntryType = "debit" | "credit" | "refund" | "refill" | "reset";

/**
 * One settled line of a user's history. `amount` is the signed change of the balance
 * (debits negative), so the entries of a complete history sum to the balance.
 */
export interface HistoryEntry {
  id: string;
  type: EntryType;
  amount: number;
  /** The balance right after this operation, as the store computed it (a COPY of it). */
  balanceAfter: number;
  reason: string | null;
  route: string | null;
  /** Epoch milliseconds. */
  at: number;
  /** For a refund: the debit it gives back. */
  ref?: string;
  /**
   * Who made an operator's change (top-up, refund, reset): the admin JWT's subject, or
   * "admin token" for ADMIN_API_TOKEN. Absent on entries no one in particular made (debits,
   * grants, automatic refunds) and on entries written before it existed.
   */
  actor?: string;
  /**
   * For a hold (hold.ts): what it held. The entry's amount is minus the charge, and
   * held − charge went back to the balance in the same transaction.
   */
  held?: number;
  /**
   * For a hold: how it ended. "settled" by the request with what it used; "expired" when
   * nobody settled it by its deadline and a healer charged it in full or released it.
   */
  ended?: HoldEnding;
}

export type HoldEnding = "settled" | "expired";

/**
 * Writes a settled entry and closes its operation, idempotently: the entry is a sorted-set
 * member, so settling twice (the caller and a healer) leaves one entry, and the cap is
 * applied only here, after the outcome is known. That is why a refused debit can never
 * push a real entry out: it never reaches the history at all.
 */
export function appendSettle(tx: Transaction, keys: UserKeys, entry: HistoryEntry, historyLimit: number): void {
  appendSettleEntry(tx, keys, entry, openMember(entry.id, entry.type === "debit" ? -entry.amount : 0), historyLimit);
}

/** appendSettle for an operation whose `open` member is not its entry's amount (a hold: what it held). */
export function appendSettleEntry(tx: Transaction, keys: UserKeys, entry: HistoryEntry, openMemberOfIt: string, historyLimit: number): void {
  tx.zadd(keys.history, { score: entry.at, member: encodeEntry(entry) });
  tx.zremrangebyrank(keys.history, 0, -(historyLimit + 1));
  tx.del(keys.result(entry.id));
  tx.zrem(keys.open, openMemberOfIt);
}

export function encodeEntry(entry: HistoryEntry): string {
  // Fixed key order: the same entry always encodes to the same member (a reset's carry step
  // removes its entry by value). Optional fields go last and only when present, so an entry
  // without them encodes exactly as it did before they existed.
  const { id, type, amount, balanceAfter, reason, route, at, ref, actor, held, ended } = entry;
  return JSON.stringify({
    id, type, amount, balanceAfter, reason, route, at,
    ...(ref === undefined ? {} : { ref }),
    ...(actor === undefined ? {} : { actor }),
    ...(held === undefined ? {} : { held }),
    ...(ended === undefined ? {} : { ended }),
  });
}

const TYPES: ReadonlySet<string> = new Set(["debit", "credit", "refund", "refill", "reset"]);

export function decodeEntry(raw: unknown): HistoryEntry {
  const value = typeof raw === "string" ? safeParse(raw) : raw;
  if (!value || typeof value !== "object") throw new KvProtocolError("history entry is not an object");
  const e = value as Record<string, unknown>;
  if (typeof e.id !== "string" || typeof e.type !== "string" || !TYPES.has(e.type)
    || typeof e.amount !== "number" || typeof e.balanceAfter !== "number" || typeof e.at !== "number") {
    throw new KvProtocolError("history entry has missing or mistyped fields");
  }
  const entry: HistoryEntry = {
    id: e.id,
    type: e.type as EntryType,
    amount: e.amount,
    balanceAfter: e.balanceAfter,
    reason: typeof e.reason === "string" ? e.reason : null,
    route: typeof e.route === "string" ? e.route : null,
    at: e.at,
  };
  if (typeof e.ref === "string") entry.ref = e.ref;
  if (typeof e.actor === "string") entry.actor = e.actor;
  if (typeof e.held === "number") entry.held = e.held;
  if (e.ended === "settled" || e.ended === "expired") entry.ended = e.ended;
  return entry;
}

function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}
