/**
 * Responses kept for Idempotency-Key replays. Small and text only: a generation answer is
 * a few KB of JSON. A larger answer is not kept; a marker is kept instead, so a retry
 * learns at once that it cannot be replayed rather than waiting on "in progress".
 */
export const MAX_STORED_RESPONSE_BYTES = 64 * 1024;

interface StoredResponse {
  v: 1;
  status: number;
  contentType: string | null;
  body: string;
}

interface UnavailableMarker {
  v: 1;
  status: number;
  unavailable: "too_large";
}

export async function encodeStoredResponse(response: Response): Promise<string> {
  const body = await response.clone().text();
  if (new TextEncoder().encode(body).length > MAX_STORED_RESPONSE_BYTES) {
    const marker: UnavailableMarker = { v: 1, status: response.status, unavailable: "too_large" };
    return JSON.stringify(marker);
  }
  const stored: StoredResponse = { v: 1, status: response.status, contentType: response.headers.get("content-type"), body };
  return JSON.stringify(stored);
}

/** What a replay finds: the answer, a marker saying it was not kept, or nothing (yet). */
export type StoredAnswer =
  | { status: "response"; response: Response }
  | { status: "unavailable"; reason: "too_large" }
  | { status: "none" };

export function decodeStoredResponse(raw: string | null): StoredAnswer {
  if (raw === null) return { status: "none" };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { status: "none" };
  }
  const s = value as Partial<StoredResponse & UnavailableMarker>;
  if (!s || s.v !== 1) return { status: "none" };
  if (s.unavailable === "too_large") return { status: "unavailable", reason: "too_large" };
  if (typeof s.status !== "number" || typeof s.body !== "string" || s.status < 200 || s.status > 299) return { status: "none" };
  const headers = new Headers({ "cache-control": "no-store" });
  if (typeof s.contentType === "string") headers.set("content-type", s.contentType);
  return { status: "response", response: new Response(s.body, { status: s.status, headers }) };
}
