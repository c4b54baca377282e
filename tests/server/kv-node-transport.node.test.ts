import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkInvariants, createMetering, KvUnavailableError, readLedger } from "../../lib/metering";
import { createDebitCoalescer } from "../../lib/metering/coalescer";
import { createNodeKvClient } from "../../lib/server/kv-node-transport";
import { kvTargets, manualClock, uniqueNamespace } from "../support/kv";

describe.each(kvTargets())("the Node KV transport on the $engine engine", (target) => {
  it("carries the metering core: debits, refusals, refunds, credits, the monthly scan", async () => {
    const kv = createNodeKvClient({ url: target.url, token: target.token });
    const namespace = uniqueNamespace("node-http");
    const m = createMetering(kv, { namespace, monthlyAllowance: 0 });
    await m.credit({ userId: "ann", amount: 41, reason: "Top-up" });
    const coalesced = createDebitCoalescer(m);
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => coalesced.debit({ userId: "ann", cost: 2 })));
    const paid = outcomes.filter((o) => o.status === "ok");
    expect(paid).toHaveLength(20);
    expect(outcomes.filter((o) => o.status === "insufficient_tokens")).toHaveLength(10);
    await Promise.all(paid.map((o) => (o.status === "ok" ? o.settle() : undefined)));
    const first = paid[0]!;
    if (first.status !== "ok") throw new Error("unreachable");
    expect(await m.refund("ann", first.debitId, "failed")).toMatchObject({ status: "refunded", balance: 3 });
    // The cron's SCAN, through the same transport: December's grant tops ann up to 50.
    const december = createMetering(kv, { namespace, monthlyAllowance: 50, clock: manualClock("2026-12-01T00:00:00Z").now });
    expect(await december.runMonthlyGrants()).toMatchObject({ period: "2026-12", granted: 1 });
    const ledger = await readLedger(m.context, "ann");
    expect(ledger.balance).toBe(50);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("fails a request with a wrong token with the store's own error", async () => {
    const m = createMetering(createNodeKvClient({ url: target.url, token: "not-the-token" }), { namespace: uniqueNamespace("node-http"), monthlyAllowance: 0 });
    const outcome = await m.debit({ userId: "bob", cost: 1 });
    if (outcome.status !== "unavailable") throw new Error(`expected the store's refusal, got ${outcome.status}`);
    expect(String(outcome.error)).toMatch(/Unauthorized|token/i);
  });
});

describe("the Node KV transport against a misbehaving store", () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function serve(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    server.unref();
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("gives up after timeoutMs when the store never answers (503 upstream, never a hang)", async () => {
    let received = 0;
    const url = await serve(() => { received++; });
    const m = createMetering(createNodeKvClient({ url, token: "t", timeoutMs: 300 }), {
      namespace: uniqueNamespace("node-http"), monthlyAllowance: 0, kvTimeoutMs: 5000, healAfterMs: 30_000,
    });
    const started = performance.now();
    await expect(m.credit({ userId: "cal", amount: 1, reason: "x" })).rejects.toBeInstanceOf(KvUnavailableError);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(received).toBe(1);
  });

  it("never re-sends a request the store refused or dropped (a replay could apply a debit twice)", async () => {
    let received = 0;
    const url = await serve((req, res) => {
      received++;
      req.resume();
      if (received % 2 === 1) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "ERR store failed" }));
      } else {
        req.socket.destroy();
      }
    });
    const kv = createNodeKvClient({ url, token: "t" });
    await expect(kv.multi().decrby("k", 1).exec()).rejects.toThrow(/ERR store failed/);
    expect(received).toBe(1);
    await expect(kv.multi().decrby("k", 1).exec()).rejects.toThrow();
    expect(received).toBe(2);
  });

  it("keeps the read-your-writes token the store sends, and sends it back", async () => {
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      seen.push(req.headers["upstash-sync-token"] as string | undefined);
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", "upstash-sync-token": `s${seen.length}` });
        res.end(JSON.stringify([{ result: "OK" }]));
      });
    });
    const kv = createNodeKvClient({ url, token: "t" });
    await kv.multi().set("k", "v").exec();
    await kv.multi().set("k", "v").exec();
    await kv.multi().set("k", "v").exec();
    expect(seen).toEqual([undefined, "s1", "s2"]);
  });

  it("rejects an answer that is not JSON instead of guessing", async () => {
    const url = await serve((req, res) => {
      req.resume();
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>bad gateway</html>");
    });
    await expect(createNodeKvClient({ url, token: "t" }).multi().get("k").exec()).rejects.toThrow(/HTTP 502/);
  });

  it("refuses a URL that is not http(s)", () => {
    expect(() => createNodeKvClient({ url: "redis://127.0.0.1:6379", token: "t" })).toThrow(TypeError);
  });
});
