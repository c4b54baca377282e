/** Longest lifetime `parseTtl` and `mintToken` accept: dev tokens should still expire. */
export const MAX_TTL_SECONDS = 366 * 86_400;

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/**
 * Parses `45s`, `30m`, `1h`, `2d` into seconds. Deliberately narrower than jose's duration
 * syntax: one positive integer and one unit, nothing else, so a typo is an error instead
 * of a surprising lifetime. Throws a TypeError naming the accepted forms.
 */
export function parseTtl(value: string): number {
  const match = /^([1-9][0-9]{0,8})([smhd])$/.exec(typeof value === "string" ? value.trim() : "");
  if (match === null) {
    throw new TypeError('ttl must be a positive whole number followed by s, m, h or d (e.g. "45s", "30m", "1h", "2d")');
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  if (seconds > MAX_TTL_SECONDS) throw new TypeError("ttl must be at most 366d");
  return seconds;
}
