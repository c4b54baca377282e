/**
 * Embedded engine persistence, in process: a clean stop keeps everything,
 * the log replays to the same state after a crash, compaction and torn
 * writes are survived, and corruption is reported rather than ignored.
 * (kill -9 of a real server process is in cli.test.ts.)
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CorruptDataError, createEmbeddedEngine, DataDirLockedError, type Engine } from "../../lib/kv-server";
import { sha1hex } from "../../lib/kv-server/redis/script-shas";
import { plain } from "./helpers";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-kv-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A crash, as far as the files are concerned: the directory as it is now, minus the lock. */
function crashCopy(dir: string): string {
  const copy = tempDir();
  cpSync(dir, copy, { recursive: true });
  rmSync(join(copy, "LOCK"), { force: true });
  return copy;
}

/** Every key with its type, contents and absolute expiry. */
async function dump(engine: Engine): Promise<unknown> {
  const keys = ((await engine.exec(["keys", "*"])) as string[]).sort();
  const read: Record<string, string[]> = {
    string: ["get"],
    hash: ["hgetall"],
    list: ["lrange", "0", "-1"],
    set: ["smembers"],
    zset: ["zrange", "0", "-1", "withscores"],
  };
  const entries = [];
  for (const key of keys) {
    const type = (await engine.exec(["type", key])) as string;
    const [name, ...rest] = read[type] ?? ["type"];
    let value = plain(await engine.exec([name ?? "type", key, ...rest]));
    if (type === "set") value = (value as string[]).sort();
    // GET decodes bytes that are not valid UTF-8 lossily; read strings byte by byte as well.
    if (type === "string") value = [value, await bytes(engine, key)];
    entries.push([key, type, value, await engine.exec(["pexpiretime", key])]);
  }
  return entries;
}

async function bytes(engine: Engine, key: string): Promise<unknown> {
  const length = (await engine.exec(["strlen", key])) as number;
  const fields = Array.from({ length }, (_, i) => ["get", "u8", `#${i}`]).flat();
  return engine.exec(["bitfield_ro", key, ...fields]);
}

const WORKLOAD: string[][] = [
  ["set", "s", "hello"],
  ["set", "ttl", "v", "ex", "1000"],
  ["set", "keep", "v", "px", "5000000"],
  ["incrby", "counter", "41"],
  ["incr", "counter"],
  ["incrbyfloat", "float", "10.5"],
  ["incrbyfloat", "float", "0.1"],
  ["hset", "h", "f", "v", "n", "1"],
  ["hincrby", "h", "n", "5"],
  ["rpush", "l", "a", "b", "c"],
  ["lpop", "l"],
  ["sadd", "set", "x", "y", "z", "w"],
  ["spop", "set"],
  ["zadd", "z", "1.5", "a", "-0", "b", "inf", "c"],
  ["zincrby", "z", "2", "a"],
  ["expire", "h", "2000"],
  ["set", "gone", "v", "px", "1"],
  ["copy", "s", "s2"],
  ["rename", "s2", "s3"],
  ["set", "unicode", "héllo 😀 \u0000 \ud800"],
  ["del", "nothing"],
  // Bit and range writes leave bytes that are not valid UTF-8.
  ["setbit", "bits", "0", "1"],
  ["setbit", "bits", "9", "1"],
  ["setbit", "bits", "100", "1"],
  ["copy", "bits", "bits-copy"],
  ["setbit", "bits-copy", "1", "1"],
  ["setrange", "patched", "3", "é"],
  ["setrange", "patched", "4", "x"],
  ["append", "patched", "!"],
  ["bitop", "not", "inverted", "bits"],
  ["bitfield", "fields", "set", "i8", "#2", "-5", "incrby", "u4", "3", "7", "overflow", "fail", "incrby", "u2", "0", "9"],
  ["set", "timed-bits", "v", "ex", "1000"],
  ["setbit", "timed-bits", "20", "1"],
  ["rpushx", "l", "d"],
  ["lpushx", "l", "z"],
  ["linsert", "l", "before", "c", "b2"],
  ["rpush", "l2", "1", "2", "3"],
  ["lmpop", "2", "nothing", "l2", "right", "count", "2"],
  ["sadd", "set2", "y", "q"],
  ["smove", "set2", "moved", "q"],
  ["sinterstore", "inter", "set", "set2"],
  ["sunionstore", "union", "set", "set2"],
  ["sdiffstore", "diff", "set", "set2"],
  ["zadd", "z2", "0", "p", "0", "q", "0", "r", "0", "s", "5", "t"],
  ["zpopmax", "z2"],
  ["zpopmin", "z2"],
  ["zremrangebylex", "z2", "[r", "+"],
  ["zadd", "z3", "1", "x", "2", "y", "3", "w"],
  ["zmpop", "2", "nothing", "z3", "max", "count", "2"],
  ["zunionstore", "zunion", "2", "z", "z2", "weights", "2", "-1"],
  ["zinterstore", "zinter", "2", "z", "z", "aggregate", "max"],
  ["zdiffstore", "zdiff", "2", "z", "z3"],
];

