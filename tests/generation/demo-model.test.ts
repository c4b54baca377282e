import type { LanguageModelV4CallOptions, LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { generateText, type ModelMessage, streamText } from "ai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createDemoModel, DEMO_DEFAULT_WORDS, DEMO_MAX_WORDS, demoWordCount } from "../../lib/generation";

/**
 * The demo model through the real AI SDK (`streamText`, `generateText`, the UI message
 * stream): word counts, usage, chunking, delay, abort and cancel. Nothing is mocked but the
 * clock's bookkeeping (see `trackTimers`) and, in one test, `fetch`.
 */

/**
 * Counts the model's pending timers. Each test gives the model a distinctive delay, so only
 * the model's `setTimeout(…, delayMs)` calls are tracked, not the SDK's or vitest's.
 */
function trackTimers(delayMs: number): { pending: () => number } {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const live = new Set<unknown>();
  const set = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (ms !== delayMs) return realSet(fn, ms, ...args);
    const id = realSet(() => { live.delete(id); fn(...args); }, ms);
    live.add(id);
    return id;
  };
  const clear = (id?: Parameters<typeof clearTimeout>[0]) => { live.delete(id); realClear(id); };
  globalThis.setTimeout = set as typeof setTimeout;
  globalThis.clearTimeout = clear as typeof clearTimeout;
  restore.push(() => { globalThis.setTimeout = realSet; globalThis.clearTimeout = realClear; });
  return { pending: () => live.size };
}
const restore: (() => void)[] = [];
afterEach(() => {
  for (const undo of restore.splice(0)) undo();
  vi.unstubAllGlobals();
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function userCall(text: string, extra: Partial<LanguageModelV4CallOptions> = {}): LanguageModelV4CallOptions {
  return { prompt: [{ role: "user", content: [{ type: "text", text }] }], ...extra };
}

async function deltas(prompt: string, options: { delayMs?: number; maxOutputTokens?: number } = {}) {
  const result = streamText({ model: createDemoModel({ delayMs: options.delayMs ?? 0 }), prompt, maxOutputTokens: options.maxOutputTokens });
  const chunks: string[] = [];
  for await (const part of result.fullStream) if (part.type === "text-delta") chunks.push(part.text);
  return { chunks, text: await result.text, finishReason: await result.finishReason, usage: await result.totalUsage };
}

describe("demo model: how many words", () => {
  it("answers with as many words as the first number in the message asks for", async () => {
    const { text, finishReason } = await deltas("Write 7 words about 3 cats");
    expect(demoWordCount(text)).toBe(7);
    expect(finishReason).toBe("stop");
  });

  it("reads the number from the last user message only", async () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "say 9 words" },
      { role: "assistant", content: "one two three four five six seven eight nine" },
      { role: "user", content: "now 4, please" },
    ];
    const result = streamText({ model: createDemoModel({ delayMs: 0 }), messages });
    expect(demoWordCount(await result.text)).toBe(4);
  });

  it(`answers ${DEMO_DEFAULT_WORDS} words when the message has no number`, async () => {
    const { chunks, text } = await deltas("Tell me about toll roads");
    expect(chunks).toHaveLength(DEMO_DEFAULT_WORDS);
    expect(demoWordCount(text)).toBe(DEMO_DEFAULT_WORDS);
  });

  it("stops at maxOutputTokens with finish reason length", async () => {
    const capped = await deltas("10 words", { maxOutputTokens: 4 });
    expect(capped.chunks).toHaveLength(4);
    expect(capped.finishReason).toBe("length");
    expect(capped.usage.outputTokens).toBe(4);
    const roomy = await deltas("10 words", { maxOutputTokens: 10 });
    expect(roomy.chunks).toHaveLength(10);
    expect(roomy.finishReason).toBe("stop");
  });

  it(`caps a huge number at ${DEMO_MAX_WORDS} words (finish reason length)`, async () => {
    const { chunks, finishReason, usage } = await deltas("1000000000000000000000000 words");
    expect(chunks).toHaveLength(DEMO_MAX_WORDS);
    expect(finishReason).toBe("length");
    expect(usage.outputTokens).toBe(DEMO_MAX_WORDS);
  });

  it("answers nothing for 0 words, and still reports usage", async () => {
    const { chunks, text, finishReason, usage } = await deltas("0 words");
    expect(chunks).toEqual([]);
    expect(text).toBe("");
    expect(finishReason).toBe("stop");
    expect(usage).toMatchObject({ inputTokens: 2, outputTokens: 0, totalTokens: 2 });
    const generated = await generateText({ model: createDemoModel(), prompt: "0 words" });
    expect(generated.text).toBe("");
    expect(generated.usage.outputTokens).toBe(0);
  });
});

