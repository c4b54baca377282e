import { after } from "next/server";
import { createMeteredRoute, markMetered } from "../gateway/metered-route";
import { nodeApp } from "./node-platform";

/**
 * `metered(handler)` for Node route handlers: the app is built on first use, so a
 * missing setting fails the request (500), not the build.
 */
export const metered: ReturnType<typeof createMeteredRoute> = (handler) => {
  let route: ((request: Request) => Promise<Response>) | null = null;
  return markMetered((request) => {
    if (route === null) {
      const app = nodeApp();
      route = createMeteredRoute({
        signer: app.signer,
        tokenHeaders: app.tokenHeaders,
        pricing: app.pricing,
        gate: app.inlineGate,
        refund: (userId, debitId, reason) => app.metering.refund(userId, debitId, reason),
        storeResponse: app.metering.storeIdempotentResponse,
        settleHold: app.metering.settleHold,
        background: (task) => after(app.background(task)),
        log: app.log,
      })(handler);
    }
    return route(request);
  });
};
