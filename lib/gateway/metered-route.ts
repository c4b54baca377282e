import { problem } from "../http";
import type { RefundOutcome } from "../metering";
import { GATE_HEADERS, type GatePass, type GateSigner } from "./forwarded-headers";
import type { GateDecision } from "./gate";
import { encodeStoredResponse } from "./stored-response";

export interface MeteredRouteOptions {
  /** Reads the pass a gate in front of the handler (middleware, proxy) signed. */
  signer: GateSigner;
  /**
   * The gate without a signer, for requests no gate in front has passed: a route left
   * out of the middleware matcher is gated here, in the handler's own runtime.
   */
  gate: (request: Request) => Promise<GateDecision>;
  refund: (userId: string, debitId: string, reason: string) => Promise<RefundOutcome>;
  storeResponse: (userId: string, idempotencyKey: string, encoded: string) => Promise<void>;
  /** Keeps work alive after the response (Next's `after`). */
  background: (task: Promise<unknown>) => void;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export type MeteredHandler = (request: Request, pass: GatePass) => Promise<Response>;

const REFUND_ATTEMPTS = 5;

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
    return async function meteredRoute(request: Request): Promise<Response> {
      let pass: GatePass | null;
      let gateHeaders: Headers | null = null;
      if (request.headers.has(GATE_HEADERS.signature)) {
        pass = await options.signer.read(request.headers);
        if (pass === null) {
          return problem(403, "gate_pass_invalid", "Not metered", {
            detail: "the request carries metering headers that do not verify",
          });
        }
      } else {
        const decision = await options.gate(request);
        if (decision.action === "respond") return decision.response;
        pass = decision.pass;
        gateHeaders = decision.responseHeaders;
        const settle = decision.afterResponse;
        if (settle !== null) options.background(settle());
      }
      let response: Response | null = null;
      let failure: unknown = null;
      try {
        response = await handler(request, pass);
        if (gateHeaders !== null) response = withHeaders(response, gateHeaders);
      } catch (error) {
        failure = error;
      }
      if (response !== null && response.status < 400) {
        if (pass.idempotencyKey !== null) {
          const encoded = await encodeStoredResponse(response);
          if (encoded !== null) options.background(options.storeResponse(pass.userId, pass.idempotencyKey, encoded));
        }
        return response;
      }

      // No work was delivered: a refused input (4xx) or a failure (throw, 5xx). Either way
      // the user gets the tokens back.
      const refunded = pass.debitId === "unpaid" ? null : await refundWithRetry(pass);
      const givenBack = refunded?.status === "refunded" || refunded?.status === "already_refunded";
      if (response !== null && response.status < 500) {
        const answer = new Response(response.body, response);
        if (givenBack) answer.headers.set("x-tokens-refunded", String(pass.cost));
        if (refunded?.status === "refunded") answer.headers.set("x-tokens-remaining", String(refunded.balance));
        return answer;
      }
      log("route.failed", { route: pass.routeId, debit: pass.debitId, error: failure === null ? `status ${response?.status}` : String(failure) });
      const body = problem(response?.status ?? 500, "generation_failed", "Generation failed", {
        detail: givenBack
          ? `the work failed; the ${pass.cost} tokens it cost were given back`
          : "the work failed; the refund is pending and will be applied automatically",
        extra: { refunded: givenBack, debitId: pass.debitId },
      });
      if (givenBack) body.headers.set("x-tokens-refunded", String(pass.cost));
      if (refunded?.status === "refunded") body.headers.set("x-tokens-remaining", String(refunded.balance));
      return body;
    };
  };

  async function refundWithRetry(pass: GatePass): Promise<RefundOutcome | null> {
    const attempt = () => options.refund(pass.userId, pass.debitId, `Refund: ${pass.routeId} failed`);
    try {
      return await attempt();
    } catch {
      // The KV is down right now. Keep trying after the answer; the claim makes retries safe.
      options.background((async () => {
        for (let i = 1; i < REFUND_ATTEMPTS; i++) {
          await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** i));
          try {
            await attempt();
            return;
          } catch {
            // next attempt
          }
        }
        log("route.refund_failed", { route: pass.routeId, debit: pass.debitId });
      })());
      return null;
    }
  }
}

/** The handler's answer plus the gate's headers. */
function withHeaders(response: Response, extra: Headers): Response {
  try {
    extra.forEach((value, name) => response.headers.set(name, value));
    return response;
  } catch {
    // Immutable headers (a fetched response passed through): copy once.
    const out = new Response(response.body, response);
    extra.forEach((value, name) => out.headers.set(name, value));
    return out;
  }
}
