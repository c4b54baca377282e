import { InvalidInputError } from "./errors";

/**
 * The largest single amount Tollgate accepts (a top-up, a cost, an allowance). Far below
 * 2^53 so that sums of many amounts stay exact in JavaScript numbers, and far below Redis'
 * 64-bit counters so that no sequence of accepted operations can overflow them.
 */
export const MAX_AMOUNT = 1_000_000_000;

/** A positive safe integer no larger than MAX_AMOUNT; anything else is refused. */
export function assertAmount(value: unknown, what = "amount"): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 || value > MAX_AMOUNT) {
    throw new InvalidInputError("invalid_amount", `${what} must be a whole number between 1 and ${MAX_AMOUNT}`);
  }
  return value;
}

/** Same bounds, but zero allowed (an allowance or seed balance may be 0). */
export function assertNonNegativeAmount(value: unknown, what = "amount"): number {
  if (value === 0) return 0;
  return assertAmount(value, what);
}
