import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import { createRedisEngine, type RunningKvServer, startKvServer } from "../../../lib/kv-server";
import { createKvClient } from "../../../lib/kv-client";
import { checkInvariants, createMetering, readLedger } from "../../../lib/metering";
import { E2E_SECRETS, type E2eContext } from "./context";
import { suiteRedisUrl } from "../../support/redis";
import { freePort } from "../../support/ports";
import { nextBin, waitUntilUp } from "./next-app";

/**
 * The real app, as users run it: `next build` + `next start`, talking to the local KV
 * server on real Redis. A small control server lets tests read the KV server's request
 * counters, inject faults and stop/start it (for the 503 tests) — the app never sees it.
 */
/**
 * The production build under a key namespace named "development": TOLLGATE_ENV names keys
 * and nothing else, so none of development's switches (one-click sign-in, missing-secret
 * defaults) may come with it. tests/e2e/session.test.ts checks that they do not.
 */
export const NAMESPACE = "development";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisUrl = suiteRedisUrl();
  const kvToken = `e2e-${crypto.randomUUID()}`;
  let kv: RunningKvServer = await startKvServer({ port: 0, engine: await createRedisEngine(redisUrl), token: kvToken });
  // Stop and start are idempotent, so a test's cleanup can always ask for a running KV.
  let kvRunning = true;
  const kvPort = kv.port;
  const keyPrefix = `e2e${crypto.randomUUID().slice(0, 8)}`;
  const historyLimit = 1000;
  // Reads a user's ledger straight from the store, in the app's namespace, with no healing
  // or granting on the way (the reliability suites compare ledgers and assert invariants).
  // It only reads, so its timeout is not the app's: a loaded machine must not fail a check.
  const ledgerReader = createMetering(createKvClient({ url: kv.url, token: kvToken, timeoutMs: 10_000 }), {
    namespace: `${keyPrefix}:${NAMESPACE}`, monthlyAllowance: 0, historyLimit, kvTimeoutMs: 10_000, healAfterMs: 50_000,
  });

  const control: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
      if (req.url === "/counters" && req.method === "GET") return send(200, kv.counters);
      if (req.url === "/counters/reset") { kv.resetCounters(); return send(200, {}); }
      if (req.url === "/fault") { kv.setFault(body.fault, body.options); return send(200, {}); }
      if (req.url === "/kv/stop") {
        if (kvRunning) await kv.close();
        kvRunning = false;
        return send(200, {});
      }
      if (req.url === "/ledger") {
        const ledger = await readLedger(ledgerReader.context, String(body.userId), historyLimit);
        const historyComplete = ledger.history.length < historyLimit;
        const { keys: _keys, ...rest } = ledger;
        return send(200, { ledger: rest, historyComplete, problems: checkInvariants(ledger, { historyComplete }) });
      }
      if (req.url === "/kv/start") {
        if (kvRunning) return send(200, {});
        kv = await startKvServer({ port: kvPort, engine: await createRedisEngine(redisUrl), token: kvToken });
        kvRunning = true;
        return send(200, {});
      }
      return send(404, {});
    } catch (error) {
      return send(500, { error: String(error) });
    }
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    TOLLGATE_ENV: NAMESPACE,
    TOLLGATE_KEY_PREFIX: keyPrefix,
    KV_REST_API_URL: kv.url,
    KV_REST_API_TOKEN: kvToken,
    AUTH_JWT_SECRET: E2E_SECRETS.jwt,
    AUTH_JWT_ISSUER: E2E_SECRETS.issuer,
    AUTH_JWT_AUDIENCE: E2E_SECRETS.audience,
    ADMIN_API_TOKEN: E2E_SECRETS.admin,
    CRON_SECRET: E2E_SECRETS.cron,
    TOLLGATE_MONTHLY_ALLOWANCE: "0",
    // 2 s: a loaded CI machine (a whole suite on 2 cores) has kept the store from answering
    // within 1 s, and every such request is a 503; the fault tests' delays are longer still.
    TOLLGATE_KV_TIMEOUT_MS: "2000",
    // Owners retry their voids for healAfterMs/2 − T = 3 s (lib/metering/timing.ts): longer than
    // the 2 s KV outage of tests/e2e/reliability-faults.test.ts, so none of its 503s is charged.
    TOLLGATE_HEAL_AFTER_MS: "10000",
    TOLLGATE_HISTORY_LIMIT: String(historyLimit),
    NEXT_TELEMETRY_DISABLED: "1",
  };
  if (process.env.TOLLGATE_E2E_SKIP_BUILD !== "1") {
    // A test build: the bench routes (/api/bench/metered is the e2e check of the gate run in
    // a handler) and the demo failure flag. Given to the build only: `next start` runs
    // without it, so that they work at all shows the switch is fixed at build time.
    const build = spawnSync(process.execPath, [nextBin(), "build"], { env: { ...env, TOLLGATE_TEST_BUILD: "1" }, stdio: "inherit" });
    if (build.status !== 0) throw new Error("next build failed");
  }
  const port = await freePort();
  const app: ChildProcess = spawn(process.execPath, [nextBin(), "start", "-p", String(port), "-H", "127.0.0.1"], { env: { ...env, TOLLGATE_TEST_BUILD: undefined }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  app.stdout?.on("data", (d) => (log += d));
  app.stderr?.on("data", (d) => (log += d));
  const appUrl = `http://127.0.0.1:${port}`;
  await waitUntilUp(async () => (await fetch(`${appUrl}/api/me`)).status === 401, 60_000, () => log);

  const context: E2eContext = {
    appUrl,
    controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    keyPrefix: env.TOLLGATE_KEY_PREFIX!,
    appEnv: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[0] !== "TOLLGATE_TEST_BUILD")),
  };
  project.provide("e2e", context);
  return async () => {
    app.kill("SIGTERM");
    control.close();
    if (kvRunning) await kv.close().catch(() => undefined);
  };
}
