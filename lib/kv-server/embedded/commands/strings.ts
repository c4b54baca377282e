import { ErrorText, type Reply } from "../../reply";
import { addInt64, INT64_MIN, parseInt64, toReplyInteger } from "../numbers/int64";
import { incrementFloat } from "../numbers/long-double";
import { byteLengthOf, concatValues, textOf, type StringValue } from "../byte-string";
import { arg, fail, intArg, read, type CommandContext, type CommandSpec } from "../command-context";
import { parseExpiryOptions, resolveExpiry, type ExpiryOptions } from "./expiry-options";

/** The string at `key` as a reply carries it (see byte-string.ts); WRONGTYPE for other types. */
function readText(ctx: CommandContext, key: string): string | undefined {
  const value = read(ctx, key, "string");
  return value === undefined ? undefined : textOf(value);
}

function get(ctx: CommandContext, args: readonly string[]): Reply {
  return readText(ctx, arg(args, 1)) ?? null;
}

function setString(ctx: CommandContext, key: string, value: StringValue, options: { keepTtl?: boolean; expireAt?: number }): void {
  ctx.keyspace.set(key, { type: "string", value }, options);
}

function set(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  const value = arg(args, 2);
  const options = parseExpiryOptions(args, 3, "set");
  const expireAt = options.expire === undefined ? undefined : resolveExpiry(ctx, options.expire, "set");
  let previous: Reply = null;
  if (options.get) previous = readText(ctx, key) ?? null;
  const exists = ctx.keyspace.has(key);
  if ((options.nx && exists) || (options.xx && !exists)) {
    ctx.logAs([]);
    return previous;
  }
  setString(ctx, key, value, { keepTtl: options.keepTtl, expireAt });
  ctx.logAs([logForm(key, value, options, expireAt)]);
  return options.get ? previous : "OK";
}

/** SET as the log records it: absolute expiry, no GET/NX/XX (the write happened). */
function logForm(key: string, value: string, options: ExpiryOptions, expireAt: number | undefined): string[] {
  if (expireAt !== undefined) return ["set", key, value, "pxat", String(expireAt)];
  return options.keepTtl ? ["set", key, value, "keepttl"] : ["set", key, value];
}

function setnx(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  if (ctx.keyspace.has(key)) return 0;
  setString(ctx, key, arg(args, 2), {});
  return 1;
}

function setexWith(unit: "ex" | "px", name: string) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const key = arg(args, 1);
    const value = arg(args, 3);
    const expireAt = resolveExpiry(ctx, { unit, amount: arg(args, 2) }, name);
    setString(ctx, key, value, { expireAt });
    ctx.logAs([["set", key, value, "pxat", String(expireAt)]]);
    return "OK";
  };
}

function getset(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  const previous = readText(ctx, key) ?? null;
  setString(ctx, key, arg(args, 2), {});
  return previous;
}

function getdel(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  const value = readText(ctx, key);
  if (value === undefined) {
    ctx.logAs([]);
    return null;
  }
  ctx.keyspace.delete(key);
  return value;
}

function getex(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  const options = parseExpiryOptions(args, 2, "getex");
  const value = readText(ctx, key);
  if (value === undefined) {
    ctx.logAs([]);
    return null;
  }
  if (options.expire !== undefined) {
    const expireAt = resolveExpiry(ctx, options.expire, "getex");
    const absolute = options.expire.unit === "exat" || options.expire.unit === "pxat";
    if (absolute && expireAt <= ctx.now) ctx.keyspace.delete(key);
    else ctx.keyspace.setExpire(key, expireAt);
    ctx.logAs([["pexpireat", key, String(expireAt)]]);
  } else if (options.persist) {
    ctx.keyspace.setExpire(key, undefined);
    ctx.logAs([["persist", key]]);
  } else {
    ctx.logAs([]);
  }
  return value;
}

function mget(ctx: CommandContext, args: readonly string[]): Reply {
  return args.slice(1).map((key) => {
    const stored = ctx.keyspace.get(key);
    return stored?.type === "string" ? textOf(stored.value) : null;
  });
}

