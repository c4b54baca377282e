/**
 * The real @vercel/kv client (auto-pipelining, base64 responses,
 * keep-alive) against the KV server, on both engines.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createEmbeddedEngine,
  createRedisEngine,
  startKvServer,
  type Engine,
  type RunningKvServer,
} from "../../lib/kv-server";
import { randomPrefix, redisUrlFor, TEST_DB } from "./helpers";

// @vercel/kv's default export is an env-reading proxy that vitest's interop touches on import.
process.env.KV_REST_API_URL ??= "http://127.0.0.1:1";
process.env.KV_REST_API_TOKEN ??= "unused-by-these-tests";
const { createClient } = await import("@vercel/kv");

const TOKEN = "test-full-token";
const READ_ONLY_TOKEN = "test-read-only-token";

const ENGINES: Record<string, () => Promise<Engine>> = {
  embedded: () => createEmbeddedEngine(),
  redis: () => createRedisEngine(redisUrlFor(TEST_DB.http)),
};

describe.each(Object.keys(ENGINES))("@vercel/kv against the %s engine", (engineName) => {
  let server: RunningKvServer;
  let kv: ReturnType<typeof createClient>;
  let p: string;
  // Every key of this run starts with `run`, so afterAll can remove exactly ours.
  const run = randomPrefix(`http-client-${engineName}`);

  beforeAll(async () => {
    const engine = await (ENGINES[engineName] as () => Promise<Engine>)();
    server = await startKvServer({ port: 0, engine, token: TOKEN, readOnlyToken: READ_ONLY_TOKEN });
    kv = createClient({ url: server.url, token: TOKEN });
  });

  afterAll(async () => {
    server?.setFault({ kind: "none" });
    const keys: string[] = [];
    for await (const key of kv.scanIterator({ match: `${run}*`, count: 1000 })) keys.push(key);
    if (keys.length > 0) await kv.del(...keys);
    await server?.close();
  });

  beforeEach(() => {
    p = `${run}${Math.random().toString(36).slice(2, 8)}:`;
    server.setFault({ kind: "none" });
    server.resetCounters();
  });

  it("sets and gets JSON values, numbers and strings", async () => {
    expect(await kv.set(`${p}obj`, { plan: "pro", tokens: 5 })).toBe("OK");
    expect(await kv.get(`${p}obj`)).toEqual({ plan: "pro", tokens: 5 });
    await kv.set(`${p}n`, 42);
    expect(await kv.get(`${p}n`)).toBe(42);
    await kv.set(`${p}s`, "plain text");
    expect(await kv.get(`${p}s`)).toBe("plain text");
    expect(await kv.get(`${p}missing`)).toBeNull();
    expect(await kv.set(`${p}s`, "x", { nx: true })).toBeNull();
    await kv.set(`${p}ttl`, "v", { ex: 100 });
    expect(await kv.ttl(`${p}ttl`)).toBeGreaterThan(98);
  });

  it("counts with INCR/DECRBY", async () => {
    expect(await kv.incr(`${p}c`)).toBe(1);
    expect(await kv.incrby(`${p}c`, 41)).toBe(42);
    expect(await kv.decrby(`${p}c`, 2)).toBe(40);
    await kv.set(`${p}str`, "abc");
    await expect(kv.incr(`${p}str`)).rejects.toThrow(/not an integer/);
  });

  it("round-trips hashes (HGETALL is a flat array on the wire)", async () => {
    expect(await kv.hset(`${p}h`, { plan: "pro", balance: 10 })).toBe(2);
    expect(await kv.hgetall(`${p}h`)).toEqual({ plan: "pro", balance: 10 });
    expect(await kv.hincrby(`${p}h`, "balance", -3)).toBe(7);
    expect(await kv.hget(`${p}h`, "plan")).toBe("pro");
    expect(await kv.hgetall(`${p}nohash`)).toBeNull();
  });

  it("round-trips sorted sets with scores", async () => {
    await kv.zadd(`${p}z`, { score: 2.5, member: "b" }, { score: 1, member: "a" });
    expect(await kv.zrange(`${p}z`, 0, -1, { withScores: true })).toEqual(["a", 1, "b", 2.5]);
    expect(await kv.zscore(`${p}z`, "b")).toBe(2.5);
    expect(await kv.zincrby(`${p}z`, 0.5, "a")).toBe(1.5);
  });

  it("scanIterator terminates and sees every key", async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => kv.set(`${p}scan:${i}`, i)));
    const seen = new Set<string>();
    for await (const key of kv.scanIterator({ match: `${p}scan:*`, count: 7 })) seen.add(key);
    expect(seen.size).toBe(25);
  });

  it("multi().exec() is atomic: DECRBY then COPY captures the result", async () => {
    await kv.set(`${p}bal`, 100);
    const tx = kv.multi();
    tx.decrby(`${p}bal`, 30);
    tx.copy(`${p}bal`, `${p}snap`, { replace: true });
    tx.get(`${p}snap`);
    // The client maps COPY's 1 to "COPIED".
    expect(await tx.exec()).toEqual([70, "COPIED", 70]);
    expect(server.counters.byPath["/multi-exec"]).toBe(1);
  });

  it("runs explicit pipelines in one request, with per-item errors", async () => {
    server.resetCounters();
    const pipeline = kv.pipeline();
    pipeline.set(`${p}a`, "x");
    pipeline.incr(`${p}a`);
    pipeline.set(`${p}b`, 1);
    const results = await pipeline.exec({ keepErrors: true });
    expect(results[0]).toMatchObject({ result: "OK" });
    expect(results[1]).toMatchObject({ error: expect.stringMatching(/not an integer/) });
    expect(results[2]).toMatchObject({ result: "OK" });
    expect(server.counters.requests).toBe(1);
    expect(server.counters.commands).toBe(3);
  });

  it("auto-pipelining batches same-tick calls into one round trip", async () => {
    server.resetCounters();
    const values = await Promise.all([kv.incr(`${p}x`), kv.incr(`${p}y`), kv.incrby(`${p}x`, 5)]);
    expect(values).toEqual([1, 1, 6]);
    expect(server.counters.requests).toBe(1);
    expect(server.counters.byPath).toEqual({ "/pipeline": 1 });
  });

  it("returns unicode strings intact through base64 encoding", async () => {
    for (const text of ["héllo wörld", "漢字テスト", "emoji 😀👍", "OK", "PONG", "QUEUED", "", "a\u0000b"]) {
      await kv.set(`${p}u`, text);
      expect(await kv.get(`${p}u`)).toBe(text);
    }
    expect(await kv.ping()).toBe("PONG");
    expect(await kv.echo("héllo")).toBe("héllo");
  });

  it("refuses writes with the read-only token but serves reads", async () => {
    await kv.set(`${p}ro`, "value");
    const readOnly = createClient({ url: server.url, token: READ_ONLY_TOKEN });
    expect(await readOnly.get(`${p}ro`)).toBe("value");
    await expect(readOnly.set(`${p}ro`, "changed")).rejects.toThrow(/NOPERM/);
    await expect(readOnly.incr(`${p}ro`)).rejects.toThrow(/NOPERM/);
    expect(await kv.get(`${p}ro`)).toBe("value");
  });

  it("answers 401 to a bad token", async () => {
    const intruder = createClient({ url: server.url, token: "wrong-token" });
    await expect(intruder.get(`${p}x`)).rejects.toThrow(/Unauthorized/);
  });

  describe("fault injection", () => {
    it("error: answers 500 without executing", async () => {
      server.setFault({ kind: "error" }, { times: 1 });
      await expect(kv.set(`${p}f`, "1")).rejects.toThrow(/injected fault/);
      expect(await kv.get(`${p}f`)).toBeNull();
    });

    it("drop: no answer and no effect, so the client's retry applies it exactly once", async () => {
      server.setFault({ kind: "drop" }, { times: 1 });
      expect(await kv.incr(`${p}d`)).toBe(1);
      expect(server.counters.requests).toBe(2);
      expect(await kv.get(`${p}d`)).toBe(1);
    });

    it("drop-after-exec: the effect happens, the answer is lost, a blind retry applies it twice", async () => {
      server.setFault({ kind: "drop-after-exec" }, { times: 1 });
      // This is the hazard metering must design around: INCR is not idempotent.
      expect(await kv.incr(`${p}dae`)).toBe(2);

      // Client quirk worth knowing: `retry: false` means one *retry* (attempts = 1 → two tries).
      const retryFalse = createClient({ url: server.url, token: TOKEN, retry: false });
      server.setFault({ kind: "drop-after-exec" }, { times: 1 });
      expect(await retryFalse.incr(`${p}dae2`)).toBe(2);

      const noRetry = createClient({ url: server.url, token: TOKEN, retry: { retries: 0, backoff: () => 0 } });
      server.setFault({ kind: "drop-after-exec" }, { times: 1 });
      await expect(noRetry.incr(`${p}dae3`)).rejects.toThrow();
      expect(await kv.get(`${p}dae3`)).toBe(1);
    });

    it("delay: answers late, then recovers after `times`", async () => {
      server.setFault({ kind: "delay", ms: 300 }, { times: 1 });
      const started = performance.now();
      await kv.set(`${p}slow`, 1);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      const again = performance.now();
      await kv.get(`${p}slow`);
      expect(performance.now() - again).toBeLessThan(250);
    });

    it("delay: a client that gives up before the delay ends never gets its command run", async () => {
      server.setFault({ kind: "delay", ms: 300 }, { times: 1 });
      const response = fetch(`${server.url}/set/${encodeURIComponent(`${p}late`)}/1`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: AbortSignal.timeout(50),
      });
      await expect(response).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await kv.get(`${p}late`)).toBeNull();
    });

    it("paths: only matching routes fail", async () => {
      server.setFault({ kind: "error", status: 503 }, { paths: ["/multi-exec"] });
      await kv.set(`${p}ok`, 1);
      const tx = kv.multi();
      tx.incr(`${p}ok`);
      await expect(tx.exec()).rejects.toThrow(/injected fault/);
      server.setFault({ kind: "none" });
      expect(await kv.get(`${p}ok`)).toBe(1);
    });
  });
});
