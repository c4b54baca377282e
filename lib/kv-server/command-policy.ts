import { unknownCommand } from "./reply";

/**
 * Which commands the HTTP front end lets through, whatever the engine.
 *
 * The name lists come from Redis 7.0's COMMAND output: READ_ONLY_COMMANDS
 * are those flagged "readonly" and not "write", plus PING/ECHO/TIME. They
 * decide what the read-only token may run; anything not listed counts as a
 * write, so an unknown or new command is refused rather than let through.
 */

const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  "bitcount", "bitfield_ro", "bitpos", "dbsize", "dump", "echo", "eval_ro", "evalsha_ro", "exists",
  "expiretime", "fcall_ro", "geodist", "geohash", "geopos", "georadius_ro", "georadiusbymember_ro",
  "geosearch", "get", "getbit", "getrange", "hexists", "hget", "hgetall", "hkeys", "hlen", "hmget",
  "hrandfield", "hscan", "hstrlen", "hvals", "keys", "lcs", "lindex", "llen", "lolwut", "lpos", "lrange",
  "mget", "pexpiretime", "pfcount", "ping", "pttl", "randomkey", "scan", "scard", "sdiff", "sinter",
  "sintercard", "sismember", "smembers", "smismember", "sort_ro", "srandmember", "sscan", "strlen", "substr",
  "sunion", "time", "touch", "ttl", "type", "xlen", "xpending", "xrange", "xread", "xrevrange", "zcard",
  "zcount", "zdiff", "zinter", "zintercard", "zlexcount", "zmscore", "zrandmember", "zrange", "zrangebylex",
  "zrangebyscore", "zrank", "zrevrange", "zrevrangebylex", "zrevrangebyscore", "zrevrank", "zscan", "zscore",
  "zunion",
]);

/** Every command Redis 7.0 knows, to tell "unknown" from "not in the embedded engine". */
export const REDIS_COMMANDS: ReadonlySet<string> = new Set([
  "acl", "append", "asking", "auth", "bgrewriteaof", "bgsave", "bitcount", "bitfield", "bitfield_ro",
  "bitop", "bitpos", "blmove", "blmpop", "blpop", "brpop", "brpoplpush", "bzmpop", "bzpopmax", "bzpopmin",
  "client", "cluster", "command", "config", "copy", "dbsize", "debug", "decr", "decrby", "del", "discard",
  "dump", "echo", "eval", "eval_ro", "evalsha", "evalsha_ro", "exec", "exists", "expire", "expireat",
  "expiretime", "failover", "fcall", "fcall_ro", "flushall", "flushdb", "function", "geoadd", "geodist",
  "geohash", "geopos", "georadius", "georadius_ro", "georadiusbymember", "georadiusbymember_ro", "geosearch",
  "geosearchstore", "get", "getbit", "getdel", "getex", "getrange", "getset", "hdel", "hello", "hexists",
  "hget", "hgetall", "hincrby", "hincrbyfloat", "hkeys", "hlen", "hmget", "hmset", "hrandfield", "hscan",
  "hset", "hsetnx", "hstrlen", "hvals", "incr", "incrby", "incrbyfloat", "info", "keys", "lastsave",
  "latency", "lcs", "lindex", "linsert", "llen", "lmove", "lmpop", "lolwut", "lpop", "lpos", "lpush",
  "lpushx", "lrange", "lrem", "lset", "ltrim", "memory", "mget", "migrate", "module", "monitor", "move",
  "mset", "msetnx", "multi", "object", "persist", "pexpire", "pexpireat", "pexpiretime", "pfadd", "pfcount",
  "pfdebug", "pfmerge", "pfselftest", "ping", "psetex", "psubscribe", "psync", "pttl", "publish", "pubsub",
  "punsubscribe", "quit", "randomkey", "readonly", "readwrite", "rename", "renamenx", "replconf",
  "replicaof", "reset", "restore", "restore-asking", "role", "rpop", "rpoplpush", "rpush", "rpushx", "sadd",
  "save", "scan", "scard", "script", "sdiff", "sdiffstore", "select", "set", "setbit", "setex", "setnx",
  "setrange", "shutdown", "sinter", "sintercard", "sinterstore", "sismember", "slaveof", "slowlog",
  "smembers", "smismember", "smove", "sort", "sort_ro", "spop", "spublish", "srandmember", "srem", "sscan",
  "ssubscribe", "strlen", "subscribe", "substr", "sunion", "sunionstore", "sunsubscribe", "swapdb", "sync",
  "time", "touch", "ttl", "type", "unlink", "unsubscribe", "unwatch", "wait", "watch", "xack", "xadd",
  "xautoclaim", "xclaim", "xdel", "xgroup", "xinfo", "xlen", "xpending", "xrange", "xread", "xreadgroup",
  "xrevrange", "xsetid", "xtrim", "zadd", "zcard", "zcount", "zdiff", "zdiffstore", "zincrby", "zinter",
  "zintercard", "zinterstore", "zlexcount", "zmpop", "zmscore", "zpopmax", "zpopmin", "zrandmember",
  "zrange", "zrangebylex", "zrangebyscore", "zrangestore", "zrank", "zrem", "zremrangebylex",
  "zremrangebyrank", "zremrangebyscore", "zrevrange", "zrevrangebylex", "zrevrangebyscore", "zrevrank",
  "zscan", "zscore", "zunion", "zunionstore",
]);

