import { fail } from "./command-context";

/**
 * Random samples for SPOP, SRANDMEMBER and HRANDFIELD. Their replies are
 * legitimately random; a command that writes what it picked (SPOP) logs the
 * outcome, never the draw, so replay is exact.
 */

/** Up to `count` distinct items, uniformly: a partial Fisher-Yates shuffle. */
export function pickDistinct<T>(items: readonly T[], count: number): T[] {
  const pool = [...items];
  const picked = Math.min(count, pool.length);
  for (let i = 0; i < picked; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, picked);
}

/** Redis would happily build a reply this large; a development server should not fall over on it. */
const MAX_REPEATED_SAMPLE = 10_000_000;

/** Exactly `count` items drawn with repeats (a negative COUNT); `items` must not be empty. */
export function pickWithRepeats<T>(items: readonly T[], count: number): T[] {
  if (count > MAX_REPEATED_SAMPLE) fail(`ERR count is too large for the embedded engine (limit ${MAX_REPEATED_SAMPLE})`);
  return Array.from({ length: count }, () => items[Math.floor(Math.random() * items.length)] as T);
}
