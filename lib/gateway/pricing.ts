/**
 * What each generation route costs. The middleware's matcher sends every request under
 * the metered prefixes here; a request that matches no row is refused (404 or 405), never
 * served for free. A priced route left out of the matcher is gated by `metered()` in its
 * handler instead (lib/gateway/metered-route.ts). Costs are whole tokens.
 */
export interface PricedRoute {
  /** Stable id, used in history entries and headers. */
  id: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  cost: number;
  /**
   * Serve the route when the KV store is unreachable, unpaid. Off by default: metering
   * fails closed. Each use is logged.
   * @default false
   */
  failOpen?: boolean;
}

export const PRICING: readonly PricedRoute[] = [
  { id: "article", method: "POST", path: "/api/generate/article", cost: 3 },
  { id: "nutrition-plan", method: "POST", path: "/api/generate/nutrition-plan", cost: 5 },
  { id: "workout-plan", method: "POST", path: "/api/generate/workout-plan", cost: 10 },
  { id: "chat", method: "POST", path: "/api/chat", cost: 1 },
];

/**
 * Test builds only (TOLLGATE_TEST_BUILD=1, next.config.ts): the chat work priced like chat but outside the
 * middleware matcher, so `npm run bench` measures the gate run inside the handler.
 */
export const BENCH_PRICING: readonly PricedRoute[] = [
  { id: "bench-chat", method: "POST", path: "/api/bench/metered", cost: 1 },
];

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
    if (!Number.isSafeInteger(r.cost) || r.cost < 1 || r.cost > 1_000_000) throw new TypeError(`cost of ${r.id} must be a positive whole number`);
    if (!/^[a-z0-9-]{1,40}$/.test(r.id)) throw new TypeError(`route id ${r.id} must be lowercase letters, digits and -`);
    if (!/^(\/[a-z0-9_-]+)+$/.test(r.path)) throw new TypeError(`${r.path} must be a plain path: lowercase segments, no trailing slash`);
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) throw new TypeError(`${key} is priced twice`);
    seen.add(key);
  }
}