describe("demo model: chunks and usage", () => {
  it("streams one word per text delta: 'word', then ' word'", async () => {
    const { chunks, text } = await deltas("12 words");
    expect(chunks).toHaveLength(12);
    expect(chunks[0]).toMatch(/^\S+$/);
    for (const chunk of chunks.slice(1)) expect(chunk).toMatch(/^ \S+$/);
    expect(chunks.join("")).toBe(text);
  });

  it("is deterministic: the same prompt gives the same words", async () => {
    const first = await deltas("Write 25 words on bridges");
    const second = await deltas("Write 25 words on bridges");
    expect(second.chunks).toEqual(first.chunks);
    const other = await deltas("Write 25 words on tunnels");
    expect(other.text).not.toBe(first.text);
  });

  it("reports usage like a provider: output = words sent, input = words of every prompt text", async () => {
    const onFinish = vi.fn();
    const result = streamText({
      model: createDemoModel({ delayMs: 0 }),
      system: "You are terse.", // 3 words
      messages: [
        { role: "user", content: "hello there" }, // 2
        { role: "assistant", content: "hi" }, // 1
        { role: "user", content: "now 5 words" }, // 3
      ],
      onFinish,
    });
    let sent = 0;
    for await (const part of result.fullStream) if (part.type === "text-delta") sent++;
    const expected = {
      inputTokens: 9, outputTokens: 5, totalTokens: 14,
      inputTokenDetails: { noCacheTokens: 9, cacheReadTokens: 0, cacheWriteTokens: 0 },
      outputTokenDetails: { textTokens: 5, reasoningTokens: 0 },
    };
    expect(sent).toBe(5);
    expect(await result.usage).toMatchObject(expected);
    expect(await result.totalUsage).toMatchObject(expected);
    expect(onFinish).toHaveBeenCalledOnce();
    expect(onFinish.mock.calls[0]![0].totalUsage).toMatchObject(expected);
  });

  it("generateText gives the same answer, usage and finish reason as streaming", async () => {
    for (const [prompt, maxOutputTokens] of [["Write 8 words", undefined], ["Write 8 words", 3], ["no number here", undefined]] as const) {
      const streamed = await deltas(prompt, { maxOutputTokens });
      const generated = await generateText({ model: createDemoModel(), prompt, maxOutputTokens });
      expect(generated.text).toBe(streamed.text);
      expect(generated.finishReason).toBe(streamed.finishReason);
      expect(generated.usage).toMatchObject({
        inputTokens: streamed.usage.inputTokens, outputTokens: streamed.usage.outputTokens, totalTokens: streamed.usage.totalTokens,
      });
    }
  });

  it("waits delayMs between chunks", async () => {
    const delayMs = 20;
    const words = 6;
    const started = performance.now();
    const { chunks } = await deltas(`${words} words`, { delayMs });
    const elapsed = performance.now() - started;
    expect(chunks).toHaveLength(words);
    // (words - 1) waits; a little slack for timer and clock granularity. No upper bound.
    expect(elapsed).toBeGreaterThanOrEqual((words - 1) * delayMs - 5);
  });

  it("never touches the network, even for a prompt with a file URL", async () => {
    const fetch = vi.fn(() => { throw new Error("network call"); });
    vi.stubGlobal("fetch", fetch);
    const messages: ModelMessage[] = [{
      role: "user",
      content: [{ type: "text", text: "3 words about this" }, { type: "file", data: new URL("https://example.com/cat.png"), mediaType: "image/png" }],
    }];
    const streamed = streamText({ model: createDemoModel({ delayMs: 1 }), messages });
    expect(demoWordCount(await streamed.text)).toBe(3);
    const generated = await generateText({ model: createDemoModel(), messages });
    expect(demoWordCount(generated.text)).toBe(3);
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe("demo model: abort and cancel", () => {
  it("an abort mid-stream ends the stream at once, with no further words and no timer left", async () => {
    const delayMs = 23;
    const timers = trackTimers(delayMs);
    const controller = new AbortController();
    const onAbort = vi.fn();
    const onFinish = vi.fn();
    // The SDK also cancels the model's stream on abort; either way no timer may survive.
    const result = streamText({ model: createDemoModel({ delayMs }), prompt: "2000 words", abortSignal: controller.signal, onAbort, onFinish });
    const types: string[] = [];
    let sent = 0;
    for await (const part of result.fullStream) {
      types.push(part.type);
      if (part.type === "text-delta" && ++sent === 3) controller.abort();
    }
    expect(sent).toBe(3);
    expect(types.at(-1)).toBe("abort");
    expect(timers.pending()).toBe(0);
    expect(onAbort).toHaveBeenCalledOnce();
    expect(onFinish).not.toHaveBeenCalled();
    await expect(result.totalUsage).rejects.toMatchObject({ name: "AbortError" });
    await sleep(3 * delayMs);
    expect(timers.pending()).toBe(0);
  });

  it("its own stream errors with the abort reason and stops its timer (doStream, as providers do)", async () => {
    const delayMs = 29;
    const timers = trackTimers(delayMs);
    const controller = new AbortController();
    const { stream } = await createDemoModel({ delayMs }).doStream(userCall("2000 words", { abortSignal: controller.signal }));
    const reader = stream.getReader();
    const parts: LanguageModelV4StreamPart[] = [];
    const read = async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "closed";
        parts.push(value);
        if (parts.filter((p) => p.type === "text-delta").length === 2) controller.abort();
      }
    };
    await expect(read()).rejects.toMatchObject({ name: "AbortError" });
    expect(parts.filter((p) => p.type === "text-delta")).toHaveLength(2);
    expect(parts.some((p) => p.type === "finish")).toBe(false);
    expect(timers.pending()).toBe(0);
  });

  it("an already aborted call fails before streaming", async () => {
    const controller = new AbortController();
    controller.abort();
    const model = createDemoModel({ delayMs: 31 });
    await expect(model.doStream(userCall("5 words", { abortSignal: controller.signal }))).rejects.toMatchObject({ name: "AbortError" });
    await expect(model.doGenerate(userCall("5 words", { abortSignal: controller.signal }))).rejects.toMatchObject({ name: "AbortError" });
    const result = streamText({ model, prompt: "5 words", abortSignal: controller.signal });
    const types: string[] = [];
    for await (const part of result.fullStream) types.push(part.type);
    expect(types).not.toContain("text-delta");
    expect(types.at(-1)).toBe("abort");
  });

  it("cancelling its stream stops its timer", async () => {
    const delayMs = 41;
    const timers = trackTimers(delayMs);
    const { stream } = await createDemoModel({ delayMs }).doStream(userCall("2000 words"));
    const reader = stream.getReader();
    let deltas = 0;
    while (deltas < 2) if ((await reader.read()).value?.type === "text-delta") deltas++;
    expect(timers.pending()).toBe(1);
    await reader.cancel();
    expect(timers.pending()).toBe(0);
    // A timer that survived would enqueue into the cancelled stream and throw here.
    await sleep(3 * delayMs);
    expect(timers.pending()).toBe(0);
  });

  it("a UI message stream consumer that goes away stops generation when its abort signal fires", async () => {
    // The SDK tees the model's stream (for `text`, `usage`, …): cancelling one consumer does
    // not stop the model. A route must abort the call when its client goes away, as here.
    const delayMs = 43;
    const timers = trackTimers(delayMs);
    const controller = new AbortController();
    const onAbort = vi.fn();
    const result = streamText({ model: createDemoModel({ delayMs }), prompt: "2000 words", abortSignal: controller.signal, onAbort });
    const reader = result.toUIMessageStream().getReader();
    let deltas = 0;
    while (deltas < 2) if ((await reader.read()).value?.type === "text-delta") deltas++;
    await reader.cancel();
    controller.abort();
    await expect(result.text).rejects.toMatchObject({ name: "AbortError" });
    expect(onAbort).toHaveBeenCalledOnce();
    expect(timers.pending()).toBe(0);
  });

  it("cancelling the textStream alone lets the SDK finish the answer (it keeps reading for `text`)", async () => {
    const delayMs = 3;
    const result = streamText({ model: createDemoModel({ delayMs }), prompt: "20 words" });
    const reader = result.textStream.getReader();
    await reader.read();
    await reader.cancel();
    expect(demoWordCount(await result.text)).toBe(20);
    expect((await result.totalUsage).outputTokens).toBe(20);
  });

  it("the UI message stream response carries usage as finish metadata, and an abort part on abort", async () => {
    const finished = streamText({ model: createDemoModel({ delayMs: 0 }), prompt: "3 words" });
    const body = await finished.toUIMessageStreamResponse({
      messageMetadata: ({ part }) => (part.type === "finish" ? { usage: part.totalUsage } : undefined),
    }).text();
    const events = body.split("\n").filter((line) => line.startsWith("data: {")).map((line) => JSON.parse(line.slice(6)));
    expect(events.filter((e) => e.type === "text-delta")).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: "finish", finishReason: "stop", messageMetadata: { usage: { inputTokens: 2, outputTokens: 3 } } });

    const controller = new AbortController();
    const onEnd = vi.fn();
    const aborted = streamText({ model: createDemoModel({ delayMs: 47 }), prompt: "2000 words", abortSignal: controller.signal });
    const reader = aborted.toUIMessageStreamResponse({ onFinish: onEnd }).body!.pipeThrough(new TextDecoderStream()).getReader();
    let sse = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sse += value;
      // Abort once two words went out, as a client disconnecting mid-answer would.
      if ((sse.match(/"text-delta"/g) ?? []).length >= 2) controller.abort();
    }
    const abortedEvents = sse.split("\n").filter((line) => line.startsWith("data: {")).map((line) => JSON.parse(line.slice(6)));
    expect(abortedEvents.some((e) => e.type === "abort")).toBe(true);
    expect(abortedEvents.some((e) => e.type === "finish")).toBe(false);
    // What was streamed before the abort is what a route charges: its words.
    const streamed = abortedEvents.filter((e) => e.type === "text-delta").map((e) => e.delta).join("");
    expect(onEnd).toHaveBeenCalledOnce();
    const { isAborted, responseMessage } = onEnd.mock.calls[0]![0];
    expect(isAborted).toBe(true);
    expect(responseMessage.parts.find((p: { type: string }) => p.type === "text").text).toBe(streamed);
    expect(demoWordCount(streamed)).toBeGreaterThanOrEqual(2);
    expect(demoWordCount(streamed)).toBeLessThan(2000);
  });
});
