/**
 * Differential test, hand-written half: every command the embedded engine
 * claims, success and error paths, run against the embedded engine and
 * against real Redis 7 through the Redis engine. Replies must match exactly
 * once the legitimately random parts are normalized (see helpers.ts).
 */
import { describe, expect, it } from "vitest";
import type { Engine } from "../../lib/kv-server";
import { plain, sameReply, normalize } from "./helpers";
import { useEnginePair } from "./support/engine-pair";

const engines = useEnginePair("differentialCommands", { flushBeforeEach: true });

/** "set k v" → ["set","k","v"]; arrays pass through for arguments with spaces or empty strings. */
type Step = string | string[];
const toArgs = (step: Step) => (Array.isArray(step) ? step : step.split(" "));

async function compare(steps: Step[]): Promise<void> {
  const mismatches: string[] = [];
  for (const step of steps) {
    const args = toArgs(step);
    if (args[0] === "__sleep") {
      await new Promise((resolve) => setTimeout(resolve, Number(args[1])));
      continue;
    }
    const [fromEmbedded, fromRedis] = [plain(await engines.embedded.exec(args)), plain(await engines.redis.exec(args))];
    if (!sameReply(args, fromEmbedded, fromRedis)) {
      mismatches.push(
        `${JSON.stringify(args)}\n  embedded: ${JSON.stringify(normalize(args, fromEmbedded))}\n  redis:    ${JSON.stringify(normalize(args, fromRedis))}`,
      );
    }
  }
  expect(mismatches.join("\n")).toBe("");
}

const future = Math.floor(Date.now() / 1000) + 100_000;
const INT64_MAX = "9223372036854775807";
const INT64_MIN = "-9223372036854775808";

