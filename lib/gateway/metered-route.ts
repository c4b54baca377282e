import { generationFailed, problem } from "../http";
import { afterOfHold, chargeFor, type HoldTicket, type RefundOutcome, type Settlement } from "../metering";
import { GATE_HEADERS, type GatePass, type GateSigner, passCost, type PassReading } from "./forwarded-headers";
import type { GateDecision } from "./gate";
import { encodeStoredResponse } from "./stored-response";
import { setHoldHeaders, setTokenHeaders, type TokenHeaderPolicy } from "./token-headers";
import { lookupPrice, type PricedRoute, routeName } from "./pricing";

export interface MeteredRouteOptions {
  /** The pricing table the gate used: a pass must be for the route it arrives at. */
  pricing: readonly PricedRoute[];
  /** For the balance headers of the answer (token-headers.ts). */
  tokenHeaders: TokenHeaderPolicy;
  /** Reads the pass a gate in front of the handler (middleware, proxy) signed. */
  signer: GateSigner;
  /**
   * The gate without a signer, for requests no gate in front has passed: a route left
   * out of the middleware matcher is gated here, in the handler's own runtime.
   */
  gate: (request: Request) => Promise<GateDecision>;
  refund: (userId: string, debitId: string, reason: string) => Promise<RefundOutcome>;
  storeResponse: (userId: string, idempotencyKey: string, encoded: string) => Promise<void>;
  /**
   * Settles a held pass's hold from its ticket (`metering.settleHold`): the handler's
   * `meter.settle`, or this wrapper's when no work was delivered or the handler never settled.
   */
  settleHold: (ticket: HoldTicket, charge: number) => Promise<Settlement>;
  /**
   * Keeps work alive after the response (Next's `after`) and decides what its failure
   * means (lib/app.ts: it is logged; a healer finishes what it left open).
   */
  background: (task: Promise<unknown>) => void;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * The work of a metered route. For a held pass (a usage-priced route) it also gets the
 * hold's meter, and must settle it with what the work used, once: before answering, or,
 * for a streamed answer, when the stream ends (lib/generation/metered-stream.ts). Null
 * for a fixed-price pass: the gate charged already.
 */
export type MeteredHandler = (request: Request, pass: GatePass, meter: HoldMeter | null) => Promise<Response>;

/**
 * A settled hold as the handler sees it. "settled": charged, and the rest is back in the
 * balance. "pending": the charge is fixed, or being fixed in the background while the
 * store recovers; the release lands with it, or a healer finishes it after the deadline.
 */
export type HoldSettleOutcome = Pick<Settlement, "status" | "charged" | "released" | "balance">;

export interface HoldMeter {
  readonly holdId: string;
  /** What is held: the most the work may cost. */
  readonly held: number;
  /** The balance right after the hold. */
  readonly balance: number;
  /**
   * Ends the hold with this charge (at most what is held; the rest is released). Settles
   * once: every later call, from the handler or from `metered()`, gets the first outcome.
   * A charge that is not a whole number ≥ 0 rejects without using the settle up.
   */
  settle(charge: number): Promise<HoldSettleOutcome>;
  /** The settle once it was asked for (by anyone), else null. */
  readonly outcome: Promise<HoldSettleOutcome> | null;
}

/** Marks a handler `metered()` wrapped, so a test can prove every priced route is. */
const METERED = Symbol.for("tollgate.metered-route");

export function markMetered<F extends (request: Request) => Promise<Response>>(handler: F): F {
  return Object.assign(handler, { [METERED]: true });
}

export function isMeteredRoute(handler: unknown): boolean {
  return typeof handler === "function" && (handler as unknown as Record<symbol, unknown>)[METERED] === true;
}

const RETRY_ATTEMPTS = 5;

/**
 * Wraps a generation route so it only does the work. Where the gate runs is the
 * deployment's choice, per route, by the middleware matcher:
 * - in front (Edge middleware, the default): the request arrives with a signed pass;
 * - in the handler (a route outside the matcher): this wrapper runs the same gate first,
 *   which on `next start` avoids the middleware hook's own cost (see README Benchmarks).
 * A request carrying pass headers that do not verify is refused (forged, or a signing
 * secret that differs between the middleware and the handler): gating it again here could
 * charge it twice.
 *
 * Afterwards it gives the tokens back, exactly once, when no work is delivered (the
 * handler throws, answers 5xx, or refuses the input with 4xx). A refund is claimed with
 * SET NX on the debit (apply.ts), so retrying it while the KV recovers is safe. It also
 * stores the answer of a request that carried an Idempotency-Key, for the gate to replay.
 */
export function createMeteredRoute(options: MeteredRouteOptions) {
  const log = options.log ?? (() => undefined);

  return function metered(handler: MeteredHandler): (request: Request) => Promise<Response> {
    return markMetered(async function meteredRoute(request: Request): Promise<Response> {
      const admitted = await admit(request);
      if (admitted.status === "respond") return admitted.response;
      const { pass, serverTiming } = admitted;
      const meter = pass.status === "held" ? holdMeter(pass) : null;
      let response: Response | null = null;
      let failure: unknown = null;
      try {
        response = await handler(request, pass, meter);
      } catch (error) {
        failure = error;
      }
      const delivery = decideDelivery(response, failure);
      if (meter !== null && pass.status === "held") return deliverHeld(pass, meter, serverTiming, delivery);
      return deliver(pass, serverTiming, delivery);
    });
  };

  /** The pass the work runs on: the one a gate in front signed, or this runtime's own gate's. */
  async function admit(request: Request): Promise<{ status: "serve"; pass: GatePass; serverTiming: string | null } | { status: "respond"; response: Response }> {
    if (!request.headers.has(GATE_HEADERS.signature)) {
      const decision = await options.gate(request);
      if (decision.pending !== null) options.background(decision.pending);
      if (decision.status === "respond") return decision;
      if (decision.afterResponse !== null) options.background(decision.afterResponse());
      return { status: "serve", pass: decision.pass, serverTiming: decision.serverTiming };
    }
    const reading = await options.signer.read(request.headers);
    const verdict = decidePass(reading, request, options.pricing);
    switch (verdict.status) {
      case "honour": return { status: "serve", pass: verdict.pass, serverTiming: null };
      // Its user and debit ids are the sender's choice: never act on them (refunding them
      // would let a user refund their own paid work).
      case "invalid": return { status: "respond", response: problem("gate_pass_invalid", { detail: "the request carries metering headers that do not verify" }) };
      // Verified, so its ids are ours, signed by the gate: the tokens it paid go back.
      case "refuse": return { status: "respond", response: await refusePaidPass(verdict.pass, verdict.code, verdict.why) };
    }
  }

  /** The handler's answer, with the balance headers; what was not delivered is given back. */
  async function deliver(pass: GatePass, serverTiming: string | null, delivery: Delivery): Promise<Response> {
    const cost = passCost(pass);
    const debitId = pass.status === "paid" ? pass.debitId : null;
    if (delivery.status === "delivered") {
      const paidBalance = pass.status === "paid" ? pass.balance : null;
      const response = withHeaders(delivery.response, serverTiming, (headers) => setTokenHeaders(headers, options.tokenHeaders, cost, paidBalance));
      if (pass.idempotencyKey !== null) {
        const encoded = await encodeStoredResponse(response);
        const key = pass.idempotencyKey;
        // Retried while the KV recovers (a SET: safe to repeat); if it never lands, a
        // retry of the request learns that its answer was not kept (gate.ts).
        options.background(withRetries(() => options.storeResponse(pass.userId, key, encoded), () => {
          log("route.store_response_failed", { route: pass.routeId, debit: debitId });
        }));
      }
      return response;
    }
    // No work was delivered. The user gets the tokens back, and the answer shows the
    // balance after the refund (or none, when the refund is still pending: the balance
    // before it would be wrong).
    const refunded = pass.status === "paid" ? await refundWithRetry(pass, `Refund: ${pass.routeId} failed`) : null;
    const givenBack = refunded?.status === "refunded" || refunded?.status === "already_refunded";
    const remaining = refunded?.status === "refunded" ? refunded.balance : null;
    const balanceHeaders = (headers: Headers) => {
      setTokenHeaders(headers, options.tokenHeaders, cost, remaining);
      if (givenBack) headers.set("x-tokens-refunded", String(cost));
    };
    if (delivery.status === "input_refused") {
      return withHeaders(new Response(delivery.response.body, delivery.response), serverTiming, balanceHeaders);
    }
    log("route.failed", { route: pass.routeId, debit: debitId, error: delivery.error });
    const body = generationFailed(delivery.httpStatus, {
      detail: givenBack
        ? `the work failed; the ${cost} tokens it cost were given back`
        : "the work failed; the refund is pending and will be applied automatically",
      extra: { refunded: givenBack, debitId },
    });
    return withHeaders(body, serverTiming, balanceHeaders);
  }

  /**
   * A held pass's answer. Delivered (a 2xx or 3xx, a stream most likely): the hold is the
   * handler's to settle, when its work ends (a stream settles when it finishes or its client
   * goes away); settling here would end it before the work. The answer shows what is held
   * and the balance after the hold, or, when the handler settled before answering, what it
   * cost and the balance after that. Not delivered (it threw, 4xx, 5xx): nothing was used,
   * the hold is released in full (a handler that already settled keeps its charge: once).
   */
  async function deliverHeld(pass: Extract<GatePass, { status: "held" }>, meter: HoldMeter, serverTiming: string | null, delivery: Delivery): Promise<Response> {
    if (delivery.status === "delivered") {
      const settled = meter.outcome === null ? null : await meter.outcome;
      const response = settled === null ? settleWhenBodyEnds(delivery.response, pass, meter) : delivery.response;
      return withHeaders(response, serverTiming, (headers) => {
        if (settled === null) return setHoldHeaders(headers, options.tokenHeaders, { id: pass.holdId, held: pass.held }, pass.balance);
        setTokenHeaders(headers, options.tokenHeaders, settled.charged, settled.balance);
        if (settled.status === "settled") headers.set("x-tokens-released", String(settled.released));
      });
    }
    const settled = await meter.settle(0);
    const balanceHeaders = (headers: Headers) => {
      setTokenHeaders(headers, options.tokenHeaders, settled.charged, settled.status === "settled" ? settled.balance : null);
      if (settled.status === "settled") headers.set("x-tokens-released", String(settled.released));
    };
    if (delivery.status === "input_refused") {
      return withHeaders(new Response(delivery.response.body, delivery.response), serverTiming, balanceHeaders);
    }
    log("route.failed", { route: pass.routeId, hold: pass.holdId, error: delivery.error });
    const body = generationFailed(delivery.httpStatus, {
      detail: settled.status === "settled"
        ? `the work failed; of the ${pass.held} tokens held, ${settled.released} were released`
        : "the work failed; the release of what was held is pending and will be applied automatically",
      extra: { released: settled.status === "settled", holdId: pass.holdId },
    });
    return withHeaders(body, serverTiming, balanceHeaders);
  }

  /**
   * A delivered answer whose handler did not settle before answering: a stream that settles
   * when it ends (meteredStream) does so before its body ends. One that ends, or whose client
   * leaves, still unsettled is a handler that never measured what it used: logged, and
   * settled at once as the route's expiry would (all it held by default; nothing for a
   * `release` route) rather than left open until the deadline.
   */
  function settleWhenBodyEnds(response: Response, pass: Extract<GatePass, { status: "held" }>, meter: HoldMeter): Response {
    const unsettled = () => {
      if (meter.outcome !== null) return;
      const row = options.pricing.find((r) => r.id === pass.routeId);
      const charge = row?.usage?.onExpiry === "release" ? 0 : pass.held;
      log("route.hold_unsettled", { route: pass.routeId, hold: pass.holdId, charge });
      void meter.settle(charge).catch(() => undefined);
    };
    if (response.body === null) {
      unsettled();
      return response;
    }
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await reader.read().catch((error: unknown) => {
          unsettled();
          throw error;
        });
        if (next.done) {
          unsettled();
          controller.close();
        } else {
          controller.enqueue(next.value);
        }
      },
      // The inner stream's own cancel (a stream that settles on a disconnect) runs first.
      async cancel(reason) {
        await reader.cancel(reason).catch(() => undefined);
        unsettled();
      },
    });
    return new Response(body, response);
  }

  /** The hold's meter: settles through the store once, from the pass's ticket. */
  function holdMeter(pass: Extract<GatePass, { status: "held" }>): HoldMeter {
    let outcome: Promise<HoldSettleOutcome> | null = null;
    return {
      holdId: pass.holdId,
      held: pass.held,
      balance: pass.balance,
      get outcome() {
        return outcome;
      },
      settle(charge) {
        if (outcome === null) {
          // A bad charge is the handler's bug: refused without using the settle up.
          try {
            chargeFor(charge, pass.held);
          } catch (error) {
            return Promise.reject(error);
          }
          outcome = settleHeld(pass, charge);
          // The settle of a stream ends after the answer: the platform must keep it alive.
          options.background(outcome);
        }
        return outcome;
      },
    };
  }

  async function settleHeld(pass: Extract<GatePass, { status: "held" }>, charge: number): Promise<HoldSettleOutcome> {
    try {
      const { status, charged, released, balance, pending } = await options.settleHold(ticketOf(pass, options.pricing), charge);
      // The claim retried in the background while the store recovers (hold.ts).
      if (pending !== null) options.background(pending);
      return { status, charged, released, balance };
    } catch (error) {
      // The store answered something it should not have (a malformed claim): the healer
      // finishes the hold after its deadline.
      log("route.settle_failed", { route: pass.routeId, hold: pass.holdId, error: String(error) });
      const charged = chargeFor(charge, pass.held);
      return { status: "pending", charged, released: pass.held - charged, balance: null };
    }
  }

  /** 403 for a pass that verified but is not honoured here; its tokens go back (a hold is released). */
  async function refusePaidPass(pass: GatePass, code: "gate_pass_expired" | "gate_pass_wrong_route", why: string): Promise<Response> {
    if (pass.status === "held") {
      const settled = await holdMeter(pass).settle(0);
      const answer = problem(code, {
        detail: `${why}; what it held was released`,
        extra: { released: settled.status === "settled" },
      });
      setTokenHeaders(answer.headers, options.tokenHeaders, null, settled.status === "settled" ? settled.balance : null);
      return answer;
    }
    const refunded = pass.status === "paid" ? await refundWithRetry(pass, `Refund: ${pass.routeId} not served (${code})`) : null;
    const answer = problem(code, {
      detail: `${why}; its tokens were given back`,
      extra: { refunded: refunded?.status === "refunded" || refunded?.status === "already_refunded" },
    });
    setTokenHeaders(answer.headers, options.tokenHeaders, null, refunded?.status === "refunded" ? refunded.balance : null);
    return answer;
  }

  async function refundWithRetry(pass: Extract<GatePass, { status: "paid" }>, reason: string): Promise<RefundOutcome | null> {
    const attempt = () => options.refund(pass.userId, pass.debitId, reason);
    try {
      return await attempt();
    } catch {
      // The KV is down right now. Keep trying after the answer; the claim makes retries safe.
      options.background(withRetries(attempt, () => log("route.refund_failed", { route: pass.routeId, debit: pass.debitId })));
      return null;
    }
  }
}

