import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mintToken } from "../../lib/auth";
import { freePort, ROOT, StopWaiting, stopChild, waitFor } from "./processes";

/** Secrets for the app the benchmark and the soak start; loopback only, never deployed. */
export const BENCH_SECRETS = {
  jwt: "bench-jwt-secret-0123456789abcdef0123456789abcdef",
  admin: "bench-admin-token-0123456789abcdef",
} as const;

const NEXT_BIN = `${ROOT}node_modules/next/dist/bin/next`;

export interface AppOptions {
  kvUrl: string;
  kvToken: string;
  /** Extra or overriding environment variables. */
  env?: Record<string, string>;
  /** Node flags for the app process, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export interface RunningApp {
  url: string;
  pid: number;
  keyPrefix: string;
  /** The key namespace the app's metering uses (`<prefix>:test`). */
  namespace: string;
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** `next build`, as CI and the e2e setup run it. */
export function buildApp(): void {
  const result = spawnSync(process.execPath, [NEXT_BIN, "build"], {
    cwd: ROOT, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production", TOLLGATE_TEST_BUILD: "1" },
  });
  if (result.status !== 0) throw new Error("next build failed");
}

/**
 * `next start` on a free loopback port, configured like the e2e setup: the test
 * deployment namespace under a unique prefix, no monthly allowance, an admin token. The
 * bench routes are there because `buildApp` made a test build (TOLLGATE_TEST_BUILD=1).
 */
export async function startApp(options: AppOptions): Promise<RunningApp> {
  const port = await freePort();
  const keyPrefix = `bench${crypto.randomUUID().slice(0, 8)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    TOLLGATE_ENV: "test",
    TOLLGATE_KEY_PREFIX: keyPrefix,
    TOLLGATE_MONTHLY_ALLOWANCE: "0",
    KV_REST_API_URL: options.kvUrl,
    KV_REST_API_TOKEN: options.kvToken,
    AUTH_JWT_SECRET: BENCH_SECRETS.jwt,
    ADMIN_API_TOKEN: BENCH_SECRETS.admin,
    ...options.env,
  };
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), NEXT_BIN, "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const keep = (d: Buffer) => {
    log += d.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new StopWaiting(`next start exited with ${child.exitCode}`);
    return (await fetch(`${url}/api/me`)).status === 401;
  }, 60_000, () => `the app did not start:\n${log}`);
  return {
    url, pid: child.pid!, keyPrefix, namespace: `${keyPrefix}:test`, child,
    log: () => log,
    stop: () => stopChild(child),
  };
}

export function userToken(userId: string, ttlSeconds = 3600): Promise<string> {
  return mintToken({ sub: userId, secret: BENCH_SECRETS.jwt, ttlSeconds });
}

/** An admin top-up through the app's own API (so grants, claims and history are the real ones). */
export async function topUp(app: Pick<RunningApp, "url">, userId: string, amount: number): Promise<number> {
  const res = await fetch(`${app.url}/api/admin/users/${encodeURIComponent(userId)}/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${BENCH_SECRETS.admin}`, "content-type": "application/json" },
    body: JSON.stringify({ amount, reason: "bench" }),
  });
  if (res.status !== 201) throw new Error(`top-up failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { balance: number }).balance;
}

export async function balanceOf(app: Pick<RunningApp, "url">, userId: string): Promise<{ balance: number; pending: number }> {
  const res = await fetch(`${app.url}/api/admin/users/${encodeURIComponent(userId)}`, { headers: { authorization: `Bearer ${BENCH_SECRETS.admin}` } });
  if (res.status !== 200) throw new Error(`reading ${userId} failed: ${res.status}`);
  return (await res.json()) as { balance: number; pending: number };
}
