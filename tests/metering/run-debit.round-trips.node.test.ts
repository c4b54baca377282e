import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKvClient } from "../../lib/kv-client";
import { createEmbeddedEngine, type RunningKvServer, startKvServer } from "../../lib/kv-server";
import { createMetering, type Metering } from "../../lib/metering";
import { createDebitCoalescer } from "../../lib/metering/coalescer";
import { createGate } from "../../lib/gateway/gate";
import { PRICING } from "../../lib/gateway/pricing";
import { uniqueNamespace } from "../support/kv";

// Counted at the KV server itself: every HTTP request the metering core sends.
describe("KV round trips per debit", () => {
  let server: RunningKvServer;
  let metering: Metering;

  beforeAll(async () => {
    server = await startKvServer({ port: 0, engine: await createEmbeddedEngine(), token: "rt-token" });
    metering = createMetering(createKvClient({ url: server.url, token: "rt-token" }), { namespace: uniqueNamespace("rt"), monthlyAllowance: 0 });
    await metering.credit({ userId: "rt", amount: 1000, reason: "Top-up" });
  });
  afterAll(() => server.close());

  it("a paid debit is one transaction before its answer; settling it is one more, after", async () => {
    server.resetCounters();
    const outcome = await metering.debit({ userId: "rt", cost: 2 });
    expect(outcome.status).toBe("ok");
    expect(server.counters.requests).toBe(1);
    expect(server.counters.byPath).toEqual({ "/multi-exec": 1 });
    if (outcome.status === "ok") await outcome.settle();
    expect(server.counters.requests).toBe(2);
  });

  it("a paid debit with an Idempotency-Key and its request's fingerprint is still one transaction", async () => {
    server.resetCounters();
    const fingerprint = { target: "POST /api/chat", bodySha256: "Q".repeat(43) };
    const outcome = await metering.debit({ userId: "rt", cost: 1, idempotencyKey: crypto.randomUUID(), requestFingerprint: fingerprint });
    expect(outcome.status).toBe("ok");
    expect(server.counters.byPath).toEqual({ "/multi-exec": 1 });
  });

  it("through the gate, a paid request with an Idempotency-Key (its body read and hashed) is one transaction before it is forwarded", async () => {
    const gate = createGate({
      verify: async (token) => ({ status: "verified", userId: token, isAdmin: false, expiresAt: 4_102_444_800 }),
      debit: metering.debit, hold: metering.hold, pricing: PRICING, signer: null, topUpUrl: "/", monthlyAllowance: 0, secondsToPeriodEnd: () => 60,
    });
    server.resetCounters();
    const decision = await gate(new Request("http://localhost/api/chat", {
      method: "POST", body: JSON.stringify({ message: "hi" }),
      headers: { authorization: "Bearer rt", "content-type": "application/json", "idempotency-key": crypto.randomUUID() },
    }));
    expect(decision.status).toBe("forward");
    expect(server.counters.byPath).toEqual({ "/multi-exec": 1 });
  });

  it("a hold is one transaction; settling it from its ticket, on another instance, is two (claim, release) and reads nothing back", async () => {
    server.resetCounters();
    const outcome = await metering.hold({ userId: "rt", amount: 20, minimum: 2, deadlineMs: 60_000 });
    if (outcome.status !== "held") throw new Error(`not held: ${outcome.status}`);
    expect(server.counters.requests).toBe(1);
    // Another instance: its own client, only the ticket (as the signed pass carries it).
    const handler = createMetering(createKvClient({ url: server.url, token: "rt-token" }), metering.context.config);
    const settled = await handler.settleHold(outcome.hold.ticket, 5);
    expect(settled).toMatchObject({ status: "settled", charged: 5, released: 15 });
    expect(server.counters.requests).toBe(3);
  });

  it("a refused debit costs one more (the compensation), and nothing else", async () => {
    const poor = createMetering(createKvClient({ url: server.url, token: "rt-token" }), { namespace: uniqueNamespace("rt"), monthlyAllowance: 0 });
    server.resetCounters();
    expect((await poor.debit({ userId: "rt", cost: 2 })).status).toBe("insufficient_tokens");
    expect(server.counters.requests).toBe(2);
  });

  it("coalesced, concurrent debits share transactions, and settlements ride along", async () => {
    const coalescer = createDebitCoalescer(metering);
    server.resetCounters();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => coalescer.debit({ userId: "rt", cost: 1 })));
    expect(outcomes.every((o) => o.status === "ok")).toBe(true);
    const debitRequests = server.counters.requests;
    expect(debitRequests).toBeLessThanOrEqual(2);
    await Promise.all(outcomes.map((o) => (o.status === "ok" ? o.settle() : undefined)));
    expect(server.counters.requests).toBeLessThanOrEqual(debitRequests + 1);
    expect(coalescer.stats.debits).toBe(50);
  });
});
