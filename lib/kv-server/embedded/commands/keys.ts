import { ErrorText, type Reply } from "../../reply";
import { INT64_MAX, INT64_MIN, parseInt64 } from "../numbers/int64";
import { compileGlob } from "../glob";
import type { StoredValue } from "../keyspace";
import { arg, fail, numberArg, sameWord, type CommandContext, type CommandSpec } from "../command-context";

function del(ctx: CommandContext, args: readonly string[]): Reply {
  let removed = 0;
  for (const key of args.slice(1)) if (ctx.keyspace.delete(key)) removed++;
  return removed;
}

function exists(ctx: CommandContext, args: readonly string[]): Reply {
  // Repeated keys count repeatedly, as in Redis.
  return args.slice(1).filter((key) => ctx.keyspace.has(key)).length;
}

type ExpireCondition = "nx" | "xx" | "gt" | "lt";

function parseExpireConditions(args: readonly string[]): Set<ExpireCondition> {
  const conditions = new Set<ExpireCondition>();
  for (const word of args.slice(3)) {
    const lower = word.toLowerCase();
    if (lower !== "nx" && lower !== "xx" && lower !== "gt" && lower !== "lt") fail(`ERR Unsupported option ${word}`);
    conditions.add(lower);
  }
  if (conditions.has("nx") && (conditions.has("xx") || conditions.has("gt") || conditions.has("lt"))) {
    fail("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (conditions.has("gt") && conditions.has("lt")) fail("ERR GT and LT options at the same time are not compatible");
  return conditions;
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: Redis's expireGenericCommand. */
function expireWith(unit: "seconds" | "ms", relative: boolean, name: string) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const key = arg(args, 1);
    const conditions = parseExpireConditions(args);
    let when = parseInt64(arg(args, 2)) ?? fail(ErrorText.notInteger);
    const invalid = `ERR invalid expire time in '${name}' command`;
    if (unit === "seconds") {
      if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) fail(invalid);
      when *= 1000n;
    }
    const base = relative ? BigInt(ctx.now) : 0n;
    if (when > INT64_MAX - base) fail(invalid);
    when += base;
    if (!ctx.keyspace.has(key)) {
      ctx.logAs([]);
      return 0;
    }
    const current = ctx.keyspace.expireAt(key);
    const currentBig = current === undefined ? undefined : BigInt(current);
    if (conditions.has("nx") && current !== undefined) return noChange(ctx);
    if (conditions.has("xx") && current === undefined) return noChange(ctx);
    // A key without a TTL counts as an infinite TTL for GT and LT.
    if (conditions.has("gt") && (currentBig === undefined || when <= currentBig)) return noChange(ctx);
    if (conditions.has("lt") && currentBig !== undefined && when >= currentBig) return noChange(ctx);
    if (when <= BigInt(ctx.now)) {
      ctx.keyspace.delete(key);
      ctx.logAs([["del", key]]);
    } else {
      ctx.keyspace.setExpire(key, Number(when));
      ctx.logAs([["pexpireat", key, when.toString()]]);
    }
    return 1;
  };
}

function noChange(ctx: CommandContext): Reply {
  ctx.logAs([]);
  return 0;
}

function ttlIn(unit: "seconds" | "ms") {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const key = arg(args, 1);
    if (!ctx.keyspace.has(key)) return -2;
    const expireAt = ctx.keyspace.expireAt(key);
    if (expireAt === undefined) return -1;
    const ms = Math.max(0, expireAt - ctx.now);
    return unit === "ms" ? ms : Math.floor((ms + 500) / 1000);
  };
}

function expiretimeIn(unit: "seconds" | "ms") {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const key = arg(args, 1);
    if (!ctx.keyspace.has(key)) return -2;
    const expireAt = ctx.keyspace.expireAt(key);
    if (expireAt === undefined) return -1;
    return unit === "ms" ? expireAt : Math.floor((expireAt + 500) / 1000);
  };
}

function persist(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  if (ctx.keyspace.expireAt(key) === undefined) return 0;
  ctx.keyspace.setExpire(key, undefined);
  return 1;
}

function type(ctx: CommandContext, args: readonly string[]): Reply {
  return ctx.keyspace.get(arg(args, 1))?.type ?? "none";
}

