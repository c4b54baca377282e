import type { AuthFailureCode } from "../auth/errors";
import { KvUnavailableError, MeteringError } from "../metering/errors";

/**
 * The one table from stable codes to HTTP answers: RFC 9457 problem details with a stable
 * `code` that clients switch on (titles and details are for humans and may change). Every
 * refusal Tollgate gives (auth, metering, the gate, input) is built here from its code;
 * thrown errors get theirs from `problemOfError`. Nothing else picks a status.
 */
const PROBLEM_CONTENT_TYPE = "application/problem+json";

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
function problemType(code: string): string {
  return `urn:tollgate:problem:${code}`;
}

/** Each code's status and title. Input refusals (400, many codes) are `invalidRequest`. */
export const PROBLEMS = {
  unauthenticated: { status: 401, title: "Authentication required" },
  auth_unavailable: { status: 503, title: "Authentication temporarily unavailable" },
  forbidden: { status: 403, title: "Forbidden" },
  cross_origin_request: { status: 403, title: "Cross-origin request refused" },
  host_not_allowed: { status: 421, title: "Host not allowed" },
  insufficient_tokens: { status: 402, title: "Insufficient tokens" },
  metering_unavailable: { status: 503, title: "Metering unavailable" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  idempotency_key_in_use: { status: 409, title: "Request in progress" },
  idempotent_response_unavailable: { status: 409, title: "Answer not kept" },
  idempotency_key_reused: { status: 422, title: "Idempotency-Key reused" },
  /** A usage-priced route's answer differs per run and is charged by use: a replay cannot stand in for it. */
  idempotency_not_supported: { status: 422, title: "Idempotency-Key not supported on this route" },
  gate_pass_invalid: { status: 403, title: "Not metered" },
  gate_pass_wrong_route: { status: 403, title: "Not metered for this route" },
  gate_pass_expired: { status: 403, title: "Metering pass expired" },
  debit_not_refundable: { status: 404, title: "Debit not refundable" },
  /** The handler's own 5xx status is kept (`generationFailed`). */
  generation_failed: { status: 500, title: "Generation failed" },
  configuration_error: { status: 500, title: "Gateway misconfigured" },
  internal_error: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** The answer for `code`, its status and title from the table. */
export function problem(code: ProblemCode, opts: ProblemOptions = {}): Response {
  const { status, title } = PROBLEMS[code];
  return render(status, code, title, opts);
}

function render(status: number, code: string, title: string, opts: ProblemOptions): Response {
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
  return problem("unauthenticated", {
    detail: message,
    extra: { reason: failureCode },
    headers: { "www-authenticate": challenge },
  });
}

/** How long clients should wait when the IdP's keys could not be fetched. */
const AUTH_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * Maps any verifier failure to its response: the IdP's key set being unreachable is our
 * outage (503, retry), not the client's bad token (401). Middleware should use this rather
 * than `unauthenticated` directly.
 */
export function authFailureResponse(failure: { code: AuthFailureCode; message: string }): Response {
  if (failure.code === "token_jwks_unavailable") {
    return problem("auth_unavailable", {
      detail: failure.message,
      extra: { reason: failure.code },
      headers: { "retry-after": String(AUTH_UNAVAILABLE_RETRY_AFTER_SECONDS) },
    });
  }
  return unauthenticated(failure.code, failure.message);
}

export function forbidden(detail = "this credential may not perform this action", extra?: Record<string, unknown>): Response {
  return problem("forbidden", { detail, extra });
}



/** 400 with a caller-chosen stable code (`invalid_json`, `unknown_field`, `invalid_amount`…). */
export function invalidRequest(code: string, detail: string, extra?: Record<string, unknown>): Response {
  return render(400, code, "Invalid request", { detail, extra });
}

/**
 * 503 when the metering store cannot be reached. Fail closed: an unmetered request would
 * be free work, so the client is told to retry instead.
 */
export function meteringUnavailable(retryAfterSeconds = 1, detail = "the metering store is unavailable; retry shortly"): Response {
  assertWholeSeconds(retryAfterSeconds, "retryAfterSeconds");
  return problem("metering_unavailable", {
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
  return problem("insufficient_tokens", {
    detail: `this request costs ${cost} tokens and the balance is ${balance}`,
    extra: { balance, cost, topUpUrl },
  });
}

export function notFound(detail = "no such resource"): Response {
  return problem("not_found", { detail });
}

export function methodNotAllowed(allowed: readonly string[]): Response {
  // RFC 9110 §15.5.6: a 405 MUST carry Allow.
  return problem("method_not_allowed", {
    detail: `allowed methods: ${allowed.join(", ")}`,
    extra: { allowed: [...allowed] },
    headers: { allow: allowed.join(", ") },
  });
}

export function payloadTooLarge(maxBytes: number): Response {
  return problem("payload_too_large", {
    detail: `the request body must be at most ${maxBytes} bytes`,
    extra: { maxBytes },
  });
}

export function unsupportedMediaType(expected = "application/json"): Response {
  return problem("unsupported_media_type", {
    detail: `the request body must be ${expected}`,
    extra: { expected },
  });
}

/** A failed generation keeps the handler's own 5xx status (a 504 stays a 504). */
export function generationFailed(status: number, opts: ProblemOptions): Response {
  return render(status >= 500 && status <= 599 ? status : 500, "generation_failed", PROBLEMS.generation_failed.title, opts);
}

/**
 * The answer to a thrown error: the store being away is a 503 (retry), a metering core
 * refusal of hostile input is a 400 with its code, anything else a logged 500 that says
 * nothing about its cause.
 */
export function problemOfError(error: unknown): Response {
  if (error instanceof KvUnavailableError) return meteringUnavailable(1);
  if (error instanceof MeteringError && error.code !== "kv_protocol") return invalidRequest(error.code, error.message);
  console.error(JSON.stringify({ event: "route.error", error: String(error) }));
  return problem("internal_error", { detail: "an unexpected error occurred" });
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