function msetPairs(args: readonly string[], name: string): [string, string][] {
  if (args.length % 2 === 0) fail(`ERR wrong number of arguments for '${name}' command`);
  const pairs: [string, string][] = [];
  for (let i = 1; i < args.length; i += 2) pairs.push([arg(args, i), arg(args, i + 1)]);
  return pairs;
}

function mset(ctx: CommandContext, args: readonly string[]): Reply {
  for (const [key, value] of msetPairs(args, "mset")) setString(ctx, key, value, {});
  return "OK";
}

function msetnx(ctx: CommandContext, args: readonly string[]): Reply {
  const pairs = msetPairs(args, "msetnx");
  if (pairs.some(([key]) => ctx.keyspace.has(key))) return 0;
  for (const [key, value] of pairs) setString(ctx, key, value, {});
  return 1;
}

/** INCR/DECR/INCRBY/DECRBY share Redis's incrDecrCommand, including its overflow check. */
function incrementBy(ctx: CommandContext, key: string, increment: bigint): Reply {
  const current = readText(ctx, key);
  const value = current === undefined ? 0n : (parseInt64(current) ?? fail(ErrorText.notInteger));
  const next = addInt64(value, increment) ?? fail(ErrorText.overflow);
  setString(ctx, key, next.toString(), { keepTtl: true });
  return toReplyInteger(next);
}

const incr = (ctx: CommandContext, args: readonly string[]): Reply => incrementBy(ctx, arg(args, 1), 1n);
const decr = (ctx: CommandContext, args: readonly string[]): Reply => incrementBy(ctx, arg(args, 1), -1n);

function incrby(ctx: CommandContext, args: readonly string[]): Reply {
  return incrementBy(ctx, arg(args, 1), intArg(arg(args, 2)));
}

function decrby(ctx: CommandContext, args: readonly string[]): Reply {
  const decrement = intArg(arg(args, 2));
  // Negating INT64_MIN does not fit; Redis answers this text for that one value.
  if (decrement === INT64_MIN) fail("ERR decrement would overflow");
  return incrementBy(ctx, arg(args, 1), -decrement);
}

function incrbyfloat(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  const result = incrementFloat(readText(ctx, key), arg(args, 2));
  if (!result.ok) {
    fail(result.reason === "not-a-float" ? ErrorText.notFloat : "ERR increment would produce NaN or Infinity");
  }
  setString(ctx, key, result.text, { keepTtl: true });
  return result.text;
}

function append(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  const next = concatValues(read(ctx, key, "string") ?? "", arg(args, 2));
  setString(ctx, key, next, { keepTtl: true });
  return byteLengthOf(next);
}

function strlen(ctx: CommandContext, args: readonly string[]): Reply {
  // Redis counts bytes, not characters.
  return byteLengthOf(read(ctx, arg(args, 1), "string") ?? "");
}

export const stringCommands: CommandSpec[] = [
  { name: "get", arity: 2, write: false, handler: get },
  { name: "set", arity: -3, write: true, handler: set },
  { name: "setnx", arity: 3, write: true, handler: setnx },
  { name: "setex", arity: 4, write: true, handler: setexWith("ex", "setex") },
  { name: "psetex", arity: 4, write: true, handler: setexWith("px", "psetex") },
  { name: "getset", arity: 3, write: true, handler: getset },
  { name: "getdel", arity: 2, write: true, handler: getdel },
  { name: "getex", arity: -2, write: true, handler: getex },
  { name: "mget", arity: -2, write: false, handler: mget },
  { name: "mset", arity: -3, write: true, handler: mset },
  { name: "msetnx", arity: -3, write: true, handler: msetnx },
  { name: "incr", arity: 2, write: true, handler: incr },
  { name: "decr", arity: 2, write: true, handler: decr },
  { name: "incrby", arity: 3, write: true, handler: incrby },
  { name: "decrby", arity: 3, write: true, handler: decrby },
  { name: "incrbyfloat", arity: 3, write: true, handler: incrbyfloat },
  { name: "append", arity: 3, write: true, handler: append },
  { name: "strlen", arity: 2, write: false, handler: strlen },
];
