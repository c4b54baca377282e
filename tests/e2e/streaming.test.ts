import { describe, expect, it } from "vitest";
import { maxOutputTokensFor, priceOfUsage, PRICING, type UsagePricedRoute } from "../../lib/gateway/pricing";
import { demoWordCount } from "../../lib/generation";
import { finishOf, readUiStream, textDeltaCount, textOf } from "../support/ui-stream";
import { api, control, topUp, uniqueUser, userToken } from "./support/context";

/**
 * The usage-priced streaming route on the real app (next build + next start, middleware on
 * the Edge runtime, real Redis): the gate holds the most the request may cost, the handler
 * streams the demo model through the AI SDK and settles by what it produced.
 */

interface Ledger {
  ledger: { balance: number; openIds: string[]; history: { id: string; amount: number; held?: number; ended?: string }[] };
  problems: string[];
}

/** Reads the answer (a UI message stream) to its end, or until `stopAfterChunks` text chunks, then goes away. */
async function readStream(response: Response, stopAfterChunks = Infinity, abort?: AbortController) {
  const { chunks, reader } = await readUiStream(response, (c) => textDeltaCount(c) >= stopAfterChunks);
  if (textDeltaCount(chunks) >= stopAfterChunks) {
    abort?.abort();
    await reader.cancel().catch(() => undefined);
  }
  return { text: textOf(chunks), chunks: textDeltaCount(chunks), finish: finishOf(chunks) ?? null };
}

async function ledgerOf(userId: string): Promise<Ledger> {
  return (await control("/ledger", { userId })) as Ledger;
}

