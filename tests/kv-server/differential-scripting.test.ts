/**
 * Differential test for scripting: the embedded engine's Lua (fengari with
 * the 5.1 shim) against real Redis 7.0 through the Redis engine. Replies,
 * error texts included, must match exactly; the few documented differences
 * are asserted separately, so a change on either side shows up.
 *
 * SCRIPT FLUSH is not sent to the real Redis: its script cache is
 * server-wide and shared with everyone using it. Scripts here carry a
 * per-run comment instead, so their SHAs are new to Redis on every run.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha1hex } from "../../lib/kv-server/redis/script-shas";
import { plain } from "./helpers";
import { useEnginePair } from "./support/engine-pair";

const engines = useEnginePair("differentialScripting", { flushBeforeEach: true });
const run = randomBytes(4).toString("hex");
/** A script unique to this run: same text for both engines, unknown to Redis's cache. */
const fresh = (body: string) => `${body}\n-- ${run}`;

async function compare(commands: string[][]): Promise<void> {
  const mismatches: string[] = [];
  for (const args of commands) {
    const [fromEmbedded, fromRedis] = [plain(await engines.embedded.exec(args)), plain(await engines.redis.exec(args))];
    if (JSON.stringify(fromEmbedded) !== JSON.stringify(fromRedis)) {
      mismatches.push(`${JSON.stringify(args)}\n  embedded: ${JSON.stringify(fromEmbedded)}\n  redis:    ${JSON.stringify(fromRedis)}`);
    }
  }
  expect(mismatches.join("\n")).toBe("");
}

/** Lua: hex(s), to compare binary results as text. */
const HEX = "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', string.byte(c)) end)) end ";

const evalOf = (body: string, keys: string[] = [], argv: string[] = []) => ["eval", fresh(body), String(keys.length), ...keys, ...argv];

