import { ErrorText, type Reply } from "../../reply";
import { addInt64, INT64_MAX, INT64_MIN, parseInt64, toReplyInteger } from "../numbers/int64";
import { incrementFloat, isFiniteLongDouble } from "../numbers/long-double";
import { parseLongDouble } from "../numbers/parse-float";
import {
  arg,
  fail,
  intArg,
  read,
  readOrCreate,
  type CommandContext,
  type CommandSpec,
  removeMembers,
  sameWord,
} from "../command-context";
import { pickDistinct, pickWithRepeats } from "../random-picks";

const newHash = () => new Map<string, string>();

function fieldPairs(args: readonly string[], name: string): [string, string][] {
  if (args.length % 2 === 1) fail(`ERR wrong number of arguments for '${name}' command`);
  const pairs: [string, string][] = [];
  for (let i = 2; i < args.length; i += 2) pairs.push([arg(args, i), arg(args, i + 1)]);
  return pairs;
}

function hsetWith(name: "hset" | "hmset") {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const pairs = fieldPairs(args, name);
    const hash = readOrCreate(ctx, arg(args, 1), "hash", newHash);
    let created = 0;
    for (const [field, value] of pairs) {
      if (!hash.has(field)) created++;
      hash.set(field, value);
    }
    return name === "hset" ? created : "OK";
  };
}

function hsetnx(ctx: CommandContext, args: readonly string[]): Reply {
  const hash = readOrCreate(ctx, arg(args, 1), "hash", newHash);
  const field = arg(args, 2);
  if (hash.has(field)) return 0;
  hash.set(field, arg(args, 3));
  return 1;
}

function hget(ctx: CommandContext, args: readonly string[]): Reply {
  return read(ctx, arg(args, 1), "hash")?.get(arg(args, 2)) ?? null;
}

function hmget(ctx: CommandContext, args: readonly string[]): Reply {
  const hash = read(ctx, arg(args, 1), "hash");
  return args.slice(2).map((field) => hash?.get(field) ?? null);
}

function hgetall(ctx: CommandContext, args: readonly string[]): Reply {
  // RESP2 shape: a flat [field, value, ...] array, never an object.
  const hash = read(ctx, arg(args, 1), "hash");
  return hash === undefined ? [] : [...hash].flat();
}

function hdel(ctx: CommandContext, args: readonly string[]): Reply {
  return removeMembers(ctx, args, "hash");
}

function hexists(ctx: CommandContext, args: readonly string[]): Reply {
  return read(ctx, arg(args, 1), "hash")?.has(arg(args, 2)) ? 1 : 0;
}

function hincrby(ctx: CommandContext, args: readonly string[]): Reply {
  const increment = intArg(arg(args, 3));
  const hash = readOrCreate(ctx, arg(args, 1), "hash", newHash);
  const field = arg(args, 2);
  const current = hash.get(field);
  const value = current === undefined ? 0n : (parseInt64(current) ?? fail("ERR hash value is not an integer"));
  const next = addInt64(value, increment) ?? fail(ErrorText.overflow);
  hash.set(field, next.toString());
  return toReplyInteger(next);
}

function hincrbyfloat(ctx: CommandContext, args: readonly string[]): Reply {
  const increment = arg(args, 3);
  if (parseLongDouble(increment) === undefined) fail(ErrorText.notFloat);
  if (!isFiniteLongDouble(increment)) fail("ERR value is NaN or Infinity");
  const hash = readOrCreate(ctx, arg(args, 1), "hash", newHash);
  const field = arg(args, 2);
  const current = hash.get(field);
  if (current !== undefined && parseLongDouble(current) === undefined) fail("ERR hash value is not a float");
  const result = incrementFloat(current, increment);
  if (!result.ok) fail("ERR increment would produce NaN or Infinity");
  hash.set(field, result.text);
  return result.text;
}

function hkeys(ctx: CommandContext, args: readonly string[]): Reply {
  return [...(read(ctx, arg(args, 1), "hash")?.keys() ?? [])];
}

function hvals(ctx: CommandContext, args: readonly string[]): Reply {
  return [...(read(ctx, arg(args, 1), "hash")?.values() ?? [])];
}

function hlen(ctx: CommandContext, args: readonly string[]): Reply {
  return read(ctx, arg(args, 1), "hash")?.size ?? 0;
}

function hstrlen(ctx: CommandContext, args: readonly string[]): Reply {
  return Buffer.byteLength(read(ctx, arg(args, 1), "hash")?.get(arg(args, 2)) ?? "");
}

/**
 * HRANDFIELD key [count [WITHVALUES]]. A read: nothing to log. The count is
 * validated before the key is looked up; WITHVALUES halves its range, since
 * Redis doubles it to size the reply.
 */
function hrandfield(ctx: CommandContext, args: readonly string[]): Reply {
  if (args.length === 2) {
    const hash = read(ctx, arg(args, 1), "hash");
    return hash === undefined ? null : (pickDistinct([...hash.keys()], 1)[0] ?? null);
  }
  const requested = intArg(arg(args, 2));
  if (requested === INT64_MIN) fail(`ERR value is out of range, value must between -${INT64_MAX} and ${INT64_MAX}`);
  if (args.length > 4 || (args.length === 4 && !sameWord(args[3], "withvalues"))) fail(ErrorText.syntax);
  const withValues = args.length === 4;
  if (withValues && (requested < -(INT64_MAX / 2n) || requested > INT64_MAX / 2n)) fail("ERR value is out of range");
  const hash = read(ctx, arg(args, 1), "hash");
  const count = Number(requested);
  if (hash === undefined || count === 0) return [];
  const entries = [...hash];
  // A negative count allows repeats and always returns |count| fields.
  const picked = count > 0 ? pickDistinct(entries, count) : pickWithRepeats(entries, -count);
  return withValues ? picked.flat() : picked.map(([field]) => field);
}

export const hashCommands: CommandSpec[] = [
  { name: "hset", arity: -4, write: true, handler: hsetWith("hset") },
  { name: "hmset", arity: -4, write: true, handler: hsetWith("hmset") },
  { name: "hsetnx", arity: 4, write: true, handler: hsetnx },
  { name: "hget", arity: 3, write: false, handler: hget },
  { name: "hmget", arity: -3, write: false, handler: hmget },
  { name: "hgetall", arity: 2, write: false, handler: hgetall },
  { name: "hdel", arity: -3, write: true, handler: hdel },
  { name: "hexists", arity: 3, write: false, handler: hexists },
  { name: "hincrby", arity: 4, write: true, handler: hincrby },
  { name: "hincrbyfloat", arity: 4, write: true, handler: hincrbyfloat },
  { name: "hkeys", arity: 2, write: false, handler: hkeys },
  { name: "hvals", arity: 2, write: false, handler: hvals },
  { name: "hlen", arity: 2, write: false, handler: hlen },
  { name: "hstrlen", arity: 3, write: false, handler: hstrlen },
  { name: "hrandfield", arity: -2, write: false, handler: hrandfield },
];
