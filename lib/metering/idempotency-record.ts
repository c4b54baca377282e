import { InvalidInputError } from "./errors";
import { assertText } from "./text";

/**
 * What a metered request carried with its Idempotency-Key. The key is scoped to the user
 * and to this: a retry must be the same request (draft-ietf-httpapi-idempotency-key-header
 * §2.2, "idempotency fingerprint"); reusing the key for another one is the client's error
 * (422), never a replay of an answer to a different question.
 */
export interface RequestFingerprint {
  /** The priced route the request was metered as: "POST /api/generate/article". */
  target: string;
  /** SHA-256 of the raw body bytes, base64url without padding (43 characters). */
  bodySha256: string;
}

/**
 * The value of `idem:<key>`: the debit that took the key and the request it was taken for,
 * written by the debit's own `SET … NX GET`, so the same round trip that claims the key
 * returns the holder's fingerprint to compare with.
 *
 *   "v2|<debitId>|<bodySha256>|<target>"   this version (target last: it may hold "|")
 *   "<debitId>"                            the previous version: no fingerprint (`request: null`)
 *
 * A debit sent without a fingerprint (metering called directly, not through the gate) is
 * written with empty fields, and matches only another such debit.
 */
export interface IdempotencyRecord {
  debitId: string;
  request: RequestFingerprint | null;
}

const PREFIX = "v2|";
const BODY_SHA256 = /^[A-Za-z0-9_-]{43}$/;
const NO_FINGERPRINT: RequestFingerprint = { target: "", bodySha256: "" };

export function assertRequestFingerprint(value: RequestFingerprint): RequestFingerprint {
  if (typeof value !== "object" || value === null || typeof value.bodySha256 !== "string" || !BODY_SHA256.test(value.bodySha256)) {
    throw new InvalidInputError("invalid_argument", "a request fingerprint needs a base64url SHA-256 of the body");
  }
  return { target: assertText(value.target, "request target"), bodySha256: value.bodySha256 };
}

export function encodeIdempotencyRecord(debitId: string, request: RequestFingerprint | null): string {
  const fp = request ?? NO_FINGERPRINT;
  return `${PREFIX}${debitId}|${fp.bodySha256}|${fp.target}`;
}

/** Never throws: a value this code cannot read is taken as the previous version's (a bare id). */
export function parseIdempotencyRecord(raw: string): IdempotencyRecord {
  if (!raw.startsWith(PREFIX)) return { debitId: raw, request: null };
  const rest = raw.slice(PREFIX.length);
  const first = rest.indexOf("|");
  const second = first < 0 ? -1 : rest.indexOf("|", first + 1);
  if (second < 0) return { debitId: raw, request: null };
  return {
    debitId: rest.slice(0, first),
    request: { bodySha256: rest.slice(first + 1, second), target: rest.slice(second + 1) },
  };
}

/** How a retry's request compares with the one its key was taken for. */
export type FingerprintMatch = "same" | "other_target" | "other_body" | "unknown";

/**
 * "unknown" for a record of the previous version, which kept no fingerprint: the caller
 * decides from what else it knows (run-debit.ts compares the route of the holder's debit).
 */
export function compareFingerprint(holder: IdempotencyRecord, request: RequestFingerprint | null): FingerprintMatch {
  if (holder.request === null) return "unknown";
  const mine = request ?? NO_FINGERPRINT;
  if (holder.request.target !== mine.target) return "other_target";
  if (holder.request.bodySha256 !== mine.bodySha256) return "other_body";
  return "same";
}
