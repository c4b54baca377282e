import type { AuthFailureCode } from "../auth/errors";

/**
 * The one place errors become HTTP responses: RFC 9457 problem details with a stable
 * `code` that clients switch on (titles and details are for humans and may change).
 */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface ProblemOptions {
  /** Human-readable explanation of this occurrence. */
  detail?: string;
  /** Extension members. They never override type/title/status/code/detail. */
  extra?: Record<string, unknown>;
  headers?: HeadersInit;
}

/**
 * `type` is a URN rather than an invented https URL: RFC 9457 §3.1.1 allows a
 * non-dereferenceable URI, and a URL we do not host would be a dead link at best.
 */
export function problemType(code: string): string {
  return `urn:tollgate:problem:${code}`;
}

export function problem(status: number, code: string, title: string, opts: ProblemOptions = {}): Response {
  const body = {
    ...opts.extra,
    type: problemType(code),
    title,
    status,
    code,
    ...(opts.detail === undefined ? {} : { detail: opts.detail }),
  };
  const headers = new Headers(opts.headers);
  headers.set("content-type", PROBLEM_CONTENT_TYPE);
  // Error answers depend on the credential and the balance at that instant: never cache.
  headers.set("cache-control", "no-store");
  headers.set("x-content-type-options", "nosniff");
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * 401. Per RFC 6750 §3.1 a request that carried no credentials gets a bare challenge
 * (no `error`), one with a bad token gets `error="invalid_token"`.
 */
export function unauthenticated(failureCode: AuthFailureCode, message: string): Response {
  const challenge =
    failureCode === "token_missing"
      ? `Bearer realm="tollgate"`
      : `Bearer realm="tollgate", error="invalid_token", error_description="${quotable(message)}"`;
  return problem(401, "unauthenticated", "Authentication required", {
    detail: message,
    extra: { reason: failureCode },
    headers: { "www-authenticate": challenge },
  });
}

/** How long clients should wait when the IdP's keys could not be fetched. */
export const AUTH_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * Maps any verifier failure to its response: the IdP's key set being unreachable is our
 * outage (503, retry), not the client's bad token (401). Middleware should use this rather
 * than `unauthenticated` directly.
 */
export function authFailureResponse(failure: { code: AuthFailureCode; message: string }): Response {
  if (failure.code === "token_jwks_unavailable") {
    return problem(503, "auth_unavailable", "Authentication temporarily unavailable", {
      detail: failure.message,
      extra: { reason: failure.code },
      headers: { "retry-after": String(AUTH_UNAVAILABLE_RETRY_AFTER_SECONDS) },
    });
  }
  return unauthenticated(failure.code, failure.message);
}

export function forbidden(detail = "this credential may not perform this action", extra?: Record<string, unknown>): Response {
  return problem(403, "forbidden", "Forbidden", { detail, extra });
}

/**
 * 403 for a write the session cookie authenticates that a browser says came from another
 * origin (lib/http/same-origin.ts). Its own code, so a client can tell it from a missing role.
 */
export function crossOriginRefused(detail: string): Response {
  return problem(403, "cross_origin_request", "Cross-origin request refused", { detail });
}

/** 421: the request names a host this server does not answer to (DNS rebinding, in development). */
export function hostNotAllowed(detail: string): Response {
  return problem(421, "host_not_allowed", "Host not allowed", { detail });
}

/** 400 with a caller-chosen stable code (`invalid_json`, `unknown_field`, `invalid_amount`…). */
export function invalidRequest(code: string, detail: string, extra?: Record<string, unknown>): Response {
  return problem(400, code, "Invalid request", { detail, extra });
}

/**
 * 503 when the metering store cannot be reached. Fail closed: an unmetered request would
 * be free work, so the client is told to retry instead.
 */
export function meteringUnavailable(retryAfterSeconds = 1, detail = "the metering store is unavailable; retry shortly"): Response {
  assertWholeSeconds(retryAfterSeconds, "retryAfterSeconds");
  return problem(503, "metering_unavailable", "Metering unavailable", {
    detail,
    extra: { retryAfter: retryAfterSeconds },
    headers: { "retry-after": String(retryAfterSeconds) },
  });
}

export interface InsufficientTokensInput {
  balance: number;
  cost: number;
  topUpUrl: string;
}

export function insufficientTokens({ balance, cost, topUpUrl }: InsufficientTokensInput): Response {
  // Amounts are safe integers at every boundary; a fraction here is a bug upstream.
  if (!Number.isSafeInteger(balance) || !Number.isSafeInteger(cost)) {
    throw new TypeError("balance and cost must be safe integers");
  }
  return problem(402, "insufficient_tokens", "Insufficient tokens", {
    detail: `this request costs ${cost} tokens and the balance is ${balance}`,
    extra: { balance, cost, topUpUrl },
  });
}

export function notFound(detail = "no such resource"): Response {
  return problem(404, "not_found", "Not found", { detail });
}

export function methodNotAllowed(allowed: readonly string[]): Response {
  // RFC 9110 §15.5.6: a 405 MUST carry Allow.
  return problem(405, "method_not_allowed", "Method not allowed", {
    detail: `allowed methods: ${allowed.join(", ")}`,
    extra: { allowed: [...allowed] },
    headers: { allow: allowed.join(", ") },
  });
}

export function payloadTooLarge(maxBytes: number): Response {
  return problem(413, "payload_too_large", "Payload too large", {
    detail: `the request body must be at most ${maxBytes} bytes`,
    extra: { maxBytes },
  });
}

export function unsupportedMediaType(expected = "application/json"): Response {
  return problem(415, "unsupported_media_type", "Unsupported media type", {
    detail: `the request body must be ${expected}`,
    extra: { expected },
  });
}

/**
 * RFC 6750 §3: error_description is a quoted-string limited to %x20-21 / %x23-5B /
 * %x5D-7E, so quotes, backslashes and anything non-ASCII are replaced.
 */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "?");
}

function assertWholeSeconds(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be a non-negative whole number`);
}
