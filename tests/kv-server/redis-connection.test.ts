/**
 * The Redis engine's own connection, against real Redis 7: replies reach
 * the right request, a drop fails what is in flight and never re-sends it,
 * the next request reconnects, AUTH and SELECT come from the URL. Outages
 * are made with a TCP relay (tcp-proxy.ts) in front of the shared Redis.
 */
import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createRedisEngine,
  EngineUnavailableError,
  startKvServer,
  type Engine,
  type RedisEngineOptions,
} from "../../lib/kv-server";
import { RedisConnection } from "../../lib/kv-server/redis/connection";
import { parseRedisUrl } from "../../lib/kv-server/redis/redis-url";
import { encodeCommand } from "../../lib/kv-server/redis/resp";
import { plain, randomPrefix, redisUrlFor, TEST_DB } from "./helpers";
import { redisTarget, startProxy, type TcpProxy } from "./tcp-proxy";

const DB = TEST_DB.http;
const p = randomPrefix("redis-connection");
const cleanup: (() => Promise<unknown>)[] = [];
let direct: Engine;

beforeAll(async () => {
  direct = await createRedisEngine(redisUrlFor(DB));
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});
afterAll(async () => {
  const keys = (await direct.exec(["keys", `${p}*`])) as string[];
  if (keys.length > 0) await direct.exec(["del", ...keys]);
  await direct.close();
});

async function proxy(): Promise<TcpProxy> {
  const started = await startProxy();
  cleanup.push(() => started.stop());
  return started;
}

async function engineAt(url: string, options?: RedisEngineOptions): Promise<Engine> {
  const engine = await createRedisEngine(url, options);
  cleanup.push(() => engine.close());
  return engine;
}

/** A local server that does whatever `onConnection` says: for hosts that are not Redis. */
async function fakeHost(onConnection: (socket: Socket) => void): Promise<{ url: string }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => new Error(`expected a rejection, got ${JSON.stringify(plain(value as never))}`),
    (error: unknown) => error,
  );
  if (!(outcome instanceof EngineUnavailableError)) throw outcome;
  return outcome;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("replies reach the request that asked", () => {
  it("keeps single commands, pipelines and transactions from many concurrent callers apart", async () => {
    const engine = await engineAt(redisUrlFor(DB));
    const big = "x".repeat(1 << 20); // a reply that arrives in many chunks
    await engine.exec(["set", `${p}big`, big]);
    const tasks = Array.from({ length: 200 }, async (_, i) => {
      const id = `${i}-${"é".repeat(i % 7)}`;
      switch (i % 10 === 3 ? 3 : i % 3) {
        case 0:
          return expect(await engine.exec(["echo", id])).toBe(id);
        case 1:
          return expect(plain(await engine.pipeline([["echo", id], ["nosuch", id], ["echo", `${id}!`]]))).toEqual([
            id,
            { error: `ERR unknown command 'nosuch', with args beginning with: '${id}' ` },
            `${id}!`,
          ]);
        case 2:
          if (i % 2 === 0) return expect(await engine.multi([["echo", id], ["strlen", `${p}big`]])).toEqual([id, big.length]);
          // A queue-time error: Redis answers the item with an error, then EXEC with EXECABORT.
          return expect(plain(await engine.multi([["echo", id], ["nosuch"], ["echo", id]]))).toEqual({
            error: "EXECABORT Transaction discarded because of previous errors.",
          });
        default:
          return expect(await engine.exec(["get", `${p}big`])).toBe(big);
      }
    });
    await Promise.all(tasks);
  });

  it("answers refused commands itself and forwards the rest in order", async () => {
    const engine = await engineAt(redisUrlFor(DB));
    expect(plain(await engine.pipeline([["set", `${p}r`, "1"], ["select", "2"], ["get", `${p}r`], ["blpop", "x", "1"]]))).toEqual([
      "OK",
      { error: "ERR 'select' is not supported over REST: it changes the shared connection" },
      "1",
      { error: "ERR 'blpop' is not supported over REST: blocking commands would stall the shared connection" },
    ]);
    expect(plain(await engine.multi([["incr", `${p}r`], ["watch", `${p}r`]]))).toEqual({
      error: "EXECABORT Transaction discarded because of previous errors.",
    });
    expect(await engine.exec(["get", `${p}r`])).toBe("1");
  });
});

