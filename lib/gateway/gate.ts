import type { TokenVerifier } from "../auth";
import { extractCredentials } from "../auth/credentials";
import {
  authFailureResponse, insufficientTokens, invalidRequest, meteringUnavailable, methodNotAllowed, notFound, payloadTooLarge, problem,
} from "../http";
import { refuseForeignHost } from "../http/allowed-host";
import { refuseCookieWrite } from "../http/same-origin";
import { type DebitOutcome, type DebitRequest, isValidIdempotencyKey, KvUnavailableError, type RequestFingerprint } from "../metering";
import { type GatePass, type GateSigner, stripGateHeaders } from "./forwarded-headers";
import { assertPricingTable, lookupPrice, type PricedRoute } from "./pricing";
import { fingerprintRequest, MAX_FINGERPRINT_BODY_BYTES } from "./request-fingerprint";
import { decodeStoredResponse } from "./stored-response";
import { setTokenHeaders, type TokenHeaderPolicy } from "./token-headers";

export interface GateOptions extends TokenHeaderPolicy {
  verify: TokenVerifier;
  /** The debit: `metering.debit`, or a coalescer's. */
  debit: (request: DebitRequest) => Promise<DebitOutcome>;
  pricing: readonly PricedRoute[];
  /**
   * Signs the pass into the forwarded request headers, for a gate that runs in front of
   * the handler (middleware, proxy). Null for a gate that runs inside the handler
   * (`metered()`), which hands the pass over in memory.
   */
  signer: GateSigner | null;
  /** Where a refused caller can buy tokens (in the 402 body). */
  topUpUrl: string;
  /**
   * How long a request with an Idempotency-Key may still be running: a retry within this
   * gets "in progress" (409, Retry-After), after it "answer not kept" (409). At least the
   * platform's longest request (Vercel's maxDuration). @default 900_000 (15 min)
   */
  idempotencyInProgressMs?: number;
  /**
   * The app's public origin (TOLLGATE_PUBLIC_ORIGIN): a request the session cookie
   * authenticates must come from it (lib/http/same-origin.ts). @default null (the origin
   * the request was addressed to)
   */
  publicOrigin?: string | null;
  /**
   * In development, the host names a request may be addressed to (lib/http/allowed-host.ts:
   * DNS rebinding); null answers every host. @default null
   */
  allowedHosts?: readonly string[] | null;
  /** Where fail-open uses and unexpected errors are reported. Never given a token. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export type GateDecision =
  | {
    action: "forward";
    /**
     * The request headers to forward: the client's, minus spoofable ones, plus the signed
     * pass. Without a signer, the client's headers as they came.
     */
    requestHeaders: Headers;
    /**
     * The balance headers and Server-Timing for the answer. `metered()` writes them on the
     * handler's answer (it alone knows whether the work was refunded); a gate in front of
     * the handler passes on Server-Timing only (`forwardedResponseHeaders`).
     */
    responseHeaders: Headers;
    pass: GatePass;
    /** Work to finish after the answer (the debit's settlement): give it to waitUntil. */
    afterResponse: (() => Promise<void>) | null;
  }
  | { action: "respond"; response: Response };

/**
 * The metering gate: authenticate → meter → forward or refuse. Framework-free (Request in,
 * decision out) so the Edge middleware, a Node `proxy.ts` and the tests all run the same
 * code. Every refusal is decided before the route handler runs; a request the gate
 * refuses never reaches the work.
 */
