import type { LanguageModelV4, LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { describe, expect, it } from "vitest";
import { createAuthConfig, createTokenVerifier, mintToken } from "../../lib/auth";
import { createGateSigner } from "../../lib/gateway/forwarded-headers";
import { createGate } from "../../lib/gateway/gate";
import { createMeteredRoute } from "../../lib/gateway/metered-route";
import { maxOutputTokensFor, PRICING, priceOfUsage, type UsagePricedRoute } from "../../lib/gateway/pricing";
import { createDemoModel, demoWordCount, meteredStream } from "../../lib/generation";
import { checkInvariants, createMetering, readLedger } from "../../lib/metering";
import { createKvClient } from "../../lib/kv-client";
import { kvTargets, uniqueNamespace } from "../support/kv";
import { finishOf, readUiStream, textDeltaCount, textOf } from "../support/ui-stream";

/**
 * meteredStream() with the demo model, through metered() and the gate run in the handler,
 * on the real engines: what a finished, an abandoned and a failed answer is charged, that
 * the finish metadata is the ledger's entry, and that the ledger ends exact.
 */
const SECRET = "metered-stream-test-secret-0123456789abcdef0";
const ROW = PRICING.find((r) => r.id === "chat-stream") as UsagePricedRoute;
const PATH = ROW.path;

/** Generous: on a loaded machine a settle that times out is "pending", and these tests check exact figures. */
const KV_TIMEOUT_MS = 10_000;

function setup(url: string, token: string) {
  const metering = createMetering(createKvClient({ url, token, timeoutMs: KV_TIMEOUT_MS }), {
    kvTimeoutMs: KV_TIMEOUT_MS, healAfterMs: 5 * KV_TIMEOUT_MS, namespace: uniqueNamespace("stream"), monthlyAllowance: 0 });
  const options = {
    verify: createTokenVerifier(createAuthConfig({ secret: SECRET, production: true })),
    debit: metering.debit, hold: metering.hold, holdDeadlineMs: 60_000,
    pricing: PRICING, topUpUrl: "/buy", monthlyAllowance: 100, secondsToPeriodEnd: () => 3600,
  };
  const background: Promise<unknown>[] = [];
  const metered = createMeteredRoute({
    signer: createGateSigner({ secret: SECRET }), gate: createGate({ ...options, signer: null }), tokenHeaders: options, pricing: PRICING,
    refund: (u, d, r) => metering.refund(u, d, r), storeResponse: metering.storeIdempotentResponse,
    settleHold: metering.settleHold,
    background: (task) => { background.push(task); },
  });
  /** A streamed chat route on `model`, priced by the chat-stream row. */
  const route = (model: LanguageModelV4) => metered(async (request, _pass, meter) => {
    const { message } = (await request.json()) as { message: string };
    return meteredStream({
      request, meter: meter!, model, prompt: message,
      price: (usage) => priceOfUsage(ROW, usage),
      maxOutputTokens: maxOutputTokensFor(ROW, meter!.held, demoWordCount(message)),
      countTokens: demoWordCount,
    });
  });
  // Settles started in the background (an abandoned stream's) may push more: wait for all.
  const settled = async () => {
    for (let seen = -1; seen !== background.length;) {
      seen = background.length;
      await Promise.allSettled(background);
    }
  };
  return { metering, route, settled };
}

const bearer = async (sub: string) => `Bearer ${await mintToken({ sub, secret: SECRET, ttlSeconds: 600 })}`;
async function ask(sub: string, message: string, signal?: AbortSignal) {
  return new Request(`http://localhost${PATH}`, {
    method: "POST", signal,
    headers: { "content-type": "application/json", authorization: await bearer(sub) },
    body: JSON.stringify({ message }),
  });
}


/** A model that streams `words` words and then fails, like a provider whose connection drops. */
function failingModel(words: number): LanguageModelV4 {
  const demo = createDemoModel({ delayMs: 0 });
  return {
    ...demo,
    async doStream() {
      // One part per pull: an error raised with parts still queued would discard them.
      const parts: LanguageModelV4StreamPart[] = [{ type: "stream-start", warnings: [] }];
      if (words > 0) parts.push({ type: "text-start", id: "0" });
      for (let i = 0; i < words; i++) parts.push({ type: "text-delta", id: "0", delta: i === 0 ? "word" : " word" });
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        pull(controller) {
          const part = parts.shift();
          if (part === undefined) controller.error(new Error("upstream connection reset"));
          else controller.enqueue(part);
        },
      }, { highWaterMark: 0 });
      return { stream, request: {}, response: { headers: {} } };
    },
  };
}

/** The demo model, reporting `usage` at its finish instead of its word counts, like a provider with its own tokenizer. */
function reportingModel(usage: { input: number; output: number }): LanguageModelV4 {
  const demo = createDemoModel({ delayMs: 0 });
  return {
    ...demo,
    async doStream(call) {
      const result = await demo.doStream(call);
      const stream = result.stream.pipeThrough(new TransformStream<LanguageModelV4StreamPart, LanguageModelV4StreamPart>({
        transform(part, controller) {
          controller.enqueue(part.type !== "finish" ? part : {
            ...part,
            usage: {
              inputTokens: { total: usage.input, noCache: usage.input, cacheRead: 0, cacheWrite: 0 },
              outputTokens: { total: usage.output, text: usage.output, reasoning: 0 },
            },
          });
        },
      }));
      return { ...result, stream };
    },
  };
}

