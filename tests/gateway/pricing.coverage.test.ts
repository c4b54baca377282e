import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { isMeteredRoute } from "../../lib/gateway/metered-route";
import { BENCH_PRICING, PRICING } from "../../lib/gateway/pricing";
import { config } from "../../middleware";

/**
 * The pricing table, the middleware matcher and the route files must agree: a priced route
 * whose handler is not wrapped by `metered()` would serve work the gate never charged (or
 * charge and never refund), and a matcher path the table does not know would send
 * requests to a gate that can only refuse them.
 */
const ROOT = resolve(import.meta.dirname, "../..");

/** In the matcher on purpose though unpriced: the benchmark's measure of the hook alone. */
const UNPRICED_IN_MATCHER = new Set(["/api/bench/hook"]);

/** Next's matcher syntax as used here: literal segments and a trailing `:name*`. */
function matcherRegExp(pattern: string): RegExp {
  const source = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\/:\w+\*$/, "(?:/.*)?");
  if (/:\w/.test(source)) throw new Error(`matcher pattern ${pattern} uses syntax this test does not read`);
  return new RegExp(`^${source}$`);
}

const matchers = config.matcher.map((pattern) => ({ pattern, regexp: matcherRegExp(pattern) }));
const priced = [...PRICING, ...BENCH_PRICING];

describe("every priced route is gated, and the matcher names only priced routes", () => {
  it.each(priced.map((route) => [route.id, route] as const))("%s: its handler is wrapped by metered()", async (_id, route) => {
    const file = ["route.ts", "route.bench.ts"].map((name) => resolve(ROOT, `app${route.path}`, name)).find(existsSync);
    expect(file, `no route file for ${route.path}`).toBeDefined();
    const handlers = (await import(file!)) as Record<string, unknown>;
    expect(isMeteredRoute(handlers[route.method]), `${route.method} ${route.path} is not wrapped by metered()`).toBe(true);
  });

  it("each matcher pattern matches a priced route (or is a listed exception)", () => {
    for (const { pattern, regexp } of matchers) {
      if (UNPRICED_IN_MATCHER.has(pattern)) continue;
      expect(priced.some((route) => regexp.test(route.path)), `${pattern} matches no priced route`).toBe(true);
    }
  });

  it("the routes gated at the edge are in the matcher, the bench one is deliberately not", () => {
    const inMatcher = (path: string) => matchers.some(({ regexp }) => regexp.test(path));
    expect(PRICING.filter((route) => !inMatcher(route.path)).map((r) => r.id)).toEqual([]);
    expect(BENCH_PRICING.filter((route) => inMatcher(route.path)).map((r) => r.id)).toEqual([]);
  });
});
