/**
 * Embedded engine behaviour that needs an injected clock or looks inside:
 * expiry boundaries, one time per transaction, the background sweep,
 * lifecycle, and the commands it claims.
 */
import { describe, expect, it } from "vitest";
import { createEmbeddedEngine, EMBEDDED_COMMANDS, type ReplyError } from "../../lib/kv-server";
import { Keyspace } from "../../lib/kv-server/embedded/keyspace";
import { sha1hex } from "../../lib/kv-server/redis/script-shas";

describe("embedded engine", () => {
  it("expires a key once the clock passes its expiry time, as Redis does (now > expireAt)", async () => {
    let now = 1_000_000;
    const engine = await createEmbeddedEngine({ now: () => now });
    await engine.exec(["set", "k", "v", "px", "100"]);
    now += 100;
    expect(await engine.exec(["pttl", "k"])).toBe(0);
    expect(await engine.exec(["get", "k"])).toBe("v");
    now += 1;
    expect(await engine.exec(["get", "k"])).toBeNull();
    expect(await engine.exec(["ttl", "k"])).toBe(-2);
    await engine.exec(["set", "t", "v", "ex", "10"]);
    // TTL rounds half up: 5500 ms left reads as 6 s, 5499 ms as 5 s.
    now += 4_500;
    expect(await engine.exec(["ttl", "t"])).toBe(6);
    now += 1;
    expect(await engine.exec(["ttl", "t"])).toBe(5);
    await engine.close();
  });

  it("reads the clock once per MULTI, so a key cannot expire halfway through one", async () => {
    let now = 5_000;
    const engine = await createEmbeddedEngine({ now: () => (now += 10) });
    const replies = await engine.multi([["set", "k", "v", "px", "5"], ["get", "k"], ["pttl", "k"]]);
    expect(replies).toEqual(["OK", "v", 5]);
    expect(await engine.exec(["get", "k"])).toBeNull();
    await engine.close();
  });

  it("reclaims expired keys in the background sweep", () => {
    const keyspace = new Keyspace();
    keyspace.now = 0;
    for (let i = 0; i < 500; i++) keyspace.set(`k${i}`, { type: "string", value: "v" }, { expireAt: 10 });
    keyspace.set("forever", { type: "string", value: "v" });
    keyspace.now = 11;
    expect(keyspace.storedKeys).toBe(501);
    expect(keyspace.sweepExpired(200)).toBe(200);
    expect(keyspace.storedKeys).toBe(301);
    while (keyspace.sweepExpired(200) > 0);
    expect(keyspace.storedKeys).toBe(1);
  });

  it("runs the sweep on a timer with the injected clock", async () => {
    let now = 0;
    const engine = await createEmbeddedEngine({ now: () => now, sweepIntervalMs: 5 });
    await engine.exec(["set", "k", "v", "px", "10"]);
    now = 100;
    await new Promise((resolve) => setTimeout(resolve, 30));
    // DBSIZE would reclaim on its own; SCAN does not, so an empty page proves the sweep ran.
    expect(await engine.exec(["scan", "0", "count", "100"])).toEqual(["0", []]);
    await engine.close();
  });

  // Not in the differential test: FLUSHALL on the shared Redis would wipe every database.
  it("FLUSHALL empties the single database and takes FLUSHDB's options", async () => {
    const engine = await createEmbeddedEngine();
    await engine.exec(["mset", "a", "1", "b", "2"]);
    expect(await engine.exec(["flushall", "nope"])).toMatchObject({ message: "ERR syntax error" });
    expect(await engine.exec(["flushall", "sync", "extra"])).toMatchObject({ message: "ERR syntax error" });
    expect(await engine.exec(["flushall", "ASYNC"])).toBe("OK");
    expect(await engine.exec(["dbsize"])).toBe(0);
    await engine.close();
  });

  it("rejects calls once closed", async () => {
    const engine = await createEmbeddedEngine();
    await engine.close();
    await expect(engine.exec(["ping"])).rejects.toThrow(/closed/);
    await expect(engine.pipeline([["ping"]])).rejects.toThrow(/closed/);
    await expect(engine.multi([["ping"]])).rejects.toThrow(/closed/);
  });

  it("points at --redis for Redis commands it does not implement, and aborts a MULTI holding one", async () => {
    const engine = await createEmbeddedEngine();
    expect(await engine.exec(["xadd", "s", "*", "f", "v"])).toMatchObject({ message: expect.stringContaining("--redis") });
    expect(await engine.multi([["set", "a", "1"], ["pfadd", "a", "x"]])).toMatchObject({
      message: "EXECABORT Transaction discarded because of previous errors.",
    });
    expect(await engine.exec(["exists", "a"])).toBe(0);
    expect(await engine.pipeline([["set", "a", "1"], ["pfadd", "a", "x"], ["get", "a"]])).toMatchObject([
      "OK",
      { message: expect.stringContaining("not supported") },
      "1",
    ]);
    await engine.close();
  });

  it("implements every command it claims", () => {
    const claimed = `get set setnx setex psetex getset getdel getex mget mset msetnx incr incrby decr decrby incrbyfloat
      append strlen del unlink exists expire pexpire expireat pexpireat ttl pttl persist type rename renamenx copy keys
      scan dbsize flushdb flushall randomkey hset hsetnx hget hmget hgetall hdel hexists hincrby hincrbyfloat hkeys hvals
      hlen hscan lpush rpush lpop rpop lrange llen lindex lset lrem ltrim lmove sadd srem smembers sismember scard spop
      srandmember sinter sunion sdiff sscan zadd zrem zscore zincrby zcard zcount zrange zrevrange zrangebyscore
      zrevrangebyscore zremrangebyrank zremrangebyscore zrank zrevrank zscan ping echo time
      getrange substr setrange getbit setbit bitcount bitpos bitop bitfield bitfield_ro lpushx rpushx linsert lpos lmpop
      smove sintercard sinterstore sunionstore sdiffstore hrandfield zpopmin zpopmax zmpop zunion zinter zdiff zunionstore
      zinterstore zdiffstore zintercard zlexcount zremrangebylex memory lcs`.split(/\s+/);
    expect(claimed.filter((name) => !EMBEDDED_COMMANDS.includes(name))).toEqual([]);
  });

  it("keeps string bytes that are not valid UTF-8 exactly, and a COPY of them apart", async () => {
    const engine = await createEmbeddedEngine();
    expect(await engine.exec(["setbit", "b", "0", "1"])).toBe(0);
    // 0x80 alone is not UTF-8: a reply decodes it to U+FFFD, the stored byte stays 0x80.
    expect(await engine.exec(["get", "b"])).toBe("\ufffd");
    expect(await engine.exec(["strlen", "b"])).toBe(1);
    expect(await engine.exec(["bitfield_ro", "b", "get", "u8", "0"])).toEqual([0x80]);
    expect(await engine.exec(["copy", "b", "c"])).toBe(1);
    expect(await engine.exec(["setbit", "c", "1", "1"])).toBe(0);
    expect(await engine.exec(["bitfield_ro", "b", "get", "u8", "0"])).toEqual([0x80]);
    expect(await engine.exec(["bitfield_ro", "c", "get", "u8", "0"])).toEqual([0xc0]);
    expect(await engine.exec(["append", "b", "é"])).toBe(3);
    expect(await engine.exec(["bitfield_ro", "b", "get", "u8", "#0", "get", "u8", "#1", "get", "u8", "#2"])).toEqual([0x80, 0xc3, 0xa9]);
    await engine.close();
  });

  // The differential test can only compare random replies by shape; this checks what they hold.
  it("HRANDFIELD picks fields of the hash, distinct for a positive count, with their own values", async () => {
    const engine = await createEmbeddedEngine();
    const hash = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, `v${i}`]));
    await engine.exec(["hset", "h", ...Object.entries(hash).flat()]);
    const one = (await engine.exec(["hrandfield", "h"])) as string;
    expect(Object.keys(hash)).toContain(one);
    const distinct = (await engine.exec(["hrandfield", "h", "15"])) as string[];
    expect(new Set(distinct).size).toBe(15);
    expect(distinct.every((field) => field in hash)).toBe(true);
    expect(((await engine.exec(["hrandfield", "h", "50"])) as string[]).sort()).toEqual(Object.keys(hash).sort());
    const repeated = (await engine.exec(["hrandfield", "h", "-200", "withvalues"])) as string[];
    expect(repeated).toHaveLength(400);
    for (let i = 0; i < repeated.length; i += 2) expect(hash[repeated[i] as string]).toBe(repeated[i + 1]);
    // 200 draws from 20 fields: some field comes up twice.
    expect(new Set(repeated.filter((_, i) => i % 2 === 0)).size).toBeLessThan(200);
    expect(await engine.exec(["hrandfield", "h", "-20000000"])).toMatchObject({ message: expect.stringContaining("too large") });
    await engine.close();
  });

  it("MEMORY USAGE estimates a size that grows with the value, and nil for a missing key", async () => {
    const engine = await createEmbeddedEngine();
    expect(await engine.exec(["memory", "usage", "k"])).toBeNull();
    await engine.exec(["set", "k", "v"]);
    const small = (await engine.exec(["memory", "usage", "k"])) as number;
    expect(small).toBeGreaterThan(0);
    await engine.exec(["set", "k", "v".repeat(10_000)]);
    expect(await engine.exec(["memory", "usage", "k"])).toBeGreaterThan(small + 9_000);
    expect(await engine.exec(["memory", "stats"])).toMatchObject({ message: expect.stringContaining("Command is not available") });
    await engine.close();
  });

  it("refuses a subcommand it does not serve with the same text from a script as over HTTP", async () => {
    const engine = await createEmbeddedEngine();
    for (const args of [["memory", "stats"], ["memory", "doctor"], ["memory", "nosuch"]]) {
      const direct = (await engine.exec(args)) as ReplyError;
      expect(direct.message, JSON.stringify(args)).toMatch(/^ERR Command is not available: /);
      const quoted = args.map((word) => `'${word}'`).join(", ");
      const lua = `return redis.call(${quoted})`;
      const fromScript = (await engine.exec(["eval", lua, "0"])) as ReplyError;
      expect(fromScript.message, JSON.stringify(args)).toBe(`${direct.message} script: ${sha1hex(lua)}, on @user_script:1.`);
      const caught = await engine.exec(["eval", `return redis.pcall(${quoted})`, "0"]);
      expect(caught, JSON.stringify(args)).toMatchObject({ message: direct.message });
    }
    await engine.close();
  });

  it("stays responsive with large values and collections", async () => {
    const engine = await createEmbeddedEngine();
    const members = Array.from({ length: 200_000 }, (_, i) => [String(i), `m${i}`]).flat();
    expect(await engine.exec(["zadd", "z", ...members])).toBe(200_000);
    const items = Array.from({ length: 200_000 }, (_, i) => String(i));
    expect(await engine.exec(["rpush", "l", ...items])).toBe(200_000);
    expect(await engine.exec(["ltrim", "l", "1", "-2"])).toBe("OK");
    expect(await engine.exec(["llen", "l"])).toBe(199_998);
    expect(await engine.exec(["srandmember", "nokey", "-100000000"])).toEqual([]);
    await engine.exec(["sadd", "s", "a"]);
    expect(await engine.exec(["srandmember", "s", "-100000000"])).toMatchObject({ message: expect.stringContaining("too large") });
    await engine.close();
  });
});
