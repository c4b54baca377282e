import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4FinishReason,
  LanguageModelV4GenerateResult,
  LanguageModelV4Prompt,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";

/**
 * A deterministic, offline language model for the AI SDK (language model spec v4), used
 * when no provider is configured. It answers with as many words as the first number in the
 * last user message asks for, one word per streamed chunk, and reports usage as a provider
 * would. It never calls the network, and uses only Web APIs, so it runs on Node and Edge.
 *
 * Settings come from the caller (this module does not read the environment).
 */
export interface DemoModelOptions {
  /** Milliseconds between two streamed words (not before the first). Default 15. */
  delayMs?: number;
}

/** Words answered when the last user message has no number. */
export const DEMO_DEFAULT_WORDS = 60;
/**
 * The model's own output limit, like a real model's maximum output length: a message
 * asking for "1000000000" words gets this many (finish reason "length") instead of
 * running for days.
 */
export const DEMO_MAX_WORDS = 2000;
const DEFAULT_DELAY_MS = 15;

const VOCABULARY = [
  "tollgate", "meters", "every", "token", "that", "flows", "through", "the", "gateway",
  "and", "each", "word", "here", "counts", "as", "one", "unit", "of", "output", "while",
  "prompt", "words", "count", "input", "so", "a", "bill", "is", "easy", "to", "check",
  "by", "hand", "with", "no", "network", "call", "ever", "made", "this", "demo", "model",
  "answers", "in", "steady", "small", "chunks", "until", "done", "or", "stopped",
] as const;

/**
 * Whitespace-separated words in `text`. This is the demo model's tokenizer: an answer's
 * output tokens equal `demoWordCount(answer)` (its words contain no whitespace), so a caller
 * that only saw part of a stream can charge `demoWordCount(textSoFar)` output tokens.
 */
export function demoWordCount(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}

/**
 * Input tokens charged for a prompt: the words (see `demoWordCount`) of the system
 * messages and of every text part of user and assistant messages; files, reasoning and
 * tool parts count nothing. At least 1, as a real provider never reports an empty prompt.
 */
export function demoInputTokens(prompt: LanguageModelV4Prompt): number {
  let words = 0;
  for (const message of prompt) {
    if (message.role === "system") words += demoWordCount(message.content);
    else if (message.role === "user" || message.role === "assistant") {
      for (const part of message.content) if (part.type === "text") words += demoWordCount(part.text);
    }
  }
  return Math.max(1, words);
}

function lastUserText(prompt: LanguageModelV4Prompt): string {
  for (let i = prompt.length - 1; i >= 0; i--) {
    const message = prompt[i]!;
    if (message.role !== "user") continue;
    return message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n");
  }
  return "";
}

// FNV-1a: a stable offset into the vocabulary, so the same message gets the same words.
function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface Answer {
  /** Stream chunks: "word", then " word" for each later word; joined they are the answer. */
  chunks: string[];
  finishReason: LanguageModelV4FinishReason;
  usage: LanguageModelV4Usage;
}

function answer({ prompt, maxOutputTokens }: LanguageModelV4CallOptions): Answer {
  const text = lastUserText(prompt);
  // The first run of digits: "write 3 lines" → 3, "-5" → 5, "1,000" → 1.
  const match = /\d+/.exec(text);
  const asked = match ? Number(match[0]) : DEMO_DEFAULT_WORDS;
  const limit = Math.min(DEMO_MAX_WORDS, maxOutputTokens ?? Infinity);
  const count = Math.max(0, Math.min(asked, limit));
  const start = hash(text);
  const chunks = Array.from({ length: count }, (_, i) => (i === 0 ? "" : " ") + VOCABULARY[(start + i) % VOCABULARY.length]);
  const truncated = asked > limit;
  const input = demoInputTokens(prompt);
  return {
    chunks,
    finishReason: { unified: truncated ? "length" : "stop", raw: truncated ? "length" : "stop" },
    usage: {
      inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: count, text: count, reasoning: 0 },
      raw: { input_words: input, output_words: count },
    },
  };
}

export function createDemoModel(options: DemoModelOptions = {}): LanguageModelV4 {
  const delayMs = Math.max(0, options.delayMs ?? DEFAULT_DELAY_MS);
  return {
    specificationVersion: "v4",
    provider: "tollgate",
    modelId: "demo",
    // Every URL counts as natively supported, so the SDK never downloads a file part of a
    // prompt for this model (the model ignores files): no network call, not even by the SDK.
    supportedUrls: { "*/*": [/^/] },

    async doGenerate(call): Promise<LanguageModelV4GenerateResult> {
      call.abortSignal?.throwIfAborted();
      const { chunks, finishReason, usage } = answer(call);
      return {
        content: chunks.length > 0 ? [{ type: "text", text: chunks.join("") }] : [],
        finishReason,
        usage,
        response: { modelId: "demo" },
        warnings: [],
      };
    },

    async doStream(call) {
      const signal = call.abortSignal;
      // Like a fetch-based provider: an already aborted call rejects before any stream exists.
      signal?.throwIfAborted();
      const { chunks, finishReason, usage } = answer(call);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let stopped = false;
      let onAbort: (() => void) | undefined;
      const stop = () => {
        stopped = true;
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener("abort", onAbort);
      };

      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        start(controller) {
          // An abort errors the stream with the signal's reason, as a provider's fetch body
          // does; the SDK recognises that AbortError and ends the result as aborted (onAbort).
          onAbort = () => {
            if (stopped) return;
            stop();
            controller.error(signal!.reason);
          };
          signal?.addEventListener("abort", onAbort, { once: true });

          controller.enqueue({ type: "stream-start", warnings: [] });
          controller.enqueue({ type: "response-metadata", modelId: "demo" });
          const finish = () => {
            if (chunks.length > 0) controller.enqueue({ type: "text-end", id: "0" });
            controller.enqueue({ type: "finish", finishReason, usage });
            stop();
            controller.close();
          };
          if (chunks.length === 0) return finish();
          controller.enqueue({ type: "text-start", id: "0" });

          // The first word goes out at once; each later word after `delayMs`, and the finish
          // part right after the last word: n words take (n - 1) × delayMs.
          let next = 0;
          const emit = () => {
            if (stopped) return;
            controller.enqueue({ type: "text-delta", id: "0", delta: chunks[next++]! });
            if (next === chunks.length) finish();
            else timer = setTimeout(emit, delayMs);
          };
          emit();
        },
        // The consumer went away (reader cancelled, response closed): stop producing.
        cancel() {
          stop();
        },
      });
      return { stream, request: {}, response: { headers: {} } };
    },
  };
}