/** The hold's ticket, from the pass the gate signed (route label as the gate recorded it). */
export function ticketOf(pass: Extract<GatePass, { status: "held" }>, pricing: readonly PricedRoute[]): HoldTicket {
  const row = pricing.find((r) => r.id === pass.routeId);
  return {
    userId: pass.userId, id: pass.holdId, requested: pass.requested, held: pass.held, after: afterOfHold(pass, pass.balance),
    at: pass.at, deadline: pass.deadline, route: row === undefined ? null : routeName(row), reason: null,
  };
}

/**
 * What a signed pass allows here. Pure.
 *
 *   does not verify                              → invalid (403, nothing acted on)
 *   verified, expired (beyond the clock skew)    → refuse: gate_pass_expired, tokens back
 *   verified, for another route, method or path  → refuse: gate_pass_wrong_route, tokens back
 *   verified, for this request                   → honour
 */
export type PassVerdict =
  | { status: "honour"; pass: GatePass }
  | { status: "invalid" }
  | { status: "refuse"; pass: GatePass; code: "gate_pass_expired" | "gate_pass_wrong_route"; why: string };

export function decidePass(reading: PassReading, request: Request, pricing: readonly PricedRoute[]): PassVerdict {
  if (reading.status === "invalid") return { status: "invalid" };
  const pass = reading.pass;
  if (reading.status === "expired") {
    return { status: "refuse", pass, code: "gate_pass_expired", why: `the metering pass expired at ${new Date(reading.expiredAt).toISOString()}` };
  }
  const pathname = new URL(request.url).pathname;
  const price = lookupPrice(pricing, request.method, pathname);
  if (price.status !== "priced" || price.route.id !== pass.routeId || pass.method !== request.method || pass.path !== pathname) {
    return { status: "refuse", pass, code: "gate_pass_wrong_route", why: `the metering pass was issued for ${pass.routeId} (${pass.method} ${pass.path})` };
  }
  return { status: "honour", pass };
}

