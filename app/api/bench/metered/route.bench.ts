import { meteredBenchChat } from "../bench-chat";

export const dynamic = "force-dynamic";

/**
 * POST /api/chat with the gate inside the handler instead of the Edge middleware, for
 * `npm run bench`: same pricing (1 token), same work, same guarantees. 404 unless
 * a test build (next.config.ts).
 */
export const POST = meteredBenchChat;
