import type { EntryType, HistoryEntry, UserStats } from "@/lib/metering";

export type { EntryType, HistoryEntry, UserStats };

/** `GET /api/me`: the caller's stats plus whether the session is an admin's. */
export type MeResponse = UserStats & { isAdmin: boolean };

/** An RFC 9457 body as Tollgate sends it (lib/http/problem.ts); extension members vary by code. */
export interface Problem {
  status: number;
  code: string;
  title?: string;
  detail?: string;
  [extension: string]: unknown;
}