const SCENARIOS: Record<string, Step[]> = {
  "strings: SET options": [
    "set k v", "get k", "set k v2 nx", "set k v3 xx", "get k", "set n v nx", "set m v xx", "get m",
    "set k v4 get", "set fresh v get", "set k v5 NX GET", "set k v6 Ex 100", "ttl k", "set k v7 keepttl", "ttl k",
    "set k v8 px 5000", "pttl k", `set k v9 exat ${future}`, "ttl k", `set k v10 pxat ${future * 1000}`, "ttl k",
    "set k v ex 0", "set k v ex -1", "set k v px abc", "set k v ex", "set k v nx xx", "set k v ex 10 px 10",
    "set k v keepttl ex 10", "set k v ex 10 ex 20", "ttl k", "set k v foo", "set k", `set k v ex ${INT64_MAX}`,
    "set k v exat 1", "exists k", "set k v pxat 1", "get k", "set k v get ex 100", "lpush l a", "set l v get",
    "get l", "set l v", "get l", ["set", "empty", ""], "get empty", "strlen empty",
  ],
  "strings: SETNX SETEX PSETEX GETSET GETDEL GETEX": [
    "setnx a 1", "setnx a 2", "get a", "setex b 100 v", "ttl b", "setex b 0 v", "setex b -5 v", "setex b x v",
    "psetex c 100000 v", "pttl c", "psetex c 0 v", "getset a 3", "getset nokey 1", "ttl b", "getset b x", "ttl b",
    "getdel a", "getdel a", "getex nokey", "getex nokey ex -1", "getex nokey foo", "set g v ex 100", "getex g",
    "ttl g", "getex g persist", "ttl g", "getex g ex 50", "ttl g", "getex g px 60000", "pttl g", `getex g exat ${future}`,
    "ttl g", "getex g ex 0", "getex g ex 10 px 10", "getex g persist ex 10", "getex g nx", "getex g keepttl",
    "getex g exat 1", "exists g", "lpush l a", "getex l", "getdel l", "getset l v",
  ],
  "strings: MGET MSET MSETNX APPEND STRLEN": [
    "mset a 1 b 2 c 3", "mget a b c nokey", "mset a", "mset a 1 b", "msetnx a 9 d 4", "get d", "msetnx d 4 e 5",
    "mget d e", "lpush l x", "mget a l", "append a xyz", "get a", "append newkey hello", "strlen newkey",
    "append l x", "strlen l", "strlen nokey", ["append", "u", "é漢字"], "strlen u", ["set", "emoji", "😀"], "strlen emoji",
  ],
  "strings: counters": [
    "incr c", "incr c", "decr c", "incrby c 10", "decrby c 3", "incrby c -100", "get c", "incrby c abc",
    "incrby c 1.5", "incrby c", `set c ${INT64_MAX}`, "incr c", "get c", `set c ${INT64_MIN}`, "decr c", `decrby c 1`,
    `incrby c ${INT64_MAX}`, "get c", `decrby c ${INT64_MIN}`, "set c 0", `decrby c ${INT64_MIN}`, `incrby c 9223372036854775808`,
    "incrby c +1", "incrby c 01", "incrby c -0", ["incrby", "c", " 1"], "set s abc", "incr s", "set s 1.0", "incr s",
    "set s 007", "incr s", ["set", "s", " 1"], "incr s", "set s 10", "expire s 100", "incr s", "ttl s", "lpush l a",
    "incr l", "decrby l 1", "set big 9007199254740993", "incr big", "get big",
  ],
  "strings: INCRBYFLOAT": [
    "incrbyfloat f 0.1", "incrbyfloat f 0.2", "incrbyfloat f 10.5", "incrbyfloat f -10.8", "get f", "incrbyfloat f 1e3",
    "incrbyfloat f 5.0e-3", "incrbyfloat f 0x10", "incrbyfloat f inf", "incrbyfloat f -inf", "incrbyfloat f nan",
    "incrbyfloat f abc", "incrbyfloat f 1e400", "incrbyfloat g 1e308", "incrbyfloat g 1e308", "get g",
    "incrbyfloat h 3.0", "get h", "incr h", "incrbyfloat h -3", "get h", "incrbyfloat i 1.23456789012345678",
    "incrbyfloat i 0.000000000000000001", "set j 1e5", "incrbyfloat j 1", "set k abc", "incrbyfloat k 1",
    ["incrbyfloat", "k2", " 1"], ["incrbyfloat", "k2", "1 "], ["incrbyfloat", "k2", ""], "incrbyfloat k2 .5",
    "incrbyfloat k2 5.", "incrbyfloat k2 -.5e1", "incrbyfloat k3 1e-20", "incrbyfloat k3 -1e-20", "get k3",
    "lpush l a", "incrbyfloat l 1", "set e 10", "expire e 100", "incrbyfloat e 1.5", "ttl e",
  ],
  "strings: GETRANGE SUBSTR SETRANGE": [
    "set s Hello,World", "getrange s 0 4", "getrange s -5 -1", "getrange s 7 100", "getrange s -100 2", "getrange s 5 3",
    "getrange s -1 -5", "getrange s -100 -200", "getrange s -1 0", "getrange s 0 -100", "getrange s 100 200", "getrange s x 1", "getrange s 0 1.5",
    "getrange nokey 0 -1", "getrange nokey x 1", "substr s 1 3", "substr s -3 -1", ["set", "u", "héllo"], "getrange u 1 1",
    "getrange u 1 2", "getrange u 0 -1", ["set", "empty", ""], "getrange empty 0 -1", "getrange empty -1 0",
    `getrange s 0 ${INT64_MAX}`, `getrange s ${INT64_MIN} -1`, "setrange s 6 Redis", "get s", "setrange s 20 tail", "get s",
    "strlen s", "setrange s 0", "setrange s -1 x", "setrange s x x", ["setrange", "s", "3", ""], ["setrange", "new", "5", ""],
    "exists new", "setrange new 3 abc", "get new", "strlen new", "setrange s 536870911 xy", "setrange s 536870912 x",
    `setrange s ${INT64_MAX} x`, "set t 10", "expire t 100", "setrange t 1 5", "get t", "ttl t", "incr t",
    ["setrange", "u", "2", "é"], "get u", "strlen u", "lpush l a", "getrange l 0 1", "setrange l 0 x", ["setrange", "l", "0", ""],
    "substr l 0 1", "setrange n 0 41", "incr n", "setrange n 2 0", "incrby n 5", "setbit n 5 1", "get n", "incr n",
    "setbit f 2 1", "setbit f 3 1", "setbit f 7 1", "get f", "incrbyfloat f 0.5", "setbit g 0 1", "append g x",
    "getrange g 1 1", "strlen g",
  ],
  "strings: GETBIT SETBIT BITCOUNT": [
    "setbit b 7 1", "get b", "getbit b 7", "getbit b 6", "getbit b 100", "setbit b 7 0", "setbit b 7 1", "setbit b 100 1",
    "strlen b", "getbit b 100", "bitcount b", "setbit b 0 1", "get b", "strlen b", "setbit b -1 1", "setbit b x 1",
    "setbit b 1 2", "setbit b 1 -1", "setbit b 1 x", "setbit b 4294967295 x", "setbit b 4294967296 1", `setbit b ${INT64_MAX} 1`,
    "getbit b -1", "getbit b 4294967296", "getbit b x", "getbit nokey 5", "getbit nokey x", "setbit fresh 0 0", "get fresh",
    "strlen fresh", "set s foobar", "bitcount s", "bitcount s 0 0", "bitcount s 1 1", "bitcount s 1 -2", "bitcount s -2 -1",
    "bitcount s -1 -2", "bitcount s 5 100", "bitcount s 100 200", "bitcount s -100 -50", "bitcount s -100 -200", "bitcount s -100 -200 bit", "bitcount s 0 -1 byte",
    "bitcount s 0 -1 BIT", "bitcount s 5 30 bit", "bitcount s -5 -1 bit", "bitcount s 1 0 bit", "bitcount s 7 7 bit",
    "bitcount s 0 1 foo", "bitcount s -1 -2 foo", "bitcount s 1", "bitcount s 1 2 bit x", "bitcount s x 1", "bitcount s 1 x",
    "bitcount nokey", "bitcount nokey 0 1 foo", "bitcount nokey x y", ["set", "u", "日本"], "bitcount u", "getbit u 0",
    "setbit u 1 0", "get u", "strlen u", "bitcount u", "set t 1", "expire t 100", "setbit t 1 1", "get t", "ttl t",
    "lpush l a", "getbit l 0", "setbit l 0 1", "bitcount l", "bitcount l 0 1 foo",
  ],
  "strings: BITPOS": [
    ["set", "ones", "\u00ff"], "setbit z 23 0", "bitpos z 0", "bitpos z 1", "setbit f 7 1", "setbit f 8 1", "setbit f 9 1",
    "bitpos f 1", "bitpos f 0", "bitpos f 1 1", "bitpos f 0 1", "bitpos f 1 0 0", "bitpos f 1 1 1", "bitpos f 0 1 1",
    "bitpos f 1 7 8 bit", "bitpos f 1 8 15 bit", "bitpos f 0 7 9 bit", "bitpos f 0 8 9 bit", "bitpos f 0 -2 -1 bit",
    "bitpos f 1 -2 -1 bit", "bitpos f 1 9 bit", "bitpos f 0 9 100 bit", "bitpos f 1 10 100 bit", "bitpos f 1 3 2",
    "bitpos f 1 -1 -2 bit", "bitpos f 0 0 -1 byte", "bitpos f 2", "bitpos f -1", "bitpos f x", "bitpos f 1 x",
    "bitpos f 1 0 x", "bitpos f 1 0 1 foo", "bitpos f 1 0 1 bit extra", "bitpos nokey 0", "bitpos nokey 1",
    "bitpos nokey 0 5 10 bit", "bitpos nokey 1 x", "bitpos nokey 2", "setbit full 0 1", "bitfield full set u8 0 255",
    "bitfield full set u8 8 255", "bitpos full 0", "bitpos full 0 0", "bitpos full 0 0 -1", "bitpos full 0 1 bit",
    "bitpos full 0 1 14 bit", "bitpos full 0 1 15 bit", "bitpos full 1 16", ["set", "empty", ""], "bitpos empty 0",
    "bitpos empty 1", "bitpos empty 0 0 -1", "lpush l a", "bitpos l 0", "bitpos l 2",
  ],
  "strings: BITOP": [
    "set a abc", "set b xyzw", "bitop and d a b", "get d", "bitop or d a b", "get d", "bitop xor d a b", "get d",
    "bitop not d a", "get d", "strlen d", "bitop not d a b", "bitop nand d a b", "bitop and d", "bitop or d nokey a",
    "get d", "bitop and d nokey a", "get d", "strlen d", "bitop or d nokey nokey2", "exists d", "set d x", "expire d 100",
    "bitop or d a", "ttl d", "bitop xor a a b", "get a", "bitop AND d a a a", "bitcount d", "lpush l x", "bitop and d a l",
    "bitop and l a", "type l", "bitop not d l", "setbit bits 3 1", "bitop not d bits", "bitcount d", "getbit d 3",
  ],
  "strings: BITFIELD BITFIELD_RO": [
    "bitfield bf set u8 0 255", "get bf", "bitfield bf get u8 0 get i8 0 get u4 0 get i4 4 get u1 7 get i1 7",
    "bitfield bf set i8 8 -1 get u8 8 get u16 0", "bitfield bf incrby u8 0 1", "bitfield bf overflow sat incrby u8 0 10",
    "bitfield bf overflow fail incrby u8 0 10", "bitfield bf overflow wrap incrby i8 8 -200", "bitfield bf get i8 8",
    "bitfield bf overflow sat incrby i8 8 -1000 incrby i8 8 1000", "bitfield bf overflow fail incrby i8 8 1",
    "bitfield bf set u8 #1 7 get u8 #1 get u8 8", "bitfield bf set i5 #3 -16 get i5 #3 get u5 15", "bitfield bf get u8 #0",
    "bitfield bf set u8 0 -1", "bitfield bf overflow sat set u8 0 -1", "bitfield bf overflow fail set u8 0 256",
    "bitfield bf overflow sat set i8 0 200", "bitfield bf overflow sat set i8 0 -200", "bitfield bf overflow wrap set i8 0 200",
    `bitfield bf overflow sat set i8 0 ${INT64_MIN}`, `bitfield bf overflow wrap set i8 0 ${INT64_MIN}`,
    `bitfield bf overflow sat set i8 0 ${INT64_MAX}`, `bitfield bf set i64 0 ${INT64_MAX} get i64 0`,
    "bitfield bf incrby i64 0 1", "bitfield bf overflow sat incrby i64 0 1 get i64 0", `bitfield bf set i64 0 ${INT64_MIN}`,
    "bitfield bf overflow sat incrby i64 0 -1", "bitfield bf overflow fail incrby i64 0 -1", "bitfield bf get u63 0",
    `bitfield bf set u63 0 ${INT64_MAX}`, "bitfield bf incrby u63 0 1", "bitfield bf overflow sat incrby u63 0 5",
    "bitfield bf overflow sat incrby u63 0 -5", "bitfield bf overflow sat incrby u2 0 -5", "bitfield bf overflow wrap incrby u2 0 -5",
    `bitfield bf incrby u63 0 ${INT64_MIN}`, "bitfield bf set i3 61 3 get i3 61 get u64 0", "bitfield bf get i65 0",
    "bitfield bf get u0 0", "bitfield bf get I8 0", "bitfield bf get x8 0", "bitfield bf get u8 -1", "bitfield bf get u8 #-1",
    "bitfield bf get u8 # get u8 0", "bitfield bf set u8 0 x", "bitfield bf set u8 0", "bitfield bf get u8",
    "bitfield bf overflow", "bitfield bf overflow up get u8 0", "bitfield bf foo u8 0", "bitfield bf", "bitfield nokey",
    "bitfield nokey get u8 100", "exists nokey", "bitfield nokey overflow fail incrby u2 100 9", "get nokey", "strlen nokey",
    "bitfield bf get u8 4294967288", "bitfield bf get u8 4294967289", "bitfield bf get u8 #536870911", "bitfield bf get u8 #536870912",
    "bitfield bf get i64 #288230376151711745 get i64 #1", "bitfield bf get u8 #2305843009213693952",
    "bitfield bf set u8 0 1 set u8 0 2 get u8 0", "bitfield bf INCRBY U8 0 1", "bitfield bf OVERFLOW SAT incrby u8 0 1000",
    "bitfield_ro bf get u8 0 get i16 0", "bitfield_ro bf set u8 0 1", "bitfield_ro bf incrby u8 0 1", "bitfield_ro bf overflow sat",
    "bitfield_ro nokey get u8 0", "bitfield_ro bf", "set t 1", "expire t 100", "bitfield t set u8 8 65", "get t", "ttl t",
    "lpush l a", "bitfield l get u8 0", "bitfield l set u8 0 1", "bitfield l", "bitfield_ro l get u8 0", "bitfield l get x 0",
  ],
  "strings: LCS": [
    "mset a ohmytext b mynewtext", "lcs a b", "lcs a b len", "lcs a b idx", "lcs a b idx minmatchlen 4",
    "lcs a b idx withmatchlen", "lcs a b IDX MINMATCHLEN 2 WITHMATCHLEN", "lcs a b idx minmatchlen -5", "lcs b a idx",
    "lcs a a idx withmatchlen", "lcs a nokey", "lcs nokey nokey2 idx", "lcs nokey a len", "lcs a b len idx",
    "lcs a b idx len", "lcs a b minmatchlen", "lcs a b minmatchlen x", "lcs a b foo", "lcs a b len len", "mset c abcabc d cbacba",
    "lcs c d", "lcs c d idx withmatchlen", "lcs d c idx", ["set", "u", "héllo wörld"], ["set", "v", "hello world"], "lcs u v",
    "lcs u v idx", ["set", "empty", ""], "lcs empty a", "lcs empty a idx", "setbit bits 0 1", "lcs bits a", "lpush l x",
    "lcs a l", "lcs l a", "lcs l nokey len", "lcs nokey l foo",
  ],
  "keys: DEL EXISTS TYPE RENAME COPY": [
    "mset a 1 b 2", "lpush l x", "hset h f v", "sadd s m", "zadd z 1 m", "type a", "type l", "type h", "type s",
    "type z", "type nokey", "exists a b nokey a", "del a nokey b", "exists a", "unlink l h", "exists l h",
    "rename nokey x", "set r 1", "expire r 100", "rename r r2", "ttl r2", "exists r", "rename r2 r2", "renamenx r2 r2",
    "set t 1", "renamenx r2 t", "renamenx r2 t2", "get t2", "rename t2 s", "type s", "copy s s", "copy nokey x",
    "copy s s2", "smembers s2", "copy s s2", "sadd s m2", "copy s s2 replace", "smembers s2", "copy s s3 foo",
    "copy s s3 db", "copy s s3 db x", "zadd z 2 n", "expire z 100", "copy z z2",
    "ttl z2", "zrange z2 0 -1 withscores", "hset h f v g w", "copy h h2", "hgetall h2", "rpush l a b c", "copy l l2",
    "lrange l2 0 -1", "touch z z2 nokey",
  ],
  "keys: expiry": [
    "set a 1", "expire a 100", "ttl a", "pttl a", "expire a 100 nx", "expire a 200 xx", "ttl a", "expire a 50 gt",
    "expire a 500 gt", "ttl a", "expire a 600 lt", "expire a 10 lt", "ttl a", "persist a", "persist a", "ttl a",
    "expire a 10 xx", "expire a 10 gt", "expire a 10 lt", "ttl a", "persist a", "expire a 10 nx xx", "expire a 10 gt lt",
    "expire a 10 foo", "expire a abc", "expire a abc foo", "expire nokey 10", "ttl nokey", "pttl nokey",
    `expire a ${INT64_MAX}`, `pexpire a ${INT64_MAX}`, "expire a -1", "exists a", "set b 1", "pexpire b 100000",
    "pttl b", `expireat b ${future}`, "ttl b", `pexpireat b ${future * 1000}`, "ttl b", "expireat b 1", "exists b",
    "set c 1", "pexpireat c 1", "get c", "set d 1", "expiretime d", "pexpiretime d", `expireat d ${future}`,
    "expiretime d", "pexpiretime d", "expiretime nokey", "set e 1 px 30", "__sleep 60", "get e", "exists e",
    "ttl e", "set f 1 px 30", "__sleep 60", "incr f", "ttl f", `expire a ${"9".repeat(20)}`,
  ],
  // `scan -1` is left out: Redis reads it as cursor 2^64-1, and what that returns depends on
  // the size of its hash table (a fresh Redis returned a key; the embedded engine returns none).
  "keys: KEYS SCAN DBSIZE RANDOMKEY FLUSHDB": [
    "randomkey", "dbsize", "mset user:1 a user:2 b user:10 c order:1 d hello x hallo y hxllo z hllo w",
    ["set", "a*b", "1"], ["set", "a[b", "2"], ["set", "é", "3"], "keys *", "keys user:*", "keys user:?", "keys h?llo",
    "keys h*llo", "keys h[ae]llo", "keys h[^e]llo", "keys h[a-b]llo", "keys h[b-a]llo", "keys a\\*b", "keys a[*]b",
    "keys a[b", "keys a[", "keys ?", "keys ??", "keys *1*", "keys [u-v]*", "keys nomatch", "dbsize",
    "scan 0 count 1000", "scan 0 match user:* count 1000", "scan 0 count 0", "scan 0 count -1", "scan 0 count abc",
    "scan abc", ["scan", "", "count", "1000"], ["scan", " 0"], "scan 0 match", "scan 0 foo bar", "lpush l x",
    "scan 0 type list count 1000", "scan 0 type string count 1000", "scan 0 type nosuchtype count 1000",
    "scan 0 TYPE LIST MATCH l COUNT 1000", "randomkey", "flushdb foo", "flushdb async extra", "flushdb sync",
    "dbsize", "randomkey", "keys *", "set x 1", "flushdb async", "dbsize", "scan 0",
  ],
  "hashes": [
    "hset h f1 v1 f2 v2", "hset h f1 x f3 v3", "hgetall h", "hset h f1", "hset h", "hmset h f4 v4 f5 v5", "hmset h f6",
    "hsetnx h f1 y", "hsetnx h f9 v9", "hget h f1", "hget h nofield", "hget nokey f", "hmget h f1 nofield f2",
    "hmget nokey a b", "hlen h", "hlen nokey", "hkeys h", "hvals h", "hexists h f1", "hexists h nofield",
    "hdel h f1 f2 nofield", "hdel h nofield", "hgetall h", "hincrby h n 5", "hincrby h n -10", "hincrby h n abc",
    "hincrby h f3 1", `hset h big ${INT64_MAX}`, "hincrby h big 1", "hincrbyfloat h fl 0.1", "hincrbyfloat h fl 0.2",
    "hincrbyfloat h fl inf", "hincrbyfloat h fl abc", "hincrbyfloat h f3 1", "hincrbyfloat h n 1.5", "hget h n",
    "hincrbyfloat h fl 1e400", "hincrbyfloat h fl2 3.0", "hget h fl2", "hstrlen h fl", "hstrlen h nofield",
    "hscan h 0", "hscan h 0 match f*", "hscan h 0 count 0", "hscan nokey 0 count 0", "hscan h abc", "hscan h 0 type string",
    "set s 1", "hset s f v", "hget s f", "hgetall s", "hdel s f", "hincrby s f 1", "hscan s 0", "hkeys s", "hlen s",
    "del h", "hset h f v", "hdel h f", "exists h", "hincrby newh f 1", "hgetall newh", ["hset", "u", "ключ", "значение"],
    "hgetall u",
  ],
  "hashes: HRANDFIELD": [
    "hset h a 1 b 2 c 3", "hrandfield h", "hrandfield h 0", "hrandfield h 2", "hrandfield h 3", "hrandfield h 10",
    "hrandfield h -5", "hrandfield h -1", "hrandfield h 2 withvalues", "hrandfield h 10 WITHVALUES", "hrandfield h -4 withvalues",
    "hrandfield h 0 withvalues", "hrandfield h x", "hrandfield h 1.5", "hrandfield h 1 foo", "hrandfield h 1 withvalues x",
    // Never a large negative count that Redis accepts: it builds the whole reply in memory
    // (a count of -4611686018427387903 got the shared Redis OOM-killed once).
    `hrandfield h ${INT64_MIN}`, `hrandfield h ${INT64_MAX}`, "hrandfield h 4611686018427387903 withvalues",
    "hrandfield h 4611686018427387904 withvalues", "hrandfield h -4611686018427387904 withvalues",
    `hrandfield h ${INT64_MIN} withvalues`, "hrandfield nokey",
    "hrandfield nokey 5", "hrandfield nokey -5 withvalues", "hrandfield nokey x", "hrandfield nokey 1 foo",
    "hrandfield nokey 4611686018427387904 withvalues", "hset one f v", "hrandfield one", "hrandfield one -3 withvalues",
    "set s x", "hrandfield s", "hrandfield s 1", "hrandfield s 0", "hrandfield s x", "hrandfield s 1 foo",
  ],
  "lists": [
    "lpush l a b c", "rpush l d e", "lrange l 0 -1", "llen l", "lrange l 1 2", "lrange l -2 -1", "lrange l 5 10",
    "lrange l -100 100", "lrange l 3 1", "lrange l x 1", "lrange nokey 0 -1", "lindex l 0", "lindex l -1", "lindex l 99",
    "lindex l x", "lindex nokey x", "lset l 0 A", "lset l -1 E", "lset l 99 x", "lset l x x", "lset nokey 0 x",
    "lrange l 0 -1", "lpop l", "rpop l", "lpop l 2", "rpop l 0", "lpop l -1", "lpop l x", "lpop l 1 2", "rpush l a b a c a",
    "lrem l 2 a", "lrange l 0 -1", "lrem l -1 a", "lrem l 0 b", "lrem l x a", "lrange l 0 -1", "lrem nokey 1 a",
    "rpush t 1 2 3 4 5 6", "ltrim t 1 -2", "lrange t 0 -1", "ltrim t 10 20", "exists t", "ltrim nokey 0 1",
    "ltrim t x 1", "rpush m 1 2 3", "lmove m n left right", "lmove m n RIGHT LEFT", "lrange n 0 -1", "lmove m m left right",
    "lrange m 0 -1", "lmove m n up down", "lmove nokey n left left", "lmove m n left left", "exists m", "set s x",
    "lmove n s left left", "lmove s n left left", "lpush s x", "rpop s", "llen s", "lrange s 0 1", "lpop nokey",
    "lpop nokey 0", "lpop nokey 3", "rpop nokey 2", "rpush p 1 2", "rpop p 5", "exists p",
  ],
  "lists: LPUSHX RPUSHX LINSERT": [
    "lpushx l a", "rpushx l a", "exists l", "rpush l a b c", "lpushx l x y", "rpushx l z", "lrange l 0 -1",
    "linsert l before b B", "linsert l after c C", "linsert l AFTER z Z", "linsert l Before x X", "lrange l 0 -1",
    "linsert l before nothere v", "linsert l middle b v", "linsert nokey before a b", "linsert nokey middle a b",
    "exists nokey", "rpush d a a a", "linsert d after a b", "lrange d 0 -1", "set s x", "lpushx s a", "rpushx s a",
    "linsert s before a b", "linsert s middle a b",
  ],
  "lists: LPOS": [
    "rpush l a b c a b c a", "lpos l a", "lpos l c", "lpos l z", "lpos l a rank 2", "lpos l a rank -1", "lpos l a rank -2",
    "lpos l a rank 4", "lpos l a rank -4", "lpos l a count 0", "lpos l a count 2", "lpos l a count 0 rank -1",
    "lpos l a count 2 rank 2", "lpos l a count 1 rank -2", "lpos l a maxlen 1", "lpos l a maxlen 3 count 0",
    "lpos l a rank -1 maxlen 2 count 0", "lpos l a rank -1 maxlen 1", "lpos l z count 0", "lpos l a rank 0", "lpos l a rank x",
    `lpos l a rank ${INT64_MIN}`, `lpos l a rank ${INT64_MAX}`, `lpos l a rank -${INT64_MAX}`, "lpos l a count -1",
    "lpos l a count x", "lpos l a maxlen -1", "lpos l a maxlen x", "lpos l a foo", "lpos l a rank", "lpos l a COUNT 2 MAXLEN 0",
    "lpos nokey a", "lpos nokey a count 0", "lpos nokey a rank 0", "lpos nokey a foo", "set s x", "lpos s a", "lpos s a count 1",
    "lpos s a rank 0",
  ],
  "lists: LMPOP": [
    "rpush l1 a b c d", "rpush l2 x y", "lmpop 2 l1 l2 left", "lmpop 2 l1 l2 right count 2", "lmpop 2 nokey l2 left count 10",
    "exists l2", "lmpop 1 l2 left", "lmpop 2 nokey l1 RIGHT COUNT 1", "lmpop 2 l1 nokey left count 5", "exists l1",
    "lmpop 1 nokey left", "lmpop 0 l1 left", "lmpop -1 l1 left", "lmpop x l1 left", "lmpop 2 l1 left", "lmpop 3 a b left",
    "lmpop 1 l1 up", "lmpop 1 l1 left count 0", "lmpop 1 l1 left count -1", "lmpop 1 l1 left count x", "lmpop 1 l1 left count",
    "lmpop 1 l1 left count 1 count 1", "lmpop 1 l1 left foo", "rpush l3 q", "set s x", "lmpop 2 s l3 left", "lmpop 2 l3 s left",
    "lmpop 2 nokey s left", "lmpop 1 s left count 0",
  ],
  "sets": [
    "sadd s a b c", "sadd s a d", "smembers s", "scard s", "sismember s a", "sismember s z", "smismember s a z",
    "srem s a z", "srem nokey a", "scard nokey", "smembers nokey", "sadd t c d e", "sinter s t", "sunion s t",
    "sdiff s t", "sdiff t s", "sinter s nokey", "sunion s nokey", "sdiff nokey s", "sdiff s nokey", "set str x",
    "sinter nokey str", "sunion s str", "sdiff s str", "sadd str a", "smembers str", "sadd n 1 2 3 10", "smembers n",
    "sadd one only", "spop one", "spop one", "spop nokey", "spop nokey 0", "spop nokey 5", "spop n 0", "spop n -1",
    "spop n x", "spop n 1 2", "spop n 100", "exists n", "srandmember s", "srandmember s 0", "srandmember s 2",
    "srandmember s -5", "srandmember s 100", "srandmember nokey", "srandmember nokey 5", "srandmember s x",
    "srandmember s 1 2", `srandmember s ${INT64_MIN}`, "srandmember str 1", "sscan s 0", "sscan s 0 match a*",
    "sscan nokey 0", "sscan s x", "srem s b c d", "exists s",
  ],
  "sets: SMOVE SINTERCARD and the STORE forms": [
    "sadd s a b c", "sadd t c d", "smove s t a", "smembers s", "smembers t", "smove s t a", "smove s t c", "smembers t",
    "smove s s b", "smove s s z", "smove nokey t a", "smove s newset b", "smembers newset", "exists s", "smove s t b",
    "set str x", "smove nokey str a", "smove newset str b", "smove str t a", "sadd one only", "smove one t only",
    "exists one", "sadd s a b c d", "sadd t c d e", "sadd u d e f", "sintercard 2 s t", "sintercard 3 s t u",
    "sintercard 1 s", "sintercard 2 s nokey", "sintercard 2 s t limit 1", "sintercard 2 s t limit 0", "sintercard 1 s LIMIT 3",
    "sintercard 1 s limit 10", "sintercard 0 s", "sintercard -1 s", "sintercard x s", "sintercard 3 s t",
    "sintercard 2 s t limit -1", "sintercard 2 s t limit x", "sintercard 2 s t limit", "sintercard 2 s t foo",
    "sintercard 2 s str", "sintercard 2 nokey str", "sinterstore d s t", "smembers d", "sunionstore d s t u", "smembers d",
    "sdiffstore d s t", "smembers d", "sdiffstore d t s u", "exists d", "sadd d x", "expire d 100", "sinterstore d s t",
    "ttl d", "sinterstore d s nokey", "exists d", "set d x", "sunionstore d s", "type d", "sunionstore d nokey",
    "exists d", "sinterstore s s t", "smembers s", "sunionstore t t u", "smembers t", "sinterstore d s str",
    "sunionstore d str", "sdiffstore d nokey str", "lpush l a", "sdiffstore l s", "type l", "smembers l",
  ],
  "sorted sets: ZADD ZINCRBY ZSCORE": [
    "zadd z 1 a 2 b 3 c", "zadd z 1.5 a", "zscore z a", "zadd z nx 10 a 4 d", "zscore z a", "zadd z xx 10 a 5 e",
    "zscore z a", "zscore z e", "zadd z ch 11 a 4 d 6 f", "zadd z gt 5 a", "zadd z gt ch 20 a", "zadd z lt ch 30 a",
    "zadd z lt ch 1 a", "zadd z xx gt ch 2 a", "zadd z incr 5 a", "zadd z incr nx 5 a", "zadd z incr xx 5 nomember",
    "zadd z incr 1 a 2 b", "zadd z nx xx 1 a", "zadd z gt lt 1 a", "zadd z nx gt 1 a", "zadd z 1", "zadd z 1 a 2",
    "zadd z abc a", "zadd z nan a", "zadd z inf top -inf bottom", "zscore z top", "zscore z bottom", "zincrby z -inf top",
    "zincrby z 1 top", "zincrby z 2.5 new", "zincrby z abc a", "zincrby z nx a", "zadd z 1.1 p 0.1 q 1e20 r 1e-5 s -0 t",
    "zscore z p", "zscore z q", "zscore z r", "zscore z s", "zscore z t", "zincrby z -0 negzero", "zscore z negzero",
    "zadd z 0x10 hex", "zscore z hex", ["zadd", "z", " 1", "sp"], ["zadd", "z", "", "empty"], "zadd z 1e400 big",
    "zadd z 1e-400 tiny", "zadd z 4.9e-324 denorm", "zscore z denorm", "zadd z 1000000000000000.25 tie", "zscore z tie",
    "zscore nokey a", "zscore z nomember", "zmscore z a nomember b", "zmscore nokey a", "zcard z", "zcard nokey",
    "zrem z a b nomember", "zrem nokey a", "set str x", "zadd str 1 a", "zscore str a", "zcard str", "zrem str a",
    "zincrby str 1 a",
  ],
  "sorted sets: ranges": [
    "zadd z 1 a 2 b 3 c 4 d 5 e 5 ee 5 eé 6 f", "zrange z 0 -1", "zrange z 0 -1 withscores", "zrange z 2 4",
    "zrange z -3 -1", "zrange z 5 1", "zrange z 0 100", "zrange z x 1", "zrange z 0 -1 rev", "zrange z 0 1 rev withscores",
    "zrange z 2 4 byscore", "zrange z (2 4 byscore", "zrange z 2 (4 byscore", "zrange z (2 (2 byscore",
    "zrange z 2 2 byscore", "zrange z -inf +inf byscore", "zrange z +inf -inf byscore rev", "zrange z 4 2 byscore rev",
    "zrange z (4 2 byscore rev", "zrange z -inf +inf byscore limit 1 2", "zrange z -inf +inf byscore limit 1 -1",
    "zrange z -inf +inf byscore limit -1 2", "zrange z -inf +inf byscore limit 0 0", "zrange z -inf +inf byscore limit 100 1",
    "zrange z -inf +inf byscore rev limit 1 3 withscores", "zrange z 0 -1 limit 0 1", "zrange z 0 -1 limit 0 -1",
    "zrange z a b byscore", "zrange z 1 2 byscore byscore", "zrange z 1 2 bylex", "zrange z [a [c bylex",
    "zrange z - + bylex", "zrange z + - bylex", "zrange z - - bylex", "zrange z (a (c bylex", "zrange z [c [a bylex rev",
    "zrange z + - bylex rev limit 1 2", "zrange z - + bylex withscores", "zrange z 0 -1 foo", "zrange z 0 -1 rev rev",
    "zrange nokey 0 -1", "zrevrange z 0 2", "zrevrange z 0 2 withscores", "zrevrange z 0 2 rev", "zrevrange z 0 2 byscore",
    "zrangebyscore z 2 4", "zrangebyscore z -inf +inf withscores limit 2 3", "zrangebyscore z (1 (5",
    "zrangebyscore z 1 5 rev", "zrangebyscore z x 5", ["zrangebyscore", "z", " 2", "4"], ["zrangebyscore", "z", "", "4"],
    ["zrangebyscore", "z", "(", "3"], "zrangebyscore z 1e400 inf", "zrangebyscore z 2 nan", "zrevrangebyscore z 4 2",
    "zrevrangebyscore z +inf -inf withscores limit 0 3", "zrevrangebyscore z 2 4", "zrangebylex z [a [c",
    "zrevrangebylex z [c [a", "zcount z 2 4", "zcount z (2 4", "zcount z -inf +inf", "zcount z 5 1", "zcount z x 1",
    "zcount nokey 0 1", "zrank z a", "zrank z f", "zrank z nomember", "zrank nokey a", "zrevrank z a", "zrevrank z f",
    "zrank z a withscore", "zscan z 0", "zscan z 0 match e*", "zscan nokey 0", "zremrangebyrank z 0 1", "zrange z 0 -1",
    "zremrangebyrank z -1 -1", "zremrangebyrank z 10 20", "zremrangebyrank z x 1", "zremrangebyscore z (3 5",
    "zrange z 0 -1 withscores", "zremrangebyscore z -inf +inf", "exists z", "zremrangebyscore nokey 0 1",
    "zremrangebyscore z x 1", "set str x", "zrange str 0 -1", "zrangebyscore str 0 1", "zcount str 0 1", "zrank str a",
    "zremrangebyrank str 0 1", "zrange str x y",
  ],
  "sorted sets: ZPOPMIN ZPOPMAX ZMPOP": [
    "zadd z 1 a 2 b 3 c 4 d 5 e", "zpopmin z", "zpopmax z", "zpopmin z 2", "zpopmax z 0", "zpopmin z 10", "exists z",
    "zpopmin z", "zpopmin nokey", "zpopmin nokey 3", "zpopmax nokey 0", "zadd z 1 a 1 b -inf c inf d", "zpopmin z -1",
    "zpopmin z x", "zpopmin z 1 2", "zpopmax z 1", "zpopmax z 1.5", "zpopmin z 1", "zpopmax z 5", "set s x", "zpopmin s",
    "zpopmax s 2", "zpopmin s 0", "zpopmin s -1", "zadd y 1 a 2 b 3 c", "zadd w 10 x", "zmpop 2 nokey y min",
    "zmpop 2 y w max count 2", "zmpop 2 y w MAX COUNT 5", "exists y", "zmpop 1 y min", "zmpop 2 nokey w min count 10",
    "zmpop 1 nokey max", "zmpop 0 y min", "zmpop -1 y min", "zmpop x y min", "zmpop 2 y min", "zmpop 3 a b min",
    "zmpop 1 y up", "zmpop 1 y min count 0", "zmpop 1 y min count -1", "zmpop 1 y min count x", "zmpop 1 y min count",
    "zmpop 1 y min count 1 count 1", "zmpop 1 y min foo", "zadd v 1 q", "zmpop 2 s v min", "zmpop 2 v s min",
    "zmpop 2 nokey s max", "zmpop 1 s min count 0",
  ],
  "sorted sets: ZUNION ZINTER ZDIFF ZINTERCARD and STORE forms": [
    "zadd a 1 x 2 y 3 z", "zadd b 10 y 20 z 30 w", "sadd s y w v", "zunion 2 a b", "zunion 2 a b withscores",
    "zinter 2 a b withscores", "zdiff 2 a b withscores", "zdiff 2 b a", "zunion 3 a b s withscores",
    "zinter 3 a b s WITHSCORES", "zdiff 2 s a withscores", "zunion 2 a b weights 2 0.5 withscores",
    "zunion 2 a b weights 1 -1 aggregate max withscores", "zinter 2 a b aggregate min withscores",
    "zinter 2 a b aggregate max weights 1 2 withscores", "zunion 2 a b aggregate sum", "zunion 1 a weights inf withscores",
    "zadd inf 0 x inf y -inf z", "zunion 2 inf a weights 0 1 withscores", "zinter 2 inf a weights 0 1 withscores",
    "zunion 2 inf inf weights 1 -1 withscores", "zinter 2 inf inf weights 1 -1 withscores",
    "zinter 2 inf inf weights 1 -1 aggregate min withscores", "zinter 2 inf inf weights 0 1 aggregate max withscores",
    "zinter 2 a inf weights 1 0 withscores", "zunion 3 a a a weights 0.1 0.2 0.3 withscores",
    "zadd c 0.1 x", "zadd d 0.2 x 0.5 q", "zadd e 0.3 x 0.6 q 0.7 r", "zunion 3 e d c withscores", "zinter 3 e c d withscores",
    "zadd zero 0 x", "zunion 1 zero weights -1 withscores", "zunionstore dz 1 zero weights -1", "zscore dz x",
    "zunion 2 a nokey withscores", "zinter 2 a nokey", "zdiff 2 nokey a", "zdiff 1 a withscores", "zdiff 3 a b s",
    "zunion 0 a", "zunion -1 a", "zunion x a", "zunion 3 a b", "zunion 2 a b weights 1", "zunion 2 a b weights 1 x",
    "zunion 2 a b weights 1 nan", "zunion 2 a b aggregate", "zunion 2 a b aggregate avg", "zunion 2 a b foo",
    "zunion 2 a b withscores withscores", "zdiff 2 a b weights 1 1", "zdiff 2 a b aggregate max", "zdiff 0 a",
    "zinter 2 a b limit 1", "set str x", "zunion 2 a str", "zunion 2 str a weights x y", "zinter 2 nokey str",
    "zdiff 2 a str", "zunionstore d 2 a b", "zrange d 0 -1 withscores", "zinterstore d 2 a b weights 1 1 aggregate max",
    "zrange d 0 -1 withscores", "zdiffstore d 2 a b", "zrange d 0 -1 withscores", "zinterstore d 2 a nokey", "exists d",
    "zadd d 1 m", "expire d 100", "zunionstore d 2 a s", "ttl d", "zrange d 0 -1 withscores", "zunionstore d 1 nokey",
    "exists d", "zunionstore a 2 a b", "zrange a 0 -1 withscores", "zdiffstore d 1 s", "type d", "zunionstore d 0 a",
    "zunionstore d 2 a", "zunionstore d 1 a withscores", "zinterstore d 1 a limit 1", "zdiffstore d 0 a",
    "zdiffstore d 1 a withscores", "zdiffstore d 1 str", "zunionstore str 1 a", "type str", "set str x",
    "zintercard 2 a b", "zintercard 3 a b s", "zintercard 2 a b limit 1", "zintercard 2 a b limit 0",
    "zintercard 2 a b LIMIT 10", "zintercard 1 nokey", "zintercard 0 a", "zintercard x a", "zintercard 3 a b",
    "zintercard 2 a b limit -1", "zintercard 2 a b limit x", "zintercard 2 a b limit", "zintercard 2 a b withscores",
    "zintercard 2 a b weights 1 1", "zintercard 2 a str", "zintercard 2 nokey str",
  ],
  "sorted sets: ZLEXCOUNT ZREMRANGEBYLEX": [
    "zadd z 0 a 0 b 0 c 0 d 0 e 0 é 0 f", "zlexcount z - +", "zlexcount z [b [d", "zlexcount z (b [d", "zlexcount z (b (d",
    "zlexcount z [d [b", "zlexcount z + -", "zlexcount z - -", "zlexcount z [a [a", "zlexcount z (a (a", "zlexcount z [e +",
    "zlexcount z a c", "zlexcount z [a c", "zlexcount nokey - +", "zlexcount nokey a b", "zremrangebylex z [b (d",
    "zrange z 0 -1", "zremrangebylex z [z +", "zremrangebylex z (e +", "zrange z 0 -1", "zremrangebylex z + -",
    "zremrangebylex z x y", "zremrangebylex nokey - +", "zremrangebylex nokey x y", "zremrangebylex z - +", "exists z",
    "set str x", "zlexcount str - +", "zlexcount str x y", "zremrangebylex str - +", "zremrangebylex str x y",
  ],
  "MEMORY USAGE": [
    "memory usage nokey", "set s hello", "memory usage s", "memory usage s samples 5", "memory usage s SAMPLES 0",
    "memory usage s samples -1", "memory usage s samples x", "memory usage s samples", "memory usage s foo",
    "memory usage s samples 1 samples 2", "memory usage nokey samples -1", "memory usage nokey foo", "memory usage",
    "memory", "memory foo", "memory Foo bar", "MEMORY USAGE s", "hset h f v", "memory usage h", "rpush l a b",
    "memory usage l", "sadd st a", "memory usage st", "zadd z 1 a", "memory usage z", "setbit b 100 1", "memory usage b",
  ],
  "server and errors": [
    "ping", "ping hello", "ping a b", "echo hi", "echo", "time x", "PING", "GeT nokey", "SET Mixed Case", "get Mixed",
    "nosuchcommand a b", ["nosuchcommand", "x".repeat(200), "y"], ["unknown\r\ncmd", "a\nb"], "get", "get a b",
    "set a", "hset h f", "zadd z", "lpush l", "evalsha 0123456789012345678901234567890123456789 0", "mget",
  ],
};

