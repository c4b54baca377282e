import { afterEach, describe, expect, it, vi } from "vitest";
import { mintToken } from "../../lib/auth";
import { checkInvariants, readLedger } from "../../lib/metering";
import { kvTargets } from "../support/kv";

/**
 * POST /api/chat/stream as `next start` builds it (the app from the environment, the gate
 * run in the handler, the Node KV transport), on the real store. Next's `after` needs a
 * request scope this test has not: it only collects the work, which the test then awaits.
 */
const background: Promise<unknown>[] = [];
vi.mock("next/server", async (importOriginal) => ({
  ...(await importOriginal<Record<string, unknown>>()),
  after: (task: Promise<unknown>) => { background.push(Promise.resolve(task)); },
}));

const SECRET = "chat-stream-route-test-secret-0123456789ab";

async function load() {
  const target = kvTargets().find((t) => t.engine === "redis") ?? kvTargets()[0]!;
  vi.resetModules();
  const env: Record<string, string | undefined> = {
    NODE_ENV: "test", VERCEL_ENV: undefined, TOLLGATE_ENV: "test",
    KV_REST_API_URL: target.url, KV_REST_API_TOKEN: target.token, AUTH_JWT_SECRET: SECRET,
    TOLLGATE_KEY_PREFIX: `cs${crypto.randomUUID().slice(0, 8)}`, TOLLGATE_MONTHLY_ALLOWANCE: "0",
    TOLLGATE_DEMO_STREAM_DELAY_MS: "0", TOLLGATE_KV_TIMEOUT_MS: "5000", TOLLGATE_HEAL_AFTER_MS: "60000",
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const { POST } = await import("../../app/api/chat/stream/route");
  const { nodeApp } = await import("../../lib/server/node-platform");
  return { POST, app: nodeApp() };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

const settled = async () => {
  for (let seen = -1; seen !== background.length;) {
    seen = background.length;
    await Promise.allSettled(background);
  }
};

async function ask(user: string, body: unknown, headers: Record<string, string> = {}) {
  return new Request("http://localhost/api/chat/stream", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await mintToken({ sub: user, secret: SECRET, ttlSeconds: 600 })}`, ...headers },
    body: JSON.stringify(body),
  });
}

describe("POST /api/chat/stream", () => {
  it("streams the demo model's default answer on a hold and charges its usage: 1 credit of input, 6 of output", async () => {
    const { POST, app } = await load();
    await app.metering.credit({ userId: "ros", amount: 50, reason: "Top-up" });
    const response = await POST(await ask("ros", { message: "hello there" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(response.headers.get("x-tokens-reserved")).toBe("20");
    const text = await response.text();
    await settled();
    const events = text.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)) as { type: string; delta?: string; messageMetadata?: { tollgate: Record<string, unknown> } });
    expect(events.filter((e) => e.type === "text-delta")).toHaveLength(60);
    const ledger = await readLedger(app.metering.context, "ros");
    expect(events.at(-1)).toMatchObject({ type: "finish", messageMetadata: { tollgate: { debitId: ledger.history[0]!.id, reserved: 20, charged: 7, released: 13, remaining: 43 } } });
    expect([ledger.balance, ledger.openHolds, ledger.history[0]!.amount]).toEqual([43, [], -7]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("refuses a message over 2000 characters with 400, and releases the hold in full", async () => {
    const { POST, app } = await load();
    await app.metering.credit({ userId: "lon", amount: 50, reason: "Top-up" });
    const response = await POST(await ask("lon", { message: "x".repeat(2001) }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "invalid_field", field: "message" });
    expect(response.headers.get("x-tokens-remaining")).toBe("50");
    await settled();
    const ledger = await readLedger(app.metering.context, "lon");
    expect([ledger.balance, ledger.openHolds, ledger.history[0]]).toMatchObject([50, [], { amount: 0, held: 20 }]);
  });

  it("answers 422 to an Idempotency-Key and holds nothing", async () => {
    const { POST, app } = await load();
    await app.metering.credit({ userId: "idk", amount: 50, reason: "Top-up" });
    const response = await POST(await ask("idk", { message: "hi" }, { "idempotency-key": "abc" }));
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ code: "idempotency_not_supported" });
    expect((await readLedger(app.metering.context, "idk")).balance).toBe(50);
  });
});
