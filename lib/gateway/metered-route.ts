import { problem } from "../http";
import type { RefundOutcome } from "../metering";
import { type GatePass, type GateSigner } from "./forwarded-headers";
import { encodeStoredResponse } from "./stored-response";

export interface MeteredRouteOptions {
  signer: GateSigner;
  refund: (userId: string, debitId: string, reason: string) => Promise<RefundOutcome>;
  storeResponse: (userId: string, idempotencyKey: string, encoded: string) => Promise<void>;
  /** Keeps work alive after the response (Next's `after`). */
  background: (task: Promise<unknown>) => void;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export type MeteredHandler = (request: Request, pass: GatePass) => Promise<Response>;

const REFUND_ATTEMPTS = 5;

/**
 * Wraps a generation route so it only does the work: the gate has already charged, and
 * this wrapper gives the tokens back, exactly once, when no work is delivered (the handler
 * throws, answers 5xx, or refuses the input with 4xx). A refund is claimed with SET NX on the debit (apply.ts), so
 * retrying it while the KV recovers is safe. It also stores the answer of a request that
 * carried an Idempotency-Key, for the gate to replay.
 *
 * A request without a valid gate signature is refused: reaching a metered handler
 * without passing the gate is a deployment mistake, and serving it would be free work.
 */
export function createMeteredRoute(options: MeteredRouteOptions) {
  const log = options.log ?? (() => undefined);

  return function metered(handler: MeteredHandler): (request: Request) => Promise<Response> {
    return async function meteredRoute(request: Request): Promise<Response> {
      const pass = await options.signer.read(request.headers);
      if (pass === null) {
        return problem(403, "gate_bypassed", "Not metered", {
          detail: "this route is only served through the metering gate",
        });
      }
      let response: Response | null = null;
      let failure: unknown = null;
      try {
        response = await handler(request, pass);
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
