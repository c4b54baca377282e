/**
 * A runaway script must not freeze the server: the embedded engine runs
 * scripts in slices, queues other callers while one runs, answers BUSY once
 * it has run past the limit, and lets SCRIPT KILL stop it unless it wrote.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createEmbeddedEngine, createRedisEngine, startKvServer, type Engine } from "../../lib/kv-server";
import { sha1hex } from "../../lib/kv-server/redis/script-shas";
import { plain } from "./helpers";
import { freePort } from "../support/ports";

const BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const LIMIT_MS = 50;
const RUNAWAY = "while true do end";
/** Lua busy work spanning several 10 ms slices (about 25-60 ms), run on engines with a generous limit. */
const WORK = "for i = 1, 2e5 do end";
const GENEROUS_LIMIT_MS = 5_000;

const engines: Engine[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function engine(options: { dataDir?: string; busyScriptTimeMs?: number } = {}): Promise<Engine> {
  const created = await createEmbeddedEngine({ busyScriptTimeMs: LIMIT_MS, ...options });
  engines.push(created);
  return created;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a long script on the embedded engine", () => {
  it("holds others back until the busy limit, then they get BUSY; SCRIPT KILL stops it", async () => {
    const kv = await engine();
    const started = performance.now();
    const script = kv.exec(["eval", RUNAWAY, "0"]);
    // Sent while the script runs but before the limit: it waits, then gets BUSY like everyone after it.
    const early = await kv.exec(["get", "k"]);
    expect(plain(early)).toEqual({ error: BUSY });
    expect(performance.now() - started).toBeGreaterThanOrEqual(LIMIT_MS - 5);
    expect(plain(await kv.exec(["set", "k", "v"]))).toEqual({ error: BUSY });
    expect(plain(await kv.pipeline([["get", "k"], ["ping"]]))).toEqual([{ error: BUSY }, { error: BUSY }]);
    expect(plain(await kv.multi([["incr", "n"]]))).toEqual({ error: BUSY });

    expect(await kv.exec(["script", "kill"])).toBe("OK");
    expect(plain(await script)).toEqual({
      error: `ERR Script killed by user with SCRIPT KILL... script: ${sha1hex(RUNAWAY)}, on @user_script:1.`,
    });
    expect(await kv.exec(["set", "k", "v"])).toBe("OK");
    expect(plain(await kv.exec(["script", "kill"]))).toEqual({ error: "NOTBUSY No scripts in execution right now." });
  });

  it("stays atomic while it waits on the event loop: nobody sees its half-done writes", async () => {
    const kv = await engine({ busyScriptTimeMs: GENEROUS_LIMIT_MS });
    // Several slices of work (TIME is frozen inside a script, so it counts instead), under the limit.
    const counting = kv.exec(["eval", `redis.call('set', KEYS[1], 'half') ${WORK} redis.call('set', KEYS[1], 'done')`, "1", "k2"]);
    const seen = await Promise.all([kv.exec(["get", "k2"]), kv.exec(["get", "k2"])]);
    expect(seen).toEqual(["done", "done"]);
    expect(await counting).toBeNull();
  });

  it("cannot be killed once it wrote (UNKILLABLE); closing the engine stops it and keeps its writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-kv-busy-"));
    dirs.push(dir);
    const kv = await createEmbeddedEngine({ busyScriptTimeMs: LIMIT_MS, dataDir: dir });
    const script = kv.exec(["eval", `redis.call('set', KEYS[1], 'written') ${RUNAWAY}`, "1", "k"]);
    await sleep(LIMIT_MS + 20);
    expect(plain(await kv.exec(["script", "kill"]))).toEqual({
      error:
        "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
    });
    await kv.close();
    expect(plain(await script)).toMatchObject({ error: expect.stringMatching(/^ERR Script killed because the KV engine is closing/) });
    const reopened = await engine({ dataDir: dir });
    expect(await reopened.exec(["get", "k"])).toBe("written");
  });

  it("is killed even when it loops inside pcall, which would otherwise swallow the error", async () => {
    const kv = await engine();
    const script = kv.exec(["eval", "while true do pcall(function() while true do end end) end", "0"]);
    await sleep(LIMIT_MS + 20);
    expect(await kv.exec(["script", "kill"])).toBe("OK");
    expect(plain(await script)).toMatchObject({ error: expect.stringMatching(/^ERR Script killed by user/) });
  });

  it("a script inside MULTI or a pipeline holds the engine until the whole request is done", async () => {
    const kv = await engine({ busyScriptTimeMs: GENEROUS_LIMIT_MS });
    const transaction = kv.multi([
      ["set", "t", "1"],
      ["eval", `${WORK} return redis.call('incr', KEYS[1])`, "1", "t"],
      ["incr", "t"],
    ]);
    expect(await kv.exec(["get", "t"])).toBe("3");
    expect(await transaction).toEqual(["OK", 2, 3]);
  });
});

