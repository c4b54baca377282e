import type { NextConfig } from "next";

/**
 * `TOLLGATE_TEST_BUILD=1 next build` makes the build the benchmark and the end-to-end suite
 * run: it adds the /api/bench/* routes (files named `route.bench.ts`, which a normal build
 * does not see as routes at all) and honours the demo failure flag. The switch is read
 * here, when the app is built, and inlined into the bundles (lib/settings.ts `BUILD`): a
 * normal production build never serves those routes, whatever its run-time environment says.
 */
export function nextConfigFor(env: Record<string, string | undefined>): NextConfig {
  const forTests = env.TOLLGATE_TEST_BUILD === "1";
  return {
    poweredByHeader: false,
    typescript: { tsconfigPath: "tsconfig.app.json" },
    reactStrictMode: true,
    pageExtensions: forTests ? ["bench.ts", "tsx", "ts"] : ["tsx", "ts"],
    env: { TOLLGATE_TEST_BUILD: forTests ? "1" : "0" },
  };
}

export default nextConfigFor(process.env);
