import { readCapped } from "../http/json-body";
import type { RequestFingerprint } from "../metering";
import { type PricedRoute, routeName } from "./pricing";

/**
 * The largest body the gate hashes for an Idempotency-Key; a larger one is refused (413)
 * before anything is charged. Far above any priced route's own limit (16 KiB) and below
 * the 10 MB Next lets middleware read.
 */
export const MAX_FINGERPRINT_BODY_BYTES = 1024 * 1024;

export type FingerprintReading =
  | { status: "ok"; fingerprint: RequestFingerprint }
  | { status: "too_large" }
  | { status: "unreadable" };

/**
 * What a request with an Idempotency-Key is compared by on a retry: its priced route and
 * the SHA-256 of its raw body bytes (not of parsed JSON: the draft's fingerprint is over
 * the payload as sent, and the handler sees exactly these bytes).
 *
 * The body is read from a clone, so the request keeps its own for the handler: `metered()`
 * passes this same Request on. In the middleware, Next hands the middleware a copy of the
 * body stream and buffers the original for the handler (next/dist/server/body-streams.js,
 * `getCloneableBody`), so reading it here leaves the forwarded body intact either way
 * (tests/e2e/gateway.test.ts checks the handler still gets it).
 */
export async function fingerprintRequest(request: Request, route: PricedRoute): Promise<FingerprintReading> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > MAX_FINGERPRINT_BODY_BYTES) return { status: "too_large" };
  let bytes: Uint8Array | null;
  try {
    bytes = await readCapped(request.clone().body, MAX_FINGERPRINT_BODY_BYTES);
  } catch {
    return { status: "unreadable" };
  }
  if (bytes === null) return { status: "too_large" };
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return { status: "ok", fingerprint: { target: routeName(route), bodySha256: toBase64Url(digest) } };
}

function toBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