describe.each(kvTargets())("meteredStream on the $engine engine", (target) => {
  it("read to the end: charges exactly the price of the reported usage, and the finish metadata is the ledger's entry", async () => {
    const { metering, route, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "end", amount: 50, reason: "Top-up" });
    const response = await route(createDemoModel({ delayMs: 0 }))(await ask("end", "Write 23 words please"));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-tokens-reserved")).toBe("20");
    expect(response.headers.get("x-tokens-remaining")).toBe("30");
    const { chunks } = await readUiStream(response);
    await settled();
    expect(demoWordCount(textOf(chunks))).toBe(23);
    // 4 input words → 1 credit; 23 output words → 3 started blocks of 10.
    const price = priceOfUsage(ROW, { inputTokens: 4, outputTokens: 23 });
    expect(price).toBe(4);
    const ledger = await readLedger(metering.context, "end");
    expect(finishOf(chunks)).toEqual({ debitId: ledger.history[0]!.id, reserved: 20, charged: price, released: 20 - price, remaining: 50 - price });
    // The hold's id is also in the headers: a client that stops before the finish part finds its entry by it.
    expect(response.headers.get("x-tokens-hold")).toBe(ledger.history[0]!.id);
    expect(ledger.history[0]).toMatchObject({ type: "debit", amount: -price, held: 20 });
    expect([ledger.balance, ledger.openHolds]).toEqual([50 - price, []]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("a finished answer is charged by the usage the model reports, not by counting what was streamed", async () => {
    const { metering, route, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "rep", amount: 50, reason: "Top-up" });
    const { chunks } = await readUiStream(await route(reportingModel({ input: 250, output: 95 }))(await ask("rep", "Write 12 words")));
    await settled();
    // Counted, it would be 1 + 2 = 3 credits (3 words in, 12 out); reported, 3 + 10 = 13.
    expect(demoWordCount(textOf(chunks))).toBe(12);
    expect(finishOf(chunks)).toMatchObject({ charged: 13, released: 7, remaining: 37 });
    expect((await readLedger(metering.context, "rep")).history[0]).toMatchObject({ amount: -13, held: 20 });
  });

  it("caps the answer at what the hold pays for, and charges the hold at most", async () => {
    const { metering, route, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "cap", amount: 5, reason: "Top-up" });
    const { chunks } = await readUiStream(await route(createDemoModel({ delayMs: 0 }))(await ask("cap", "Write 500 words")));
    await settled();
    // A partial hold of 5: 1 credit of input leaves 4 blocks of 10 output words.
    expect(demoWordCount(textOf(chunks))).toBe(40);
    expect(finishOf(chunks)).toMatchObject({ reserved: 5, charged: 5, released: 0, remaining: 0 });
    expect(checkInvariants(await readLedger(metering.context, "cap"), { historyComplete: true })).toEqual([]);
  });

  it("a client that goes away after a few words (the stream cancelled) is charged what was streamed, and the rest released", async () => {
    const { metering, route, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "gone", amount: 50, reason: "Top-up" });
    const response = await route(createDemoModel({ delayMs: 25 }))(await ask("gone", "Write 2000 words"));
    const { chunks, reader } = await readUiStream(response, (c) => textDeltaCount(c) >= 3);
    await reader.cancel();
    await settled();
    const ledger = await readLedger(metering.context, "gone");
    const charged = -ledger.history[0]!.amount;
    // At least the words the client read; far less than the hold (the model was stopped).
    expect(charged).toBeGreaterThanOrEqual(priceOfUsage(ROW, { inputTokens: 3, outputTokens: demoWordCount(textOf(chunks)) }));
    expect(charged).toBeLessThan(20);
    expect(ledger.history[0]).toMatchObject({ held: 20 });
    expect([ledger.balance, ledger.openHolds]).toEqual([50 - charged, []]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("a request aborted without its stream being cancelled (vercel/next.js#77786) stops the model and is charged what was streamed", async () => {
    const { metering, route, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "sig", amount: 50, reason: "Top-up" });
    const client = new AbortController();
    const response = await route(createDemoModel({ delayMs: 25 }))(await ask("sig", "Write 2000 words", client.signal));
    const first = await readUiStream(response, (c) => textDeltaCount(c) >= 3);
    client.abort();
    // The model stops: the stream ends with a finish part whose figures are the settle's.
    first.reader.releaseLock();
    const rest = await readUiStream(response);
    await settled();
    const words = demoWordCount(textOf([...first.chunks, ...rest.chunks]));
    expect(words).toBeLessThan(100);
    const ledger = await readLedger(metering.context, "sig");
    const figures = finishOf(rest.chunks);
    expect(figures).toMatchObject({ debitId: ledger.history[0]!.id, reserved: 20, charged: -ledger.history[0]!.amount });
    expect(figures!.charged).toBeGreaterThan(0);
    expect(figures!.charged).toBeLessThan(20);
    expect([ledger.balance, ledger.openHolds]).toEqual([50 - figures!.charged, []]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("a model that fails mid-stream is charged what it delivered; one that fails before any word, nothing", async () => {
    const { metering, route, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "err", amount: 50, reason: "Top-up" });
    const partly = await readUiStream(await route(failingModel(15))(await ask("err", "tell me")));
    await settled();
    expect(partly.chunks.some((c) => c.type === "error")).toBe(true);
    const price = priceOfUsage(ROW, { inputTokens: 2, outputTokens: 15 });
    expect(finishOf(partly.chunks)).toMatchObject({ charged: price, released: 20 - price, remaining: 50 - price });
    const none = await readUiStream(await route(failingModel(0))(await ask("err", "tell me")));
    await settled();
    expect(finishOf(none.chunks)).toMatchObject({ charged: 0, released: 20, remaining: 50 - price });
    const ledger = await readLedger(metering.context, "err");
    expect(ledger.history.slice(0, 2).map((e) => [e.amount, e.held])).toEqual([[0, 20], [-price, 20]]);
    expect([ledger.balance, ledger.openHolds]).toEqual([50 - price, []]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });
});
