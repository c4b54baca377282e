/**
 * What each generation route costs. The middleware's matcher sends every request under
 * the metered prefixes here; a request that matches no row is refused (404 or 405), never
 * served for free. A priced route left out of the matcher is gated by `metered()` in its
 * handler instead (lib/gateway/metered-route.ts). Costs are whole tokens.
 *
 * A row is fixed-price (`cost`: debited before the work) or usage-priced (`usage`: the most
 * it may cost is held before the work, and the work settles the hold with what it used).
 */
export type PricedRoute = FixedPricedRoute | UsagePricedRoute;

interface RouteRow {
  /** Stable id, used in history entries and headers. */
  id: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
}

export interface FixedPricedRoute extends RouteRow {
  cost: number;
  usage?: undefined;
  /**
   * Serve the route when the KV store is unreachable, unpaid. Off by default: metering
   * fails closed. Each use is logged.
   * @default false
   */
  failOpen?: boolean;
}

export interface UsagePricedRoute extends RouteRow {
  cost?: undefined;
  usage: UsagePricing;
  /** Never: a usage-priced request served without the store would have no cap on what it costs. */
  failOpen?: false;
}

/** A price per started block of tokens: `{ tokens: 100, price: 1 }` is 1 credit per started 100 tokens. */
export interface TokenRate {
  tokens: number;
  price: number;
}

export interface UsagePricing {
  /** The most one request may cost: what the gate holds before the work. */
  hold: number;
  /** The smallest hold worth starting for (a partial hold when the balance is below `hold`); less is a 402. */
  minimumHold: number;
  perOutputTokens: TokenRate;
  perInputTokens: TokenRate;
  /**
   * What a healer does with a hold nobody settled by its deadline (the instance died
   * mid-stream): charge what was held, or release it. @default "charge"
   */
  onExpiry?: "charge" | "release";
  /** The longest the work may run (the platform's maxDuration for the route), 1-800 s. */
  maxDurationSeconds: number;
}

/** Token counts of one request, as the model reported them or as estimated. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/**
 * Added to a usage-priced route's longest run to make its hold deadline: the settle of a
 * request that ran its full maxDuration still lands before a healer may finish the hold.
 */
export const HOLD_DEADLINE_MARGIN_MS = 30_000;

/** How long a hold of this route lasts before a healer may finish it; `override` is TOLLGATE_HOLD_DEADLINE_MS. */
export function holdDeadlineMs(route: UsagePricedRoute, override: number | null = null): number {
  return override ?? route.usage.maxDurationSeconds * 1000 + HOLD_DEADLINE_MARGIN_MS;
}

/**
 * What a usage-priced request costs: each started block of input and of output tokens at
 * its price, never more than the hold. A request that produced nothing is charged nothing,
 * whatever its prompt: the client got no work for it. Pure.
 */
export function priceOfUsage(route: UsagePricedRoute, usage: TokenUsage): number {
  const inputTokens = tokenCount(usage.inputTokens, "inputTokens");
  const outputTokens = tokenCount(usage.outputTokens, "outputTokens");
  if (outputTokens === 0) return 0;
  const { perInputTokens: input, perOutputTokens: output, hold } = route.usage;
  return Math.min(hold, Math.ceil(inputTokens / input.tokens) * input.price + Math.ceil(outputTokens / output.tokens) * output.price);
}

/**
 * The most output tokens whose price, with the input's, fits in `held`: the cap to give the
 * model, so the answer it produces is always paid for. 0 when the input alone costs the
 * hold. Pure.
 */
export function maxOutputTokensFor(route: UsagePricedRoute, held: number, inputTokens: number): number {
  const { perInputTokens: input, perOutputTokens: output } = route.usage;
  const left = held - Math.ceil(tokenCount(inputTokens, "inputTokens") / input.tokens) * input.price;
  return left <= 0 ? 0 : Math.floor(left / output.price) * output.tokens;
}

