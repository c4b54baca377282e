import {
  type FinishReason, JsonToSseTransformStream, type LanguageModel, type ModelMessage, streamText, UI_MESSAGE_STREAM_HEADERS,
  type UIMessageChunk,
} from "ai";
import type { HoldMeter } from "../gateway/metered-route";
import type { TokenUsage } from "../gateway/pricing";

/**
 * Streams an AI SDK model's answer on a hold, and settles the hold with what the answer
 * used, exactly once:
 *
 *   the model finished         → the SDK's total usage (every step), priced by `price`
 *   the client went away       → what was streamed to it: its output tokens counted here
 *                                (the SDK reports no usage on abort), plus the prompt's;
 *                                the model is stopped, the rest of the hold released
 *   the model failed mid-way   → what was streamed, or nothing when nothing was
 *   the handler threw first    → not here: metered() releases the whole hold
 *
 * The answer is a UI message stream (`useChat` reads it). Its finish part is written after
 * the settle, so its message metadata reports the charge that stands:
 * `{ tollgate: { debitId, reserved, charged, released, remaining } }`.
 *
 * A client going away is seen twice over, because either may be all there is: the
 * response stream's cancel(), and the request's abort signal (Next.js does not always
 * cancel the body of a route handler's streamed response: vercel/next.js#77786).
 */
export interface MeteredStreamOptions {
  /** The request being answered: its abort signal says the client went away. */
  request: Request;
  /** The hold's meter, from `metered()`. */
  meter: Pick<HoldMeter, "holdId" | "held" | "settle">;
  model: LanguageModel;
  system?: string;
  /** The prompt: a single user message, or the conversation. */
  prompt: string | ModelMessage[];
  /** What a request that used this much costs, in whole credits (e.g. `priceOfUsage` with the route's row). */
  price: (usage: TokenUsage) => number;
  /** The model's output cap: what the hold pays for (`maxOutputTokensFor`). At least 1. */
  maxOutputTokens: number;
  /**
   * Tokens in a piece of text, for what the SDK does not report (an aborted or failed
   * stream's output, the prompt of one): the demo model's `demoWordCount`, a real
   * provider's tokenizer, or the default estimate. @default ceil(characters / 4)
   */
  countTokens?: (text: string) => number;
  /** Told of a model error (never shown to the client: its error part says only that it failed). */
  onError?: (error: unknown) => void;
}

/** The figures the finish part's metadata carries. */
export interface TollgateStreamMetadata {
  tollgate: {
    /** The hold the answer was metered on. */
    debitId: string;
    reserved: number;
    charged: number;
    released: number;
    /** The balance after the settle, or null while it is pending (the store was away). */
    remaining: number | null;
  };
}

