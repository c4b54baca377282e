import { describe, expect, it } from "vitest";
import { maxOutputTokensFor, priceOfUsage, PRICING, type UsagePricedRoute } from "../../lib/gateway/pricing";
import { demoWordCount } from "../../lib/generation";
import { ledgerOf } from "../reliability/support/ledger";
import { finishOf, readUiStream, textDeltaCount, textOf } from "../support/ui-stream";
import { api, topUp, uniqueUser, userToken } from "./support/context";
import { waitUntil } from "./support/poll";

/**
 * The usage-priced streaming route on the real app (next build + next start, middleware on
 * the Edge runtime, real Redis): the gate holds the most the request may cost, the handler
 * streams the demo model through the AI SDK and settles by what it produced.
 */

/** Reads the answer (a UI message stream) to its end, or until `stopAfterChunks` text chunks, then goes away. */
async function readStream(response: Response, stopAfterChunks = Infinity, abort?: AbortController) {
  const { chunks, reader } = await readUiStream(response, (c) => textDeltaCount(c) >= stopAfterChunks);
  if (textDeltaCount(chunks) >= stopAfterChunks) {
    abort?.abort();
    await reader.cancel().catch(() => undefined);
  }
  return { text: textOf(chunks), chunks: textDeltaCount(chunks), finish: finishOf(chunks) ?? null };
}

/** The route's row, as the app prices it. */
const ROW = PRICING.find((r) => r.id === "chat-stream") as UsagePricedRoute;

/** What a finished answer costs: the demo model reports the prompt's words in and the answer's words out. */
const priceOf = (message: string, outputWords: number) => priceOfUsage(ROW, { inputTokens: demoWordCount(message), outputTokens: outputWords });

/** Holds in a user's history: what a refusal must leave empty. */
const holdEntries = (view: Awaited<ReturnType<typeof ledgerOf>>) => view.ledger.history.filter((e) => e.held !== undefined);

/** The user's one hold entry, once nothing of theirs is open. */
async function settledHold(user: string) {
  const view = await waitUntil(() => ledgerOf(user), (l) => l.ledger.openIds.length === 0);
  expect(view.problems).toEqual([]);
  const holds = holdEntries(view);
  expect(holds).toHaveLength(1);
  return { ledger: view.ledger, entry: holds[0]! };
}

function stream(token: string, message: string, signal?: AbortSignal): Promise<Response> {
  return api("/api/chat/stream", { method: "POST", token, json: { message }, signal });
}

/** A new user with `balance` tokens asks for `message`: the answer (checked 200) and what the gate reserved for it. */
async function startStream(name: string, balance: number, message: string, signal?: AbortSignal) {
  const user = uniqueUser(name);
  await topUp(user, balance);
  const response = await stream(await userToken(user), message, signal);
  expect(response.status).toBe(200);
  return { user, response, reserved: Number(response.headers.get("x-tokens-reserved")) };
}

describe("POST /api/chat/stream (usage-priced, streaming)", () => {
  it("a stream read to the end charges exactly what it used, in one history entry", async () => {
    const message = "Write 12 words about tea";
    const { user, response, reserved } = await startStream("stream-full", 100, message);
    expect(reserved).toBe(20);
    const { text, finish } = await readStream(response);
    expect(text.trim().split(/\s+/)).toHaveLength(12);
    // 5 words in: 1 credit per started 100; 12 words out: 1 per started 10, so 2.
    expect(priceOf(message, 12)).toBe(3);
    expect(finish).toMatchObject({ reserved: 20, charged: 3, released: 17 });
    const { ledger, entry } = await settledHold(user);
    expect(ledger.balance).toBe(100 - finish!.charged);
    expect(finish!.remaining).toBe(ledger.balance);
    expect(entry).toMatchObject({ id: finish!.debitId, amount: -finish!.charged, held: reserved, ended: "settled" });
    expect(response.headers.get("x-tokens-hold")).toBe(entry.id);
  });

  it("a stream aborted after a few chunks charges less than its hold, and the rest comes back", async () => {
    const abort = new AbortController();
    const message = "Write 400 words";
    const { user, response, reserved } = await startStream("stream-abort", 100, message, abort.signal);
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
    const message = "Write 400 words";
    const { user, response, reserved } = await startStream("stream-short", 3, message);
    expect(reserved).toBe(3);
    const { text, finish } = await readStream(response);
    // Capped at what a hold of 3 pays for: 1 credit of input leaves 2 blocks of 10 words.
    const cap = maxOutputTokensFor(ROW, 3, demoWordCount(message));
    expect(cap).toBe(20);
    expect(text.trim().split(/\s+/)).toHaveLength(cap);
    expect(finish).toMatchObject({ reserved: 3, charged: 3, released: 0, remaining: 0 });
    const { ledger, entry } = await settledHold(user);
    expect(entry).toMatchObject({ amount: -3, held: 3, ended: "settled" });
    expect(ledger.balance).toBe(0);
  });

  it("refuses with 402 when even the minimum hold is not covered, holding nothing", async () => {
    const user = uniqueUser("stream-poor");
    await topUp(user, 1);
    const response = await stream(await userToken(user), "hello");
    expect(response.status).toBe(402);
    const view = await ledgerOf(user);
    expect(view.ledger.balance).toBe(1);
    expect(view.ledger.openIds).toEqual([]);
    // Not held and given back: never held (a history with no hold entry).
    expect(holdEntries(view)).toEqual([]);
    expect(view.problems).toEqual([]);
  });

  it("refuses an Idempotency-Key: a stream cannot be replayed (422, nothing held)", async () => {
    const user = uniqueUser("stream-idem");
    await topUp(user, 50);
    const response = await api("/api/chat/stream", {
      method: "POST", token: await userToken(user), json: { message: "hi" }, headers: { "idempotency-key": "stream-key-1" },
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { code: string }).code).toBe("idempotency_not_supported");
    const view = await ledgerOf(user);
    expect([view.ledger.balance, view.ledger.openIds, holdEntries(view), view.problems]).toEqual([50, [], [], []]);
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