async function load(engine: Engine, extra: string[][] = []): Promise<void> {
  for (const command of [...WORKLOAD, ...extra]) await engine.exec(command);
  await engine.multi([["decrby", "counter", "2"], ["copy", "counter", "snap", "replace"]]);
  // Let "gone" (PX 1) expire before anyone dumps, so both sides agree it is absent.
  await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("embedded persistence", () => {
  it("a clean close and reopen keeps every key, value and expiry", async () => {
    const dir = tempDir();
    const first = await createEmbeddedEngine({ dataDir: dir });
    await load(first);
    const before = await dump(first);
    await first.close();
    expect(readdirSync(dir).sort()).toEqual(["snapshot.jsonl"]);

    const second = await createEmbeddedEngine({ dataDir: dir });
    expect(await dump(second)).toEqual(before);
    expect(await second.exec(["get", "snap"])).toBe("40");
    await second.close();
  });

  it("replays the log after a crash to the same state, SPOP included", async () => {
    const dir = tempDir();
    const live = await createEmbeddedEngine({ dataDir: dir });
    await load(live);
    const crashed = crashCopy(dir);
    const log = readFileSync(join(crashed, "append-0.log"), "utf8");
    // Relative expiries are logged as absolute times, random picks as what they removed.
    expect(log).toContain('["set","ttl","v","pxat"');
    expect(log).toMatch(/\["srem","set","[xyzw]"\]/);
    expect(log).not.toContain('"spop"');

    const recovered = await createEmbeddedEngine({ dataDir: crashed });
    expect(await dump(recovered)).toEqual(await dump(live));
    await Promise.all([live.close(), recovered.close()]);
  });

  it("replays at the logged time, so keys that expired in between stay expired", async () => {
    let now = 1_000_000;
    const dir = tempDir();
    const live = await createEmbeddedEngine({ dataDir: dir, now: () => now });
    await live.exec(["set", "k", "5", "px", "100"]);
    now += 1000;
    expect(await live.exec(["incr", "k"])).toBe(1);
    await live.exec(["lpush", "src", "item"]);
    await live.exec(["pexpire", "src", "100"]);
    await live.exec(["lmove", "src", "dst", "left", "left"]);
    now += 1000;
    const recovered = await createEmbeddedEngine({ dataDir: crashCopy(dir), now: () => now });
    expect(await recovered.exec(["get", "k"])).toBe("1");
    expect(await recovered.exec(["pttl", "k"])).toBe(-1);
    expect(await recovered.exec(["lrange", "dst", "0", "-1"])).toEqual(["item"]);
    await Promise.all([live.close(), recovered.close()]);
  });

  it("logs a script's effects, not the script, so its writes replay exactly after a crash", async () => {
    let now = 5_000_000;
    const dir = tempDir();
    const live = await createEmbeddedEngine({ dataDir: dir, now: () => now });
    await live.exec(["sadd", "pool", "a", "b", "c", "d"]);
    // A random pick, a relative expiry and a read that steers a write: replaying the script
    // itself would pick, expire and read differently.
    const script = `
      local picked = redis.call('spop', KEYS[1])
      redis.call('set', KEYS[2], picked, 'ex', 100)
      local n = redis.call('incrby', KEYS[3], #picked + tonumber(ARGV[1]))
      if n > 10 then redis.call('del', KEYS[3]) end
      return picked`;
    const picked = await live.exec(["eval", script, "3", "pool", "winner", "counter", "4"]);
    await live.exec(["evalsha", sha1hex(script), "3", "pool", "winner", "counter", "5"]);
    await live.multi([["eval", "redis.call('rpush', KEYS[1], 'x') return redis.call('llen', KEYS[1])", "1", "list"], ["incr", "after"]]);
    await live.exec(["eval", "redis.call('set', KEYS[1], 'written') error('then failed')", "1", "kept"]);
    await live.exec(["eval_ro", "return redis.call('get', KEYS[1])", "1", "winner"]);
    now += 20_000;

    const crashed = crashCopy(dir);
    const log = readFileSync(join(crashed, "append-0.log"), "utf8");
    expect(log).not.toMatch(/eval/i);
    expect(log).toContain(`["srem","pool","${String(picked)}"]`);
    expect(log).toContain(`["set","winner","${String(picked)}","pxat","${5_000_000 + 100_000}"]`);
    // Scripts that wrote nothing log nothing.
    expect(log.split("\n").filter(Boolean)).toHaveLength(5);

    const recovered = await createEmbeddedEngine({ dataDir: crashed, now: () => now });
    expect(await dump(recovered)).toEqual(await dump(live));
    expect(await recovered.exec(["get", "kept"])).toBe("written");
    expect(await recovered.exec(["pttl", "winner"])).toBe(80_000);
    await Promise.all([live.close(), recovered.close()]);
  });

  it("compacts the log into a snapshot and still recovers everything", async () => {
    const dir = tempDir();
    const engine = await createEmbeddedEngine({ dataDir: dir, persistence: { compactAfterBytes: 2_000 } });
    for (let i = 0; i < 300; i++) await engine.exec(["incr", `counter:${i % 7}`]);
    await load(engine);
    const files = readdirSync(dir);
    expect(files).toContain("snapshot.jsonl");
    expect(files.filter((name) => name.startsWith("append-"))).toHaveLength(1);
    expect(files.find((name) => name.startsWith("append-"))).not.toBe("append-0.log");
    const recovered = await createEmbeddedEngine({ dataDir: crashCopy(dir) });
    expect(await dump(recovered)).toEqual(await dump(engine));
    await Promise.all([engine.close(), recovered.close()]);
  });

  it("cuts off a half-written last record and keeps the rest", async () => {
    const dir = tempDir();
    const engine = await createEmbeddedEngine({ dataDir: dir });
    await engine.exec(["set", "a", "1"]);
    await engine.exec(["set", "b", "2"]);
    const crashed = crashCopy(dir);
    const logPath = join(crashed, "append-0.log");
    const intact = readFileSync(logPath, "utf8");
    appendFileSync(logPath, '{"t":1,"c":[["set","c","');
    const recovered = await createEmbeddedEngine({ dataDir: crashed });
    expect(await recovered.exec(["mget", "a", "b", "c"])).toEqual(["1", "2", null]);
    await recovered.exec(["set", "d", "4"]);
    await recovered.close();
    const again = await createEmbeddedEngine({ dataDir: crashed });
    expect(await again.exec(["mget", "a", "b", "c", "d"])).toEqual(["1", "2", null, "4"]);
    expect(intact.split("\n").filter(Boolean)).toHaveLength(2);
    await Promise.all([engine.close(), again.close()]);
  });

  it("refuses to start on a corrupt record in the middle of the log", async () => {
    const dir = tempDir();
    const engine = await createEmbeddedEngine({ dataDir: dir });
    await engine.exec(["set", "a", "1"]);
    const crashed = crashCopy(dir);
    const logPath = join(crashed, "append-0.log");
    writeFileSync(logPath, `garbage\n${readFileSync(logPath, "utf8")}`);
    await expect(createEmbeddedEngine({ dataDir: crashed })).rejects.toThrow(CorruptDataError);
    await engine.close();
  });

  it("locks the directory against a second engine, and releases it on close", async () => {
    const dir = tempDir();
    const engine = await createEmbeddedEngine({ dataDir: dir });
    await expect(createEmbeddedEngine({ dataDir: dir })).rejects.toThrow(DataDirLockedError);
    await engine.close();
    await engine.close();
    expect(existsSync(join(dir, "LOCK"))).toBe(false);
    const next = await createEmbeddedEngine({ dataDir: dir });
    await next.close();
  });

  it("takes over the lock of a process that no longer exists", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "LOCK"), "999999999");
    const engine = await createEmbeddedEngine({ dataDir: dir });
    await engine.exec(["set", "a", "1"]);
    await engine.close();
  });
});
