import type { ChatCharge, HistoryEntry } from "./types";

/** The figures a settled hold is shown with, whichever way the client learnt them. */
export interface Receipt {
  charged: number;
  reserved: number;
  released: number;
  /** The balance right after the release. */
  balance: number;
  expired: boolean;
}

const COUNT = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * The charge in a chat answer's message metadata, or null when there is none: the stream was
 * stopped before its finish part (the server still settles; the client reads the history
 * instead) or the server sent something else. Checked by hand rather than with a schema
 * given to useChat, because a schema failure there would end the stream in an error.
 */
export function readChatCharge(metadata: unknown): ChatCharge | null {
  if (typeof metadata !== "object" || metadata === null) return null;
  const t = (metadata as { tollgate?: unknown }).tollgate;
  if (typeof t !== "object" || t === null) return null;
  const { debitId, reserved, charged, released, remaining } = t as Record<string, unknown>;
  if (typeof debitId !== "string" || !COUNT(reserved) || !COUNT(charged) || !COUNT(released) || !COUNT(remaining)) return null;
  return { debitId, reserved, charged, released, remaining };
}

export function receiptOfCharge(c: ChatCharge): Receipt {
  return { charged: c.charged, reserved: c.reserved, released: c.released, balance: c.remaining, expired: false };
}

/** A hold's history entry as a receipt: its amount is minus the charge, `held` what it held. */
export function receiptOfEntry(e: HistoryEntry): Receipt | null {
  if (e.held === undefined) return null;
  // An entry of a hold that charged nothing has amount 0, and −0 is not 0 to Object.is.
  const charged = e.amount === 0 ? 0 : -e.amount;
  return { charged, reserved: e.held, released: e.held - charged, balance: e.balanceAfter, expired: e.ended === "expired" };
}

/** The receipt of the hold `holdId` (the answer's X-Tokens-Hold), once its entry is in the history. */
export function holdReceipt(history: readonly HistoryEntry[], holdId: string): Receipt | null {
  const entry = history.find((e) => e.id === holdId);
  return entry === undefined ? null : receiptOfEntry(entry);
}
