import { benchChat } from "../bench-chat";

export const dynamic = "force-dynamic";

/**
 * The same handler as /api/bench/plain, but under the middleware matcher: middleware.ts
 * returns `NextResponse.next()` at once for this path, so the difference from
 * /api/bench/plain is the cost of the middleware hook alone. Only in a test build (next.config.ts).
 */
export const POST = benchChat;