/**
 * The commands served over REST, on both engines: data commands only. This is
 * an allow-list because the server is reachable from any web page the
 * developer opens (and, with --redis, may front a shared Redis): a command
 * that administers the server (CONFIG SET dir + SAVE writes files, MIGRATE
 * and REPLICAOF dial out, DEBUG and SHUTDOWN stop it) must never run because
 * a newer Redis added it or nobody thought to deny it. Commands with
 * subcommands are narrowed further in ALLOWED_SUBCOMMANDS.
 *
 * Not served, deliberately: INFO (it names the files, executable and
 * configuration of the server), MOVE, SWAPDB and SELECT (they reach other
 * databases of a shared Redis), RESTORE (an unchecked serialized payload),
 * FUNCTION and FCALL, COMMAND, OBJECT, and every admin command.
 */
const SERVED_COMMANDS: ReadonlySet<string> = new Set([
  // strings and counters
  "append", "decr", "decrby", "get", "getdel", "getex", "getrange", "getset", "incr", "incrby", "incrbyfloat",
  "lcs", "mget", "mset", "msetnx", "psetex", "set", "setex", "setnx", "setrange", "strlen", "substr",
  // bitmaps
  "bitcount", "bitfield", "bitfield_ro", "bitop", "bitpos", "getbit", "setbit",
  // hashes
  "hdel", "hexists", "hget", "hgetall", "hincrby", "hincrbyfloat", "hkeys", "hlen", "hmget", "hmset",
  "hrandfield", "hscan", "hset", "hsetnx", "hstrlen", "hvals",
  // lists
  "lindex", "linsert", "llen", "lmove", "lmpop", "lpop", "lpos", "lpush", "lpushx", "lrange", "lrem", "lset",
  "ltrim", "rpop", "rpoplpush", "rpush", "rpushx",
  // sets
  "sadd", "scard", "sdiff", "sdiffstore", "sinter", "sintercard", "sinterstore", "sismember", "smembers",
  "smismember", "smove", "spop", "srandmember", "srem", "sscan", "sunion", "sunionstore",
  // sorted sets
  "zadd", "zcard", "zcount", "zdiff", "zdiffstore", "zincrby", "zinter", "zintercard", "zinterstore",
  "zlexcount", "zmpop", "zmscore", "zpopmax", "zpopmin", "zrandmember", "zrange", "zrangebylex",
  "zrangebyscore", "zrangestore", "zrank", "zrem", "zremrangebylex", "zremrangebyrank", "zremrangebyscore",
  "zrevrange", "zrevrangebylex", "zrevrangebyscore", "zrevrank", "zscan", "zscore", "zunion", "zunionstore",
  // streams
  "xack", "xadd", "xautoclaim", "xclaim", "xdel", "xgroup", "xinfo", "xlen", "xpending", "xrange", "xread",
  "xreadgroup", "xrevrange", "xsetid", "xtrim",
  // geo
  "geoadd", "geodist", "geohash", "geopos", "georadius", "georadius_ro", "georadiusbymember",
  "georadiusbymember_ro", "geosearch", "geosearchstore",
  // HyperLogLog
  "pfadd", "pfcount", "pfmerge",
  // keys and expiry
  "copy", "del", "dump", "exists", "expire", "expireat", "expiretime", "keys", "persist", "pexpire",
  "pexpireat", "pexpiretime", "pttl", "randomkey", "rename", "renamenx", "scan", "sort", "sort_ro", "touch",
  "ttl", "type", "unlink",
  // scripting
  "eval", "eval_ro", "evalsha", "evalsha_ro", "script",
  // the database as a whole, and the connection
  "dbsize", "echo", "flushall", "flushdb", "memory", "ping", "time",
]);