const SCENARIOS: Record<string, string[][]> = {
  "Lua to reply: numbers truncate, true is 1, false and nil are nil, arrays stop at the first nil": [
    evalOf("return 3.99"), evalOf("return -3.99"), evalOf("return 0.5"), evalOf("return -0.0"), evalOf("return 1e20"),
    evalOf("return -1e20"), evalOf("return 0/0"), evalOf("return 1/0"), evalOf("return 2^53 + 1"), evalOf("return true"),
    evalOf("return false"), evalOf("return nil"), evalOf("return"), evalOf("return 'text'"), evalOf("return ''"),
    evalOf("return {1, 2.7, 'a', true, false, 'after false', nil, 'after nil'}"), evalOf("return {}"),
    evalOf("return {nil, 1}"), evalOf("return {1, {2, {3, {}}}}"), evalOf("return {x = 1, y = 2}"),
    evalOf("return {1, 2, x = 3}"), evalOf("local t = {} t[2] = 'b' return t"), evalOf("return function() end"),
    evalOf("return 1, 2"), evalOf("return 'é漢字😀'"),
  ],
  "Lua to reply: {ok=...} is a status, {err=...} an error, also nested": [
    evalOf("return {ok = 'FINE'}"), evalOf("return {ok = ''}"), evalOf("return {err = 'bar'}"),
    evalOf("return {err = 'MY code'}"), evalOf("return {err = 'line\\nbreak'}"), evalOf("return {ok = 'a\\r\\nb'}"),
    evalOf("return {1, {err = 'inner'}, {ok = 'fine'}}"), evalOf("return {err = 5}"), evalOf("return {ok = 5}"),
    evalOf("return {err = 'x', ok = 'y'}"), evalOf("return redis.status_reply('FINE')"),
    evalOf("return redis.error_reply('FOO bar')"), evalOf("return redis.error_reply('bar')"),
    evalOf("return redis.error_reply('-DASH x')"), evalOf("return redis.error_reply('')"),
    evalOf("return redis.error_reply(1)"), evalOf("return redis.status_reply()"),
    evalOf("return type(redis.error_reply('x'))"), evalOf("return redis.error_reply('x').err"),
    evalOf("return redis.status_reply('x').ok"),
  ],
  "reply to Lua: integer, bulk, nil, status, array": [
    ["set", "s", "hello"], ["rpush", "l", "a", "b"], ["hset", "h", "f", "v"],
    evalOf("return type(redis.call('incr', 'n'))"), evalOf("return redis.call('incr', 'n') + 0.5"),
    evalOf("return type(redis.call('get', 's'))"), evalOf("local v = redis.call('get', 'nokey') return {type(v), tostring(v)}"),
    evalOf("local r = redis.call('set', 'k', 'v') return {type(r), r.ok}"),
    evalOf("return redis.call('set', 'k', 'v')"), evalOf("local r = redis.call('set', 'k', 'w', 'get') return {type(r), r}"),
    evalOf("return redis.call('type', 's').ok"), evalOf("return redis.call('type', 'l')"),
    evalOf("return redis.call('ping').ok"), evalOf("return type(redis.call('ping', 'x'))"),
    evalOf("local r = redis.call('lrange', 'l', 0, -1) return {type(r), #r, r[1], r[2]}"),
    evalOf("return redis.call('hgetall', 'h')"), evalOf("return redis.call('hmget', 'h', 'f', 'nofield')"),
    evalOf("local r = redis.call('hmget', 'h', 'nofield', 'f') return {tostring(r[1]), r[2]}"),
    evalOf("return redis.call('mget', 's', 'nokey', 's')"), evalOf("return #redis.call('mget', 'nokey', 'nokey')"),
    evalOf("return redis.call('zadd', 'z', 1.5, 'm')"), evalOf("return redis.call('zscore', 'z', 'm')"),
    evalOf("return redis.call('echo', 0.1)"), evalOf("return redis.call('echo', 1e100)"),
    evalOf("return redis.call('echo', 12345678901234567890)"), evalOf("return redis.call('echo', -0.0)"),
    evalOf("return redis.call('echo', 10/3)"),
  ],
  "KEYS, ARGV and numkeys": [
    evalOf("return KEYS", ["a", "b"], ["c", "d"]), evalOf("return ARGV", ["a", "b"], ["c", "d"]),
    evalOf("return {#KEYS, #ARGV}"), ["eval", fresh("return KEYS"), "2", "only-one"], ["eval", fresh("return 1"), "-1"],
    ["eval", fresh("return 1"), "abc"], ["eval", fresh("return 1"), "1.5", "a"], ["eval", fresh("return 1")], ["eval"],
    evalOf("return redis.call('set', KEYS[1], ARGV[1])", ["k"], ["v"]), ["get", "k"],
    evalOf("return tonumber(ARGV[1]) + 1", [], ["41"]), evalOf("return ARGV[1] + 1", [], ["41"]),
    evalOf("return ARGV[1] .. KEYS[1]", ["k"], ["v"]), evalOf("return KEYS[3]", ["a"]),
  ],
  "errors raised by redis.call carry where they happened; pcall returns them": [
    ["set", "s", "x"], ["rpush", "l", "a"],
    evalOf("return redis.call('incr', KEYS[1])", ["s"]), evalOf("return redis.pcall('incr', KEYS[1])", ["s"]),
    evalOf("local r = redis.pcall('incr', KEYS[1]) return {type(r), r.err}", ["s"]),
    evalOf("return redis.call('get', KEYS[1])", ["l"]), evalOf("return redis.pcall('get', KEYS[1])", ["l"]),
    evalOf("local x = 1\nlocal y = 2\nreturn redis.call('incr', 'l')"), evalOf("return redis.call('nosuch')"),
    evalOf("return redis.pcall('nosuch')"), evalOf("return redis.call('incr')"), evalOf("return redis.pcall('incr')"),
    evalOf("return redis.call()"), evalOf("return redis.pcall()"), evalOf("return redis.call(1)"),
    evalOf("return redis.call('get', {})"), evalOf("return redis.call('get', nil)"), evalOf("return redis.call('echo', true)"),
    evalOf("return redis.pcall('echo', true)"), evalOf("return redis.call('eval', 'return 1', '0')"),
    evalOf("return redis.call('evalsha', 'x', '0')"), evalOf("return redis.call('script', 'load', 'return 1')"),
    evalOf("return redis.call('blpop', 'x', '0')"), evalOf("return redis.pcall('blpop', 'x', '0')"),
    evalOf("return redis.call('multi')"), evalOf("return redis.call('set', 'k')"),
    evalOf("local ok = pcall(redis.call, 'incr', 's') return ok"),
    evalOf("local ok, e = pcall(redis.call, 'incr', 's') return e.err"),
    evalOf("redis.call('set', 'before', '1') redis.call('incr', 's')"), ["get", "before"],
  ],
  "errors raised by the script": [
    evalOf("error('boom')"), evalOf("error({err = 'MY boom'})"), evalOf("error({err = 'boom'})"), evalOf("error()"),
    evalOf("error(nil)"), evalOf("error(true)"), evalOf("error('no position', 0)"), evalOf("error('level 2', 2)"),
    evalOf("local t = nil\nreturn t.x"), evalOf("local t = {}\nreturn t.a.b"), evalOf("local n\nreturn n + 1"),
    evalOf("return nofunction()"), evalOf("local s = 'x' return s.y.z"), evalOf("return 1 + {}"),
    evalOf("local ok, e = pcall(function() error({err = 'in a function'}) end) return {tostring(ok), type(e), e}"),
    evalOf("local ok, e = xpcall(function() error({err = 'tbl'}) end, function(x) return x end) return {tostring(ok), type(e)}"),
    evalOf("local ok, e = pcall(function() redis.call('incr', 'nokey', 'x') end) return e"), evalOf("return #5"), evalOf("return x"),
    evalOf("x = 1"), evalOf("return undefined_function()"), evalOf("local function f() error('deep') end\nf()"),
    evalOf("return pcall(error, 'caught')"), evalOf("local ok, e = pcall(error, 'caught') return e"),
    evalOf("local ok, e = pcall(error, {err = 'tbl'}) return e.err"), evalOf("assert(false)"), evalOf("assert(nil, 'msg')"),
    evalOf("return redis.sha1hex()"), evalOf("return ('x'):rep(3)"), evalOf("return string.rep('ab', 3)"),
  ],
  "the sandbox: globals, libraries, Lua 5.1 numbers": [
    evalOf("local r = {} for _, n in ipairs(ARGV) do r[#r+1] = n .. '=' .. type(rawget(_G, n)) end return r", [], [
      "unpack", "loadstring", "os", "io", "debug", "print", "require", "dofile", "loadfile", "module", "setfenv",
      "utf8", "package", "coroutine", "math", "string", "table", "redis", "xpcall", "pcall", "select", "tostring",
      "tonumber", "next", "pairs", "ipairs", "rawequal", "rawset", "rawget", "setmetatable", "getmetatable", "type",
      "error", "assert", "_G", "load", "bit", "cjson", "cmsgpack",
    ]),
    evalOf("return {type(table.unpack), type(table.getn), type(math.pow), type(math.mod), type(math.log10), type(string.pack), type(table.move), type(math.tointeger), type(math.type)}"),
    evalOf("return tostring(10/2) .. ' ' .. tostring(3) .. ' ' .. tostring(2^53) .. ' ' .. tostring(1e15) .. ' ' .. tostring(0.1) .. ' ' .. tostring(-0.0)"),
    evalOf("return (10/2) .. ' ' .. 1e100 .. ' ' .. 1/3 .. ' ' .. 123456789012345678"),
    evalOf("return {tostring(math.huge), tostring(-math.huge)}"), evalOf("return 100 * 86400000"),
    evalOf("return math.floor(2^40 / 3) * 1000"), evalOf("return 2147483647 + 1"), evalOf("return -2147483648 - 1"),
    evalOf("return 7 % -3"), evalOf("return -7 % 3"), evalOf("return 7.5 % 2"), evalOf("return math.floor(-3.5)"),
    evalOf("return math.ceil(3.2)"), evalOf("return 7 / 2"), evalOf("return tostring(7 / 2)"),
    evalOf("return {tonumber('0x10'), tonumber('  10  '), tonumber('1e2'), tonumber('z'), tonumber('10', 2)}"),
    evalOf("return #'é'"), evalOf("return {unpack({1, 2, 3})}"), evalOf("return select('#', unpack({1, nil, 3}))"),
    evalOf("return table.getn({1, 2, 3})"), evalOf("return math.pow(2, 10)"), evalOf("return math.mod(7, 3)"),
    evalOf("return string.format('%d %s %5.2f', 3, 'x', 1/3)"), evalOf("return string.format('%s', 1/3)"),
    evalOf("return tostring(nil) .. tostring(true)"), evalOf("return loadstring('return 41 + 1')()"),
    evalOf("return redis.sha1hex('')"), evalOf("return redis.sha1hex('abc')"), evalOf("return redis.log(redis.LOG_WARNING, 'x')"),
    evalOf("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"),
    evalOf("local t = {} for k in pairs(redis) do if k ~= 'acl_check_cmd' then t[#t+1] = k end end table.sort(t) return t"),
    evalOf("return redis.replicate_commands()"), evalOf("local co = coroutine.wrap(function() coroutine.yield(1) end) return co()"),
    evalOf("local s = 0 for i = 1, 10 do s = s + i end return s"),
    evalOf("local t = {} for i = 1, 5 do t[i] = i * i end return t"),
    evalOf("local t = {3, 1, 2} table.sort(t) return t"), evalOf("return table.concat({1, 2, 3}, ',')"),
    evalOf("return string.gsub('hello world', 'o', '0')"), evalOf("return {string.find('hello', 'l')}"),
  ],
  "the bit library (LuaBitOp), conversions of odd inputs included": [
    evalOf(
      "return {bit.tobit(0xffffffff), bit.tobit(2^32 + 5), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5), bit.tobit(-2^40 - 3), bit.tobit(1/0), bit.tobit(0/0), bit.tobit('12')}",
    ),
    evalOf("return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x12345678, 2), bit.tohex(1, 10), bit.tohex(-1), bit.tohex(7, 0)}"),
    evalOf("return {bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.band(7)}"),
    evalOf("return {bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1, -1), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.arshift(-1, 40)}"),
    evalOf("return {bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.rol(1, 0), bit.ror(1, 33), bit.bswap(0x12345678)}"),
    evalOf("return bit.band()"), evalOf("return bit.tohex(1, nil)"), evalOf("return bit.tobit('x')"),
  ],
  // Objects with more than one key are left out: their key order is each Lua's table order.
  "cjson.encode: numbers, escapes, arrays, sparse arrays, nesting, errors": [
    evalOf("return {cjson.encode({1, 2, 3}), cjson.encode({}), cjson.encode({a = 1}), cjson.encode({1, nil, 3}), cjson.encode({[1] = 1, [2] = 2, [4] = 4})}"),
    evalOf("return cjson.encode('a/b\"c\\\\d\\n\\t\\1\\127é\\31\\0')"),
    evalOf("return {cjson.encode(0.1), cjson.encode(1/3), cjson.encode(1e300), cjson.encode(12345678901234), cjson.encode(2^53), cjson.encode(-0.0), cjson.encode(100)}"),
    evalOf("return {cjson.encode(true), cjson.encode(cjson.null), cjson.encode({{}, {1}, {x = {}}}), cjson.encode({[-1] = 1}), cjson.encode({[1.5] = 1})}"),
    evalOf("return cjson.encode(1/0)"), evalOf("return cjson.encode(function() end)"), evalOf("return cjson.encode({[true] = 1})"),
    evalOf("return cjson.encode()"), evalOf("return cjson.encode({[11] = 1})"),
    evalOf("local t = {} local c = t for i = 1, 1001 do c[1] = {} c = c[1] end return cjson.encode(t)"),
  ],
  "cjson.decode: values, cjson.null, escapes, strtod numbers, errors with their positions": [
    evalOf("local t = cjson.decode(ARGV[1]) return {t.a, t.b[1], t.b[2], tostring(t.c == cjson.null), type(t.d), t.e, t.f}", [], [
      '{"a":"x","b":[1,2.5],"c":null,"d":{},"e":"\\u00e9\\ud83d\\ude00","f":1e400}',
    ]),
    ...[
      '[1,"2",true,false,null,[3]]', "{bad", "", "[1,]", "1 2", '"str"', '["\\u0041\\ud800"]', '["\\x"]', '["abc', "[0x10, 010, -inf, nan]",
      "[tru]", '{"a" 1}', '{"a":1 "b"}', "[1 2]", "[-]", "[.5]", "[+1]", "[1.]", "  [1]  ", "[1e2, -0, 0.5, 1E-2]",
    ].map((json) => evalOf("return cjson.decode(ARGV[1])", [], [json])),
    evalOf("return cjson.decode(ARGV[1]).a", [], ['{"a":1,"a":2}']), evalOf("return cjson.decode(123)"), evalOf("return cjson.decode()"),
    evalOf("return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))"),
    evalOf("return cjson.encode(cjson.decode('[1e2, -0, 0.5, 1E-2, 123456789012345678]'))"),
  ],
  // Maps with more than one key are left out: their key order is each Lua's table order.
  "cmsgpack: the encodings of every kind of value, unpacking, offsets and errors": [
    evalOf(`${HEX}return {hex(cmsgpack.pack(nil)), hex(cmsgpack.pack(true)), hex(cmsgpack.pack(false)), hex(cmsgpack.pack('ab')), hex(cmsgpack.pack({1, 2})), hex(cmsgpack.pack({a = 1})), hex(cmsgpack.pack({})), hex(cmsgpack.pack(1, 2))}`),
    evalOf(`${HEX}local r = {} for _, n in ipairs({0, 127, 128, 255, 256, 65535, 65536, 2^32 - 1, 2^32, 2^53, -1, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31 - 1, -2^63}) do r[#r + 1] = hex(cmsgpack.pack(n)) end return r`),
    evalOf(`${HEX}local r = {} for _, n in ipairs({1.5, 0.1, -0.0, math.huge, -math.huge, 0/0, 2^63, 2^64, 1e300, 3.4028234663852886e38}) do r[#r + 1] = hex(cmsgpack.pack(n)) end return r`),
    evalOf(`${HEX}return {hex(cmsgpack.pack(string.rep('x', 31))):sub(1, 4), hex(cmsgpack.pack(string.rep('x', 40))):sub(1, 8), hex(cmsgpack.pack(string.rep('y', 300))):sub(1, 8), hex(cmsgpack.pack(string.rep('z', 70000))):sub(1, 10)}`),
    evalOf(`${HEX}local big = {} for i = 1, 20 do big[i] = i end return {hex(cmsgpack.pack(big)):sub(1, 6), hex(cmsgpack.pack({[1] = 1, [3] = 3})):sub(1, 2), hex(cmsgpack.pack(function() end))}`),
    evalOf(`${HEX}local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return hex(cmsgpack.pack(t))`),
    evalOf("return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, 2}, 1.5, {x = {true, false}}, -2^40, 2^40))}"),
    evalOf("return cmsgpack.unpack('')"), evalOf("return cmsgpack.unpack('\\205')"), evalOf("return cmsgpack.unpack('\\193')"),
    evalOf("return cmsgpack.unpack(ARGV[1])", [], ["\u00c4\u0002ab"]), evalOf("return cmsgpack.pack()"),
    evalOf("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}"), evalOf("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}"),
    evalOf("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2), 2)}"), evalOf("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}"),
    evalOf("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 9)}"), evalOf("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), -1)}"),
  ],
  "SCRIPT LOAD, EXISTS, EVALSHA and NOSCRIPT": [
    ["script", "load", fresh("return 'loaded'")], ["evalsha", sha1hex(fresh("return 'loaded'")), "0"],
    ["evalsha", sha1hex(fresh("return 'loaded'")).toUpperCase(), "0"], ["evalsha_ro", sha1hex(fresh("return 'loaded'")), "0"],
    ["script", "exists", sha1hex(fresh("return 'loaded'")), sha1hex(fresh("never loaded")), "not-a-sha"],
    ["script", "exists", sha1hex(fresh("return 'loaded'")).toUpperCase()],
    ["evalsha", sha1hex(fresh("never loaded")), "0"], ["evalsha", "abc", "0"], ["evalsha", `${"a".repeat(40)}x`, "0"],
    ["evalsha", sha1hex(fresh("return 'loaded'")), "1"], ["evalsha", sha1hex(fresh("return 'loaded'")), "x"],
    ["eval", fresh("return 'evaluated'"), "0"], ["evalsha", sha1hex(fresh("return 'evaluated'")), "0"],
    ["script", "exists", sha1hex(fresh("return 'evaluated'"))], ["script", "load", fresh("return +")],
    ["script", "exists", sha1hex(fresh("return +"))], ["script", "load"], ["script", "load", "a", "b"],
    ["script", "exists"], ["script"], ["script", "nosuch"], ["script", "kill"], ["script", "kill", "x"],
    ["script", "help"], ["script", "flush", "nosuch"], ["script", "flush", "sync", "x"],
  ],
  "shebangs and flags": [
    ["eval", fresh("#!lua\nreturn redis.call('set', 'a', '1')"), "0"],
    ["eval", fresh("#!lua flags=no-writes\nreturn redis.call('set', 'a', '1')"), "0"],
    ["eval", fresh("#!lua flags=no-writes\nreturn redis.pcall('set', 'a', '1')"), "0"],
    ["eval", fresh("#!lua flags=no-writes,allow-oom\nreturn redis.call('get', 'a')"), "0"],
    ["eval", fresh("#!lua flags=no-writes,allow-stale,no-cluster,allow-cross-slot-keys,allow-oom\nreturn 1"), "0"],
    ["eval", fresh("#!lua flags=no-writes allow-oom\nreturn 1"), "0"], ["eval", fresh("#!lua name=x\nreturn 1"), "0"],
    ["eval", fresh("#!lua  flags=no-writes\nreturn 1"), "0"], ["eval", fresh("#!luax\nreturn 1"), "0"],
    ["eval", fresh("#!python\nreturn 1"), "0"], ["eval", fresh("#!lua flags=\nreturn 1"), "0"],
    ["eval", fresh("#!lua flags=no-writes,,no-cluster\nreturn 1"), "0"], ["eval", fresh("#!lua flags=nosuch\nreturn 1"), "0"],
    ["eval", "#!lua", "0"], ["eval", "#!lua flags=no-writes", "0"], ["eval", fresh("#!lua \"flags=no-writes\"\nreturn 1"), "0"],
    ["eval", fresh("#!lua 'unbalanced\nreturn 1"), "0"], ["eval", fresh("#!lua\nerror('on line two')"), "0"],
    ["eval", fresh("#!lua\nreturn redis.call('incr', 'l')"), "0"],
    // Upstash's flag: accepted by both engines (the Redis engine strips it before forwarding).
    ["eval", fresh("#!lua flags=allow-key-locking\nreturn redis.call('incr', KEYS[1])"), "1", "locked"],
    ["eval", fresh("#!lua flags=allow-key-locking,no-writes\nreturn redis.call('incr', KEYS[1])"), "1", "locked"],
    ["eval", fresh("#!lua flags=allow-key-locking\nreturn redis.call('get', 'nokey', 'extra')"), "0"],
    ["script", "load", fresh("#!lua flags=allow-key-locking\nreturn 'flagged'")],
    ["evalsha", sha1hex(fresh("#!lua flags=allow-key-locking\nreturn 'flagged'")), "0"],
    ["script", "exists", sha1hex(fresh("#!lua flags=allow-key-locking\nreturn 'flagged'"))],
  ],
  "read-only scripts: EVAL_RO, EVALSHA_RO and no-writes refuse writes": [
    ["set", "a", "1"], ["eval_ro", fresh("return redis.call('get', 'a')"), "0"],
    ["eval_ro", fresh("return redis.call('set', 'a', '2')"), "0"], ["eval_ro", fresh("return redis.pcall('set', 'a', '2')"), "0"],
    ["eval_ro", fresh("return redis.call('incr', 'a')"), "0"], ["get", "a"],
    ["eval_ro", fresh("#!lua flags=allow-oom\nreturn redis.call('set', 'a', '1')"), "0"],
    ["eval_ro", fresh("#!lua\nreturn 1"), "0"], ["eval_ro", fresh("#!lua flags=no-writes\nreturn redis.call('get', 'a')"), "0"],
    ["eval_ro", fresh("#!lua flags=allow-key-locking\nreturn 1"), "0"],
    ["eval_ro", fresh("#!lua flags=allow-key-locking,no-writes\nreturn redis.call('get', 'a')"), "0"],
    ["script", "load", fresh("return redis.call('del', 'a')")], ["evalsha_ro", sha1hex(fresh("return redis.call('del', 'a')")), "0"],
    ["evalsha", sha1hex(fresh("return redis.call('del', 'a')")), "0"], ["get", "a"],
  ],
};

