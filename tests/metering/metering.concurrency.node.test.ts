import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createKvClient } from "../../lib/kv-client";
import { checkInvariants, createMetering, readLedger } from "../../lib/metering";
import { kvTargets, uniqueNamespace } from "../support/kv";

const run = promisify(execFile);
const worker = new URL("../support/debit-worker.ts", import.meta.url).pathname;
const tsx = new URL("../../node_modules/.bin/tsx", import.meta.url).pathname;

async function hammer(url: string, token: string, namespace: string, userId: string, processes: number, perProcess: number, mode: string, allowance = 0) {
  const outputs = await Promise.all(Array.from({ length: processes }, () =>
    run(tsx, [worker, url, token, namespace, userId, String(perProcess), "20", mode, String(allowance)], { timeout: 600_000 })));
  const tally = { ok: 0, insufficient_tokens: 0, paid: 0, error: 0 };
  for (const { stdout } of outputs) {
    const t = JSON.parse(stdout) as Record<string, number>;
    tally.ok += t.ok ?? 0;
    tally.insufficient_tokens += t.insufficient_tokens ?? 0;
    tally.paid += t.paid ?? 0;
    tally.error += t.error ?? 0;
  }
  return tally;
}

// Real concurrency against real Redis: separate processes, each its own client, through
// the local KV server's Redis engine (MULTI/EXEC on the real server).
const redis = kvTargets().find((t) => t.engine === "redis")!;

describe("thousands of debits from several processes on one balance (real Redis)", () => {
  it.each(["direct", "coalesced"])("never overdraws and reconciles exactly (%s debits)", async (mode) => {
    const namespace = uniqueNamespace("conc");
    const metering = createMetering(createKvClient({ url: redis.url, token: redis.token, timeoutMs: 15_000 }), { namespace, monthlyAllowance: 0, historyLimit: 10_000, kvTimeoutMs: 15_000, healAfterMs: 75_000 });
    const start = 3000;
    await metering.credit({ userId: "hot", amount: start, reason: "Load test" });
    const tally = await hammer(redis.url, redis.token, namespace, "hot", 4, 600, mode);
    expect(tally.error).toBe(0);
    expect(tally.ok + tally.insufficient_tokens).toBe(2400);
    expect(tally.paid).toBeLessThanOrEqual(start);

    const ledger = await readLedger(metering.context, "hot", 10_000);
    expect(ledger.openIds).toEqual([]);
    expect(ledger.balance).toBe(start - tally.paid);
    expect(ledger.balance).toBeGreaterThanOrEqual(0);
    expect(ledger.totals).toMatchObject({ credits: start, debits: tally.paid, generations: tally.ok });
    expect(ledger.history.filter((e) => e.type === "debit")).toHaveLength(tally.ok);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    // A ceiling for a slow, loaded machine (thousands of debits from four processes).
  }, 600_000);

  // Issue 9, 1b: a burst of first requests was refused although the allowance covered it.
  it.each(["direct", "coalesced"])("serves every first request the allowance covers when processes race (%s)", async (mode) => {
    const namespace = uniqueNamespace("burst");
    // 4 processes × 10 requests costing 2,3,1,2,3,1,2,3,1,2: 80 tokens of an allowance of 100.
    const tally = await hammer(redis.url, redis.token, namespace, "fresh", 4, 10, mode, 100);
    expect(tally).toMatchObject({ error: 0, ok: 40, insufficient_tokens: 0, paid: 80 });
    const metering = createMetering(createKvClient({ url: redis.url, token: redis.token, timeoutMs: 15_000 }), { namespace, monthlyAllowance: 100, kvTimeoutMs: 15_000, healAfterMs: 75_000 });
    const ledger = await readLedger(metering.context, "fresh", 1000);
    expect(ledger.history.filter((e) => e.type === "refill")).toHaveLength(1);
    expect(ledger.history.filter((e) => e.type === "debit")).toHaveLength(40);
    expect(ledger.balance).toBe(20);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    // A ceiling for a slow, loaded machine (thousands of debits from four processes).
  }, 600_000);

  it("grants the monthly allowance once when processes race on a new user's first requests", async () => {
    const namespace = uniqueNamespace("grant");
    const tally = await hammer(redis.url, redis.token, namespace, "newbie", 4, 50, "direct", 100);
    expect(tally.error).toBe(0);
    const metering = createMetering(createKvClient({ url: redis.url, token: redis.token, timeoutMs: 15_000 }), { namespace, monthlyAllowance: 100, kvTimeoutMs: 15_000, healAfterMs: 75_000 });
    const ledger = await readLedger(metering.context, "newbie", 1000);
    expect(ledger.history.filter((e) => e.type === "refill")).toHaveLength(1);
    expect(ledger.totals.credits).toBe(100);
    expect(ledger.balance).toBe(100 - tally.paid);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    // A ceiling for a slow, loaded machine (thousands of debits from four processes).
  }, 600_000);
});