/** Counts come from a model's report: anything but a whole number ≥ 0 is a bug upstream. */
function tokenCount(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be a whole number ≥ 0 (got ${String(value)})`);
  return value;
}

export const PRICING: readonly PricedRoute[] = [
  { id: "article", method: "POST", path: "/api/generate/article", cost: 3 },
  { id: "nutrition-plan", method: "POST", path: "/api/generate/nutrition-plan", cost: 5 },
  { id: "workout-plan", method: "POST", path: "/api/generate/workout-plan", cost: 10 },
  { id: "chat", method: "POST", path: "/api/chat", cost: 1 },
  {
    id: "chat-stream", method: "POST", path: "/api/chat/stream",
    // The demo model counts words as tokens: its default 60-word answer to a short message
    // costs 6 + 1 = 7 credits; the hold caps a long answer at 20.
    usage: {
      hold: 20, minimumHold: 2,
      perOutputTokens: { tokens: 10, price: 1 },
      perInputTokens: { tokens: 100, price: 1 },
      maxDurationSeconds: 60,
    },
  },
];

/**
 * Test builds only (TOLLGATE_TEST_BUILD=1, next.config.ts): the chat work priced like chat but outside the
 * middleware matcher, so `npm run bench` measures the gate run inside the handler.
 */
export const BENCH_PRICING: readonly PricedRoute[] = [
  { id: "bench-chat", method: "POST", path: "/api/bench/metered", cost: 1 },
];

/**
 * A route as history entries, operation records and idempotency fingerprints name it:
 * `METHOD /path`. One spelling, so an entry written by the gate, by the handler settling a
 * hold and by a healer finishing it all name the same route.
 */
export function routeName(route: Pick<PricedRoute, "method" | "path">): string {
  return `${route.method} ${route.path}`;
}

export type PriceLookup =
  | { status: "priced"; route: PricedRoute }
  | { status: "wrong-method"; allow: string[] }
  | { status: "unknown" };

export function lookupPrice(table: readonly PricedRoute[], method: string, pathname: string): PriceLookup {
  // One trailing slash is the same route; anything else (encoded tricks, dots) is unknown.
  const path = pathname.length > 1 && pathname.endsWith("/") ? pathname.slice(0, -1) : pathname;
  const sameMethod = table.find((r) => r.path === path && r.method === method);
  if (sameMethod) return { status: "priced", route: sameMethod };
  const allow = table.filter((r) => r.path === path).map((r) => r.method);
  return allow.length > 0 ? { status: "wrong-method", allow } : { status: "unknown" };
}

/** Validates a pricing table once, at start-up: a bad table is a programmer error. */
export function assertPricingTable(table: readonly PricedRoute[]): void {
  const seen = new Set<string>();
  for (const r of table) {
    if (r.usage === undefined) {
      if (!Number.isSafeInteger(r.cost) || r.cost < 1 || r.cost > 1_000_000) throw new TypeError(`cost of ${r.id} must be a positive whole number`);
    } else {
      assertUsagePricing(r);
    }
    if (!/^[a-z0-9-]{1,40}$/.test(r.id)) throw new TypeError(`route id ${r.id} must be lowercase letters, digits and -`);
    if (!/^(\/[a-z0-9_-]+)+$/.test(r.path)) throw new TypeError(`${r.path} must be a plain path: lowercase segments, no trailing slash`);
    const key = routeName(r);
    if (seen.has(key)) throw new TypeError(`${key} is priced twice`);
    seen.add(key);
  }
}

function assertUsagePricing(r: UsagePricedRoute): void {
  const u = r.usage;
  const whole = (value: unknown, name: string, max = 1_000_000) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new TypeError(`${name} of ${r.id} must be a whole number from 1 to ${max}`);
    }
  };
  if ((r as { cost?: unknown }).cost !== undefined) throw new TypeError(`${r.id} has both a cost and usage pricing`);
  if ((r as { failOpen?: unknown }).failOpen) throw new TypeError(`${r.id} is usage-priced and cannot fail open`);
  whole(u.hold, "usage.hold");
  whole(u.minimumHold, "usage.minimumHold");
  if (u.minimumHold > u.hold) throw new TypeError(`usage.minimumHold of ${r.id} must not exceed usage.hold`);
  for (const [name, rate] of [["perOutputTokens", u.perOutputTokens], ["perInputTokens", u.perInputTokens]] as const) {
    whole(rate?.tokens, `usage.${name}.tokens`);
    whole(rate?.price, `usage.${name}.price`);
  }
  // Vercel's longest function duration (Pro and Enterprise, Fluid compute) is 800 s.
  whole(u.maxDurationSeconds, "usage.maxDurationSeconds", 800);
  if (u.onExpiry !== undefined && u.onExpiry !== "charge" && u.onExpiry !== "release") {
    throw new TypeError(`usage.onExpiry of ${r.id} must be "charge" or "release"`);
  }
}
