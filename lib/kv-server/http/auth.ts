import { createHash, timingSafeEqual } from "node:crypto";

export type Access = "full" | "read-only";

/**
 * Constant-time comparison. Hashing both sides first gives equal-length
 * inputs, so neither the contents nor the length of the real token leak
 * through response timing.
 */
function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token from `Authorization: Bearer ...`, or from `?_token=` as Upstash's REST API also allows. */
export function presentedToken(authorization: string | undefined, query: URLSearchParams): string | undefined {
  // A header that is there but not Bearer wins over the query: it is refused, not overridden.
  if (authorization !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match?.[1];
  }
  return query.get("_token") ?? undefined;
}

/** Which access a token grants; both comparisons always run so timing reveals nothing. */
export function accessFor(token: string | undefined, full: string, readOnly: string | undefined): Access | undefined {
  if (token === undefined) return undefined;
  const isFull = tokensEqual(token, full);
  const isReadOnly = readOnly !== undefined && tokensEqual(token, readOnly);
  if (isFull) return "full";
  return isReadOnly ? "read-only" : undefined;
}
