/**
 * The wire protocol with raw HTTP: bad input must get an error answer and
 * never take the server down; auth, base64, path-style commands, counters.
 */
import { request as httpRequest, Agent } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEmbeddedEngine, createRedisEngine, startKvServer, type RunningKvServer } from "../../lib/kv-server";
import { randomPrefix, redisUrlFor, TEST_DB } from "./helpers";

const TOKEN = "protocol-token";
const READ_ONLY_TOKEN = "protocol-read-only";

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

function client(server: () => RunningKvServer) {
  return async function call(
    path: string,
    body?: string | unknown[],
    options: { token?: string | null; headers?: Record<string, string>; method?: string } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
    const token = options.token === undefined ? TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${server().url}${path}`, {
      method: options.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Left as text for the assertion to show.
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
}


// Harmless first and harmless forms (SHUTDOWN ABORT, SWAPDB 0 0): if the guard ever broke, the
// first command fails the test before anything could change the shared Redis.
const ADMIN_COMMANDS: (string | number)[][] = [
  ["config", "get", "dir"], ["info"], ["lastsave"], ["command"], ["module", "list"], ["acl", "whoami"],
  ["cluster", "info"], ["function", "list"], ["memory", "doctor"], ["latency", "latest"], ["slowlog", "get"],
  ["debug", "sleep", 0], ["script", "debug", "no"], ["shutdown", "abort"], ["failover", "abort"],
  ["swapdb", 0, 0], ["move", "no-such-key", 1], ["restore", "k", 0, "x"],
  ["migrate", "127.0.0.1", 1, "no-such-key", 0, 1], ["replicaof", "no", "one"], ["slaveof", "no", "one"],
  ["bgrewriteaof"], ["bgsave"], ["save"], ["config", "set", "dir", "/tmp"],
];

/** Admin commands never reach an engine: refused alone, per item in a pipeline, and abort a transaction. */
async function expectAdminRefused(call: ReturnType<typeof client>, p: string): Promise<void> {
  for (const command of ADMIN_COMMANDS) {
    const answer = await call("/", command);
    expect(answer.status, JSON.stringify(command)).toBe(400);
    expect(answer.body, JSON.stringify(command)).toEqual({ error: expect.stringMatching(/^ERR Command is not available: /) });
  }
  // Path-style GET, as an <img src> on a web page would send it.
  expect((await call("/config/set/dir/tmp")).body).toEqual({ error: expect.stringMatching(/^ERR Command is not available: 'config'/) });
  const pipeline = await call("/pipeline", [["set", `${p}adm`, "1"], ["config", "set", "dir", "/tmp"], ["get", `${p}adm`]]);
  expect(pipeline.body).toEqual([
    { result: "OK" },
    { error: "ERR Command is not available: 'config'. The Tollgate KV server serves data commands only" },
    { result: "1" },
  ]);
  expect((await call("/multi-exec", [["incr", `${p}adm`], ["save"]])).body).toEqual({
    error: "EXECABORT Transaction discarded because of previous errors.",
  });
  expect((await call("/", ["get", `${p}adm`])).body).toEqual({ result: "1" });
  // The data commands around them still run, and so do the served subcommands.
  expect((await call("/", ["script", "exists", "f".repeat(40)])).body).toEqual({ result: [0] });
  expect((await call("/", ["memory", "usage", `${p}adm`])).status).toBe(200);
  expect((await call("/", ["dbsize"])).status).toBe(200);
  await call("/", ["del", `${p}adm`]);
}

describe("protocol on the embedded engine", () => {
  let server: RunningKvServer;
  const call = client(() => server);

  beforeAll(async () => {
    server = await startKvServer({ port: 0, engine: await createEmbeddedEngine(), token: TOKEN, readOnlyToken: READ_ONLY_TOKEN });
  });
  afterAll(() => server?.close());
  beforeEach(() => {
    server.setFault({ kind: "none" });
    server.resetCounters();
  });

  it("refuses commands that administer the server, alone, in pipelines and in transactions", async () => {
    await expectAdminRefused(call, randomPrefix("admin"));
  });

  it("answers malformed bodies with 400 and keeps serving", async () => {
    const cases: [string, string][] = [
      ["/", "{not json"],
      ["/", '{"set":1}'],
      ["/", '"set"'],
      ["/", "[]"],
      ["/", ""],
      ["/pipeline", "[]"],
      ["/pipeline", '{"a":1}'],
      ["/pipeline", "[1"],
      ["/multi-exec", "[]"],
      ["/multi-exec", '[["set","a","1"], 5]'],
    ];
    for (const [path, body] of cases) {
      const answer = await call(path, body);
      expect(answer.status, `${path} ${body}`).toBe(400);
      expect(answer.body).toMatchObject({ error: expect.stringMatching(/^ERR /) });
    }
    expect((await call("/", ["ping"])).body).toEqual({ result: "PONG" });
  });

  it("gives malformed pipeline items their own error and runs the rest", async () => {
    const answer = await call("/pipeline", '[["set","pk","v"], "oops", [], ["get","pk"], ["nosuch"]]');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([
      { result: "OK" },
      { error: "ERR pipeline item 1 is not a non-empty array" },
      { error: "ERR pipeline item 2 is not a non-empty array" },
      { result: "v" },
      { error: "ERR unknown command 'nosuch', with args beginning with: " },
    ]);
  });

  it("answers command errors with 400 {error} and EXECABORT as a request failure", async () => {
    expect(await call("/", ["nosuch", "a"])).toMatchObject({
      status: 400,
      body: { error: "ERR unknown command 'nosuch', with args beginning with: 'a' " },
    });
    expect(await call("/", ["get"])).toMatchObject({ status: 400, body: { error: "ERR wrong number of arguments for 'get' command" } });
    const aborted = await call("/multi-exec", [["set", "tx", "1"], ["nosuch"]]);
    expect(aborted).toMatchObject({ status: 400, body: { error: "EXECABORT Transaction discarded because of previous errors." } });
    expect((await call("/", ["exists", "tx"])).body).toEqual({ result: 0 });
    const partial = await call("/multi-exec", [["set", "tx", "a"], ["incr", "tx"], ["get", "tx"]]);
    expect(partial.body).toEqual([{ result: "OK" }, { error: "ERR value is not an integer or out of range" }, { result: "a" }]);
  });

  it("refuses bodies over the limit with 413, whether announced or streamed", async () => {
    const big = JSON.stringify(["set", "big", "x".repeat(1024 * 1024 + 10)]);
    expect((await call("/", big)).status).toBe(413);
    const streamed = await fetch(`${server.url}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: new Blob([big]).stream(),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await call("/", ["exists", "big"])).body).toEqual({ result: 0 });
  });

  it("coerces JSON numbers, booleans, null and objects to strings; names are case-insensitive", async () => {
    const pipeline = await call("/pipeline", [
      ["set", "n", 100],
      ["get", "n"],
      ["SET", "b", true, "EX", 100],
      ["GET", "b"],
      ["set", "z", null],
      ["get", "z"],
      ["set", "o", { a: [1] }],
      ["get", "o"],
      ["set", "f", 1.5],
      ["incrbyfloat", "f", 1],
      ["TtL", "b"],
    ]);
    expect(pipeline.body).toEqual([
      { result: "OK" },
      { result: "100" },
      { result: "OK" },
      { result: "true" },
      { result: "OK" },
      { result: "null" },
      { result: "OK" },
      { result: '{"a":[1]}' },
      { result: "OK" },
      { result: "2.5" },
      { result: 100 },
    ]);
  });

  it("base64-encodes every string, nested ones included, but never numbers, nulls or errors", async () => {
    const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
    const headers = { "upstash-encoding": "base64" };
    expect((await call("/", ["set", "u", "héllo 😀"], { headers })).body).toEqual({ result: b64("OK") });
    expect((await call("/", ["get", "u"], { headers })).body).toEqual({ result: b64("héllo 😀") });
    await call("/", ["rpush", "list", "a", "é"]);
    const nested = await call("/pipeline", [["lrange", "list", 0, -1], ["llen", "list"], ["get", "nothing"], ["incr", "u"], ["ping"]], {
      headers,
    });
    expect(nested.body).toEqual([
      { result: [b64("a"), b64("é")] },
      { result: 2 },
      { result: null },
      { error: "ERR value is not an integer or out of range" },
      { result: b64("PONG") },
    ]);
    expect((await call("/", ["incr", "u"], { headers })).body).toEqual({ error: "ERR value is not an integer or out of range" });
  });

  it("keeps RESP2 shapes: flat HGETALL, SCAN cursor as a string", async () => {
    await call("/", ["hset", "h", "f", "v", "g", "w"]);
    expect((await call("/", ["hgetall", "h"])).body).toEqual({ result: ["f", "v", "g", "w"] });
    const scan = (await call("/", ["scan", 0, "match", "h", "count", 1000])).body as { result: [unknown, unknown] };
    expect(scan.result).toEqual(["0", ["h"]]);
  });

  it("sends an upstash-sync-token header on every answer", async () => {
    const first = await call("/", ["ping"], { headers: { "upstash-sync-token": "" } });
    const second = await call("/", ["ping"], { headers: { "upstash-sync-token": first.headers.get("upstash-sync-token") ?? "" } });
    expect(first.headers.get("upstash-sync-token")).toBeTruthy();
    expect(second.headers.get("upstash-sync-token")).toBeTruthy();
    expect((await call("/", ["ping"], { token: "bad" })).headers.get("upstash-sync-token")).toBeTruthy();
  });

  it("requires a valid token: 401 with WWW-Authenticate otherwise", async () => {
    for (const token of [null, "wrong", "", `${TOKEN}x`]) {
      const answer = await call("/", ["ping"], { token });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ error: "Unauthorized" });
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect((await call("/", ["ping"], { token: null, headers: { authorization: `Basic ${TOKEN}` } })).status).toBe(401);
    expect((await call(`/?_token=${TOKEN}`, ["ping"], { token: null })).body).toEqual({ result: "PONG" });
  });

  it("refuses writes with the read-only token before running anything", async () => {
    const answer = await call("/pipeline", [["get", "x"], ["set", "ro-write", "1"]], { token: READ_ONLY_TOKEN });
    expect(answer).toMatchObject({ status: 403, body: { error: "NOPERM this user has no permissions to run the 'set' command" } });
    expect((await call("/", ["exists", "ro-write"])).body).toEqual({ result: 0 });
    expect((await call("/multi-exec", [["incr", "ro-write"]], { token: READ_ONLY_TOKEN })).status).toBe(403);
    expect((await call("/", ["eval", "return 1", 0], { token: READ_ONLY_TOKEN })).status).toBe(403);
    expect((await call("/", ["dbsize"], { token: READ_ONLY_TOKEN })).status).toBe(200);
  });

  it("lets the read-only token run EVAL_RO, whose scripts cannot write", async () => {
    await call("/", ["set", "ro-read", "v"]);
    expect((await call("/", ["eval_ro", "return redis.call('get', KEYS[1])", 1, "ro-read"], { token: READ_ONLY_TOKEN })).body).toEqual({
      result: "v",
    });
    const write = await call("/", ["eval_ro", "return redis.call('set', KEYS[1], 'w')", 1, "ro-read"], { token: READ_ONLY_TOKEN });
    expect(write).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^ERR Write commands are not allowed from read-only scripts\. script: /) } });
    expect((await call("/", ["get", "ro-read"])).body).toEqual({ result: "v" });
    expect((await call("/", ["script", "load", "return 1"], { token: READ_ONLY_TOKEN })).status).toBe(403);
  });

  it("serves path-style commands with GET and POST, token in header or query", async () => {
    expect((await call("/set/path%20key/a%2Fb")).body).toEqual({ result: "OK" });
    expect((await call("/get/path%20key")).body).toEqual({ result: "a/b" });
    expect((await call(`/incrby/pc/5?_token=${TOKEN}`, undefined, { token: null })).body).toEqual({ result: 5 });
    expect((await call("/SET/posted", "raw body, not JSON")).body).toEqual({ result: "OK" });
    expect((await call("/get/posted")).body).toEqual({ result: "raw body, not JSON" });
    expect((await call("/set/x/y", undefined, { token: READ_ONLY_TOKEN })).status).toBe(403);
    expect((await call("/get/posted", undefined, { token: READ_ONLY_TOKEN })).status).toBe(200);
    expect((await call("/get/%E0%A4%A")).status).toBe(400);
    expect(server.counters.byPath).toEqual({ "/set": 3, "/get": 3, "/incrby": 1, "/invalid": 1 });
  });

  // Regression, found by the fuzzing in tests/reliability/kv-protocol.node.test.ts: "//" and
  // "//x" paths made `new URL(path, base)` throw (a protocol-relative URL) and the server answered 500.
  it("never answers 500 to odd paths", async () => {
    for (const path of ["//", "//get/x", "///", "/%", "/get/%ZZ", "/?", "/?_token=", "//?_token=x"]) {
      const answer = await call(path);
      expect([400, 401, 405], path).toContain(answer.status);
    }
  });

  it("rejects other methods and the pub/sub endpoints", async () => {
    expect((await call("/", undefined, { method: "PUT" })).status).toBe(405);
    expect((await call("/pipeline")).status).toBe(405);
    expect((await call("/subscribe/chan", [])).status).toBe(400);
  });

  it("counts requests and commands per path, and resets", async () => {
    await call("/", ["ping"]);
    await call("/pipeline", [["ping"], ["ping"]]);
    await call("/multi-exec", [["ping"], ["ping"], ["ping"]]);
    await call("/", ["ping"], { token: "bad" });
    expect(server.counters).toEqual({ requests: 4, commands: 6, byPath: { "/": 2, "/pipeline": 1, "/multi-exec": 1 } });
    server.resetCounters();
    expect(server.counters).toEqual({ requests: 0, commands: 0, byPath: {} });
  });

  it("reuses one keep-alive connection for sequential requests", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(`${server.url}/`, {
          method: "POST",
          agent,
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        });
        req.on("response", (res) => {
          ports.push(res.socket.localPort ?? -1);
          res.resume();
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end(JSON.stringify(["incr", "keepalive"]));
      });
    }
    agent.destroy();
    expect(new Set(ports).size).toBe(1);
    expect((await call("/", ["get", "keepalive"])).body).toEqual({ result: "3" });
  });

  it("survives a client that disconnects mid-body", async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${server.url}/`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-length": "1000" },
      });
      req.on("error", () => resolve());
      req.write('["set","half"');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 20);
    });
    expect((await call("/", ["exists", "half"])).body).toEqual({ result: 0 });
  });

  it("answers an unknown EVALSHA with NOSCRIPT, so the client falls back to EVAL, which runs", async () => {
    expect((await call("/", ["evalsha", "a".repeat(40), 0])).body).toEqual({ error: "NOSCRIPT No matching script. Please use EVAL." });
    expect((await call("/", ["eval", "return 1", 0])).body).toEqual({ result: 1 });
  });

  it("drops without executing, and with an error status of choice", async () => {
    server.setFault({ kind: "drop" }, { times: 1 });
    await expect(call("/", ["set", "dropped", "1"])).rejects.toThrow();
    expect((await call("/", ["exists", "dropped"])).body).toEqual({ result: 0 });
    server.setFault({ kind: "error", status: 503 }, { times: 2 });
    expect((await call("/", ["ping"])).status).toBe(503);
    expect((await call("/", ["ping"])).status).toBe(503);
    expect((await call("/", ["ping"])).status).toBe(200);
    expect(() => server.setFault({ kind: "delay", ms: -1 })).toThrow(TypeError);
  });
});

describe("protocol on the Redis engine", () => {
  let server: RunningKvServer;
  const call = client(() => server);
  const p = randomPrefix("protocol");

  beforeAll(async () => {
    server = await startKvServer({ port: 0, engine: await createRedisEngine(redisUrlFor(TEST_DB.http)), token: TOKEN });
  });
  afterAll(async () => {
    await call("/", ["del", `${p}a`, `${p}s`]);
    await server?.close();
  });

  it("forwards scripts, and NOSCRIPT comes from Redis itself", async () => {
    expect((await call("/", ["eval", "return {1, 'two', redis.call('incr', KEYS[1])}", 1, `${p}s`])).body).toEqual({
      result: [1, "two", 1],
    });
    expect((await call("/", ["evalsha", "f".repeat(40), 0])).body).toMatchObject({ error: expect.stringMatching(/^NOSCRIPT/) });
  });

  it("refuses commands that administer the server, alone, in pipelines and in transactions", async () => {
    await expectAdminRefused(call, p);
  });

  it("refuses blocking, subscribing and connection-state commands", async () => {
    for (const command of [["blpop", "x", 1], ["subscribe", "c"], ["select", 2], ["multi"], ["client", "setname", "x"], ["xread", "block", 0, "streams", "s", "$"]]) {
      const answer = await call("/", command);
      expect(answer.status, JSON.stringify(command)).toBe(400);
      expect(answer.body).toMatchObject({ error: expect.stringContaining("not supported over REST") });
    }
    const pipeline = await call("/pipeline", [["set", `${p}a`, "1"], ["brpop", "x", 1], ["get", `${p}a`]]);
    expect(pipeline.body).toMatchObject([{ result: "OK" }, { error: expect.stringContaining("blocking") }, { result: "1" }]);
    expect((await call("/multi-exec", [["incr", `${p}a`], ["watch", "x"]])).body).toEqual({
      error: "EXECABORT Transaction discarded because of previous errors.",
    });
    expect((await call("/", ["get", `${p}a`])).body).toEqual({ result: "1" });
  });
});

describe("server lifecycle", () => {
  it("closes promptly with idle keep-alive sockets and delayed requests in flight", async () => {
    const server = await startKvServer({ port: 0, engine: await createEmbeddedEngine(), token: TOKEN });
    const call = client(() => server);
    await call("/", ["ping"]);
    server.setFault({ kind: "delay", ms: 10_000 });
    const pending = call("/", ["set", "k", "v"]).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
    await server.close();
  });

  it("rejects bad options at construction and a busy port at listen", async () => {
    const engine = await createEmbeddedEngine();
    await expect(startKvServer({ engine, token: "" })).rejects.toThrow(TypeError);
    await expect(startKvServer({ engine, token: "a", readOnlyToken: "a" })).rejects.toThrow(TypeError);
    await expect(startKvServer({ engine, token: "a", port: 70000 })).rejects.toThrow(TypeError);
    const first = await startKvServer({ port: 0, engine, token: "a" });
    await expect(startKvServer({ port: first.port, engine, token: "a" })).rejects.toThrow(/EADDRINUSE/);
    await first.close();
  });
});

/** A request with headers fetch() would not let us set (Host), and an optional body that may never come. */
function raw(
  url: string,
  options: { path?: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${options.path ?? "/"}`, { method: options.method ?? "POST", headers: options.headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Left as text for the assertion to show.
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", reject);
    if (options.body !== undefined) req.end(options.body);
    else req.flushHeaders();
  });
}

