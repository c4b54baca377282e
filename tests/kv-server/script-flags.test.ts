/**
 * Upstash's script flags over the REST protocol, on both engines: a script
 * starting `#!lua flags=allow-key-locking` runs, SCRIPT LOAD answers the
 * SHA of the text as the client wrote it, EVALSHA and SCRIPT EXISTS take
 * that SHA, alone, in /pipeline and in /multi-exec. Real Redis 7 refuses
 * the flag, so on the Redis engine this exercises the rewrite and SHA map.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, describe, expect, it } from "vitest";
import { createRedisEngine, startKvServer } from "../../lib/kv-server";
import { sha1hex } from "../../lib/kv-server/redis/script-shas";
import { kvTargets } from "../support/kv";
import { randomPrefix, redisUrlFor, TEST_DB } from "./helpers";

const NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL.";

/** A flagged script new to every run, so no engine has it cached yet. */
function flagged(body: string, flags = "allow-key-locking"): string {
  return `#!lua flags=${flags}\n${body}\n-- ${randomBytes(6).toString("hex")}`;
}

async function post(url: string, token: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

describe.each(kvTargets())("script flags on the $engine engine", ({ url, token }) => {
  const p = randomPrefix("script-flags");
  const call = (body: unknown[]) => post(url, token, "/", body);
  const redis = new Redis({ url, token, enableTelemetry: false });

  afterAll(async () => {
    const keys = await redis.keys(`${p}*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  it("runs a script that declares allow-key-locking, alone or with Redis's own flags", async () => {
    expect(await call(["eval", flagged("return redis.call('incr', KEYS[1])"), 1, `${p}n`])).toEqual({ status: 200, body: { result: 1 } });
    expect(await call(["eval", flagged("return redis.call('incr', KEYS[1])", "no-cluster,allow-key-locking"), 1, `${p}n`])).toEqual({
      status: 200,
      body: { result: 2 },
    });
    expect(await call(["eval_ro", flagged("return redis.call('get', KEYS[1])", "allow-key-locking,no-writes"), 1, `${p}n`])).toEqual({
      status: 200,
      body: { result: "2" },
    });
  });

  it("keeps Redis's rules: no-writes refuses writes, unknown flags are refused", async () => {
    const readOnly = flagged("return redis.call('incr', KEYS[1])", "allow-key-locking,no-writes");
    expect(await call(["eval", readOnly, 1, `${p}n`])).toEqual({
      status: 400,
      body: { error: `ERR Write commands are not allowed from read-only scripts. script: ${sha1hex(readOnly)}, on @user_script:2.` },
    });
    expect(await call(["eval_ro", flagged("return 1"), 0])).toEqual({
      status: 400,
      body: { error: "ERR Can not execute a script with write flag using *_ro command." },
    });
    expect(await call(["eval", flagged("return 1", "allow-key-locking,nosuch"), 0])).toEqual({
      status: 400,
      body: { error: "ERR Unexpected flag in script shebang: nosuch" },
    });
  });

  it("names the client's SHA, not a rewritten one, in SCRIPT LOAD and in errors", async () => {
    const script = flagged("return redis.call('incr', KEYS[1])");
    const sha = sha1hex(script);
    await call(["set", `${p}text`, "not a number"]);
    expect(await call(["script", "load", script])).toEqual({ status: 200, body: { result: sha } });
    expect(await call(["evalsha", sha, 1, `${p}text`])).toEqual({
      status: 400,
      body: { error: `ERR value is not an integer or out of range script: ${sha}, on @user_script:2.` },
    });
    expect(await call(["evalsha", sha.toUpperCase(), 1, `${p}sha`])).toEqual({ status: 200, body: { result: 1 } });
    expect(await call(["evalsha_ro", sha, 1, `${p}sha`])).toEqual({
      status: 400,
      body: { error: "ERR Can not execute a script with write flag using *_ro command." },
    });
    const unknown = sha1hex(flagged("never loaded"));
    expect(await call(["script", "exists", sha, unknown])).toEqual({ status: 200, body: { result: [1, 0] } });
    expect(await call(["evalsha", unknown, 0])).toEqual({ status: 400, body: { error: NOSCRIPT } });
  });

  it("translates SHAs inside /pipeline and /multi-exec too", async () => {
    const loaded = flagged("return 'loaded ' .. ARGV[1]");
    const evaluated = flagged("return redis.call('incrby', KEYS[1], ARGV[1])");
    const unknown = sha1hex(flagged("never loaded"));
    expect(
      await post(url, token, "/pipeline", [
        ["script", "load", loaded],
        ["evalsha", sha1hex(loaded), 0, "in a pipeline"],
        ["eval", evaluated, 1, `${p}pipe`, 5],
        ["evalsha", sha1hex(evaluated), 1, `${p}pipe`, 5],
        ["script", "exists", sha1hex(loaded), sha1hex(evaluated), unknown],
        ["evalsha", unknown, 0],
      ]),
    ).toEqual({
      status: 200,
      body: [
        { result: sha1hex(loaded) },
        { result: "loaded in a pipeline" },
        { result: 5 },
        { result: 10 },
        { result: [1, 1, 0] },
        { error: NOSCRIPT },
      ],
    });
    const transactional = flagged("return redis.call('incr', KEYS[1])");
    expect(
      await post(url, token, "/multi-exec", [
        ["script", "load", transactional],
        ["evalsha", sha1hex(transactional), 1, `${p}tx`],
        ["eval", transactional, 1, `${p}tx`],
        ["script", "exists", sha1hex(transactional)],
        ["evalsha", unknown, 0],
      ]),
    ).toEqual({
      status: 200,
      body: [{ result: sha1hex(transactional) }, { result: 1 }, { result: 2 }, { result: [1] }, { error: NOSCRIPT }],
    });
  });

  it("works with @upstash/redis's createScript: EVALSHA, NOSCRIPT, then EVAL", async () => {
    const script = redis.createScript<number>(flagged("return redis.call('incrby', KEYS[1], ARGV[1])"));
    expect(await script.exec([`${p}script`], ["2"])).toBe(2);
    expect(await script.exec([`${p}script`], ["3"])).toBe(5);
    expect(await redis.scriptExists(script.sha1)).toEqual([1]);
  });
});

describe("the Redis engine after a restart", () => {
  it("answers NOSCRIPT for a flagged script it no longer maps, so the client sends EVAL again", async () => {
    const script = flagged("return 'mapped'");
    const first = await startKvServer({ port: 0, engine: await createRedisEngine(redisUrlFor(TEST_DB.http)), token: "t" });
    expect((await post(first.url, "t", "/", ["script", "load", script])).body).toEqual({ result: sha1hex(script) });
    await first.close();
    // A new KV server: Redis still has the script, but only under the SHA of the rewritten text.
    const second = await startKvServer({ port: 0, engine: await createRedisEngine(redisUrlFor(TEST_DB.http)), token: "t" });
    try {
      expect((await post(second.url, "t", "/", ["evalsha", sha1hex(script), 0])).body).toEqual({ error: NOSCRIPT });
      expect((await post(second.url, "t", "/", ["eval", script, 0])).body).toEqual({ result: "mapped" });
      expect((await post(second.url, "t", "/", ["evalsha", sha1hex(script), 0])).body).toEqual({ result: "mapped" });
    } finally {
      await second.close();
    }
  });
});
