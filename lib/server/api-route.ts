import { problemOfError, refuseForeignHost } from "../http";
import { nodeApp } from "./node-platform";

/**
 * Every API route handler outside the gate goes through this: a development server refuses
 * a foreign Host first (DNS rebinding, lib/http/allowed-host.ts), then thrown errors get
 * their one answer.
 */
export function apiRoute<A extends unknown[]>(handler: (request: Request, ...rest: A) => Promise<Response>): (request: Request, ...rest: A) => Promise<Response> {
  return async (request, ...rest) => {
    try {
      const foreign = refuseForeignHost(request, nodeApp().settings.allowedHosts);
      if (foreign !== null) return foreign;
      return await handler(request, ...rest);
    } catch (error) {
      return problemOfError(error);
    }
  };
}