describe("scripts run on the embedded engine exactly as on Redis 7", () => {
  for (const [name, commands] of Object.entries(SCENARIOS)) {
    it(name, () => compare(commands));
  }

  it("the sandbox is the same table for table: redis.* functions (acl_check_cmd included)", async () => {
    const script = evalOf("return {type(redis.acl_check_cmd), redis.acl_check_cmd('get', 'k')}");
    expect(plain(await engines.embedded.exec(script))).toEqual(plain(await engines.redis.exec(script)));
  });

  it("scripts inside MULTI and pipelines run in place, their writes seen by what follows", async () => {
    const commands = [["set", "c", "1"], evalOf("return redis.call('incrby', KEYS[1], ARGV[1])", ["c"], ["5"]), ["get", "c"]];
    expect(plain(await engines.embedded.multi(commands))).toEqual(plain(await engines.redis.multi(commands)));
    expect(plain(await engines.embedded.pipeline(commands))).toEqual(plain(await engines.redis.pipeline(commands)));
    const aborted = [["set", "c", "1"], ["eval", "return 1"]];
    expect(plain(await engines.embedded.multi(aborted))).toEqual(plain(await engines.redis.multi(aborted)));
  });

  it("a script's writes stay when it fails later, as Redis never rolls back", async () => {
    await compare([evalOf("redis.call('set', 'kept', 'yes')\nerror('after the write')"), ["get", "kept"]]);
  });
});