describe("embedded engine replies exactly like Redis 7", () => {
  for (const [name, steps] of Object.entries(SCENARIOS)) {
    it(name, () => compare(steps));
  }

  it("TIME answers [seconds, microseconds] as strings close to the real clock", async () => {
    const reply = (await engines.embedded.exec(["time"])) as string[];
    expect(Math.abs(Number(reply[0]) - Date.now() / 1000)).toBeLessThan(2);
    expect(Number(reply[1])).toBeLessThan(1_000_000);
  });

  it("full SCAN iterations with small COUNT visit the same keys", async () => {
    const keys = Array.from({ length: 57 }, (_, i) => [`key:${i}`, String(i)]).flat();
    await Promise.all([engines.embedded.exec(["mset", ...keys]), engines.redis.exec(["mset", ...keys])]);
    async function scanAll(engine: Engine): Promise<string[]> {
      const seen = new Set<string>();
      let cursor = "0";
      do {
        const [next, page] = (await engine.exec(["scan", cursor, "count", "5", "match", "key:*"])) as [string, string[]];
        expect(typeof next).toBe("string");
        page.forEach((key) => seen.add(key));
        cursor = next;
      } while (cursor !== "0");
      return [...seen].sort();
    }
    expect(await scanAll(engines.embedded)).toEqual(await scanAll(engines.redis));
  });
});