describe("Host and Origin: DNS rebinding and foreign pages", () => {
  let server: RunningKvServer;
  let ran = 0;
  const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

  beforeAll(async () => {
    const engine = await createEmbeddedEngine();
    // Counts what reaches the engine, to prove a refused request never did.
    const exec = engine.exec.bind(engine);
    engine.exec = (args) => {
      ran++;
      return exec(args);
    };
    server = await startKvServer({ port: 0, engine, token: TOKEN, allowHosts: ["kv.internal", "proxy.test:9000"] });
  });
  afterAll(() => server?.close());

  it("serves the loopback names with its own port, and hosts named in allowHosts", async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`, `LOCALHOST:${server.port}`, "kv.internal", `kv.internal:${server.port}`, "kv.internal:1234", "proxy.test:9000"]) {
      const answer = await raw(server.url, { headers: { ...auth, host }, body: '["echo","hi"]' });
      expect(answer, host).toEqual({ status: 200, body: { result: "hi" } });
    }
  });

  it("answers 421 to any other Host, before auth and without running anything", async () => {
    ran = 0;
    for (const host of ["evil.example", `evil.example:${server.port}`, "127.0.0.1:1", `localhost.evil.example:${server.port}`, "proxy.test:9001", "proxy.test"]) {
      const answer = await raw(server.url, { headers: { ...auth, host }, body: '["flushall"]' });
      expect(answer.status, host).toBe(421);
      expect(answer.body, host).toEqual({ error: expect.stringMatching(/^ERR misdirected request/) });
    }
    // A path-style GET from a rebound page, token in the query.
    const answer = await raw(server.url, { method: "GET", path: `/flushall?_token=${TOKEN}`, headers: { host: `rebound.example:${server.port}` } });
    expect(answer.status).toBe(421);
    expect(ran).toBe(0);
  });

  it("answers 403 to a browser Origin or a cross-site fetch that is not this server's; no Origin is fine", async () => {
    ran = 0;
    const cases: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: `http://evil.example:${server.port}` },
      { origin: "null" },
      { origin: "http://localhost:3000" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of cases) {
      const answer = await raw(server.url, { method: "GET", path: `/flushall?_token=${TOKEN}`, headers });
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(answer.body).toEqual({ error: expect.stringMatching(/^ERR forbidden/) });
    }
    expect(ran).toBe(0);
    const fine: Record<string, string>[] = [{ origin: `http://localhost:${server.port}` }, { origin: "http://kv.internal" }, { "sec-fetch-site": "none" }, {}];
    for (const headers of fine) {
      const answer = await raw(server.url, { headers: { ...auth, ...headers }, body: '["echo","ok"]' });
      expect(answer, JSON.stringify(headers)).toEqual({ status: 200, body: { result: "ok" } });
    }
  });

  it("checks the token before reading the body: a stranger's body is never waited for nor read", async () => {
    ran = 0;
    // Headers only: the announced body never comes, so an answer proves nothing waited for it.
    const waiting = raw(server.url, { headers: { authorization: "Bearer wrong", "content-length": "100" } });
    const answer = await Promise.race([waiting, new Promise((resolve) => setTimeout(() => resolve("no answer"), 2000))]);
    expect(answer).toEqual({ status: 401, body: { error: "Unauthorized" } });
    // An oversized body from a stranger is refused for the token, not measured for its size.
    const large = await raw(server.url, { headers: { "content-length": String(64 * 1024 * 1024) } });
    expect(large).toEqual({ status: 401, body: { error: "Unauthorized" } });
    expect(ran).toBe(0);
  });

  it("refuses a malformed allowHosts entry at start", async () => {
    for (const allowHosts of [[""], ["a b"], ["http://x"], ["::1"], ["x/y"]]) {
      await expect(startKvServer({ port: 0, engine: await createEmbeddedEngine(), token: TOKEN, allowHosts }), JSON.stringify(allowHosts)).rejects.toThrow(TypeError);
    }
  });
});
