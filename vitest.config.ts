import { defineConfig } from "vitest/config";

// `@vercel/kv` reads these when vitest's interop touches its lazy `kv` proxy at import time;
// every test builds its own client against the local KV server, so placeholders suffice.
const env = {
  KV_REST_API_URL: "http://127.0.0.1:1",
  KV_REST_API_TOKEN: "vitest-placeholder",
};

// Code that must run unchanged on the Edge runtime is tested twice: in Node and in
// @edge-runtime/vm. Tests that need Node (child processes, servers) are named *.node.test.ts.
const EDGE_TESTED = [
  "tests/metering/**/*.test.ts",
  "tests/auth/**/*.test.ts",
  "tests/http/**/*.test.ts",
  "tests/gateway/**/*.test.ts",
  "tests/generation/**/*.test.ts",
];

// The app's own import alias (tsconfig.json "paths"), for tests that load route modules.
const resolve = { alias: { "@": new URL(".", import.meta.url).pathname.replace(/\/$/, "") } };

export default defineConfig({
  test: {
    reporters: ["default", "./tests/support/summary-reporter.ts"],
    projects: [
      {
        resolve,
        test: {
          name: "node",
          environment: "node",
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          env,
          // .tsx: the app's components rendered to markup (tests/app).
          include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
          exclude: ["tests/e2e/**", "tests/browser/**", "**/node_modules/**"],
        },
      },
      {
        resolve,
        test: {
          name: "edge",
          environment: "edge-runtime",
          globalSetup: ["tests/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          env,
          include: EDGE_TESTED,
          exclude: ["**/*.node.test.ts", "**/node_modules/**"],
        },
      },
      {
        resolve,
        test: {
          name: "e2e",
          environment: "node",
          globalSetup: ["tests/e2e/support/global-setup.ts"],
          env,
          include: ["tests/e2e/**/*.test.ts", "tests/browser/**/*.test.ts"],
          // One built app serves every end-to-end file; running them one at a time keeps
          // load tests from skewing each other on a 2-core machine.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