describe("MULTI/EXEC semantics match Redis", () => {
  const TRANSACTIONS: Record<string, string[][]> = {
    "runtime errors are per item, the rest applies": [["set", "a", "1"], ["lpush", "a", "x"], ["incr", "a"], ["get", "a"]],
    "unknown command aborts everything": [["set", "a", "1"], ["nosuch"], ["incr", "a"]],
    "wrong arity aborts everything": [["set", "a", "1"], ["get"], ["incr", "a"]],
    "DECRBY then COPY captures the balance": [["set", "bal", "100"], ["decrby", "bal", "30"], ["copy", "bal", "snap", "replace"], ["get", "snap"]],
    "syntax errors are runtime errors": [["set", "a", "1", "foo"], ["set", "b", "2"], ["get", "b"]],
    "bit and range writes apply in order": [
      ["setbit", "a", "1", "1"], ["setrange", "a", "1", "bc"], ["bitfield", "a", "incrby", "u8", "#1", "1"], ["bitop", "not", "b", "a"],
      ["bitcount", "b"], ["zadd", "z", "1", "x", "2", "y"], ["zpopmax", "z"], ["zunionstore", "b", "1", "z"], ["getbit", "b", "0"],
    ],
    "a new command with the wrong arity aborts everything": [["set", "a", "1"], ["lpushx", "a"], ["incr", "a"]],
  };
  for (const [name, commands] of Object.entries(TRANSACTIONS)) {
    it(name, async () => {
      const [fromEmbedded, fromRedis] = [plain(await engines.embedded.multi(commands)), plain(await engines.redis.multi(commands))];
      expect(fromEmbedded).toEqual(fromRedis);
      const after = ["a", "b", "bal", "snap"].map((key) => ["get", key]);
      expect(plain(await engines.embedded.pipeline(after))).toEqual(plain(await engines.redis.pipeline(after)));
    });
  }

  it("an EXECABORT leaves nothing applied", async () => {
    const reply = await engines.embedded.multi([["set", "x", "1"], ["nosuch"]]);
    expect(plain(reply)).toEqual({ error: "EXECABORT Transaction discarded because of previous errors." });
    expect(await engines.embedded.exec(["exists", "x"])).toBe(0);
  });
});
