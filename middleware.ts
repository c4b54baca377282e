import { type NextFetchEvent, type NextRequest, NextResponse } from "next/server";
import { type App, getApp } from "./lib/app";
import { problem } from "./lib/http";

/**
 * Edge middleware: a thin adapter over the framework-free gate (lib/gateway/gate.ts).
 * Next 16 prints a deprecation notice for `middleware.ts` in favour of `proxy.ts`, which
 * runs on Node.js only; the same gate works there — see README "Running the gate as proxy.ts".
 */
export const config = {
  // The priced routes gated here, at the edge (lib/gateway/pricing.ts); a priced route left
  // out is gated by `metered()` in its handler. `/api/bench/hook` measures the cost of the
  // middleware hook alone (bench/run.ts). tests/gateway/pricing.coverage.test.ts keeps this
  // list and the pricing table in step.
  matcher: ["/api/generate/:path*", "/api/chat/:path*", "/api/bench/hook"],
};

export default async function middleware(request: NextRequest, event: NextFetchEvent): Promise<Response> {
  if (request.nextUrl.pathname === "/api/bench/hook") return NextResponse.next();
  let app: App;
  try {
    app = getApp();
  } catch (error) {
    // A missing or invalid setting: fail closed, and say which one (never a secret's value).
    console.error(JSON.stringify({ event: "gate.misconfigured", error: String(error) }));
    return problem("configuration_error", { detail: "the metering gateway is not configured; see the server log" });
  }
  const decision = await app.gate(request);
  // This request's own background work (a void, a heal, a grant) outlives the answer.
  if (decision.pending !== null) event.waitUntil(app.background(decision.pending));
  if (decision.status === "respond") return decision.response;
  const settle = decision.afterResponse;
  if (settle !== null) event.waitUntil(app.background(settle()));
  const response = NextResponse.next({ request: { headers: decision.requestHeaders } });
  // Server-Timing only: the balance headers are written by metered() in the handler, which
  // knows whether the work was refunded (a header set here would override the handler's).
  response.headers.set("server-timing", decision.serverTiming);
  return response;
}
