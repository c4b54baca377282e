import { describe, expect, it } from "vitest";
import { createAuthConfig, createTokenVerifier, mintToken } from "../../lib/auth";
import { createGateSigner, GATE_HEADERS, type GatePass } from "../../lib/gateway/forwarded-headers";
import { createGate, type GateDecision } from "../../lib/gateway/gate";
import { createMeteredRoute, type HoldMeter, type MeteredHandler, ticketOf } from "../../lib/gateway/metered-route";
import { type PricedRoute, PRICING } from "../../lib/gateway/pricing";
import { checkInvariants, createMetering, readLedger } from "../../lib/metering";
import { faultyKv, type FaultPlan } from "../support/faulty-kv";
import { createKvClient } from "../../lib/kv-client";
import { kvTargets, uniqueNamespace } from "../support/kv";

/**
 * The gate and metered() on a usage-priced route (chat-stream: hold 20, minimum 2): the
 * hold instead of a debit, the held pass, its headers, and the release when no work is
 * delivered. On the real engines, never a mocked store.
 */
const SECRET = "gate-hold-test-secret-0123456789abcdef012345";
const PATH = "/api/chat/stream";

/** Generous: on a loaded machine a settle that times out is "pending", and these tests check exact figures. */
const KV_TIMEOUT_MS = 10_000;

function setup(url: string, token: string, { settleFaults = {} as FaultPlan, pricing = PRICING as readonly PricedRoute[] } = {}) {
  const kv = createKvClient({ url, token, timeoutMs: KV_TIMEOUT_MS });
  const meteringOptions = { kvTimeoutMs: KV_TIMEOUT_MS, healAfterMs: 5 * KV_TIMEOUT_MS, namespace: uniqueNamespace("hold"), monthlyAllowance: 0 };
  const metering = createMetering(kv, meteringOptions);
  // The handler's settles go through a client of their own, so a test can take the store away from them alone.
  const settling = createMetering(faultyKv(kv, settleFaults), meteringOptions);
  const signer = createGateSigner({ secret: SECRET });
  const options = {
    verify: createTokenVerifier(createAuthConfig({ secret: SECRET, production: true })),
    debit: metering.debit, hold: metering.hold, holdDeadlineMs: 60_000,
    pricing, topUpUrl: "/buy", monthlyAllowance: 100, secondsToPeriodEnd: () => 3600,
  };
  const gate = createGate({ ...options, signer });
  const background: Promise<unknown>[] = [];
  const logged: [string, Record<string, unknown>][] = [];
  const metered = createMeteredRoute({
    signer, gate: createGate({ ...options, signer: null }), tokenHeaders: options, pricing,
    refund: (u, d, r) => metering.refund(u, d, r), storeResponse: metering.storeIdempotentResponse,
    settleHold: settling.settleHold,
    background: (task) => { background.push(task); },
    log: (event, fields) => { logged.push([event, fields]); },
  });
  // Background work may start more (a retry): wait until none is added.
  const settled = async () => {
    for (let seen = -1; seen !== background.length;) {
      seen = background.length;
      await Promise.allSettled(background);
    }
  };
  return { metering, signer, gate, metered, settled, logged };
}

const bearer = async (sub: string) => `Bearer ${await mintToken({ sub, secret: SECRET, ttlSeconds: 600 })}`;
const post = (headers: HeadersInit, body = '{"message":"hi"}') => new Request(`http://localhost${PATH}`, { method: "POST", headers, body });
const json = { "content-type": "application/json" };

async function forwarded(decision: GateDecision): Promise<Headers> {
  if (decision.status !== "forward") throw new Error(`refused: ${decision.response.status} ${await decision.response.text()}`);
  return decision.requestHeaders;
}