/** About four characters a token: the usual rule of thumb for English with BPE tokenizers. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function meteredStream(options: MeteredStreamOptions): Response {
  const { meter, request } = options;
  if (!Number.isSafeInteger(options.maxOutputTokens) || options.maxOutputTokens < 1) {
    throw new TypeError("maxOutputTokens must be a whole number ≥ 1: a hold that pays for no output is refused before streaming");
  }
  const count = options.countTokens ?? estimateTokens;
  const inputEstimate = Math.max(1, count(promptText(options.system, options.prompt)));
  const abort = new AbortController();
  let streamed = "";
  let failed = false;
  // Set once the stream reached its end: what it used is then the SDK's to report, and a
  // late abort must not settle it on the streamed estimate first.
  let ending = false;
  /**
   * A price as a charge, never throwing: the settle must happen whatever `price` or a
   * custom `countTokens` does. Nothing produced costs nothing; a price that cannot be
   * computed charges what is held (told to `onError`), as the hold's expiry would.
   */
  const chargeFor = (usage: () => TokenUsage): number => {
    try {
      const used = usage();
      return used.outputTokens === 0 ? 0 : chargeOf(options.price(used), meter.held);
    } catch (error) {
      options.onError?.(error);
      return meter.held;
    }
  };
  /** What was streamed so far, priced. */
  const streamedCharge = () => chargeFor(() => ({ inputTokens: inputEstimate, outputTokens: count(streamed) }));

  // The meter settles once: whoever asks later (metered(), a late abort) gets the first charge.
  const clientGone = () => {
    abort.abort();
    if (!ending) void meter.settle(streamedCharge()).catch(() => undefined);
  };
  if (request.signal.aborted) clientGone();
  else request.signal.addEventListener("abort", clientGone, { once: true });

  const prompt = typeof options.prompt === "string" ? { prompt: options.prompt } : { messages: options.prompt };
  const result = streamText({
    model: options.model,
    ...(options.system === undefined ? {} : { system: options.system }),
    ...prompt,
    maxOutputTokens: options.maxOutputTokens,
    abortSignal: abort.signal,
    onError: ({ error }) => {
      failed = true;
      options.onError?.(error);
    },
  });
  const chunks = result.toUIMessageStream({ sendFinish: false, onError: () => "the model failed" }).getReader();

  async function finish(): Promise<{ metadata: TollgateStreamMetadata; finishReason: FinishReason | undefined }> {
    ending = true;
    let charge: number;
    let finishReason: FinishReason | undefined;
    if (abort.signal.aborted || failed) {
      charge = streamedCharge();
    } else {
      try {
        const usage = await result.totalUsage;
        finishReason = await result.finishReason;
        charge = chargeFor(() => ({ inputTokens: usage.inputTokens ?? inputEstimate, outputTokens: usage.outputTokens ?? count(streamed) }));
      } catch {
        // The SDK rejects its totals when the stream failed or was aborted at the last moment.
        charge = streamedCharge();
      }
    }
    const outcome = await meter.settle(charge);
    return {
      finishReason,
      metadata: {
        tollgate: {
          debitId: meter.holdId,
          reserved: meter.held,
          charged: outcome.charged,
          released: outcome.released,
          remaining: outcome.status === "settled" ? outcome.balance : null,
        },
      },
    };
  }

  const source = new ReadableStream<UIMessageChunk>({
    // Pulled as the client reads (a queue of one chunk): what passes here is what was streamed.
    async pull(controller) {
      let next: ReadableStreamReadResult<UIMessageChunk>;
      try {
        next = await chunks.read();
      } catch (error) {
        // The model's stream failed (a provider's connection dropped): the SDK throws it
        // here rather than as an error part. The client is told, in the same words as one.
        failed = true;
        options.onError?.(error);
        safely(() => controller.enqueue({ type: "error", errorText: "the model failed" }));
        next = { done: true, value: undefined };
      }
      if (!next.done) {
        const chunk = next.value;
        // Output the client received: text, reasoning, and the arguments of tool calls.
        if (chunk.type === "text-delta" || chunk.type === "reasoning-delta") streamed += chunk.delta;
        if (chunk.type === "tool-input-delta") streamed += chunk.inputTextDelta;
        if (chunk.type === "error") failed = true;
        safely(() => controller.enqueue(chunk));
        return;
      }
      request.signal.removeEventListener("abort", clientGone);
      const { metadata, finishReason } = await finish();
      safely(() => controller.enqueue({ type: "finish", ...(finishReason === undefined ? {} : { finishReason }), messageMetadata: metadata }));
      safely(() => controller.close());
    },
    async cancel(reason) {
      request.signal.removeEventListener("abort", clientGone);
      clientGone();
      await chunks.cancel(reason).catch(() => undefined);
    },
  }, { highWaterMark: 1 });

  const body = source.pipeThrough(new JsonToSseTransformStream()).pipeThrough(new TextEncoderStream());
  return new Response(cancelledFirst(body, clientGone), { status: 200, headers: UI_MESSAGE_STREAM_HEADERS });
}

/**
 * The body as the client reads it, telling `onCancel` at once when the client cancels it. A
 * cancel reaches the source of a piped stream only some turns later; by then whoever
 * wrapped this body (metered() settles an answer left unsettled when its body is cancelled)
 * would have settled it on the whole hold.
 */
function cancelledFirst(body: ReadableStream<Uint8Array>, onCancel: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      onCancel();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** A price as a charge the settle accepts: whole credits, 0 to what is held (a huge price must not make the settle refuse). */
function chargeOf(price: number, held: number): number {
  if (!Number.isFinite(price) || price <= 0) return 0;
  return Math.min(held, Math.ceil(price));
}

/** The text of the prompt the model reads, for estimating its tokens. */
function promptText(system: string | undefined, prompt: string | ModelMessage[]): string {
  const parts: string[] = system === undefined ? [] : [system];
  if (typeof prompt === "string") return [...parts, prompt].join("\n");
  for (const message of prompt) {
    if (typeof message.content === "string") parts.push(message.content);
    else for (const part of message.content) if (part.type === "text") parts.push(part.text);
  }
  return parts.join("\n");
}

/** A controller the client already cancelled throws on enqueue: the answer is gone, nothing to do. */
function safely(write: () => void): void {
  try {
    write();
  } catch {
    // cancelled
  }
}