/** The subcommands served, for the commands in SERVED_COMMANDS that have them. */
const ALLOWED_SUBCOMMANDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  // SCRIPT DEBUG would hand the connection to the Lua debugger.
  ["script", new Set(["load", "exists", "flush", "kill"])],
  ["memory", new Set(["usage"])],
]);

/**
 * Why a command is not served (it administers the server, or is not a Redis
 * command at all), or undefined when it is a data command. Both engines ask
 * this first, for single commands, pipelines, transactions and redis.call in
 * the embedded engine's scripts, so the answer is the same everywhere.
 */
export function administrativeRefusal(args: readonly string[]): string | undefined {
  const name = (args[0] ?? "").toLowerCase();
  // An unknown name gets Redis's own answer, so a client sees what a real Redis would say.
  if (!REDIS_COMMANDS.has(name)) return SERVED_COMMANDS.has(name) ? undefined : unknownCommand(args);
  if (!SERVED_COMMANDS.has(name)) return notAvailable(name);
  const subcommands = ALLOWED_SUBCOMMANDS.get(name);
  if (subcommands === undefined || args.length < 2) return undefined; // arity errors come from the engine
  const sub = (args[1] ?? "").toLowerCase();
  return subcommands.has(sub) ? undefined : notAvailable(`${name} ${sub}`);
}

function notAvailable(what: string): string {
  // Upstash's own wording for a command it does not serve.
  return `ERR Command is not available: '${what}'. The Tollgate KV server serves data commands only`;
}

const BLOCKING = new Set([
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "wait", "waitaof",
]);
const PUBSUB = new Set([
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor",
]);
/** They change or end the state of the one connection every HTTP request shares. */
const CONNECTION_STATE = new Set([
  "multi", "exec", "discard", "watch", "unwatch", "select", "auth", "hello", "quit", "reset", "client",
  "readonly", "readwrite", "asking", "sync", "psync", "replconf",
]);

export function isReadOnlyCommand(name: string): boolean {
  return READ_ONLY_COMMANDS.has(name.toLowerCase());
}

/**
 * Why a command cannot be served over REST, or undefined when it can.
 * Upstash refuses the same families: a blocking or subscribing command
 * would hold the shared Redis connection, and connection-state commands
 * would leak into other clients' requests. Transactions go through
 * /multi-exec instead.
 */
export function refusalReason(args: readonly string[]): string | undefined {
  const name = (args[0] ?? "").toLowerCase();
  const blockingRead = (name === "xread" || name === "xreadgroup") && args.some((a) => a.toLowerCase() === "block");
  if (BLOCKING.has(name) || blockingRead) {
    return `ERR '${name}' is not supported over REST: blocking commands would stall the shared connection`;
  }
  if (PUBSUB.has(name)) return `ERR '${name}' is not supported over REST: use the /subscribe endpoint of a real Upstash database`;
  if (CONNECTION_STATE.has(name)) {
    return name === "multi" || name === "exec" || name === "discard" || name === "watch" || name === "unwatch"
      ? `ERR '${name}' is not supported over REST: send the transaction to /multi-exec`
      : `ERR '${name}' is not supported over REST: it changes the shared connection`;
  }
  return administrativeRefusal(args);
}
