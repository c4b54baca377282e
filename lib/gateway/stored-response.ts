/**
 * Responses kept for Idempotency-Key replays. Small and text only: a generation answer is
 * a few KB of JSON; anything larger is not stored, and a replay then answers 409.
 */
export const MAX_STORED_RESPONSE_BYTES = 64 * 1024;

interface StoredResponse {
  v: 1;
  status: number;
  contentType: string | null;
  body: string;
}

export async function encodeStoredResponse(response: Response): Promise<string | null> {
  const body = await response.clone().text();
  if (new TextEncoder().encode(body).length > MAX_STORED_RESPONSE_BYTES) return null;
  const stored: StoredResponse = { v: 1, status: response.status, contentType: response.headers.get("content-type"), body };
  return JSON.stringify(stored);
}

export function decodeStoredResponse(raw: string | null): Response | null {
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const s = value as Partial<StoredResponse>;
  if (!s || s.v !== 1 || typeof s.status !== "number" || typeof s.body !== "string" || s.status < 200 || s.status > 299) return null;
  const headers = new Headers({ "cache-control": "no-store" });
  if (typeof s.contentType === "string") headers.set("content-type", s.contentType);
  return new Response(s.body, { status: s.status, headers });
}
