/**
 * 64-bit signed integers as Redis parses them (string2ll): no sign "+", no
 * leading zeros, no spaces, at most 20 characters, within int64. Counter
 * arithmetic uses BigInt so overflow is detected instead of silently
 * losing precision past 2^53.
 */

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

const CANONICAL_INTEGER = /^(?:0|-?[1-9]\d{0,19})$/;

export function parseInt64(text: string): bigint | undefined {
  if (!CANONICAL_INTEGER.test(text)) return undefined;
  const value = BigInt(text);
  return value > INT64_MAX || value < INT64_MIN ? undefined : value;
}

/** Same as parseInt64, for arguments that are small in practice (counts, indexes). */
export function parseInt64AsNumber(text: string): number | undefined {
  const value = parseInt64(text);
  return value === undefined ? undefined : Number(value);
}

/** a + b, or undefined when the result leaves int64 (Redis: "would overflow"). */
export function addInt64(a: bigint, b: bigint): bigint | undefined {
  const sum = a + b;
  return sum > INT64_MAX || sum < INT64_MIN ? undefined : sum;
}

/**
 * An int64 as a reply number. Values beyond 2^53 lose precision here: the
 * Reply type (and every JSON client) carries integers as doubles.
 */
export function toReplyInteger(value: bigint): number {
  return Number(value);
}
