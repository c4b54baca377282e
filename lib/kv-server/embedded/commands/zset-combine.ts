import { ErrorText, type Reply } from "../../reply";
import { parseInt64 } from "../numbers/int64";
import { parseDouble } from "../numbers/parse-float";
import { compareEntries, formatScore, SortedSet, type ScoredMember } from "../sorted-set";
import { arg, atLeastArg, fail, sameWord, type CommandContext, type CommandSpec } from "../command-context";

/**
 * ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD
 * (zunionInterDiffGenericCommand in t_zset.c). Plain sets count as sorted
 * sets whose every score is 1. Scores are aggregated in Redis's order (inputs
 * sorted by size, smallest first) with its NaN rules, so sums of doubles
 * round the same way.
 */

type Operation = "union" | "inter" | "diff";
type Aggregate = "sum" | "min" | "max";

interface Input {
  /** Member → score; undefined for a missing key. */
  readonly scores: ReadonlyMap<string, number> | undefined;
  weight: number;
}

const sizeOf = (input: Input) => input.scores?.size ?? 0;

interface Form {
  readonly name: string;
  readonly operation: Operation;
  /** Index of numkeys: 2 for the STORE forms, which take the destination first. */
  readonly numkeysIndex: number;
  readonly store: boolean;
  readonly cardinalityOnly: boolean;
}

interface Parsed {
  readonly inputs: Input[];
  readonly aggregate: Aggregate;
  readonly withScores: boolean;
  readonly limit: number;
}

function readInput(ctx: CommandContext, key: string): Input {
  const stored = ctx.keyspace.get(key);
  if (stored === undefined) return { scores: undefined, weight: 1 };
  if (stored.type === "zset") return { scores: new Map(stored.value.all().map((e) => [e.member, e.score])), weight: 1 };
  if (stored.type === "set") return { scores: new Map([...stored.value].map((member) => [member, 1])), weight: 1 };
  return fail(ErrorText.wrongType);
}

function parse(ctx: CommandContext, args: readonly string[], form: Form): Parsed {
  const numkeys = parseInt64(arg(args, form.numkeysIndex)) ?? fail(ErrorText.notInteger);
  if (numkeys < 1n) fail(`ERR at least 1 input key is needed for '${form.name}' command`);
  const firstKey = form.numkeysIndex + 1;
  if (numkeys > BigInt(args.length - firstKey)) fail(ErrorText.syntax);
  const count = Number(numkeys);
  // Keys are read (and type-checked) before any option is parsed.
  const inputs = args.slice(firstKey, firstKey + count).map((key) => readInput(ctx, key));
  let aggregate: Aggregate = "sum";
  let withScores = false;
  let limit = 0;
  const combining = form.operation !== "diff" && !form.cardinalityOnly;
  for (let i = firstKey + count; i < args.length; ) {
    const word = args[i];
    const remaining = args.length - i;
    if (combining && remaining >= count + 1 && sameWord(word, "weights")) {
      for (const [n, input] of inputs.entries()) {
        input.weight = parseDouble(arg(args, i + 1 + n)) ?? fail("ERR weight value is not a float");
      }
      i += count + 1;
    } else if (combining && remaining >= 2 && sameWord(word, "aggregate")) {
      const name = arg(args, i + 1).toLowerCase();
      if (name !== "sum" && name !== "min" && name !== "max") fail(ErrorText.syntax);
      aggregate = name;
      i += 2;
    } else if (!form.store && !form.cardinalityOnly && sameWord(word, "withscores")) {
      withScores = true;
      i += 1;
    } else if (form.cardinalityOnly && remaining >= 2 && sameWord(word, "limit")) {
      limit = atLeastArg(arg(args, i + 1), 0, "ERR LIMIT can't be negative");
      i += 2;
    } else {
      fail(ErrorText.syntax);
    }
  }
  return { inputs, aggregate, withScores, limit };
}

/** zunionInterAggregate(): +inf plus -inf sums to 0, and a NaN never wins MIN or MAX. */
function aggregateInto(total: number, value: number, aggregate: Aggregate): number {
  if (aggregate === "sum") {
    const sum = total + value;
    return Number.isNaN(sum) ? 0 : sum;
  }
  if (aggregate === "min") return value < total ? value : total;
  return value > total ? value : total;
}

