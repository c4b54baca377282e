import { assertNonNegativeAmount, assertAmount } from "./amount";
import { type Clock, systemClock } from "./period";
import { assertUserId } from "./user-id";

/** How the monthly allowance is granted. */
export type RefillPolicy =
  /** Unused tokens roll over: the allowance is added to whatever is left. */
  | "add"
  /** No rollover: the balance is raised to the allowance; tokens above it (bought ones) are kept. */
  | "top-up";

export interface MeteringOptions {
  /** Key prefix, including the deployment environment, e.g. "tg:production". */
  namespace: string;
  /**
   * Tokens granted per user per calendar month (UTC), lazily on the first metered request
   * of the month and by the cron. 0 disables the monthly grant.
   * @default 100
   */
  monthlyAllowance?: number;
  /** @default "top-up" */
  refillPolicy?: RefillPolicy;
  /**
   * Users created with a fixed balance on first use instead of the monthly allowance
   * (the test user). The seed counts as that month's grant.
   * @default {}
   */
  seedUsers?: Readonly<Record<string, number>>;
  /** Settled entries kept per user, newest first. @default 100 */
  historyLimit?: number;
  /** A debit can be refunded for this long. @default 86_400 (24 h) */
  refundWindowSeconds?: number;
  /**
   * An operation still open after this long belongs to a caller that died or lost the KV;
   * any reader then settles or compensates it. Must be far longer than kvTimeoutMs.
   * @default 30_000
   */
  healAfterMs?: number;
  /** Bound on one KV round trip. @default DEFAULT_KV_TIMEOUT_MS (1500) */
  kvTimeoutMs?: number;
  /** @default Date.now */
  clock?: Clock;
}

export type MeteringConfig = Required<MeteringOptions>;

/** The one default bound on a KV round trip: the client's timeout and the metering's timing rule agree on it. */
export const DEFAULT_KV_TIMEOUT_MS = 1_500;

/** Validates options eagerly: a bad option is a programmer error (TypeError), not a 400. */
export function resolveConfig(options: MeteringOptions): MeteringConfig {
  if (!/^[A-Za-z0-9:_-]{1,64}$/.test(options.namespace)) {
    throw new TypeError("namespace must be 1-64 characters of letters, digits, ':', '_' and '-'");
  }
  const config: MeteringConfig = {
    namespace: options.namespace,
    monthlyAllowance: options.monthlyAllowance ?? 100,
    refillPolicy: options.refillPolicy ?? "top-up",
    seedUsers: options.seedUsers ?? {},
    historyLimit: options.historyLimit ?? 100,
    refundWindowSeconds: options.refundWindowSeconds ?? 86_400,
    healAfterMs: options.healAfterMs ?? 30_000,
    kvTimeoutMs: options.kvTimeoutMs ?? DEFAULT_KV_TIMEOUT_MS,
    clock: options.clock ?? systemClock,
  };
  try {
    assertNonNegativeAmount(config.monthlyAllowance, "monthlyAllowance");
    for (const [user, balance] of Object.entries(config.seedUsers)) {
      assertUserId(user);
      assertNonNegativeAmount(balance, `seed balance of ${user}`);
    }
    assertAmount(config.historyLimit, "historyLimit");
    assertAmount(config.refundWindowSeconds, "refundWindowSeconds");
    assertAmount(config.healAfterMs, "healAfterMs");
    assertAmount(config.kvTimeoutMs, "kvTimeoutMs");
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
  if (config.refillPolicy !== "add" && config.refillPolicy !== "top-up") {
    throw new TypeError('refillPolicy must be "add" or "top-up"');
  }
  if (config.historyLimit > 10_000) throw new TypeError("historyLimit must be at most 10000");
  if (config.healAfterMs < config.kvTimeoutMs * 5) {
    // A healer must never act on an operation whose own caller may still be mid-flight.
    throw new TypeError("healAfterMs must be at least 5 × kvTimeoutMs");
  }
  return config;
}