function renameWith(nx: boolean) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const source = arg(args, 1);
    const target = arg(args, 2);
    const value = ctx.keyspace.get(source) ?? fail(ErrorText.noSuchKey);
    if (source === target) return nx ? 0 : "OK";
    if (nx && ctx.keyspace.has(target)) return 0;
    const expireAt = ctx.keyspace.expireAt(source);
    ctx.keyspace.delete(target);
    ctx.keyspace.delete(source);
    ctx.keyspace.set(target, value, { expireAt });
    return nx ? 1 : "OK";
  };
}

function cloneValue(value: StoredValue): StoredValue {
  switch (value.type) {
    case "string":
      // A Buffer may be changed in place by SETBIT; the copy must not share it.
      return { type: "string", value: typeof value.value === "string" ? value.value : Buffer.from(value.value) };
    case "hash":
      return { type: "hash", value: new Map(value.value) };
    case "list":
      return { type: "list", value: [...value.value] };
    case "set":
      return { type: "set", value: new Set(value.value) };
    case "zset":
      return { type: "zset", value: value.value.clone() };
  }
}

/**
 * COPY source destination [DB n] [REPLACE]. Tollgate relies on it inside
 * MULTI (DECRBY then COPY) to capture a balance atomically. The embedded
 * engine has a single database, so only DB 0 is accepted.
 */
function copy(ctx: CommandContext, args: readonly string[]): Reply {
  const source = arg(args, 1);
  const target = arg(args, 2);
  let replace = false;
  for (let i = 3; i < args.length; i++) {
    if (sameWord(args[i], "replace")) {
      replace = true;
    } else if (sameWord(args[i], "db") && i + 1 < args.length) {
      const db = numberArg(arg(args, ++i));
      if (db < -2147483648 || db > 2147483647) fail(ErrorText.notInteger);
      if (db !== 0) fail("ERR DB index is out of range");
    } else {
      fail(ErrorText.syntax);
    }
  }
  if (source === target) fail("ERR source and destination objects are the same");
  const value = ctx.keyspace.get(source);
  if (value === undefined) return 0;
  if (ctx.keyspace.has(target) && !replace) return 0;
  const expireAt = ctx.keyspace.expireAt(source);
  ctx.keyspace.delete(target);
  ctx.keyspace.set(target, cloneValue(value), { expireAt });
  return 1;
}

function keys(ctx: CommandContext, args: readonly string[]): Reply {
  const match = compileGlob(arg(args, 1));
  return [...ctx.keyspace.keys()].filter(match);
}

function flush(ctx: CommandContext, args: readonly string[]): Reply {
  if (args.length > 2 || (args.length === 2 && !sameWord(args[1], "sync") && !sameWord(args[1], "async"))) {
    fail(ErrorText.syntax);
  }
  ctx.keyspace.flush();
  return "OK";
}

export const keyCommands: CommandSpec[] = [
  { name: "del", arity: -2, write: true, handler: del },
  { name: "unlink", arity: -2, write: true, handler: del },
  { name: "exists", arity: -2, write: false, handler: exists },
  { name: "touch", arity: -2, write: false, handler: exists },
  { name: "expire", arity: -3, write: true, handler: expireWith("seconds", true, "expire") },
  { name: "pexpire", arity: -3, write: true, handler: expireWith("ms", true, "pexpire") },
  { name: "expireat", arity: -3, write: true, handler: expireWith("seconds", false, "expireat") },
  { name: "pexpireat", arity: -3, write: true, handler: expireWith("ms", false, "pexpireat") },
  { name: "ttl", arity: 2, write: false, handler: ttlIn("seconds") },
  { name: "pttl", arity: 2, write: false, handler: ttlIn("ms") },
  { name: "expiretime", arity: 2, write: false, handler: expiretimeIn("seconds") },
  { name: "pexpiretime", arity: 2, write: false, handler: expiretimeIn("ms") },
  { name: "persist", arity: 2, write: true, handler: persist },
  { name: "type", arity: 2, write: false, handler: type },
  { name: "rename", arity: 3, write: true, handler: renameWith(false) },
  { name: "renamenx", arity: 3, write: true, handler: renameWith(true) },
  { name: "copy", arity: -3, write: true, handler: copy },
  { name: "keys", arity: 2, write: false, handler: keys },
  { name: "dbsize", arity: 1, write: false, handler: (ctx) => ctx.keyspace.size() },
  { name: "flushdb", arity: -1, write: true, handler: flush },
  { name: "flushall", arity: -1, write: true, handler: flush },
  { name: "randomkey", arity: 1, write: false, handler: (ctx) => ctx.keyspace.randomKey() ?? null },
];
