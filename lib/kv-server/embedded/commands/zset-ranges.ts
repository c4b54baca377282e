import { ErrorText, type Reply } from "../../reply";
import { formatScore, type ScoredMember, type SortedSet } from "../sorted-set";
import {
  arg,
  clampRange,
  deleteIfEmpty,
  fail,
  numberArg,
  read,
  sameWord,
  type CommandContext,
  type CommandSpec,
} from "../command-context";
import {
  isEmptyLexRange,
  isEmptyScoreRange,
  lexInRange,
  parseLexRange,
  parseScoreRange,
  scoreInRange,
  type LexRange,
  type Position,
} from "./zset-bounds";

type RangeType = "rank" | "score" | "lex";
type Direction = "forward" | "reverse";

/**
 * zrangeGenericCommand(): ZRANGE with BYSCORE/BYLEX/REV/LIMIT/WITHSCORES,
 * and the legacy ZREVRANGE/ZRANGEBYSCORE/ZREVRANGEBYSCORE/ZRANGEBYLEX forms,
 * which fix the type and/or direction and so refuse those option words.
 */
function zrangeWith(fixedType: RangeType | undefined, fixedDirection: Direction | undefined) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    let type = fixedType;
    let direction = fixedDirection;
    let withScores = false;
    let offset = 0;
    let limit = -1;
    for (let i = 4; i < args.length; i++) {
      const word = args[i];
      if (sameWord(word, "withscores")) {
        withScores = true;
      } else if (sameWord(word, "limit") && args.length - i - 1 >= 2) {
        offset = numberArg(arg(args, i + 1));
        limit = numberArg(arg(args, i + 2));
        i += 2;
      } else if (direction === undefined && sameWord(word, "rev")) {
        direction = "reverse";
      } else if (type === undefined && sameWord(word, "bylex")) {
        type = "lex";
      } else if (type === undefined && sameWord(word, "byscore")) {
        type = "score";
      } else {
        fail(ErrorText.syntax);
      }
    }
    const rangeType = type ?? "rank";
    const reverse = direction === "reverse";
    // "LIMIT 0 -1" reads as no limit at all, so Redis lets it through here.
    if (limit !== -1 && rangeType === "rank") {
      fail("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if (withScores && rangeType === "lex") fail("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    // BYSCORE/BYLEX with REV take the range as max, min.
    const swap = reverse && rangeType !== "rank";
    const minText = arg(args, swap ? 3 : 2);
    const maxText = arg(args, swap ? 2 : 3);

    let select: (zset: SortedSet) => ScoredMember[];
    if (rangeType === "rank") {
      const start = numberArg(minText);
      const stop = numberArg(maxText);
      select = (zset) => byRank(zset, start, stop, reverse);
    } else if (rangeType === "score") {
      const range = parseScoreRange(minText, maxText);
      select = (zset) =>
        isEmptyScoreRange(range) ? [] : byPosition(zset, (e) => scoreInRange(e.score, range), reverse, offset, limit);
    } else {
      const range = parseLexRange(minText, maxText);
      select = (zset) =>
        isEmptyLexRange(range) ? [] : byPosition(zset, (e) => lexInRange(e.member, range), reverse, offset, limit);
    }
    const zset = read(ctx, arg(args, 1), "zset");
    if (zset === undefined) return [];
    const entries = select(zset);
    return withScores ? entries.flatMap((e) => [e.member, formatScore(e.score)]) : entries.map((e) => e.member);
  };
}

function byRank(zset: SortedSet, start: number, stop: number, reverse: boolean): ScoredMember[] {
  const range = clampRange(start, stop, zset.size);
  if (range === undefined) return [];
  if (!reverse) return zset.slice(range[0], range[1]);
  const [from, to] = range;
  return zset.slice(zset.size - 1 - to, zset.size - 1 - from).reverse();
}

