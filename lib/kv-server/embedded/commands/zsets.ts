import { ErrorText, type Reply } from "../../reply";
import { parseDouble } from "../numbers/parse-float";
import { formatScore, SortedSet } from "../sorted-set";
import { arg, fail, read, type CommandContext, type CommandSpec, removeMembers } from "../command-context";
import { isEmptyScoreRange, parseScoreRange, scoreInRange } from "./zset-bounds";

interface ZaddFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
  ch: boolean;
  incr: boolean;
}

/**
 * ZADD and ZINCRBY (which Redis implements as ZADD ... INCR, so it shares
 * the option parsing, quirks included). Every score is parsed before the
 * set is touched, so a bad score leaves it unchanged.
 */
function zaddWith(forceIncr: boolean) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const flags: ZaddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: forceIncr };
    let index = 2;
    for (; index < args.length; index++) {
      const word = (args[index] ?? "").toLowerCase();
      if (word === "nx" || word === "xx" || word === "gt" || word === "lt" || word === "ch" || word === "incr") {
        flags[word] = true;
      } else {
        break;
      }
    }
    const rest = args.slice(index);
    if (rest.length === 0 || rest.length % 2 === 1) fail(ErrorText.syntax);
    if (flags.nx && flags.xx) fail("ERR XX and NX options at the same time are not compatible");
    if ((flags.gt && flags.nx) || (flags.lt && flags.nx) || (flags.gt && flags.lt)) {
      fail("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if (flags.incr && rest.length > 2) fail("ERR INCR option supports a single increment-element pair");
    const pairs: { score: number; member: string }[] = [];
    for (let i = 0; i < rest.length; i += 2) {
      pairs.push({ score: parseDouble(rest[i] ?? "") ?? fail(ErrorText.notFloat), member: rest[i + 1] ?? "" });
    }

    const key = arg(args, 1);
    let zset = read(ctx, key, "zset");
    let added = 0;
    let updated = 0;
    let processed = 0;
    let lastScore = 0;
    if (zset === undefined && !flags.xx) {
      const longest = pairs.reduce((most, pair) => Math.max(most, Buffer.byteLength(pair.member)), 0);
      zset = new SortedSet(pairs.length, longest);
      ctx.keyspace.set(key, { type: "zset", value: zset });
    }
    for (const pair of zset === undefined ? [] : pairs) {
      const outcome = addOne(zset as SortedSet, pair.member, pair.score, flags);
      if (outcome === "nan") fail("ERR resulting score is not a number (NaN)");
      if (outcome.kind === "added") added++;
      if (outcome.kind === "updated") updated++;
      if (outcome.kind !== "nop") {
        processed++;
        lastScore = outcome.score;
      }
    }
    if (flags.incr) return processed > 0 ? formatScore(lastScore) : null;
    return flags.ch ? added + updated : added;
  };
}

type AddOutcome = "nan" | { kind: "added" | "updated" | "unchanged"; score: number } | { kind: "nop" };

/** zsetAdd() from t_zset.c. */
function addOne(zset: SortedSet, member: string, score: number, flags: ZaddFlags): AddOutcome {
  const current = zset.score(member);
  if (current !== undefined) {
    if (flags.nx) return { kind: "nop" };
    const next = flags.incr ? current + score : score;
    if (Number.isNaN(next)) return "nan";
    if ((flags.lt && next >= current) || (flags.gt && next <= current)) return { kind: "nop" };
    if (next === current) return { kind: "unchanged", score: next };
    zset.set(member, next);
    return { kind: "updated", score: next };
  }
  if (flags.xx) return { kind: "nop" };
  zset.set(member, score);
  return { kind: "added", score };
}

function zrem(ctx: CommandContext, args: readonly string[]): Reply {
  return removeMembers(ctx, args, "zset");
}

function zscore(ctx: CommandContext, args: readonly string[]): Reply {
  const score = read(ctx, arg(args, 1), "zset")?.score(arg(args, 2));
  return score === undefined ? null : formatScore(score);
}

function zmscore(ctx: CommandContext, args: readonly string[]): Reply {
  const zset = read(ctx, arg(args, 1), "zset");
  return args.slice(2).map((member) => {
    const score = zset?.score(member);
    return score === undefined ? null : formatScore(score);
  });
}

function zcard(ctx: CommandContext, args: readonly string[]): Reply {
  return read(ctx, arg(args, 1), "zset")?.size ?? 0;
}

function zcount(ctx: CommandContext, args: readonly string[]): Reply {
  const range = parseScoreRange(arg(args, 2), arg(args, 3));
  const zset = read(ctx, arg(args, 1), "zset");
  if (zset === undefined || isEmptyScoreRange(range)) return 0;
  let count = 0;
  const start = zset.firstIndexWhere((entry) => scoreInRange(entry.score, range) !== "below");
  for (let i = start; i < zset.size && scoreInRange(zset.at(i)?.score ?? 0, range) === "inside"; i++) count++;
  return count;
}

function rankIn(reverse: boolean) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const zset = read(ctx, arg(args, 1), "zset");
    const rank = zset?.rank(arg(args, 2));
    if (zset === undefined || rank === undefined) return null;
    return reverse ? zset.size - 1 - rank : rank;
  };
}

export const zsetCommands: CommandSpec[] = [
  { name: "zadd", arity: -4, write: true, handler: zaddWith(false) },
  { name: "zincrby", arity: 4, write: true, handler: zaddWith(true) },
  { name: "zrem", arity: -3, write: true, handler: zrem },
  { name: "zscore", arity: 3, write: false, handler: zscore },
  { name: "zmscore", arity: -3, write: false, handler: zmscore },
  { name: "zcard", arity: 2, write: false, handler: zcard },
  { name: "zcount", arity: 4, write: false, handler: zcount },
  { name: "zrank", arity: 3, write: false, handler: rankIn(false) },
  { name: "zrevrank", arity: 3, write: false, handler: rankIn(true) },
];
