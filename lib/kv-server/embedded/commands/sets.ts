import { ErrorText, type Reply } from "../../reply";
import { INT64_MIN } from "../numbers/int64";
import {
  arg,
  atLeastArg,
  countArg,
  deleteIfEmpty,
  fail,
  intArg,
  read,
  readOrCreate,
  sameWord,
  type CommandContext,
  type CommandSpec,
  removeMembers,
} from "../command-context";
import { pickDistinct, pickWithRepeats } from "../random-picks";

function sadd(ctx: CommandContext, args: readonly string[]): Reply {
  const set = readOrCreate(ctx, arg(args, 1), "set", () => new Set<string>());
  let added = 0;
  for (const member of args.slice(2)) {
    if (!set.has(member)) {
      set.add(member);
      added++;
    }
  }
  return added;
}

function srem(ctx: CommandContext, args: readonly string[]): Reply {
  return removeMembers(ctx, args, "set");
}

function smembers(ctx: CommandContext, args: readonly string[]): Reply {
  return [...(read(ctx, arg(args, 1), "set") ?? [])];
}

function sismember(ctx: CommandContext, args: readonly string[]): Reply {
  return read(ctx, arg(args, 1), "set")?.has(arg(args, 2)) ? 1 : 0;
}

function smismember(ctx: CommandContext, args: readonly string[]): Reply {
  const set = read(ctx, arg(args, 1), "set");
  return args.slice(2).map((member) => (set?.has(member) ? 1 : 0));
}

function scard(ctx: CommandContext, args: readonly string[]): Reply {
  return read(ctx, arg(args, 1), "set")?.size ?? 0;
}

function spop(ctx: CommandContext, args: readonly string[]): Reply {
  if (args.length > 3) fail(ErrorText.syntax);
  const key = arg(args, 1);
  const withCount = args.length === 3;
  const count = withCount ? countArg(arg(args, 2)) : 1;
  const set = read(ctx, key, "set");
  if (set === undefined) {
    ctx.logAs([]);
    return withCount ? [] : null;
  }
  const popped = withCount && count === 0 ? [] : pickDistinct([...set], count);
  for (const member of popped) set.delete(member);
  deleteIfEmpty(ctx, key, set.size);
  // A replay must remove the same members, not draw new random ones.
  ctx.logAs(popped.length === 0 ? [] : [["srem", key, ...popped]]);
  return withCount ? popped : (popped[0] ?? null);
}

function srandmember(ctx: CommandContext, args: readonly string[]): Reply {
  if (args.length > 3) fail(ErrorText.syntax);
  if (args.length === 2) {
    const set = read(ctx, arg(args, 1), "set");
    return set === undefined ? null : (pickDistinct([...set], 1)[0] ?? null);
  }
  // The count is validated before the key is even looked up.
  const requested = intArg(arg(args, 2));
  if (requested === INT64_MIN) {
    fail("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  }
  const count = Number(requested);
  const set = read(ctx, arg(args, 1), "set");
  if (set === undefined || count === 0) return [];
  const members = [...set];
  if (count > 0) return pickDistinct(members, count);
  // A negative count allows repeats and always returns |count| members.
  return pickWithRepeats(members, -count);
}

type SetOperation = "inter" | "union" | "diff";

/** SINTER/SUNION/SDIFF over `keys`; every key is type-checked, even after one turns out to be missing. */
function combineSets(ctx: CommandContext, keys: readonly string[], operation: SetOperation): string[] {
  const sets = keys.map((key) => read(ctx, key, "set"));
  const [first, ...rest] = sets;
  if (operation === "inter") {
    if (sets.some((set) => set === undefined)) return [];
    return [...(first ?? [])].filter((member) => rest.every((set) => set?.has(member)));
  }
  if (operation === "union") {
    const result = new Set<string>();
    for (const set of sets) for (const member of set ?? []) result.add(member);
    return [...result];
  }
  return [...(first ?? [])].filter((member) => !rest.some((set) => set?.has(member)));
}

function combine(operation: SetOperation) {
  return (ctx: CommandContext, args: readonly string[]): Reply => combineSets(ctx, args.slice(1), operation);
}

/** SINTERSTORE/SUNIONSTORE/SDIFFSTORE: the result replaces the destination (TTL included); empty deletes it. */
function combineInto(operation: SetOperation) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const target = arg(args, 1);
    const members = combineSets(ctx, args.slice(2), operation);
    if (members.length === 0) ctx.keyspace.delete(target);
    else ctx.keyspace.set(target, { type: "set", value: new Set(members) });
    return members.length;
  };
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size, counting stops at LIMIT. */
function sintercard(ctx: CommandContext, args: readonly string[]): Reply {
  const numkeys = atLeastArg(arg(args, 1), 1, "ERR numkeys should be greater than 0");
  if (numkeys > args.length - 2) fail("ERR Number of keys can't be greater than number of args");
  let limit = 0;
  for (let i = 2 + numkeys; i < args.length; i++) {
    if (sameWord(args[i], "limit") && i + 1 < args.length) {
      limit = atLeastArg(arg(args, ++i), 0, "ERR LIMIT can't be negative");
    } else {
      fail(ErrorText.syntax);
    }
  }
  const size = combineSets(ctx, args.slice(2, 2 + numkeys), "inter").length;
  return limit === 0 ? size : Math.min(size, limit);
}

function smove(ctx: CommandContext, args: readonly string[]): Reply {
  const sourceKey = arg(args, 1);
  const targetKey = arg(args, 2);
  const member = arg(args, 3);
  const source = read(ctx, sourceKey, "set");
  // A missing source answers 0 before the destination's type is looked at.
  if (source === undefined) return 0;
  const target = read(ctx, targetKey, "set");
  if (sourceKey === targetKey) return source.has(member) ? 1 : 0;
  if (!source.delete(member)) return 0;
  deleteIfEmpty(ctx, sourceKey, source.size);
  (target ?? readOrCreate(ctx, targetKey, "set", () => new Set<string>())).add(member);
  return 1;
}

export const setCommands: CommandSpec[] = [
  { name: "sadd", arity: -3, write: true, handler: sadd },
  { name: "srem", arity: -3, write: true, handler: srem },
  { name: "smembers", arity: 2, write: false, handler: smembers },
  { name: "sismember", arity: 3, write: false, handler: sismember },
  { name: "smismember", arity: -3, write: false, handler: smismember },
  { name: "scard", arity: 2, write: false, handler: scard },
  { name: "spop", arity: -2, write: true, handler: spop },
  { name: "srandmember", arity: -2, write: false, handler: srandmember },
  { name: "sinter", arity: -2, write: false, handler: combine("inter") },
  { name: "sunion", arity: -2, write: false, handler: combine("union") },
  { name: "sdiff", arity: -2, write: false, handler: combine("diff") },
  { name: "sinterstore", arity: -3, write: true, handler: combineInto("inter") },
  { name: "sunionstore", arity: -3, write: true, handler: combineInto("union") },
  { name: "sdiffstore", arity: -3, write: true, handler: combineInto("diff") },
  { name: "sintercard", arity: -3, write: false, handler: sintercard },
  { name: "smove", arity: 4, write: true, handler: smove },
];