/**
 * Whether the work was delivered. Pure.
 *
 *   an answer below 400        → delivered (charged; its answer kept for an Idempotency-Key)
 *   an answer 400-499          → input_refused (no work done: tokens back, the answer as it is)
 *   an answer of 500 or more   → failed (tokens back, generation_failed with its status)
 *   the handler threw          → failed (tokens back, generation_failed 500)
 */
export type Delivery =
  | { status: "delivered"; response: Response }
  | { status: "input_refused"; response: Response }
  | { status: "failed"; httpStatus: number; error: string };

export function decideDelivery(response: Response | null, failure: unknown): Delivery {
  if (response === null) return { status: "failed", httpStatus: 500, error: String(failure) };
  if (response.status < 400) return { status: "delivered", response };
  if (response.status < 500) return { status: "input_refused", response };
  return { status: "failed", httpStatus: response.status, error: `status ${response.status}` };
}

/** Tries `task` again a few times with growing pauses (about 15 s in all), then gives up. */
async function withRetries(task: () => Promise<unknown>, giveUp: () => void): Promise<void> {
  for (let i = 0; i < RETRY_ATTEMPTS; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** i));
    try {
      await task();
      return;
    } catch {
      // next attempt
    }
  }
  giveUp();
}

/** The handler's answer plus the gate's headers (in-handler placement), then the balance headers. */
function withHeaders(response: Response, serverTiming: string | null, balance: (headers: Headers) => void): Response {
  const apply = (headers: Headers) => {
    if (serverTiming !== null) headers.set("server-timing", serverTiming);
    balance(headers);
  };
  try {
    apply(response.headers);
    return response;
  } catch {
    // Immutable headers (a fetched response passed through): copy once.
    const out = new Response(response.body, response);
    apply(out.headers);
    return out;
  }
}
