import { invalidRequest, meteringUnavailable, problem } from "../http";
import { KvUnavailableError, MeteringError } from "../metering";

/** The one mapping from thrown errors to HTTP answers for route handlers. */
export function errorResponse(error: unknown): Response {
  if (error instanceof KvUnavailableError) return meteringUnavailable(1);
  if (error instanceof MeteringError && error.code !== "kv_protocol") return invalidRequest(error.code, error.message);
  console.error(JSON.stringify({ event: "route.error", error: String(error) }));
  return problem(500, "internal_error", "Internal error", { detail: "an unexpected error occurred" });
}

export function withErrors<A extends unknown[]>(handler: (...args: A) => Promise<Response>): (...args: A) => Promise<Response> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (error) {
      return errorResponse(error);
    }
  };
}
