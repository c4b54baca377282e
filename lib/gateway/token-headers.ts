/**
 * The balance headers of a metered answer: `X-Tokens-Cost`, `X-Tokens-Remaining`, and the
 * draft-ietf-httpapi-ratelimit-headers fields (quota units are tokens, "credits"; the window
 * is the billing month). Written by whoever knows the final balance: the gate for its own
 * refusals, `metered()` for answers from the handler (which may have refunded the work).
 */
export interface TokenHeaderPolicy {
  /** Monthly allowance, for the RateLimit-Policy field. */
  monthlyAllowance: number;
  /** Seconds until the current period ends, for the RateLimit field. */
  secondsToPeriodEnd: () => number;
}

/** Sets the cost and, when known, the balance the answer leaves (null: unknown, omitted). */
export function setTokenHeaders(headers: Headers, policy: TokenHeaderPolicy, cost: number | null, remaining: number | null): void {
  if (cost !== null) headers.set("x-tokens-cost", String(cost));
  if (remaining === null) {
    for (const name of ["x-tokens-remaining", "ratelimit", "ratelimit-policy"]) headers.delete(name);
    return;
  }
  const reset = Math.max(0, Math.ceil(policy.secondsToPeriodEnd()));
  headers.set("x-tokens-remaining", String(remaining));
  headers.set("ratelimit-policy", `"tokens";q=${policy.monthlyAllowance};w=${31 * 86_400};qu="credits"`);
  headers.set("ratelimit", `"tokens";r=${remaining};t=${reset}`);
}

/**
 * The balance headers of an answer served on a hold (a usage-priced route): what is held
 * (`X-Tokens-Reserved`; less than the route's hold when the balance covered only part of
 * it), the hold's id (`X-Tokens-Hold`: its history entry's id, so a client that stopped
 * the answer before its finish metadata finds the charge there) and the balance the hold
 * left. The cost is not known yet: it is settled when the work ends, and reported in the
 * answer's own body (the stream's finish metadata).
 */
export function setHoldHeaders(headers: Headers, policy: TokenHeaderPolicy, hold: { id: string; held: number }, remaining: number | null): void {
  headers.set("x-tokens-reserved", String(hold.held));
  headers.set("x-tokens-hold", hold.id);
  headers.delete("x-tokens-cost");
  setTokenHeaders(headers, policy, null, remaining);
}