describe.each(kvTargets())("holds at the gate on the $engine engine", (target) => {
  it("holds the route's hold in full and forwards a held pass: X-Tokens-Reserved and the balance after the hold", async () => {
    const { metering, signer, gate, metered } = setup(target.url, target.token);
    await metering.credit({ userId: "hal", amount: 50, reason: "Top-up" });
    const headers = await forwarded(await gate(post({ ...json, authorization: await bearer("hal") })));
    const reading = await signer.read(headers);
    expect(reading).toMatchObject({ status: "valid", pass: { status: "held", userId: "hal", held: 20, requested: 20, balance: 30, routeId: "chat-stream" } });
    let seen: { pass: GatePass; meter: HoldMeter | null } | null = null;
    const route = metered(async (_request, pass, meter) => {
      seen = { pass, meter };
      return new Response("streaming…");
    });
    const answer = await route(new Request(`http://localhost${PATH}`, { method: "POST", headers }));
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-tokens-reserved")).toBe("20");
    expect(answer.headers.get("x-tokens-remaining")).toBe("30");
    expect(answer.headers.get("x-tokens-cost")).toBeNull();
    expect(answer.headers.get("x-tokens-hold")).toBe((seen!.pass as Extract<GatePass, { status: "held" }>).holdId);
    expect(seen!.meter).toMatchObject({ held: 20, balance: 30, outcome: null });
    // A 2xx answer's hold is the handler's (its stream's) to settle: metered() left it open.
    const ledger = await readLedger(metering.context, "hal");
    expect(ledger.openHolds).toEqual([{ id: (seen!.pass as Extract<GatePass, { status: "held" }>).holdId, held: 20 }]);
    const settled = await seen!.meter!.settle(7);
    expect(settled).toMatchObject({ status: "settled", charged: 7, released: 13, balance: 43 });
    // Once: a second settle gets the first outcome; one from anywhere else (a replayed pass,
    // another instance) reads back the charge that stands and releases nothing.
    expect(await seen!.meter!.settle(0)).toEqual(settled);
    const ticket = ticketOf(seen!.pass as Extract<GatePass, { status: "held" }>, PRICING);
    expect(await metering.settleHold(ticket, 0)).toMatchObject({ status: "pending", charged: 7, released: 13 });
    const after = await readLedger(metering.context, "hal");
    expect(after.balance).toBe(43);
    expect(after.history[0]).toMatchObject({ type: "debit", amount: -7, held: 20, route: `POST ${PATH}` });
    expect(checkInvariants(after, { historyComplete: true })).toEqual([]);
  });

  it("holds what the balance has when it covers the minimum: X-Tokens-Reserved shows the smaller hold", async () => {
    const { metering, gate, metered, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "pat", amount: 7, reason: "Top-up" });
    const headers = await forwarded(await gate(post({ ...json, authorization: await bearer("pat") })));
    const answer = await metered(async (_r, _p, meter) => {
      await meter!.settle(5);
      return new Response("ok");
    })(new Request(`http://localhost${PATH}`, { method: "POST", headers }));
    expect(answer.headers.get("x-tokens-cost")).toBe("5");
    expect(answer.headers.get("x-tokens-released")).toBe("2");
    await answer.text();
    await settled();
    // The partial hold is one entry of 7 held, 5 charged: the give-back of the shortfall and
    // the release each happened once.
    const ledger = await readLedger(metering.context, "pat");
    expect([ledger.balance, ledger.openHolds, ledger.history[0]]).toMatchObject([2, [], { amount: -5, held: 7, ended: "settled" }]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("the partial hold's answer shows the smaller hold in X-Tokens-Reserved before any settle", async () => {
    const { metering, gate, metered } = setup(target.url, target.token);
    await metering.credit({ userId: "pau", amount: 7, reason: "Top-up" });
    const headers = await forwarded(await gate(post({ ...json, authorization: await bearer("pau") })));
    const answer = await metered(async () => new Response("ok"))(new Request(`http://localhost${PATH}`, { method: "POST", headers }));
    expect(answer.headers.get("x-tokens-reserved")).toBe("7");
    expect(answer.headers.get("x-tokens-remaining")).toBe("0");
    await answer.body?.cancel();
  });

  it("a 2xx answer whose handler never settled is settled as the route's expiry when its body ends, and logged", async () => {
    const { metering, gate, metered, settled, logged } = setup(target.url, target.token);
    await metering.credit({ userId: "ned", amount: 50, reason: "Top-up" });
    const headers = await forwarded(await gate(post({ ...json, authorization: await bearer("ned") })));
    const answer = await metered(async () => new Response("not a metered stream"))(new Request(`http://localhost${PATH}`, { method: "POST", headers }));
    expect((await readLedger(metering.context, "ned")).openHolds).toHaveLength(1);
    expect(await answer.text()).toBe("not a metered stream");
    await settled();
    const ledger = await readLedger(metering.context, "ned");
    expect([ledger.balance, ledger.openHolds]).toEqual([30, []]);
    expect(ledger.history[0]).toMatchObject({ amount: -20, held: 20, ended: "settled" });
    expect(logged).toContainEqual(["route.hold_unsettled", expect.objectContaining({ route: "chat-stream", charge: 20 })]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("an unsettled answer whose client cancels it is settled then too, and a `release` route charges nothing", async () => {
    const pricing = PRICING.map((r) => (r.usage === undefined ? r : { ...r, usage: { ...r.usage, onExpiry: "release" as const } }));
    const { metering, gate, metered, settled, logged } = setup(target.url, target.token, { pricing });
    await metering.credit({ userId: "can", amount: 50, reason: "Top-up" });
    const headers = await forwarded(await gate(post({ ...json, authorization: await bearer("can") })));
    const endless = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new TextEncoder().encode("word ")) });
    const answer = await metered(async () => new Response(endless))(new Request(`http://localhost${PATH}`, { method: "POST", headers }));
    const reader = answer.body!.getReader();
    await reader.read();
    await reader.cancel();
    await settled();
    const ledger = await readLedger(metering.context, "can");
    expect([ledger.balance, ledger.openHolds, ledger.history[0]]).toMatchObject([50, [], { amount: 0, held: 20, ended: "settled" }]);
    expect(logged).toContainEqual(["route.hold_unsettled", expect.objectContaining({ route: "chat-stream", charge: 0 })]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("answers 402 below the minimum hold, and holds nothing", async () => {
    const { metering, gate } = setup(target.url, target.token);
    await metering.credit({ userId: "low", amount: 1, reason: "Top-up" });
    const decision = await gate(post({ ...json, authorization: await bearer("low") }));
    if (decision.status !== "respond") throw new Error("forwarded");
    expect(decision.response.status).toBe(402);
    expect(await decision.response.json()).toMatchObject({ code: "insufficient_tokens", balance: 1, cost: 2 });
    expect(decision.response.headers.get("x-tokens-remaining")).toBe("1");
    await decision.pending;
    const ledger = await readLedger(metering.context, "low");
    expect([ledger.balance, ledger.openHolds]).toEqual([1, []]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("answers 422 idempotency_not_supported to an Idempotency-Key, and holds nothing", async () => {
    const { metering, gate } = setup(target.url, target.token);
    await metering.credit({ userId: "ida", amount: 50, reason: "Top-up" });
    const decision = await gate(post({ ...json, authorization: await bearer("ida"), "idempotency-key": "k1" }));
    if (decision.status !== "respond") throw new Error("forwarded");
    expect(decision.response.status).toBe(422);
    expect(await decision.response.json()).toMatchObject({ code: "idempotency_not_supported" });
    const ledger = await readLedger(metering.context, "ida");
    expect([ledger.balance, ledger.openHolds, ledger.history.length]).toEqual([50, [], 1]);
  });

  it.each([
    ["throws", async () => { throw new Error("model down"); }, 500],
    ["answers 400", async () => new Response("bad input", { status: 400 }), 400],
    ["answers 503", async () => new Response("busy", { status: 503 }), 503],
  ] as [string, MeteredHandler, number][])("releases the whole hold when the handler %s", async (_label, handler, status) => {
    const { metering, gate, metered, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "rel", amount: 50, reason: "Top-up" });
    const headers = await forwarded(await gate(post({ ...json, authorization: await bearer("rel") })));
    const answer = await metered(handler)(new Request(`http://localhost${PATH}`, { method: "POST", headers }));
    expect(answer.status).toBe(status);
    expect(answer.headers.get("x-tokens-remaining")).toBe("50");
    expect(answer.headers.get("x-tokens-released")).toBe("20");
    await settled();
    const ledger = await readLedger(metering.context, "rel");
    expect([ledger.balance, ledger.openHolds]).toEqual([50, []]);
    expect(ledger.history[0]).toMatchObject({ amount: 0, held: 20 });
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("a settle that finds the store away is pending, reports the charge, and lands from the background", async () => {
    // The settle's first transaction (its claim) never reaches the store; the claim is retried.
    const { metering, metered, settled } = setup(target.url, target.token, { settleFaults: { 1: "before-send" } });
    await metering.credit({ userId: "kvo", amount: 30, reason: "Top-up" });
    let first: unknown = null;
    const answer = await metered(async (_r, _p, meter) => {
      first = await meter!.settle(6);
      return new Response("done");
    })(post({ ...json, authorization: await bearer("kvo") }));
    expect(first).toEqual({ status: "pending", charged: 6, released: 14, balance: null });
    // The balance after a pending settle is unknown: none is shown rather than a wrong one.
    expect(answer.headers.get("x-tokens-cost")).toBe("6");
    expect(answer.headers.get("x-tokens-remaining")).toBeNull();
    await settled();
    const ledger = await readLedger(metering.context, "kvo");
    expect([ledger.balance, ledger.openHolds, ledger.history[0]!.amount]).toEqual([24, [], -6]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("inside the handler (no gate in front), holds and hands the meter over in memory", async () => {
    const { metering, metered } = setup(target.url, target.token);
    await metering.credit({ userId: "inl", amount: 30, reason: "Top-up" });
    const answer = await metered(async (_r, _p, meter) => {
      await meter!.settle(4);
      return new Response("done");
    })(post({ ...json, authorization: await bearer("inl") }));
    // Settled before answering: the answer shows what it cost and the balance after it.
    expect(answer.headers.get("x-tokens-cost")).toBe("4");
    expect(answer.headers.get("x-tokens-remaining")).toBe("26");
    const ledger = await readLedger(metering.context, "inl");
    expect([ledger.balance, ledger.openHolds]).toEqual([26, []]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("releases the hold of a genuine held pass that arrives at another route, and never runs the work", async () => {
    const { metering, gate, metered, settled } = setup(target.url, target.token);
    await metering.credit({ userId: "wro", amount: 50, reason: "Top-up" });
    const headers = await forwarded(await gate(post({ ...json, authorization: await bearer("wro") })));
    let ran = false;
    const answer = await metered(async () => { ran = true; return new Response("work"); })(
      new Request("http://localhost/api/chat", { method: "POST", headers, body: "{}" }),
    );
    expect(answer.status).toBe(403);
    expect(await answer.json()).toMatchObject({ code: "gate_pass_wrong_route", released: true });
    expect(answer.headers.get("x-tokens-remaining")).toBe("50");
    expect(ran).toBe(false);
    await settled();
    const ledger = await readLedger(metering.context, "wro");
    expect([ledger.balance, ledger.openHolds, ledger.history[0]]).toMatchObject([50, [], { amount: 0, held: 20 }]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("signs the hold into the pass: without its hold field, or with one added to a paid pass, it does not verify", async () => {
    const { metering, signer, gate } = setup(target.url, target.token);
    await metering.credit({ userId: "sig", amount: 50, reason: "Top-up" });
    const headers = new Headers(await forwarded(await gate(post({ ...json, authorization: await bearer("sig") }))));
    expect(headers.get(GATE_HEADERS.hold)).toMatch(/^20:\d+:\d+$/);
    headers.delete(GATE_HEADERS.hold);
    expect(await signer.read(headers)).toEqual({ status: "invalid" });
    const paid = new Headers(await forwarded(await gate(new Request("http://localhost/api/chat", { method: "POST", headers: { ...json, authorization: await bearer("sig") }, body: "{}" }))));
    expect((await signer.read(paid)).status).toBe("valid");
    paid.set(GATE_HEADERS.hold, "20:1");
    expect(await signer.read(paid)).toEqual({ status: "invalid" });
  });
});

describe("holds when the KV store is unreachable", () => {
  it("fails closed: 503, nothing forwarded", async () => {
    const metering = createMetering(createKvClient({ url: "http://127.0.0.1:1", token: "x", timeoutMs: 500 }), {
      namespace: uniqueNamespace("down"), monthlyAllowance: 0, kvTimeoutMs: 500, healAfterMs: 5000,
    });
    const gate = createGate({
      verify: createTokenVerifier(createAuthConfig({ secret: SECRET, production: true })),
      debit: metering.debit, hold: metering.hold, pricing: PRICING,
      signer: createGateSigner({ secret: SECRET }), topUpUrl: "/", monthlyAllowance: 0, secondsToPeriodEnd: () => 1,
    });
    const decision = await gate(post({ ...json, authorization: await bearer("kvd") }));
    if (decision.status !== "respond") throw new Error("forwarded");
    expect(decision.response.status).toBe(503);
    expect(decision.response.headers.get("retry-after")).toBe("1");
    expect(await decision.response.json()).toMatchObject({ code: "metering_unavailable" });
  });
});

describe("a gate for usage-priced routes", () => {
  it("is not built without a hold function: the wiring mistake is refused at start-up, not on the route's first request", () => {
    const options = {
      verify: createTokenVerifier(createAuthConfig({ secret: SECRET, production: true })),
      debit: async () => { throw new Error("never called"); },
      signer: null, topUpUrl: "/", monthlyAllowance: 0, secondsToPeriodEnd: () => 1,
    };
    expect(() => createGate({ ...options, pricing: PRICING })).toThrow(/usage-priced rows \(chat-stream\) and the gate has no hold function/);
    // A table of fixed prices needs none.
    expect(() => createGate({ ...options, pricing: PRICING.filter((row) => row.usage === undefined) })).not.toThrow();
  });
});
