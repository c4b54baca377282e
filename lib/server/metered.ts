import { after } from "next/server";
import { createMeteredRoute } from "../gateway/metered-route";
import { pendingWork } from "../runtime";
import { getNodeRuntime } from "./runtime";

/**
 * `metered(handler)` for Node route handlers: the runtime is built on first use, so a
 * missing setting fails the request (500), not the build.
 */
export const metered: ReturnType<typeof createMeteredRoute> = (handler) => {
  let route: ((request: Request) => Promise<Response>) | null = null;
  return (request) => {
    if (route === null) {
      const runtime = getNodeRuntime();
      route = createMeteredRoute({
        signer: runtime.signer,
        tokenHeaders: runtime.tokenHeaders,
        pricing: runtime.pricing,
        gate: async (gated) => {
          const decision = await runtime.inlineGate(gated);
          const background = pendingWork();
          if (background !== null) after(background);
          return decision;
        },
        refund: (userId, debitId, reason) => runtime.metering.refund(userId, debitId, reason),
        storeResponse: runtime.metering.storeIdempotentResponse,
        background: (task) => after(task.catch(() => undefined)),
        log: (event, fields) => console.warn(JSON.stringify({ event, ...fields })),
      })(handler);
    }
    return route(request);
  };
};
