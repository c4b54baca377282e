import { type NextFetchEvent, type NextRequest, NextResponse } from "next/server";
import { forwardedResponseHeaders } from "./lib/gateway/gate";
import { problem } from "./lib/http";
import { getRuntime, pendingWork } from "./lib/runtime";

/**
 * Edge middleware: a thin adapter over the framework-free gate (lib/gateway/gate.ts).
 * Next 16 prints a deprecation notice for `middleware.ts` in favour of `proxy.ts`, which
 * runs on Node.js only; the same gate works there — see README "Running the gate as proxy.ts".
 */
export const config = {
  // The priced routes gated here, at the edge (lib/gateway/pricing.ts); a priced route left
  // out is gated by `metered()` in its handler. `/api/bench/hook` measures the cost of the
  // middleware hook alone (bench/run.ts).
  matcher: ["/api/generate/:path*", "/api/chat/:path*", "/api/bench/hook"],
};

export default async function middleware(request: NextRequest, event: NextFetchEvent): Promise<Response> {
  if (request.nextUrl.pathname === "/api/bench/hook") return NextResponse.next();
  let gate;
  try {
    gate = getRuntime().gate;
  } catch (error) {
    // A missing or invalid setting: fail closed, and say which one (never a secret's value).
    console.error(JSON.stringify({ event: "gate.misconfigured", error: String(error) }));
    return problem(500, "configuration_error", "Gateway misconfigured", { detail: "the metering gateway is not configured; see the server log" });
  }
  const decision = await gate(request);
  const background = pendingWork();
  if (background !== null) event.waitUntil(background);
  if (decision.action === "respond") return decision.response;
  const settle = decision.afterResponse;
  if (settle !== null) event.waitUntil(settle().catch(() => undefined));
  const response = NextResponse.next({ request: { headers: decision.requestHeaders } });
  // Server-Timing only: the balance headers are written by metered() in the handler, which
  // knows whether the work was refunded (a header set here would override the handler's).
  forwardedResponseHeaders(decision).forEach((value, name) => response.headers.set(name, value));
  return response;
}
