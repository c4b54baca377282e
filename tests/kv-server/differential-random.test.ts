/**
 * Differential test, randomized half: fast-check generates command
 * sequences over a handful of keys (so types collide and WRONGTYPE paths
 * run), with argument pools full of edge values (int64 bounds, floats,
 * "inf", empty strings, non-ASCII). Each sequence runs on a fresh embedded
 * engine keyspace and on a flushed Redis database; every reply must match.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { normalize, plain, sameReply } from "./helpers";
import { useEnginePair } from "./support/engine-pair";

const engines = useEnginePair("differentialRandom", { flushBeforeEach: false });

const key = fc.constantFrom("a", "b", "c", "h", "l", "s", "z");
const value = fc.constantFrom("0", "1", "-1", "2", "10", "-7", "3.5", "abc", "", "é", "9223372036854775807", "-9223372036854775808", "1e3", "inf", "0x10", " 1", "x y");
const int = fc.constantFrom("0", "1", "-1", "2", "3", "5", "-2", "100", "abc", "1.5", "9223372036854775807", "-9223372036854775808");
const float = fc.constantFrom("0", "1.5", "-2.25", "0.1", "1e3", "inf", "-inf", "+inf", "abc", "nan", "", "0x1p3", "1e400", "-0");
const bound = fc.constantFrom("0", "1", "2.5", "(1", "(2.5", "-inf", "+inf", "inf", "(inf", "x", "", "(");
const lexBound = fc.constantFrom("-", "+", "[a", "(a", "[m2", "(m3", "[", "x");
const field = fc.constantFrom("f", "g", "n");
const member = fc.constantFrom("m1", "m2", "m3", "a", "b", "é");
const pattern = fc.constantFrom("*", "a*", "?", "[a-c]", "[^a]*", "h*", "\\a", "[");
const end = fc.constantFrom("left", "right", "LEFT", "up");
const typeName = fc.constantFrom("string", "list", "set", "zset", "hash", "none");
const bitOffset = fc.constantFrom("0", "1", "7", "8", "13", "31", "63", "100", "-1", "x", "4294967296");
const bitValue = fc.constantFrom("0", "1", "2");
const fieldType = fc.constantFrom("u1", "i1", "u7", "i8", "u8", "i16", "u32", "i63", "u63", "i64", "u64", "x8");
const fieldOffset = fc.constantFrom("0", "3", "9", "#0", "#1", "#5", "-1");
const overflow = fc.constantFrom("wrap", "sat", "fail", "WRAP", "bad");

const cmd = (...parts: fc.Arbitrary<string | string[]>[]) =>
  fc.tuple(...parts).map((items) => items.flat());
const word = (text: string) => fc.constant(text);
const optional = (...choices: string[][]) => fc.constantFrom<string[]>([], ...choices);
const someOf = (...choices: string[][]) => fc.subarray(choices).map((picked) => picked.flat());

const command: fc.Arbitrary<string[]> = fc.oneof(
  // strings
  cmd(word("set"), key, value, someOf(["nx"], ["xx"], ["get"], ["keepttl"], ["ex", "100"], ["px", "100000"])),
  cmd(word("get"), key),
  cmd(word("getset"), key, value),
  cmd(word("getdel"), key),
  cmd(word("getex"), key, optional(["persist"], ["ex", "100"], ["px", "0"])),
  cmd(word("setnx"), key, value),
  cmd(word("setex"), key, fc.constantFrom("100", "0", "x"), value),
  cmd(word("mget"), key, key),
  cmd(word("mset"), key, value, key, value),
  cmd(word("msetnx"), key, value, key, value),
  cmd(fc.constantFrom("incr", "decr"), key),
  cmd(fc.constantFrom("incrby", "decrby"), key, int),
  cmd(word("incrbyfloat"), key, float),
  cmd(word("append"), key, value),
  cmd(word("strlen"), key),
  cmd(fc.constantFrom("getrange", "substr"), key, int, int),
  cmd(word("setrange"), key, fc.constantFrom("0", "1", "5", "-1", "x"), value),
  // bits: SETBIT, SETRANGE, BITOP and BITFIELD leave bytes that are not valid UTF-8 behind
  cmd(word("getbit"), key, bitOffset),
  cmd(word("setbit"), key, bitOffset, bitValue),
  cmd(word("bitcount"), key, optional([], ["0", "-1"], ["1", "2", "bit"], ["-3", "-1", "byte"], ["2", "1"], ["-1", "-2", "x"])),
  cmd(word("bitpos"), key, bitValue, optional([], ["1"], ["0", "-1"], ["2", "9", "bit"], ["-9", "-1", "bit"], ["0", "0", "byte"])),
  cmd(word("bitop"), fc.constantFrom("and", "or", "xor", "not", "nand"), key, key, optional([], [""])),
  cmd(word("lcs"), key, key, optional(["len"], ["idx"], ["idx", "minmatchlen", "2", "withmatchlen"], ["len", "idx"])),
  // All-ones bytes, so BITPOS 0 also runs out of clear bits.
  cmd(word("bitfield"), key, word("set"), word("i16"), fc.constantFrom("#0", "#1", "4"), word("-1")),
  cmd(
    fc.constantFrom("bitfield", "bitfield_ro"),
    key,
    fc.array(
      fc.oneof(
        cmd(word("get"), fieldType, fieldOffset),
        cmd(fc.constantFrom("set", "incrby"), fieldType, fieldOffset, int),
        cmd(word("overflow"), overflow),
      ),
      { maxLength: 4 },
    ).map((ops) => ops.flat()),
  ),
  // keys
  cmd(fc.constantFrom("del", "exists"), key, key),
  cmd(word("expire"), key, fc.constantFrom("100", "200", "-1", "x"), optional(["nx"], ["xx"])),
  // GT/LT compare deadlines in milliseconds: `expire k 100 gt` right after `setex k 100`
  // is 1 or 0 depending on whether a millisecond passed in between, on either engine. A
  // TTL drawn from a wide range never ties with another deadline, so the reply is decided
  // by the semantics, not by the clock (seed 1041214726 found the tie).
  cmd(word("expire"), key, fc.integer({ min: 1000, max: 1_000_000 }).map(String), fc.constantFrom(["gt"], ["lt"])),
  cmd(word("pexpire"), key, fc.constantFrom("150000", "0")),
  cmd(fc.constantFrom("ttl", "pttl", "persist", "type"), key),
  cmd(fc.constantFrom("rename", "renamenx"), key, key),
  cmd(word("copy"), key, key, optional(["replace"])),
  cmd(word("keys"), pattern),
  cmd(word("scan"), word("0"), word("count"), word("1000"), optional(["match", "a*"], ["type", "list"])),
  cmd(word("scan"), word("0"), word("type"), typeName, word("count"), word("1000")),
  cmd(fc.constantFrom("dbsize", "randomkey")),
  cmd(word("memory"), word("usage"), key, optional(["samples", "5"], ["samples", "-1"])),
  // hashes
  cmd(word("hset"), key, field, value, optional(["g", "2"])),
  cmd(word("hsetnx"), key, field, value),
  cmd(fc.constantFrom("hget", "hexists"), key, field),
  cmd(word("hmget"), key, field, field),
  cmd(fc.constantFrom("hgetall", "hkeys", "hvals", "hlen"), key),
  cmd(word("hdel"), key, field, field),
  cmd(word("hincrby"), key, field, int),
  cmd(word("hincrbyfloat"), key, field, float),
  cmd(word("hscan"), key, word("0"), optional(["match", "f*"])),
  // Small counts only: Redis builds a reply of |count| fields in memory.
  cmd(word("hrandfield"), key, optional(["2"], ["-3"], ["0"], ["-2", "withvalues"], ["5", "WITHVALUES"], ["1", "x"])),
  // lists
  cmd(fc.constantFrom("lpush", "rpush"), key, value, value),
  cmd(fc.constantFrom("lpop", "rpop"), key, optional(["2"], ["0"], ["-1"], ["x"])),
  cmd(fc.constantFrom("lrange", "ltrim"), key, int, int),
  cmd(word("llen"), key),
  cmd(word("lindex"), key, int),
  cmd(word("lset"), key, int, value),
  cmd(word("lrem"), key, int, value),
  cmd(word("lmove"), key, key, end, end),
  cmd(fc.constantFrom("lpushx", "rpushx"), key, value),
  cmd(word("linsert"), key, fc.constantFrom("before", "AFTER", "aside"), value, value),
  cmd(word("lpos"), key, value, someOf(["rank", "-1"], ["rank", "2"], ["count", "0"], ["count", "2"], ["maxlen", "3"])),
  cmd(word("lmpop"), fc.constantFrom("1", "2"), key, key, end, optional(["count", "2"], ["count", "0"])),
  // sets
  cmd(fc.constantFrom("sadd", "srem"), key, member, member),
  cmd(fc.constantFrom("smembers", "scard"), key),
  cmd(word("sismember"), key, member),
  // Only deterministic SPOPs: all members or none; a random pick would make the stores diverge.
  cmd(word("spop"), key, fc.constantFrom("1000", "0", "-1")),
  cmd(word("srandmember"), key, optional(["2"], ["-3"], ["0"])),
  cmd(fc.constantFrom("sinter", "sunion", "sdiff"), key, key),
  cmd(word("sscan"), key, word("0")),
  cmd(word("smove"), key, key, member),
  cmd(fc.constantFrom("sinterstore", "sunionstore", "sdiffstore"), key, key, key),
  cmd(word("sintercard"), fc.constantFrom("1", "2"), key, key, optional(["limit", "1"], ["limit", "0"])),
  // sorted sets
  cmd(word("zadd"), key, someOf(["nx"], ["xx"], ["gt"], ["lt"], ["ch"], ["incr"]), float, member, optional(["2", "m2"])),
  cmd(word("zincrby"), key, float, member),
  cmd(fc.constantFrom("zscore", "zrank", "zrevrank", "zrem"), key, member),
  cmd(word("zcard"), key),
  cmd(word("zcount"), key, bound, bound),
  cmd(fc.constantFrom("zrange", "zrevrange", "zremrangebyrank"), key, int, int, optional(["withscores"])),
  cmd(word("zrange"), key, bound, bound, word("byscore"), someOf(["rev"], ["limit", "1", "2"], ["withscores"])),
  // BYLEX is specified only when every member has the same score (Redis answers anything
  // otherwise; seed 834589406 found a set with scores 0 and 2), so lexicographic ranges
  // run on their own key, which only ever holds score-0 members.
  cmd(word("zadd"), word("lex"), word("0"), member, optional(["0", "m3"])),
  cmd(word("zrange"), word("lex"), lexBound, lexBound, word("bylex"), someOf(["rev"], ["limit", "0", "2"])),
  cmd(fc.constantFrom("zrangebyscore", "zrevrangebyscore", "zremrangebyscore"), key, bound, bound),
  cmd(word("zscan"), key, word("0")),
  cmd(fc.constantFrom("zpopmin", "zpopmax"), key, optional(["2"], ["0"], ["-1"])),
  cmd(word("zmpop"), fc.constantFrom("1", "2"), key, key, fc.constantFrom("min", "MAX", "mid"), optional(["count", "2"])),
  cmd(
    fc.constantFrom("zunion", "zinter", "zdiff"),
    word("2"),
    key,
    key,
    someOf(["weights", "2", "-0.5"], ["weights", "0", "inf"], ["aggregate", "min"], ["aggregate", "max"], ["withscores"]),
  ),
  cmd(fc.constantFrom("zunionstore", "zinterstore", "zdiffstore"), key, word("2"), key, key, optional(["aggregate", "max"], ["weights", "1", "-1"])),
  cmd(word("zintercard"), word("2"), key, key, optional(["limit", "1"])),
  cmd(word("zlexcount"), word("lex"), lexBound, lexBound),
  cmd(word("zremrangebylex"), word("lex"), lexBound, lexBound),
);

type Step = { readonly single: string[] } | { readonly multi: string[][] };

/** Mostly single commands, sometimes a transaction (now and then with a queue-time error in it). */
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: command.map((single) => ({ single })) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof({ weight: 12, arbitrary: command }, { weight: 1, arbitrary: fc.constant<string[]>(["nosuch", "x"]) }), {
        minLength: 1,
        maxLength: 6,
      })
      .map((multi) => ({ multi })),
  },
);

