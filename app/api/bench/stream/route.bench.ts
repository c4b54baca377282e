import { streamText } from "ai";
import { createDemoModel } from "@/lib/generation";
import { notFound } from "@/lib/http";
import { CHAT_FIELDS, parseGenerationInput } from "@/lib/server/generation-input";
import { nodeApp } from "@/lib/server/node-platform";

export const dynamic = "force-dynamic";

/**
 * The unmetered baseline of `npm run bench`'s streaming stage: the same answer as
 * POST /api/chat/stream (same body validation, same demo model and pace, the AI SDK's UI
 * message stream) without the hold, the cap or the settle. Only in a test build
 * (next.config.ts); the check below is a second fence.
 */
export async function POST(request: Request): Promise<Response> {
  const app = nodeApp();
  if (!app.settings.benchRoutes) return notFound();
  const input = await parseGenerationInput(request, CHAT_FIELDS, false);
  if (input.status === "refused") return input.response;
  const result = streamText({
    model: createDemoModel({ delayMs: app.settings.demoStreamDelayMs }),
    prompt: String(input.value.message),
    abortSignal: request.signal,
  });
  return result.toUIMessageStreamResponse();
}
