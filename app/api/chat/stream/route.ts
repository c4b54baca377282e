import { createDemoModel, demoWordCount, meteredStream } from "@/lib/generation";
import { maxOutputTokensFor, priceOfUsage, type UsagePricedRoute } from "@/lib/gateway/pricing";
import { insufficientTokens } from "@/lib/http";
import { DemoFailure } from "@/lib/server/generation-route";
import { CHAT_FIELDS, parseGenerationInput } from "@/lib/server/generation-input";
import { metered } from "@/lib/server/metered";
import { nodeApp } from "@/lib/server/node-platform";

/**
 * A streamed chat answer, priced by use (the chat-stream row of lib/gateway/pricing.ts):
 * the gate holds the most it may cost, the answer is capped at what the hold pays for, and
 * the hold is settled with what was streamed (lib/generation/metered-stream.ts). The demo
 * model counts words as tokens; swap in any AI SDK model and its tokenizer here.
 */

// The row's maxDurationSeconds: a segment config must be a literal (Next reads it at build time).
export const maxDuration = 60;

export const POST = metered(async (request, pass, meter) => {
  const app = nodeApp();
  const row = app.pricing.find((r) => r.id === pass.routeId);
  // Only a held pass carries a meter; a row that is not usage-priced here is a wiring mistake.
  if (meter === null || row?.usage === undefined) throw new Error(`${pass.routeId} is not served on a hold`);
  const input = await parseGenerationInput(request, CHAT_FIELDS, app.settings.demoFailures);
  if (input.status === "refused") return input.response;
  if (input.value.fail === true) throw new DemoFailure("failure requested by the demo flag");
  const message = String(input.value.message);
  const usageRow = row as UsagePricedRoute;
  const inputTokens = demoWordCount(message);
  const maxOutputTokens = maxOutputTokensFor(usageRow, meter.held, inputTokens);
  if (maxOutputTokens < 1) {
    // A 4xx: metered() releases the whole hold.
    return insufficientTokens({ balance: meter.balance + meter.held, cost: priceOfUsage(usageRow, { inputTokens, outputTokens: 1 }), topUpUrl: app.settings.topUpUrl });
  }
  return meteredStream({
    request, meter,
    model: createDemoModel({ delayMs: app.settings.demoStreamDelayMs }),
    prompt: message,
    price: (usage) => priceOfUsage(usageRow, usage),
    maxOutputTokens,
    countTokens: demoWordCount,
    onError: (error) => app.log("route.model_failed", { route: pass.routeId, error: String(error) }),
  });
});