export function createGate(options: GateOptions): (request: Request) => Promise<GateDecision> {
  assertPricingTable(options.pricing);
  const log = options.log ?? (() => undefined);
  const inProgressMs = options.idempotencyInProgressMs ?? 900_000;

  return async function gate(request: Request): Promise<GateDecision> {
    const started = performance.now();
    const foreign = refuseForeignHost(request, options.allowedHosts ?? null);
    if (foreign !== null) return respond(foreign);
    const url = new URL(request.url);
    const price = lookupPrice(options.pricing, request.method, url.pathname);
    if (price.kind === "unknown") return respond(notFound("this route is not in the pricing table"));
    if (price.kind === "wrong-method") return respond(methodNotAllowed(price.allow));
    const route = price.route;

    const publicOrigin = options.publicOrigin ?? null;
    const credentials = extractCredentials(request, { publicOrigin });
    // Every priced request spends tokens, whatever its method: one the session cookie
    // authenticates must come from the app's own pages, before anything is verified or charged.
    const forged = refuseCookieWrite(request, credentials, { publicOrigin });
    if (forged !== null) return respond(forged);
    if (credentials === null) {
      return respond(authFailureResponse({ code: "token_missing", message: "no bearer token or session cookie was sent" }));
    }
    const verified = await options.verify(credentials.token);
    if (!verified.ok) return respond(authFailureResponse(verified));
    const authMs = performance.now() - started;

    const rawKey = request.headers.get("idempotency-key");
    const idempotencyKey = rawKey === null ? null : unquote(rawKey);
    if (idempotencyKey !== null && !isValidIdempotencyKey(idempotencyKey)) {
      return respond(invalidRequest("invalid_idempotency_key", "Idempotency-Key must be 1-128 characters of letters, digits and _ . : -"));
    }
    // A key is scoped to the user and to this request (route and body): read before the
    // debit, so a key reused for another request is refused in the debit's own round trip.
    let requestFingerprint: RequestFingerprint | null = null;
    if (idempotencyKey !== null) {
      const read = await fingerprintRequest(request, route);
      if (read.status === "too_large") return respond(payloadTooLarge(MAX_FINGERPRINT_BODY_BYTES));
      if (read.status === "unreadable") return respond(invalidRequest("body_unreadable", "the request body could not be read"));
      requestFingerprint = read.fingerprint;
    }

    let outcome: DebitOutcome;
    try {
      outcome = await options.debit({
        userId: verified.userId,
        cost: route.cost,
        route: `${route.method} ${route.path}`,
        idempotencyKey,
        requestFingerprint,
      });
    } catch (error) {
      if (!(error instanceof KvUnavailableError)) {
        log("gate.error", { route: route.id, error: String(error) });
        throw error;
      }
      if (route.failOpen) {
        log("gate.fail_open", { route: route.id, user: verified.userId, reason: error.message });
        const pass: GatePass = {
          userId: verified.userId, debitId: "unpaid", cost: 0, routeId: route.id, balance: -1, idempotencyKey,
          method: request.method, path: url.pathname,
        };
        return forward(request, pass, started, authMs, null);
      }
      return respond(meteringUnavailable(1, "the token store did not answer in time; nothing was charged"));
    }

    switch (outcome.status) {
      case "insufficient_tokens":
        return respond(withRateLimit(insufficientTokens({ balance: outcome.balance, cost: route.cost, topUpUrl: options.topUpUrl }), outcome.balance));
      case "replay": {
        const stored = decodeStoredResponse(outcome.storedResponse);
        if (stored.kind === "response") {
          stored.response.headers.set("idempotent-replayed", "true");
          stored.response.headers.set("x-tokens-cost", "0");
          return respond(stored.response);
        }
        // Nothing kept, and the first request has had all the time a request may take: its
        // answer could not be kept (the KV was away when it finished, or the instance died).
        // A terminal answer, so a retry is never stuck on "in progress" for the key's 24 h.
        if (stored.kind === "unavailable" || outcome.keyAgeMs > inProgressMs) {
          return respond(problem(409, "idempotent_response_unavailable", "Answer not kept", {
            detail: "the first request with this Idempotency-Key was served, but its answer cannot be replayed"
              + (stored.kind === "unavailable" ? " (too large to keep)" : "")
              + "; this retry was not charged. Send a new key to run the request again",
          }));
        }
        return respond(problem(409, "idempotency_key_in_use", "Request in progress", {
          detail: "a request with this Idempotency-Key is still being processed; retry later",
          headers: { "retry-after": "1" },
        }));
      }
      case "idempotency_key_reused":
        // draft-ietf-httpapi-idempotency-key-header, error scenarios: a key reused with another payload is 422.
        return respond(problem(422, "idempotency_key_reused", "Idempotency-Key reused", {
          detail: `this Idempotency-Key was first used for ${outcome.mismatch === "target" ? "another route" : "another request body"}`
            + "; this request was not charged. Send a new key for a new request",
        }));
      case "ok": {
        const pass: GatePass = {
          userId: outcome.userId, debitId: outcome.debitId, cost: outcome.cost,
          routeId: route.id, balance: outcome.balance, idempotencyKey, method: request.method, path: url.pathname,
        };
        return forward(request, pass, started, authMs, outcome.settle);
      }
    }
  };

  async function forward(request: Request, pass: GatePass, started: number, authMs: number, settle: (() => Promise<void>) | null): Promise<GateDecision> {
    let requestHeaders = request.headers;
    if (options.signer !== null) {
      requestHeaders = new Headers(request.headers);
      stripGateHeaders(requestHeaders);
      await options.signer.write(requestHeaders, pass);
    }
    const responseHeaders = new Headers();
    setTokenHeaders(responseHeaders, options, pass.cost, pass.balance >= 0 ? pass.balance : null);
    const meterMs = performance.now() - started - authMs;
    responseHeaders.set("server-timing", `auth;dur=${authMs.toFixed(2)}, meter;dur=${meterMs.toFixed(2)}`);
    return { action: "forward", requestHeaders, responseHeaders, pass, afterResponse: settle };
  }

  function withRateLimit(response: Response, remaining: number): Response {
    setTokenHeaders(response.headers, options, null, remaining);
    return response;
  }
}

/**
 * The headers a gate in front of the handler (middleware, proxy) adds to the answer. Not
 * the balance headers: a response header set there would override the handler's, and only
 * the handler's side (`metered()`) knows whether the work was refunded.
 */
export function forwardedResponseHeaders(decision: Extract<GateDecision, { action: "forward" }>): Headers {
  const headers = new Headers();
  const timing = decision.responseHeaders.get("server-timing");
  if (timing !== null) headers.set("server-timing", timing);
  return headers;
}

function respond(response: Response): GateDecision {
  return { action: "respond", response };
}

/** The draft sends the key as a structured-field string: `"abc"`. Plain tokens are accepted too. */
function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}