/**
 * Where fengari's Lua 5.3 cannot be made to read or print like Redis's
 * 5.1. Each is asserted on both sides, so if one side changes, this fails
 * and the README's list of differences needs updating.
 */
describe("known differences from Redis's Lua 5.1", () => {
  it("compile errors name the same place but word the message as Lua 5.3 does", async () => {
    const script = evalOf("syntax error here");
    expect(plain(await engines.redis.exec(script))).toEqual({
      error: "ERR Error compiling script (new function): user_script:1: '=' expected near 'error'",
    });
    expect(plain(await engines.embedded.exec(script))).toEqual({
      error: "ERR Error compiling script (new function): user_script:1: syntax error near 'error'",
    });
  });

  it("error(<number>) gets no position in 5.3", async () => {
    const script = evalOf("error(42)");
    const sha = sha1hex(script[1]!);
    expect(plain(await engines.redis.exec(script))).toEqual({ error: `ERR user_script:1: 42 script: ${sha}, on @user_script:1.` });
    expect(plain(await engines.embedded.exec(script))).toEqual({ error: `ERR 42 script: ${sha}, on @user_script:1.` });
  });
});

describe("SCRIPT FLUSH (embedded only: the real Redis's cache is shared)", () => {
  it("forgets every script, so EVALSHA answers NOSCRIPT until the client sends EVAL again", async () => {
    const body = "return 'cached'";
    const sha = sha1hex(body);
    expect(await engines.embedded.exec(["script", "load", body])).toBe(sha);
    expect(await engines.embedded.exec(["script", "flush"])).toBe("OK");
    expect(plain(await engines.embedded.exec(["evalsha", sha, "0"]))).toEqual({ error: "NOSCRIPT No matching script. Please use EVAL." });
    expect(await engines.embedded.exec(["script", "exists", sha])).toEqual([0]);
    expect(await engines.embedded.exec(["eval", body, "0"])).toBe("cached");
    expect(await engines.embedded.exec(["evalsha", sha, "0"])).toBe("cached");
    expect(await engines.embedded.exec(["script", "flush", "async"])).toBe("OK");
    expect(await engines.embedded.exec(["script", "exists", sha])).toEqual([0]);
  });
});