/** Walks the in-range entries in order, skipping `offset`, returning at most `limit` (negative: all). */
function byPosition(
  zset: SortedSet,
  position: (entry: ScoredMember) => Position,
  reverse: boolean,
  offset: number,
  limit: number,
): ScoredMember[] {
  // Redis skips with `while (offset--)`, so a negative offset skips everything.
  if (offset < 0 || (offset > 0 && offset >= zset.size)) return [];
  const result: ScoredMember[] = [];
  const step = reverse ? -1 : 1;
  let index = reverse
    ? zset.firstIndexWhere((e) => position(e) === "above") - 1
    : zset.firstIndexWhere((e) => position(e) !== "below");
  let skip = offset;
  for (; index >= 0 && index < zset.size; index += step) {
    const entry = zset.at(index) as ScoredMember;
    if (position(entry) !== "inside") break;
    if (skip > 0) {
      skip--;
      continue;
    }
    if (limit >= 0 && result.length >= limit) break;
    result.push(entry);
  }
  return result;
}

function zremrangeWith(type: "rank" | "score" | "lex") {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const key = arg(args, 1);
    let remove: (zset: SortedSet) => number;
    if (type === "rank") {
      const start = numberArg(arg(args, 2));
      const stop = numberArg(arg(args, 3));
      remove = (zset) => {
        const range = clampRange(start, stop, zset.size);
        return range === undefined ? 0 : zset.removeRange(range[0], range[1]).length;
      };
    } else if (type === "score") {
      const range = parseScoreRange(arg(args, 2), arg(args, 3));
      remove = (zset) => {
        if (isEmptyScoreRange(range)) return 0;
        const first = zset.firstIndexWhere((e) => scoreInRange(e.score, range) !== "below");
        const end = zset.firstIndexWhere((e) => scoreInRange(e.score, range) === "above");
        return end > first ? zset.removeRange(first, end - 1).length : 0;
      };
    } else {
      const range = parseLexRange(arg(args, 2), arg(args, 3));
      remove = (zset) => {
        if (isEmptyLexRange(range)) return 0;
        const [first, end] = lexSpan(zset, range);
        return end > first ? zset.removeRange(first, end - 1).length : 0;
      };
    }
    const zset = read(ctx, key, "zset");
    if (zset === undefined) return 0;
    const removed = remove(zset);
    deleteIfEmpty(ctx, key, zset.size);
    return removed;
  };
}

/**
 * [first, end) of the members inside a lex range. Lex ranges assume every
 * member has the same score; with mixed scores Redis's answer is unspecified.
 */
function lexSpan(zset: SortedSet, range: LexRange): [number, number] {
  return [
    zset.firstIndexWhere((e) => lexInRange(e.member, range) !== "below"),
    zset.firstIndexWhere((e) => lexInRange(e.member, range) === "above"),
  ];
}

/** ZLEXCOUNT key min max: the range is parsed before the key is looked up. */
function zlexcount(ctx: CommandContext, args: readonly string[]): Reply {
  const range = parseLexRange(arg(args, 2), arg(args, 3));
  const zset = read(ctx, arg(args, 1), "zset");
  if (zset === undefined || isEmptyLexRange(range)) return 0;
  const [first, end] = lexSpan(zset, range);
  return Math.max(0, end - first);
}

export const zsetRangeCommands: CommandSpec[] = [
  { name: "zrange", arity: -4, write: false, handler: zrangeWith(undefined, undefined) },
  { name: "zrevrange", arity: -4, write: false, handler: zrangeWith("rank", "reverse") },
  { name: "zrangebyscore", arity: -4, write: false, handler: zrangeWith("score", "forward") },
  { name: "zrevrangebyscore", arity: -4, write: false, handler: zrangeWith("score", "reverse") },
  { name: "zrangebylex", arity: -4, write: false, handler: zrangeWith("lex", "forward") },
  { name: "zrevrangebylex", arity: -4, write: false, handler: zrangeWith("lex", "reverse") },
  { name: "zremrangebyrank", arity: 4, write: true, handler: zremrangeWith("rank") },
  { name: "zremrangebyscore", arity: 4, write: true, handler: zremrangeWith("score") },
  { name: "zremrangebylex", arity: 4, write: true, handler: zremrangeWith("lex") },
  { name: "zlexcount", arity: 4, write: false, handler: zlexcount },
];
