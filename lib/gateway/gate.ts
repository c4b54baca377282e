import type { TokenVerifier } from "../auth";
import { createAuthenticate } from "../auth/authenticate";
import {
  authFailureResponse, insufficientTokens, invalidRequest, meteringUnavailable, methodNotAllowed, notFound, payloadTooLarge, problem,
} from "../http";
import { refuseForeignHost } from "../http/allowed-host";
import { refuseCookieWrite } from "../http/same-origin";
import {
  type DebitOutcome, type DebitRequest, type Hold, type HoldOutcome, type HoldRequest, isValidIdempotencyKey, KvUnavailableError, type RequestFingerprint,
} from "../metering";
import { type GatePass, type GateSigner, stripGateHeaders } from "./forwarded-headers";
import { assertPricingTable, type FixedPricedRoute, holdDeadlineMs, lookupPrice, type PricedRoute, routeName, type UsagePricedRoute } from "./pricing";
import { fingerprintRequest, MAX_FINGERPRINT_BODY_BYTES } from "./request-fingerprint";
import { decodeStoredResponse } from "./stored-response";
import { setTokenHeaders, type TokenHeaderPolicy } from "./token-headers";

export interface GateOptions extends TokenHeaderPolicy {
  verify: TokenVerifier;
  /** The debit: `metering.debit`, or a coalescer's. */
  debit: (request: DebitRequest) => Promise<DebitOutcome>;
  /**
   * The hold, for usage-priced rows: `metering.hold`. Required when the pricing table has
   * one (createGate throws without it); a table of fixed prices needs none. @default null
   */
  hold?: (request: HoldRequest) => Promise<HoldOutcome>;
  /**
   * Every hold's deadline instead of the route's maxDurationSeconds plus a margin
   * (TOLLGATE_HOLD_DEADLINE_MS). @default null (per route)
   */
  holdDeadlineMs?: number | null;
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

export type GateDecision = (
  | {
    status: "forward";
    /**
     * The request headers to forward: the client's, minus spoofable ones, plus the signed
     * pass. Without a signer, the client's headers as they came.
     */
    requestHeaders: Headers;
    /**
     * The gate's own timing for the answer (`Server-Timing`: auth, meter). The balance
     * headers are written by `metered()` on the handler's answer: it alone knows whether
     * the work was refunded.
     */
    serverTiming: string;
    pass: GatePass;
    /** Work to start after the answer (the debit's settlement): give it to waitUntil. */
    afterResponse: (() => Promise<void>) | null;
  }
  /** Refused, or an Idempotency-Key replay: this answer, and the handler never runs. */
  | { status: "respond"; response: Response }
) & {
  /** Work the debit started that must outlive the answer (DebitOutcome.pending): give it to waitUntil. */
  pending: Promise<void> | null;
};

/**
 * The metering gate: price → authenticate → debit → decide, then forward or answer.
 * Framework-free (Request in, decision out) so the Edge middleware, a Node `proxy.ts` and
 * the tests all run the same code. Every refusal is decided before the route handler
 * runs; a request the gate refuses never reaches the work.
 */
export function createGate(options: GateOptions): (request: Request) => Promise<GateDecision> {
  assertPricingTable(options.pricing);
  // Optional so a gate for fixed prices only needs none; a usage-priced row without it is a
  // wiring mistake, refused here at start-up rather than on the route's first request.
  const hold = options.hold ?? null;
  const usageRows = options.pricing.filter((row) => row.usage !== undefined).map((row) => row.id);
  if (hold === null && usageRows.length > 0) {
    throw new TypeError(`the pricing table has usage-priced rows (${usageRows.join(", ")}) and the gate has no hold function`);
  }
  const deadlineOverride = options.holdDeadlineMs ?? null;
  const log = options.log ?? (() => undefined);
  const inProgressMs = options.idempotencyInProgressMs ?? 900_000;
  const publicOrigin = options.publicOrigin ?? null;
  const authenticate = createAuthenticate({ verify: options.verify, publicOrigin });

  return async function gate(request: Request): Promise<GateDecision> {
    const started = performance.now();
    const foreign = refuseForeignHost(request, options.allowedHosts ?? null);
    if (foreign !== null) return respond(foreign);
    const url = new URL(request.url);
    const price = lookupPrice(options.pricing, request.method, url.pathname);
    if (price.status === "unknown") return respond(notFound("this route is not in the pricing table"));
    if (price.status === "wrong-method") return respond(methodNotAllowed(price.allow));
    const route = price.route;

    // Every priced request spends tokens, whatever its method: one the session cookie
    // authenticates must come from the app's own pages, before anything is verified or charged.
    const credentials = authenticate.credentialsOf(request);
    const forged = refuseCookieWrite(request, credentials, { publicOrigin });
    if (forged !== null) return respond(forged);
    const caller = await authenticate(request, credentials);
    if (caller.status === "refused") return respond(authFailureResponse(caller.failure));
    // The gate's authenticate knows no admin token: a caller here is always a user.
    if (caller.status !== "user") throw new Error("unreachable: the gate accepts user tokens only");
    const authMs = performance.now() - started;

    const rawKey = request.headers.get("idempotency-key");
    const idempotencyKey = rawKey === null ? null : unquote(rawKey);
    if (idempotencyKey !== null && !isValidIdempotencyKey(idempotencyKey)) {
      return respond(invalidRequest("invalid_idempotency_key", "Idempotency-Key must be 1-128 characters of letters, digits and _ . : -"));
    }
    if (route.usage !== undefined) {
      // A usage-priced answer is charged by what it used and is a stream: there is no one
      // answer to keep and replay, and a retry would be charged again. Refused before anything is held.
      if (idempotencyKey !== null) {
        return respond(problem("idempotency_not_supported", {
          detail: `${route.method} ${route.path} is priced by use and streams its answer: it cannot be replayed. Send it without an Idempotency-Key; nothing was held`,
        }));
      }
      // Checked at construction: a table with usage rows comes with a hold.
      return holdFor(request, url, route, hold!, caller.userId, started, authMs);
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

    const outcome = await options.debit({
      userId: caller.userId, cost: route.cost, route: routeName(route), idempotencyKey, requestFingerprint,
    });
    const pending = outcome.pending;
    const next = decideDebitAnswer(outcome, route, { topUpUrl: options.topUpUrl, inProgressMs });
    switch (next.status) {
      case "respond": {
        if (outcome.status === "insufficient_tokens") setTokenHeaders(next.response.headers, options, null, outcome.balance);
        return { ...next, pending };
      }
      case "serve_unpaid": {
        log("gate.fail_open", { route: route.id, user: caller.userId, reason: String(next.reason) });
        const pass: GatePass = { status: "unpaid", userId: caller.userId, routeId: route.id, idempotencyKey, method: request.method, path: url.pathname };
        return forward(request, pass, started, authMs, null, pending);
      }
      case "error":
        // A 500 that still hands over the debit's pending work (its void): throwing here
        // would lose it, and the debit would be settled as paid.
        log("gate.error", { route: route.id, error: String(next.error) });
        return { status: "respond", response: problem("internal_error", { detail: "the metering store answered an error; nothing was charged" }), pending };
      case "serve": {
        const pass: GatePass = {
          status: "paid", userId: outcome.userId, debitId: next.debitId, cost: outcome.cost, balance: next.balance,
          routeId: route.id, idempotencyKey, method: request.method, path: url.pathname,
        };
        return forward(request, pass, started, authMs, next.settle, pending);
      }
    }
  };

  /** A usage-priced route: hold the most it may cost, and forward a held pass the handler settles. */
  async function holdFor(
    request: Request, url: URL, route: UsagePricedRoute, takeHold: (request: HoldRequest) => Promise<HoldOutcome>,
    userId: string, started: number, authMs: number,
  ): Promise<GateDecision> {
    const usage = route.usage;
    const outcome = await takeHold({
      userId, amount: usage.hold, minimum: usage.minimumHold, deadlineMs: holdDeadlineMs(route, deadlineOverride),
      onExpiry: usage.onExpiry, route: routeName(route),
    });
    const pending = outcome.pending;
    const next = decideHoldAnswer(outcome, options.topUpUrl);
    switch (next.status) {
      case "respond":
        if (outcome.status === "insufficient_tokens") setTokenHeaders(next.response.headers, options, null, outcome.balance);
        return { status: "respond", response: next.response, pending };
      case "error":
        log("gate.error", { route: route.id, error: String(next.error) });
        return { status: "respond", response: problem("internal_error", { detail: "the metering store answered an error; nothing was held" }), pending };
      case "serve": {
        const h = next.hold;
        const pass: GatePass = {
          status: "held", userId, holdId: h.id, held: h.held, requested: h.requested, balance: h.balance, at: h.ticket.at, deadline: h.deadline,
          routeId: route.id, idempotencyKey: null, method: request.method, path: url.pathname,
        };
        return forward(request, pass, started, authMs, null, pending);
      }
    }
  }

  async function forward(
    request: Request, pass: GatePass, started: number, authMs: number, settle: (() => Promise<void>) | null, pending: Promise<void> | null,
  ): Promise<GateDecision> {
    let requestHeaders = request.headers;
    if (options.signer !== null) {
      requestHeaders = new Headers(request.headers);
      stripGateHeaders(requestHeaders);
      await options.signer.write(requestHeaders, pass);
    }
    const meterMs = performance.now() - started - authMs;
    const serverTiming = `auth;dur=${authMs.toFixed(2)}, meter;dur=${meterMs.toFixed(2)}`;
    return { status: "forward", requestHeaders, serverTiming, pass, afterResponse: settle, pending };
  }
}

/** What the gate does with a hold's outcome. */
export type HoldAnswer =
  | { status: "serve"; hold: Hold }
  | { status: "respond"; response: Response }
  | { status: "error"; error: unknown };

/**
 * The hold's outcome → what the client gets. Pure but for building the answer.
 *
 *   held (in full or partly)  → serve (a held pass; the handler settles it)
 *   insufficient_tokens       → 402: the balance does not cover even the minimum hold
 *   store unavailable         → 503, fail closed (whatever was held is given back: pending)
 *   other store error         → error
 */
export function decideHoldAnswer(outcome: HoldOutcome, topUpUrl: string): HoldAnswer {
  switch (outcome.status) {
    case "held":
      return { status: "serve", hold: outcome.hold };
    case "insufficient_tokens":
      return { status: "respond", response: insufficientTokens({ balance: outcome.balance, cost: outcome.minimum, topUpUrl }) };
    case "unavailable":
      if (!(outcome.error instanceof KvUnavailableError)) return { status: "error", error: outcome.error };
      return { status: "respond", response: meteringUnavailable(1, "the token store did not answer in time; nothing was held") };
  }
}

/** What the gate does with a debit's outcome. */
export type DebitAnswer =
  | { status: "serve"; debitId: string; balance: number; settle: () => Promise<void> }
  /** The store is away and the route is configured fail-open: served, not charged, logged. */
  | { status: "serve_unpaid"; reason: unknown }
  | { status: "respond"; response: Response }
  /** Not the store being away: an error the platform reports (500). */
  | { status: "error"; error: unknown };

/**
 * The debit's outcome → what the client gets. Pure but for building the answer: no store,
 * no clock.
 *
 *   ok                      → serve (the pass carries the debit)
 *   insufficient_tokens     → 402 with the balance and where to buy more
 *   replay, answer kept     → that answer again, marked Idempotent-Replayed, charged 0
 *   replay, none kept       → 409 in progress (Retry-After), or, once the first request
 *                             has had all the time a request may take, 409 answer not kept
 *   key reused elsewhere    → 422
 *   store unavailable       → fail-open routes: serve unpaid; others 503 (nothing charged)
 *   other store error       → error
 */
function decideDebitAnswer(
  outcome: DebitOutcome, route: FixedPricedRoute, context: { topUpUrl: string; inProgressMs: number },
): DebitAnswer {
  switch (outcome.status) {
    case "ok":
      return { status: "serve", debitId: outcome.debitId, balance: outcome.balance, settle: outcome.settle };
    case "insufficient_tokens":
      return { status: "respond", response: insufficientTokens({ balance: outcome.balance, cost: route.cost, topUpUrl: context.topUpUrl }) };
    case "unavailable":
      if (!(outcome.error instanceof KvUnavailableError)) return { status: "error", error: outcome.error };
      if (route.failOpen) return { status: "serve_unpaid", reason: outcome.error.message };
      return { status: "respond", response: meteringUnavailable(1, "the token store did not answer in time; nothing was charged") };
    case "replay": {
      const stored = decodeStoredResponse(outcome.storedResponse);
      if (stored.status === "response") {
        stored.response.headers.set("idempotent-replayed", "true");
        stored.response.headers.set("x-tokens-cost", "0");
        return { status: "respond", response: stored.response };
      }
      // Nothing kept, and the first request has had all the time a request may take: its
      // answer could not be kept (the KV was away when it finished, or the instance died).
      // A terminal answer, so a retry is never stuck on "in progress" for the key's 24 h.
      if (stored.status === "unavailable" || outcome.keyAgeMs > context.inProgressMs) {
        return {
          status: "respond",
          response: problem("idempotent_response_unavailable", {
            detail: "the first request with this Idempotency-Key was served, but its answer cannot be replayed"
              + (stored.status === "unavailable" ? " (too large to keep)" : "")
              + "; this retry was not charged. Send a new key to run the request again",
          }),
        };
      }
      return {
        status: "respond",
        response: problem("idempotency_key_in_use", {
          detail: "a request with this Idempotency-Key is still being processed; retry later",
          headers: { "retry-after": "1" },
        }),
      };
    }
    case "idempotency_key_reused":
      // draft-ietf-httpapi-idempotency-key-header, error scenarios: a key reused with another payload is 422.
      return {
        status: "respond",
        response: problem("idempotency_key_reused", {
          detail: `this Idempotency-Key was first used for ${outcome.mismatch === "target" ? "another route" : "another request body"}`
            + "; this request was not charged. Send a new key for a new request",
        }),
      };
  }
}

/** A refusal decided before anything was charged: no work pending. */
function respond(response: Response): GateDecision {
  return { status: "respond", response, pending: null };
}

/** The draft sends the key as a structured-field string: `"abc"`. Plain tokens are accepted too. */
function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}
