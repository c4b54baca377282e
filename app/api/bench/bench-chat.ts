import { getGenerator } from "@/lib/generation";
import { notFound } from "@/lib/http";
import { CHAT_FIELDS, parseGenerationInput } from "@/lib/server/generation-input";
import { generationRoute } from "@/lib/server/generation-route";
import { nodeApp } from "@/lib/server/node-platform";

/**
 * The chat route's work without metering (see app/api/chat/route.ts): same body parsing
 * and validation, same generator, same answer shape. Benchmark-only: its routes exist only
 * in a test build (TOLLGATE_TEST_BUILD=1 at `next build`, next.config.ts); the check below
 * is a second fence should one be served anyway.
 */
export async function benchChat(request: Request): Promise<Response> {
  if (!nodeApp().settings.benchRoutes) return notFound();
  const input = await parseGenerationInput(request, CHAT_FIELDS, false);
  if (input.status === "refused") return input.response;
  const result = await getGenerator().chat({ message: String(input.value.message) });
  return Response.json({ result, charged: 0, debitId: null }, { headers: { "cache-control": "no-store" } });
}

/**
 * The chat route as it is, metered, but outside the middleware matcher: `metered()` runs
 * the gate inside the handler (the bench pricing row, lib/gateway/pricing.ts). Outside a
 * test build the row does not exist and the gate answers 404.
 */
export const meteredBenchChat = generationRoute(CHAT_FIELDS, (input) => getGenerator().chat({ message: String(input.message) }));
