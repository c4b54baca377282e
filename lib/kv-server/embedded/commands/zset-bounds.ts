import { ErrorText } from "../../reply";
import { parseLooseDouble } from "../numbers/parse-float";
import { compareBytes } from "../sorted-set";
import { fail } from "../command-context";

/** A score interval; "(" makes an end exclusive, as in ZRANGEBYSCORE. */
export interface ScoreRange {
  readonly min: number;
  readonly max: number;
  readonly minExclusive: boolean;
  readonly maxExclusive: boolean;
}

function parseScoreBound(text: string): { value: number; exclusive: boolean } | undefined {
  const exclusive = text.startsWith("(");
  const value = parseLooseDouble(exclusive ? text.slice(1) : text);
  return value === undefined ? undefined : { value, exclusive };
}

/** zslParseRange(). */
export function parseScoreRange(minText: string, maxText: string): ScoreRange {
  const min = parseScoreBound(minText);
  const max = parseScoreBound(maxText);
  if (min === undefined || max === undefined) fail(ErrorText.minMaxNotFloat);
  return { min: min.value, max: max.value, minExclusive: min.exclusive, maxExclusive: max.exclusive };
}

export type Position = "below" | "inside" | "above";

/** zslIsInRange's first test: min above max, or equal with an exclusive end. */
export function isEmptyScoreRange(range: ScoreRange): boolean {
  return range.min > range.max || (range.min === range.max && (range.minExclusive || range.maxExclusive));
}

/** Where a score falls relative to a non-empty range. */
export function scoreInRange(score: number, range: ScoreRange): Position {
  if (range.minExclusive ? score <= range.min : score < range.min) return "below";
  if (range.maxExclusive ? score >= range.max : score > range.max) return "above";
  return "inside";
}

type LexBound =
  | { readonly kind: "lowest" }
  | { readonly kind: "highest" }
  | { readonly kind: "value"; readonly value: string; readonly exclusive: boolean };

export interface LexRange {
  readonly min: LexBound;
  readonly max: LexBound;
}

function parseLexBound(text: string): LexBound | undefined {
  if (text === "-") return { kind: "lowest" };
  if (text === "+") return { kind: "highest" };
  if (text.startsWith("(")) return { kind: "value", value: text.slice(1), exclusive: true };
  if (text.startsWith("[")) return { kind: "value", value: text.slice(1), exclusive: false };
  return undefined;
}

/** zslParseLexRange(). */
export function parseLexRange(minText: string, maxText: string): LexRange {
  const min = parseLexBound(minText);
  const max = parseLexBound(maxText);
  if (min === undefined || max === undefined) fail("ERR min or max not valid string range item");
  return { min, max };
}

const boundRank = (bound: LexBound) => (bound.kind === "lowest" ? -1 : bound.kind === "highest" ? 1 : 0);
/** Redis marks "-" and "+" exclusive, which makes "- -" and "+ +" empty. */
const isExclusive = (bound: LexBound) => bound.kind !== "value" || bound.exclusive;

function compareBounds(a: LexBound, b: LexBound): number {
  if (a.kind === "value" && b.kind === "value") return compareBytes(a.value, b.value);
  return boundRank(a) - boundRank(b);
}

export function isEmptyLexRange(range: LexRange): boolean {
  const order = compareBounds(range.min, range.max);
  return order > 0 || (order === 0 && (isExclusive(range.min) || isExclusive(range.max)));
}

/** Where a member falls relative to a non-empty lexicographic range. */
export function lexInRange(member: string, range: LexRange): Position {
  const point: LexBound = { kind: "value", value: member, exclusive: false };
  const vsMin = compareBounds(point, range.min);
  if (vsMin < 0 || (vsMin === 0 && isExclusive(range.min))) return "below";
  const vsMax = compareBounds(point, range.max);
  if (vsMax > 0 || (vsMax === 0 && isExclusive(range.max))) return "above";
  return "inside";
}