function mismatch(index: number, args: readonly string[], fromEmbedded: unknown, fromRedis: unknown): Error {
  return new Error(
    `step ${index} ${JSON.stringify(args)}\n  embedded: ${JSON.stringify(normalize(args, fromEmbedded))}\n  redis:    ${JSON.stringify(normalize(args, fromRedis))}`,
  );
}

it("random command sequences and transactions get identical replies from both engines", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60, size: "max" }), async (steps) => {
      await Promise.all([engines.embedded.exec(["flushdb"]), engines.redis.exec(["flushdb"])]);
      for (const [index, current] of steps.entries()) {
        // Random sequences can grow a hash value past 64 bytes (HINCRBYFLOAT 1e400).
        const options = { anyHashOrder: true };
        if ("single" in current) {
          const args = current.single;
          const fromEmbedded = plain(await engines.embedded.exec(args));
          const fromRedis = plain(await engines.redis.exec(args));
          if (!sameReply(args, fromEmbedded, fromRedis, options)) throw mismatch(index, args, fromEmbedded, fromRedis);
          continue;
        }
        const fromEmbedded = plain(await engines.embedded.multi(current.multi));
        const fromRedis = plain(await engines.redis.multi(current.multi));
        if (!Array.isArray(fromEmbedded) || !Array.isArray(fromRedis)) {
          if (JSON.stringify(fromEmbedded) !== JSON.stringify(fromRedis)) throw mismatch(index, ["multi"], fromEmbedded, fromRedis);
          continue;
        }
        current.multi.forEach((args, item) => {
          if (!sameReply(args, fromEmbedded[item], fromRedis[item], options)) {
            throw mismatch(index, ["multi", ...args], fromEmbedded[item], fromRedis[item]);
          }
        });
      }
    }),
    { numRuns: Number(process.env.KV_DIFFERENTIAL_RUNS ?? 300) },
  );
  expect(true).toBe(true);
}, 60_000);