/** inf times a weight of 0 is NaN; Redis counts it as 0. */
const weighted = (score: number, weight: number) => {
  const value = score * weight;
  return Number.isNaN(value) ? 0 : value;
};

/** Members of the result with their scores, in no particular order; `limit` stops ZINTERCARD early. */
function combine(parsed: Parsed, operation: Operation, limit = 0): Map<string, number> {
  const result = new Map<string, number>();
  const [first, ...others] = parsed.inputs;
  if (first === undefined) return result;
  if (operation === "diff") {
    for (const [member, score] of first.scores ?? []) {
      if (!others.some((input) => input.scores?.has(member))) result.set(member, score);
    }
    return result;
  }
  // Array.prototype.sort is stable, as glibc's qsort (a merge sort) is for these small arrays.
  const inputs = [...parsed.inputs].sort((a, b) => sizeOf(a) - sizeOf(b));
  if (operation === "union") {
    for (const input of inputs) {
      for (const [member, score] of input.scores ?? []) {
        const value = weighted(score, input.weight);
        const total = result.get(member);
        result.set(member, total === undefined ? value : aggregateInto(total, value, parsed.aggregate));
      }
    }
    return result;
  }
  const [smallest, ...rest] = inputs;
  for (const [member, score] of smallest?.scores ?? []) {
    let total = weighted(score, smallest?.weight ?? 1);
    let everywhere = true;
    for (const input of rest) {
      const other = input.scores?.get(member);
      if (other === undefined) {
        everywhere = false;
        break;
      }
      // Only the first score is cleaned of NaN; later ones go to the aggregate as they are.
      total = aggregateInto(total, other * input.weight, parsed.aggregate);
    }
    if (!everywhere) continue;
    result.set(member, total);
    if (limit > 0 && result.size >= limit) break;
  }
  return result;
}

function sortedEntries(scores: Map<string, number>): ScoredMember[] {
  return [...scores].map(([member, score]) => ({ member, score })).sort(compareEntries);
}

function combineWith(form: Form) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const parsed = parse(ctx, args, form);
    if (form.cardinalityOnly) return combine(parsed, form.operation, parsed.limit).size;
    const entries = sortedEntries(combine(parsed, form.operation));
    if (!form.store) {
      return parsed.withScores ? entries.flatMap((e) => [e.member, formatScore(e.score)]) : entries.map((e) => e.member);
    }
    const target = arg(args, 1);
    if (entries.length === 0) {
      ctx.keyspace.delete(target);
      return 0;
    }
    const longest = entries.reduce((most, e) => Math.max(most, Buffer.byteLength(e.member)), 0);
    const zset = new SortedSet(entries.length, longest);
    for (const entry of entries) zset.set(entry.member, entry.score);
    // The result replaces the destination and its TTL.
    ctx.keyspace.set(target, { type: "zset", value: zset });
    return zset.size;
  };
}

const form = (name: string, operation: Operation, options: { store?: boolean; cardinalityOnly?: boolean } = {}): Form => ({
  name,
  operation,
  numkeysIndex: options.store ? 2 : 1,
  store: options.store ?? false,
  cardinalityOnly: options.cardinalityOnly ?? false,
});

export const zsetCombineCommands: CommandSpec[] = [
  { name: "zunion", arity: -3, write: false, handler: combineWith(form("zunion", "union")) },
  { name: "zinter", arity: -3, write: false, handler: combineWith(form("zinter", "inter")) },
  { name: "zdiff", arity: -3, write: false, handler: combineWith(form("zdiff", "diff")) },
  { name: "zunionstore", arity: -4, write: true, handler: combineWith(form("zunionstore", "union", { store: true })) },
  { name: "zinterstore", arity: -4, write: true, handler: combineWith(form("zinterstore", "inter", { store: true })) },
  { name: "zdiffstore", arity: -4, write: true, handler: combineWith(form("zdiffstore", "diff", { store: true })) },
  { name: "zintercard", arity: -3, write: false, handler: combineWith(form("zintercard", "inter", { cardinalityOnly: true })) },
];
