import { invalidRequest, meteringUnavailable, problem, refuseForeignHost } from "../http";
import { KvUnavailableError, MeteringError } from "../metering";
import { getNodeRuntime } from "./runtime";

/** The one mapping from thrown errors to HTTP answers for route handlers. */
export function errorResponse(error: unknown): Response {
  if (error instanceof KvUnavailableError) return meteringUnavailable(1);
  if (error instanceof MeteringError && error.code !== "kv_protocol") return invalidRequest(error.code, error.message);
  console.error(JSON.stringify({ event: "route.error", error: String(error) }));
  return problem(500, "internal_error", "Internal error", { detail: "an unexpected error occurred" });
}

/**
 * Every API route handler outside the gate goes through this: a development server refuses
 * a foreign Host first (DNS rebinding, lib/http/allowed-host.ts), then thrown errors get
 * their one answer.
 */
export function apiRoute<A extends unknown[]>(handler: (request: Request, ...rest: A) => Promise<Response>): (request: Request, ...rest: A) => Promise<Response> {
  return async (request, ...rest) => {
    try {
      const foreign = refuseForeignHost(request, getNodeRuntime().settings.allowedHosts);
      if (foreign !== null) return foreign;
      return await handler(request, ...rest);
    } catch (error) {
      return errorResponse(error);
    }
  };
}
