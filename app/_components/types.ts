import type { EntryType, HistoryEntry, HoldEnding, OpenHold, UserStats } from "@/lib/metering";

export type { EntryType, HistoryEntry, HoldEnding, OpenHold, UserStats };

/**
 * `GET /api/me`: the caller's stats plus whether the session is an admin's. Among the stats,
 * `reserved` (tokens held by the caller's running requests, already out of `balance`) and
 * `holds` (those requests, oldest first).
 */
export type MeResponse = UserStats & { isAdmin: boolean };

/** An RFC 9457 body as Tollgate sends it (lib/http/problem.ts); extension members vary by code. */
export interface Problem {
  status: number;
  code: string;
  title?: string;
  detail?: string;
  [extension: string]: unknown;
}

/**
 * What `POST /api/chat/stream` puts in the finish part's message metadata, under `tollgate`:
 * how the hold taken for the answer was settled. `reserved` = `charged` + `released`;
 * `remaining` is the balance right after.
 */
export interface ChatCharge {
  debitId: string;
  reserved: number;
  charged: number;
  released: number;
  remaining: number;
}
