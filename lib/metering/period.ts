/**
 * Billing periods are calendar months in UTC, named "YYYY-MM". Time is always passed in
 * (an injected clock), so month ends and leap years are tested without waiting for them.
 */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

export function periodOf(epochMs: number): string {
  const d = new Date(epochMs);
  const month = String(d.getUTCMonth() + 1).padStart(2, "0");
  return `${d.getUTCFullYear()}-${month}`;
}

/** First millisecond of the month after the one holding `epochMs` (UTC). */
export function nextPeriodStart(epochMs: number): number {
  const d = new Date(epochMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
