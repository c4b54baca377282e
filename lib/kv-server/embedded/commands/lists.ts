import { ErrorText, type Reply } from "../../reply";
import {
  arg,
  clampRange,
  countArg,
  deleteIfEmpty,
  fail,
  numberArg,
  read,
  readOrCreate,
  sameWord,
  type CommandContext,
  type CommandSpec,
} from "../command-context";
import { parseMultiPop } from "./multi-pop-args";

type End = "left" | "right";

function pushTo(end: End) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const list = readOrCreate(ctx, arg(args, 1), "list", () => []);
    for (const element of args.slice(2)) {
      if (end === "left") list.unshift(element);
      else list.push(element);
    }
    return list.length;
  };
}

/** LPUSHX/RPUSHX: push only onto an existing list. */
function pushExistingTo(end: End) {
  const push = pushTo(end);
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    if (read(ctx, arg(args, 1), "list") === undefined) {
      ctx.logAs([]);
      return 0;
    }
    return push(ctx, args);
  };
}

function popFrom(end: End) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    // The count form only exists with exactly one extra argument.
    if (args.length > 3) fail(`ERR wrong number of arguments for '${end === "left" ? "lpop" : "rpop"}' command`);
    const withCount = args.length === 3;
    const count = withCount ? countArg(arg(args, 2)) : 1;
    const key = arg(args, 1);
    const list = read(ctx, key, "list");
    if (list === undefined) return null;
    if (withCount && count === 0) return [];
    const taken = end === "left" ? list.splice(0, count) : list.splice(Math.max(0, list.length - count)).reverse();
    deleteIfEmpty(ctx, key, list.length);
    return withCount ? taken : (taken[0] ?? null);
  };
}

function lrange(ctx: CommandContext, args: readonly string[]): Reply {
  const start = numberArg(arg(args, 2));
  const stop = numberArg(arg(args, 3));
  const list = read(ctx, arg(args, 1), "list");
  if (list === undefined) return [];
  const range = clampRange(start, stop, list.length);
  return range === undefined ? [] : list.slice(range[0], range[1] + 1);
}

function llen(ctx: CommandContext, args: readonly string[]): Reply {
  return read(ctx, arg(args, 1), "list")?.length ?? 0;
}

function normalizeIndex(index: number, length: number): number {
  return index < 0 ? length + index : index;
}

function lindex(ctx: CommandContext, args: readonly string[]): Reply {
  // A missing key answers nil before the index is even parsed.
  const list = read(ctx, arg(args, 1), "list");
  if (list === undefined) return null;
  return list[normalizeIndex(numberArg(arg(args, 2)), list.length)] ?? null;
}

function lset(ctx: CommandContext, args: readonly string[]): Reply {
  const list = read(ctx, arg(args, 1), "list") ?? fail(ErrorText.noSuchKey);
  const index = normalizeIndex(numberArg(arg(args, 2)), list.length);
  if (index < 0 || index >= list.length) fail(ErrorText.outOfRange);
  list[index] = arg(args, 3);
  return "OK";
}

function lrem(ctx: CommandContext, args: readonly string[]): Reply {
  const count = numberArg(arg(args, 2));
  const element = arg(args, 3);
  const key = arg(args, 1);
  const list = read(ctx, key, "list");
  if (list === undefined) return 0;
  const limit = count === 0 ? Infinity : Math.abs(count);
  let removed = 0;
  if (count >= 0) {
    for (let i = 0; i < list.length && removed < limit; ) {
      if (list[i] === element) {
        list.splice(i, 1);
        removed++;
      } else {
        i++;
      }
    }
  } else {
    for (let i = list.length - 1; i >= 0 && removed < limit; i--) {
      if (list[i] === element) {
        list.splice(i, 1);
        removed++;
      }
    }
  }
  deleteIfEmpty(ctx, key, list.length);
  return removed;
}

function ltrim(ctx: CommandContext, args: readonly string[]): Reply {
  const start = numberArg(arg(args, 2));
  const stop = numberArg(arg(args, 3));
  const key = arg(args, 1);
  const list = read(ctx, key, "list");
  if (list === undefined) return "OK";
  const range = clampRange(start, stop, list.length);
  if (range === undefined) {
    list.length = 0;
  } else {
    list.splice(range[1] + 1);
    list.splice(0, range[0]);
  }
  deleteIfEmpty(ctx, key, list.length);
  return "OK";
}

function parseEnd(text: string): End {
  if (sameWord(text, "left")) return "left";
  if (sameWord(text, "right")) return "right";
  return fail(ErrorText.syntax);
}

function lmove(ctx: CommandContext, args: readonly string[]): Reply {
  const from = parseEnd(arg(args, 3));
  const to = parseEnd(arg(args, 4));
  const sourceKey = arg(args, 1);
  const targetKey = arg(args, 2);
  const source = read(ctx, sourceKey, "list");
  if (source === undefined) return null;
  // The destination's type is checked before anything moves.
  const existingTarget = read(ctx, targetKey, "list");
  const element = (from === "left" ? source.shift() : source.pop()) as string;
  const target = existingTarget ?? readOrCreate(ctx, targetKey, "list", () => []);
  if (to === "left") target.unshift(element);
  else target.push(element);
  deleteIfEmpty(ctx, sourceKey, source.length);
  return element;
}

/** LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first non-empty list. */
function lmpop(ctx: CommandContext, args: readonly string[]): Reply {
  const { keys, end, count } = parseMultiPop(args, ["left", "right"]);
  for (const key of keys) {
    const list = read(ctx, key, "list");
    if (list === undefined) continue;
    const taken = end === "left" ? list.splice(0, count) : list.splice(Math.max(0, list.length - count)).reverse();
    deleteIfEmpty(ctx, key, list.length);
    return [key, taken];
  }
  ctx.logAs([]);
  return null;
}

export const listCommands: CommandSpec[] = [
  { name: "lpush", arity: -3, write: true, handler: pushTo("left") },
  { name: "rpush", arity: -3, write: true, handler: pushTo("right") },
  { name: "lpop", arity: -2, write: true, handler: popFrom("left") },
  { name: "rpop", arity: -2, write: true, handler: popFrom("right") },
  { name: "lrange", arity: 4, write: false, handler: lrange },
  { name: "llen", arity: 2, write: false, handler: llen },
  { name: "lindex", arity: 3, write: false, handler: lindex },
  { name: "lset", arity: 4, write: true, handler: lset },
  { name: "lrem", arity: 4, write: true, handler: lrem },
  { name: "ltrim", arity: 4, write: true, handler: ltrim },
  { name: "lmove", arity: 5, write: true, handler: lmove },
  { name: "lpushx", arity: -3, write: true, handler: pushExistingTo("left") },
  { name: "rpushx", arity: -3, write: true, handler: pushExistingTo("right") },
  { name: "lmpop", arity: -4, write: true, handler: lmpop },
];
