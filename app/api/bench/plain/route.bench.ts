import { benchChat } from "../bench-chat";

export const dynamic = "force-dynamic";

/**
 * The unmetered baseline for `npm run bench`: outside the middleware matcher, the same
 * work as POST /api/chat (parse and validate the JSON body, run the demo generator's chat,
 * answer JSON) without the gate. Only in a test build (next.config.ts).
 */
export const POST = benchChat;
