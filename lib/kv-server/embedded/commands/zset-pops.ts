import { ErrorText, type Reply } from "../../reply";
import { formatScore, type ScoredMember } from "../sorted-set";
import {
  arg,
  countArg,
  deleteIfEmpty,
  fail,
  read,
  type CommandContext,
  type CommandSpec,
} from "../command-context";
import { parseMultiPop } from "./multi-pop-args";

/** ZPOPMIN, ZPOPMAX and ZMPOP (genericZpopCommand in t_zset.c). */

type End = "min" | "max";

/** Pops up to `count` members from the first key that holds a sorted set; undefined when none does. */
function popFirst(ctx: CommandContext, keys: readonly string[], end: End, count: number): { key: string; popped: ScoredMember[] } | undefined {
  for (const key of keys) {
    const zset = read(ctx, key, "zset");
    if (zset === undefined) continue;
    const take = Math.min(count, zset.size);
    const popped = end === "min" ? zset.removeRange(0, take - 1) : zset.removeRange(zset.size - take, zset.size - 1).reverse();
    deleteIfEmpty(ctx, key, zset.size);
    return { key, popped };
  }
  return undefined;
}

function popFrom(end: End) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    if (args.length > 3) fail(ErrorText.syntax);
    const count = args.length === 3 ? countArg(arg(args, 2)) : 1;
    // COUNT 0 still type-checks the key (Redis 7.0), then pops nothing.
    const result = popFirst(ctx, [arg(args, 1)], end, count);
    // RESP2 replies one flat [member, score, ...] array, with or without COUNT.
    return result === undefined ? [] : result.popped.flatMap((entry) => [entry.member, formatScore(entry.score)]);
  };
}

/** ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: [key, [[member, score], ...]] or nil. */
function zmpop(ctx: CommandContext, args: readonly string[]): Reply {
  const { keys, end, count } = parseMultiPop(args, ["min", "max"]);
  const result = popFirst(ctx, keys, end, count);
  if (result === undefined) {
    ctx.logAs([]);
    return null;
  }
  return [result.key, result.popped.map((entry) => [entry.member, formatScore(entry.score)])];
}

export const zsetPopCommands: CommandSpec[] = [
  { name: "zpopmin", arity: -2, write: true, handler: popFrom("min") },
  { name: "zpopmax", arity: -2, write: true, handler: popFrom("max") },
  { name: "zmpop", arity: -4, write: true, handler: zmpop },
];