describe("a connection that drops", () => {
  it("fails requests in flight, never re-sends them, and the next request reconnects", async () => {
    const relay = await proxy();
    const engine = await engineAt(relay.url(DB));
    const key = `${p}balance`;
    await engine.exec(["set", key, "100"]);

    relay.holdReplies(true);
    const pipeline = engine.pipeline([["decrby", key, "30"], ["get", key]]);
    const transaction = engine.multi([["decrby", key, "20"], ["get", key]]);
    const single = engine.exec(["decrby", key, "1"]);
    // Redis has run all three; only the replies are missing when the connection drops.
    await until(async () => (await direct.exec(["get", key])) === "49");
    relay.cut();
    for (const request of [pipeline, transaction, single]) {
      expect((await failure(request)).message).toMatch(/before answering; the commands may or may not have run/);
    }

    relay.holdReplies(false);
    expect(await engine.exec(["get", key])).toBe("49");
    expect(await engine.pipeline([["decrby", key, "9"]])).toEqual([40]);
    expect(await direct.exec(["get", key])).toBe("40");
    expect(relay.accepted).toBe(2);
  });

  it("fails promptly while Redis is away, and concurrent requests share one reconnection when it is back", async () => {
    const relay = await proxy();
    const engine = await engineAt(relay.url(DB));
    await relay.stop();
    const started = performance.now();
    await failure(engine.exec(["ping"]));
    await failure(engine.pipeline([["ping"]]));
    await failure(engine.multi([["ping"]]));
    expect(performance.now() - started).toBeLessThan(1000);

    await relay.start();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => engine.exec(["echo", String(i)])));
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(relay.accepted).toBe(2);
  });

  it("answers 503 with Retry-After over HTTP while Redis is away, and 200 once it is back", async () => {
    const relay = await proxy();
    const server = await startKvServer({ port: 0, engine: await createRedisEngine(relay.url(DB)), token: "t" });
    cleanup.push(() => server.close());
    const call = () =>
      fetch(`${server.url}/pipeline`, { method: "POST", headers: { authorization: "Bearer t" }, body: '[["echo","hi"]]' });
    relay.cut();
    await relay.stop();
    const down = await call();
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("1");
    // "connection lost" if the request beat the news of the cut to the engine.
    expect(await down.json()).toEqual({
      error: expect.stringMatching(/^ERR KV backend unavailable: (cannot connect to Redis|Redis connection lost)/),
    });
    await relay.start();
    const up = await call();
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual([{ result: "hi" }]);
  });

  it("treats a reply that is not RESP2 as a broken connection", async () => {
    const host = await fakeHost((socket) => {
      let first = true;
      socket.on("data", () => {
        socket.write(first ? "+PONG\r\n" : "?not redis\r\n");
        first = false;
      });
    });
    const engine = await engineAt(host.url);
    expect((await failure(engine.exec(["get", "k"]))).message).toMatch(/unreadable reply from Redis/);
  });
});

