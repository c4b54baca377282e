import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KvProcess, startKvProcess } from "../../bench/support/kv-host";
import { REDIS_COMMANDS } from "../../lib/kv-server/command-policy";
import { suiteRedisUrl } from "../support/redis";

/**
 * Malformed protocol input must never take the local KV server down: random bytes and
 * random JSON shapes posted to `/`, `/pipeline` and `/multi-exec`, path-style requests
 * with random segments, bad tokens and encodings, and raw garbage on the TCP socket.
 * Each server runs in its own process (bench/support/kv-process.ts), so a crash is a dead
 * process, seen from outside. After every batch a valid command must still work.
 *
 * The Redis engine forwards to the shared Redis: random input is kept away from commands
 * that act on the whole server (FLUSHALL, CONFIG, DEBUG…) or allocate without bound
 * (SETRANGE at a huge offset); unknown names and the safe commands below are fair game.
 */
const SAFE = new Set([
  "get", "set", "incrby", "decrby", "incr", "hset", "hget", "hgetall", "hincrby", "zadd", "zrange", "zrem",
  "zremrangebyrank", "del", "exists", "expire", "copy", "ping", "echo", "mget", "strlen", "append", "type", "ttl",
]);
const dangerous = (s: string) => REDIS_COMMANDS.has(s.toLowerCase()) && !SAFE.has(s.toLowerCase());
const mentionsDangerous = (v: unknown): boolean =>
  typeof v === "string" ? dangerous(v) : Array.isArray(v) ? v.some(mentionsDangerous) : v !== null && typeof v === "object" ? Object.values(v).some(mentionsDangerous) : false;

const ascii = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
/** The statuses a well-behaved server may answer to bad input; 500 is never one of them. */
const ALLOWED = [200, 400, 401, 403, 404, 405, 413];

const arg = fc.oneof(ascii(40), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
const commandName = fc.oneof(fc.constantFrom(...SAFE), ascii(12), fc.constantFrom("MULTI", "EXEC", "SUBSCRIBE", "BLPOP", "CLIENT", "SELECT"));
const command = fc.tuple(commandName, fc.array(arg, { maxLength: 6 })).map(([name, args]) => [name, ...args]);
const shape = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  command,
  fc.array(command, { maxLength: 8 }),
  fc.array(fc.oneof(command, fc.jsonValue({ maxDepth: 2 })), { maxLength: 8 }),
  fc.constant([]),
  fc.constant([[]]),
).filter((v) => !mentionsDangerous(v));

describe.each(["embedded", "redis"] as const)("reliability: the local KV server (%s engine) survives malformed protocol input", (engine) => {
  let kv: KvProcess;
  const token = `fuzz-${crypto.randomUUID()}`;
  const probeKey = `fuzz:${crypto.randomUUID()}:{probe}`;
  let probeValue = 0;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    kv = await startKvProcess({ engine, token, redisUrl: suiteRedisUrl() });
  });
  afterAll(async () => {
    await fetch(kv.url, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(["DEL", probeKey]) }).catch(() => undefined);
    await kv.close();
  });

  async function post(path: string, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<number> {
    const payload = typeof body === "string" ? body : Uint8Array.from(body);
    const res = await fetch(`${kv.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, ...headers }, body: payload });
    await res.arrayBuffer();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    return res.status;
  }

  /** Still alive, and still correct: a valid write and read answer as Redis would. */
  async function expectHealthy(): Promise<void> {
    expect(kv.alive()).toBe(true);
    probeValue++;
    const res = await fetch(`${kv.url}/multi-exec`, {
      method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify([["INCRBY", probeKey, "1"], ["GET", probeKey]]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ result: probeValue }, { result: String(probeValue) }]);
  }

  it("random bytes on every endpoint", async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom("/", "/pipeline", "/multi-exec", "/get/x", "/set/x"),
      fc.uint8Array({ maxLength: 512 }),
      fc.constantFrom<Record<string, string>>({}, { "upstash-encoding": "base64" }, { "content-type": "application/json" }),
      async (path, bytes, headers) => {
        expect(ALLOWED).toContain(await post(path, bytes, headers));
      },
    ), { numRuns: 150 });
    await expectHealthy();
  });

  it("random JSON shapes on /, /pipeline and /multi-exec", async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom("/", "/pipeline", "/multi-exec"),
      shape,
      fc.boolean(),
      async (path, value, base64) => {
        expect(ALLOWED).toContain(await post(path, JSON.stringify(value), base64 ? { "upstash-encoding": "base64" } : {}));
      },
    ), { numRuns: 200 });
    await expectHealthy();
  });

  it("path-style requests with random segments and methods", async () => {
    const segment = fc.oneof(ascii(30), fc.constantFrom("%", "%zz", "%00", "%2F", "..", "", "%F0%9F%98%80", "%C0%AF"));
    await fc.assert(fc.asyncProperty(
      fc.array(segment, { minLength: 1, maxLength: 5 }),
      fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"),
      async (segments, method) => {
        const path = `/${segments.map((s) => s.replace(/[?#\s]/g, "_")).join("/")}`;
        let first: string;
        try {
          first = decodeURIComponent(path.split("/")[1] ?? "");
        } catch {
          first = "";
        }
        fc.pre(!dangerous(first));
        const res = await fetch(`${kv.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        expect(ALLOWED).toContain(res.status);
      },
    ), { numRuns: 150 });
    await expectHealthy();
  });

  it("bad tokens are refused (401) and never run anything", async () => {
    await fc.assert(fc.asyncProperty(
      fc.oneof(ascii(80), fc.constantFrom("", "Bearer", "Bearer ", `Bearer ${token}x`, `Basic ${token}`, `bearer  ${token.slice(1)}`)),
      fc.constantFrom("/", "/pipeline", "/multi-exec"),
      async (authorization, path) => {
        // (The right token, however it is spelled, is not a bad token.)
        fc.pre(/^bearer\s+(.+)$/i.exec(authorization.trim())?.[1] !== token);
        const body = path === "/" ? JSON.stringify(["INCRBY", probeKey, "100"]) : JSON.stringify([["INCRBY", probeKey, "100"]]);
        const res = await fetch(`${kv.url}${path}`, { method: "POST", headers: { authorization }, body });
        await res.arrayBuffer();
        expect(res.status).toBe(401);
      },
    ), { numRuns: 100 });
    // Nothing ran: the probe moved only by the health checks' own increments.
    await expectHealthy();
  });

  it("raw garbage on the TCP socket", async () => {
    const { port } = new URL(kv.url);
    await fc.assert(fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        ascii(300).map((s) => Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${s.length + 50}\r\nAuthorization: Bearer ${token}\r\n\r\n${s}`)),
        fc.nat({ max: 10 ** 9 }).map((n) => Buffer.from(`POST /pipeline HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${n.toString(16)}\r\nabc\r\n`)),
      ),
      async (bytes) => {
        await new Promise<void>((resolve) => {
          const socket = connect(Number(port), "127.0.0.1", () => {
            socket.end(bytes);
          });
          socket.setTimeout(300, () => socket.destroy());
          socket.on("data", () => undefined);
          socket.on("close", () => resolve());
          socket.on("error", () => resolve());
        });
      },
    ), { numRuns: 60 });
    await expectHealthy();
  });

  it("answered only with the expected statuses (never a 500)", () => {
    expect([...statuses.keys()].filter((s) => !ALLOWED.includes(s))).toEqual([]);
  });
});