describe("a long script behind the HTTP server", () => {
  it("answers others BUSY over HTTP; the read-only check and injected faults still come first", async () => {
    const server = await startKvServer({
      port: 0,
      engine: await createEmbeddedEngine({ busyScriptTimeMs: LIMIT_MS }),
      token: "busy-token",
      readOnlyToken: "busy-read-only",
    });
    try {
      const call = async (body: unknown[], token = "busy-token") => {
        const response = await fetch(`${server.url}/`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as unknown };
      };
      const script = call(["eval", RUNAWAY, 0]);
      await sleep(LIMIT_MS + 20);
      expect(await call(["get", "k"])).toEqual({ status: 400, body: { error: BUSY } });
      expect((await call(["eval", "return 1", 0], "busy-read-only")).status).toBe(403);
      server.setFault({ kind: "error", status: 503 }, { times: 1 });
      expect((await call(["get", "k"])).status).toBe(503);
      expect(await call(["script", "kill"])).toEqual({ status: 200, body: { result: "OK" } });
      expect(await script).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^ERR Script killed by user/) } });
      expect(await call(["get", "k"])).toEqual({ status: 200, body: { result: null } });
    } finally {
      await server.close();
    }
  });

  it("closes promptly with a script that can no longer be killed still running", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-kv-busy-"));
    dirs.push(dir);
    const server = await startKvServer({
      port: 0,
      engine: await createEmbeddedEngine({ busyScriptTimeMs: LIMIT_MS, dataDir: dir }),
      token: "busy-token",
    });
    const script = fetch(`${server.url}/`, {
      method: "POST",
      headers: { authorization: "Bearer busy-token" },
      body: JSON.stringify(["eval", `redis.call('set', KEYS[1], 'kept') ${RUNAWAY}`, 1, "k"]),
    }).catch(() => "connection closed");
    // Running, and past its limit: the server answers BUSY (polled: a slow machine may take
    // a while to start the script).
    const giveUpAt = Date.now() + 30_000;
    for (let busy = false; !busy; await sleep(LIMIT_MS)) {
      const answer = await fetch(`${server.url}/`, { method: "POST", headers: { authorization: "Bearer busy-token" }, body: JSON.stringify(["get", "k"]) });
      const body = (await answer.json()) as { error?: string };
      busy = body.error === BUSY;
      if (!busy && Date.now() > giveUpAt) throw new Error(`the server never answered BUSY in 30 s; last answer ${JSON.stringify(body)}`);
    }
    const started = performance.now();
    await server.close();
    // The script never ends by itself: closing without waiting for it is what is checked.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await script).toBe("connection closed");
    const reopened = await engine({ dataDir: dir });
    expect(await reopened.exec(["get", "k"])).toBe("kept");
  });
});

describe("two long scripts in one pipeline", () => {
  it("the second one's busy limit counts too: others get BUSY during it", async () => {
    const kv = await engine({ busyScriptTimeMs: 300 });
    const pipeline = kv.pipeline([
      ["eval", WORK, "0"],
      ["eval", RUNAWAY, "0"],
    ]);
    await sleep(20);
    // Queued during the first script, which finishes under the limit; the second then runs past it.
    const waiting = kv.exec(["get", "k"]);
    expect(plain(await waiting)).toEqual({ error: BUSY });
    expect(await kv.exec(["script", "kill"])).toBe("OK");
    expect(plain(await pipeline)).toMatchObject([null, { error: expect.stringMatching(/^ERR Script killed by user/) }]);
  });
});

/**
 * On the Redis engine the script runs in Redis, on the connection every
 * request shares, so SCRIPT KILL must travel on another. This runs a
 * Redis of its own with a 100 ms busy threshold: a runaway script on the
 * shared test Redis would block everyone using it.
 */
describe("a long script on the Redis engine", () => {
  let redisServer: ChildProcess | undefined;
  afterEach(() => {
    // SIGKILL: a Redis busy with a script defers SIGTERM until the script ends, which may be never.
    if (redisServer?.pid !== undefined) process.kill(redisServer.pid, "SIGKILL");
    redisServer = undefined;
  });

  async function privateRedis(): Promise<string> {
    const port = await freePort();
    // The binary `npm test` found (it may live in /usr/sbin, off a user's PATH).
    redisServer = spawn(process.env.REDIS_SERVER_PATH ?? "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--busy-reply-threshold", "100"], {
      stdio: "ignore",
    });
    const url = `redis://127.0.0.1:${port}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const probe = await createRedisEngine(url, { connectTimeoutMs: 500 });
        await probe.close();
        return url;
      } catch (error) {
        if (attempt > 50) throw error;
        await sleep(100);
      }
    }
  }

  it("SCRIPT KILL reaches Redis on a connection of its own and stops the script", async () => {
    const server = await startKvServer({ port: 0, engine: await createRedisEngine(await privateRedis()), token: "t" });
    try {
      const call = async (body: unknown[]) => {
        const response = await fetch(`${server.url}/`, { method: "POST", headers: { authorization: "Bearer t" }, body: JSON.stringify(body) });
        return (await response.json()) as unknown;
      };
      const script = call(["eval", RUNAWAY, 0]);
      await sleep(300);
      expect(await call(["script", "kill"])).toEqual({ result: "OK" });
      expect(await script).toEqual({
        error: `ERR Script killed by user with SCRIPT KILL... script: ${sha1hex(RUNAWAY)}, on @user_script:1.`,
      });
      expect(await call(["set", "k", "v"])).toEqual({ result: "OK" });
      expect(await call(["script", "kill"])).toEqual({ error: "NOTBUSY No scripts in execution right now." });
    } finally {
      await server.close();
    }
  });
});