describe("starting and stopping", () => {
  it("fails fast at start when nothing listens", async () => {
    const relay = await startProxy();
    const url = relay.url(0, "");
    await relay.stop();
    const started = performance.now();
    const error = await failure(createRedisEngine(url));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error.message).toBe(`cannot connect to Redis at ${url}`);
    expect((error.cause as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("gives up after connectTimeoutMs when the host never answers", async () => {
    const host = await fakeHost(() => undefined);
    const started = performance.now();
    const error = await failure(createRedisEngine(host.url, { connectTimeoutMs: 200 }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect((error.cause as Error).message).toMatch(/no answer from Redis within 200 ms/);
  });

  it("lets requests in flight finish on close, refuses later ones, and closes once", async () => {
    const engine = await createRedisEngine(redisUrlFor(DB));
    const inFlight = engine.pipeline([["set", `${p}c`, "1"], ["get", `${p}c`]]);
    const closed = engine.close();
    expect(engine.close()).toBe(closed);
    expect(await inFlight).toEqual(["OK", "1"]);
    await closed;
    await failure(engine.exec(["ping"]));
  });
});

describe("AUTH and SELECT from the URL", () => {
  const user = `tollgate-test-${randomBytes(4).toString("hex")}`;
  const password = "p@ss:w/rd %é";
  const auth = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;

  // ACL is an admin command the engine refuses, so the user is made on a raw connection.
  async function admin(args: string[]): Promise<unknown> {
    const connection = new RedisConnection(parseRedisUrl(redisUrlFor(DB)));
    try {
      const [reply] = await connection.send(encodeCommand(args), 1);
      return reply;
    } finally {
      await connection.close();
    }
  }

  /** The user may touch only keys under `p` (ACL WHOAMI is an admin command the engine refuses). */
  function expectOurUser(reply: unknown): void {
    expect(reply).toMatchObject({ message: expect.stringMatching(/^NOPERM/) });
  }

  beforeAll(async () => {
    // An ACL user of our own: the shared Redis's default user stays as it is.
    expect(await admin(["acl", "setuser", user, "on", `>${password}`, `~${p}*`, "&*", "+@all"])).toBe("OK");
  });
  afterAll(async () => {
    await admin(["acl", "deluser", user]);
  });

  it("authenticates as the URL's user and selects its database, again after a reconnection", async () => {
    const relay = await proxy();
    const engine = await engineAt(relay.url(DB, auth));
    expectOurUser(await engine.exec(["get", "outside-the-test-users-keys"]));
    await engine.exec(["set", `${p}db`, "here"]);
    expect(await direct.exec(["get", `${p}db`])).toBe("here");
    const other = await engineAt(redisUrlFor(0)); // DB is not 0
    expect(await other.exec(["exists", `${p}db`])).toBe(0);

    relay.holdReplies(true);
    const lost = engine.exec(["ping"]);
    relay.cut();
    await failure(lost);
    relay.holdReplies(false);
    expectOurUser(await engine.exec(["get", "outside-the-test-users-keys"]));
    expect(await engine.exec(["get", `${p}db`])).toBe("here");
    expect(relay.accepted).toBe(2);
  });

  it("fails at start on a wrong password or a database that does not exist, without printing the password", async () => {
    const { host, port } = redisTarget();
    const wrong = await failure(createRedisEngine(`redis://${encodeURIComponent(user)}:nope@${host}:${port}/${DB}`));
    expect(wrong.message).toBe(`cannot connect to Redis at redis://${user}:***@${host}:${port}/${DB}`);
    expect((wrong.cause as Error).message).toMatch(/Redis refused AUTH: WRONGPASS/);
    const noSuchDb = await failure(createRedisEngine(redisUrlFor(100_000)));
    expect((noSuchDb.cause as Error).message).toMatch(/Redis refused SELECT: ERR DB index is out of range/);
  });

  it("accepts a password for a default user that has none, as ioredis did", async () => {
    const target = redisTarget();
    // Only meaningful when the shared Redis runs without requirepass, as in CI.
    if (target.auth !== "") return;
    const engine = await engineAt(`redis://:unused@${target.host}:${target.port}/${DB}`);
    expect(await engine.exec(["ping"])).toBe("PONG");
  });
});

describe("Redis URLs", () => {
  it("reads host, port, TLS, user, password and database", () => {
    expect(parseRedisUrl("redis://127.0.0.1:6379")).toEqual({ host: "127.0.0.1", port: 6379, tls: false, db: 0 });
    expect(parseRedisUrl("rediss://:p%40ss@cache.example:6380/3")).toEqual({
      host: "cache.example", port: 6380, tls: true, password: "p@ss", db: 3,
    });
    expect(parseRedisUrl("redis://app:s3cret@[::1]/12")).toEqual({
      host: "::1", port: 6379, tls: false, username: "app", password: "s3cret", db: 12,
    });
    expect(parseRedisUrl("redis://app@localhost/")).toEqual({ host: "localhost", port: 6379, tls: false, username: "app", password: "", db: 0 });
  });

  it("refuses what it cannot honour with a TypeError", () => {
    for (const url of ["", "localhost:6379", "http://h:6379", "redis://h/db1", "redis://h/1?password=x", "redis://%zz:p@h"]) {
      expect(() => parseRedisUrl(url), url).toThrow(TypeError);
    }
  });
});