/** Polls until `ok`; throws with the last value read when it never is. */
async function waitUntil<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > end) throw new Error(`still not so after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The route's row, as the app prices it. */
const ROW = PRICING.find((r) => r.id === "chat-stream") as UsagePricedRoute;

/** What a finished answer costs: the demo model reports the prompt's words in and the answer's words out. */
const priceOf = (message: string, outputWords: number) => priceOfUsage(ROW, { inputTokens: demoWordCount(message), outputTokens: outputWords });

/** The user's one hold entry, once nothing of theirs is open. */
async function settledHold(user: string) {
  const view = await waitUntil(() => ledgerOf(user), (l) => l.ledger.openIds.length === 0);
  expect(view.problems).toEqual([]);
  const holds = view.ledger.history.filter((e) => e.held !== undefined);
  expect(holds).toHaveLength(1);
  return { ledger: view.ledger, entry: holds[0]! };
}

function stream(token: string, message: string, signal?: AbortSignal): Promise<Response> {
  return api("/api/chat/stream", { method: "POST", token, json: { message }, signal });
}

describe("POST /api/chat/stream (usage-priced, streaming)", () => {
  it("a stream read to the end charges exactly what it used, in one history entry", async () => {
    const user = uniqueUser("stream-full");
    await topUp(user, 100);
    const token = await userToken(user);
    const message = "Write 12 words about tea";
    const response = await stream(token, message);
    expect(response.status).toBe(200);
    const reserved = Number(response.headers.get("x-tokens-reserved"));
    expect(reserved).toBe(ROW.usage.hold);
    const { text, finish } = await readStream(response);
    expect(text.trim().split(/\s+/)).toHaveLength(12);
    expect(finish).toMatchObject({ reserved, charged: priceOf(message, 12), released: reserved - priceOf(message, 12) });
    const { ledger, entry } = await settledHold(user);
    expect(ledger.balance).toBe(100 - finish!.charged);
    expect(finish!.remaining).toBe(ledger.balance);
    expect(entry).toMatchObject({ id: finish!.debitId, amount: -finish!.charged, held: reserved, ended: "settled" });
    expect(response.headers.get("x-tokens-hold")).toBe(entry.id);
  });

  it("a stream aborted after a few chunks charges less than its hold, and the rest comes back", async () => {
    const user = uniqueUser("stream-abort");
    await topUp(user, 100);
    const token = await userToken(user);
    const abort = new AbortController();
    const message = "Write 400 words";
    const response = await stream(token, message, abort.signal);
    expect(response.status).toBe(200);
    const reserved = Number(response.headers.get("x-tokens-reserved"));
    const { chunks, finish } = await readStream(response, 5, abort);
    expect(chunks).toBeGreaterThanOrEqual(5);
    expect(finish).toBeNull();
    const { ledger, entry } = await settledHold(user);
    // The stop cut off the finish part: the client finds the charge by the hold's id.
    expect(entry).toMatchObject({ id: response.headers.get("x-tokens-hold"), held: reserved, ended: "settled" });
    // At least what the client read; less than the whole answer the hold would pay for.
    expect(-entry.amount).toBeGreaterThanOrEqual(priceOf(message, chunks));
    expect(-entry.amount).toBeLessThan(reserved);
    expect(ledger.balance).toBe(100 + entry.amount);
  });

  it("a user whose balance is below the hold gets a smaller hold, a shorter answer, and ends at a balance ≥ 0", async () => {
    const user = uniqueUser("stream-short");
    await topUp(user, 3);
    const token = await userToken(user);
    const message = "Write 400 words";
    const response = await stream(token, message);
    expect(response.status).toBe(200);
    expect(Number(response.headers.get("x-tokens-reserved"))).toBe(3);
    const { text, finish } = await readStream(response);
    // Capped at what a hold of 3 pays for: 1 credit of input leaves 2 blocks of 10 words.
    const cap = maxOutputTokensFor(ROW, 3, demoWordCount(message));
    expect(cap).toBe(20);
    expect(text.trim().split(/\s+/)).toHaveLength(cap);
    expect(finish).toMatchObject({ reserved: 3, charged: priceOf(message, cap), released: 0, remaining: 0 });
    const { ledger, entry } = await settledHold(user);
    expect(entry).toMatchObject({ amount: -3, held: 3, ended: "settled" });
    expect(ledger.balance).toBe(0);
  });

  it("refuses with 402 when even the minimum hold is not covered, holding nothing", async () => {
    const user = uniqueUser("stream-poor");
    await topUp(user, 1);
    const response = await stream(await userToken(user), "hello");
    expect(response.status).toBe(402);
    const { ledger } = await ledgerOf(user);
    expect(ledger.balance).toBe(1);
    expect(ledger.openIds).toEqual([]);
  });

  it("refuses an Idempotency-Key: a stream cannot be replayed (422, nothing held)", async () => {
    const user = uniqueUser("stream-idem");
    await topUp(user, 50);
    const response = await api("/api/chat/stream", {
      method: "POST", token: await userToken(user), json: { message: "hi" }, headers: { "idempotency-key": "stream-key-1" },
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { code: string }).code).toBe("idempotency_not_supported");
    expect((await ledgerOf(user)).ledger.balance).toBe(50);
  });

  it("50 concurrent streams for one user never overdraw; /api/me shows the holds while they run and none after", async () => {
    const user = uniqueUser("stream-50");
    const start = 60;
    await topUp(user, start);
    const token = await userToken(user);
    const responses = await Promise.all(Array.from({ length: 50 }, () => stream(token, "Write 30 words")));
    const me = (await (await api("/api/me", { token })).json()) as { reserved: number; holds: { amount: number; route: string }[] };
    const held = responses.filter((r) => r.status === 200);
    expect(held.length).toBeGreaterThan(0);
    // Held, refused, or (a loaded machine: the store slower than the KV timeout) 503 with nothing held.
    expect(responses.map((r) => r.status).filter((status) => ![200, 402, 503].includes(status))).toEqual([]);
    const reserved = held.reduce((sum, r) => sum + Number(r.headers.get("x-tokens-reserved")), 0);
    expect(reserved).toBeLessThanOrEqual(start);
    // While they stream (30 words at the demo's pace), the holds are visible.
    expect(me.reserved).toBeGreaterThan(0);
    expect(me.holds.length).toBeGreaterThan(0);
    await Promise.all(responses.filter((r) => r.status !== 200).map((r) => r.body?.cancel()));
    const finishes = await Promise.all(held.map((r) => readStream(r)));
    const charged = finishes.reduce((sum, f) => sum + (f.finish?.charged ?? 0), 0);
    // A refused hold is given back at once; on a loaded machine a give-back (or a hold whose
    // answer was lost: a 503) can miss the KV timeout, and is then the healer's after the
    // hold's deadline (90 s) and the heal delay: /api/me reads heal, so poll it until then.
    const after = await waitUntil(async () => (await (await api("/api/me", { token })).json()) as { reserved: number; holds: unknown[] }, (me) => me.reserved === 0, 150_000);
    expect(after).toMatchObject({ reserved: 0, holds: [] });
    const { ledger, problems } = await ledgerOf(user);
    expect(ledger.openIds).toEqual([]);
    expect(problems).toEqual([]);
    expect(ledger.balance).toBe(start - charged);
    expect(ledger.balance).toBeGreaterThanOrEqual(0);
  }, 200_000);
});
