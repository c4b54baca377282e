import { DEV_JWT_SECRET } from "./auth";
import { type DeploymentEnv, type MeteringOptions, namespaceFor, type RefillPolicy } from "./metering";

/**
 * Every setting Tollgate reads from the environment, in one place (README: Configuration).
 * Reading the environment happens here and nowhere deeper; the metering core and the gate
 * get plain values.
 */
export type Env = Record<string, string | undefined>;

export interface Settings {
  deployment: DeploymentEnv;
  kv: { url: string; token: string; timeoutMs: number };
  metering: Omit<MeteringOptions, "clock">;
  adminApiToken: string | undefined;
  cronSecret: string | undefined;
  topUpUrl: string;
  /** Signs the headers the gate hands to route handlers. */
  gateSecret: string;
  /** Debits of concurrent requests share one transaction (see lib/metering/coalescer.ts). */
  coalesce: boolean;
  /** Development sign-in buttons on the dashboard. Never in production. */
  devSignIn: boolean;
  /** The /api/bench/* routes `npm run bench` measures (TOLLGATE_BENCH=1). */
  benchRoutes: boolean;
}

export const DEV_KV_URL = "http://127.0.0.1:8079";
export const DEV_KV_TOKEN = "tollgate-dev-token";
/** Public and development-only, like DEV_JWT_SECRET: production must set TOLLGATE_GATE_SECRET or AUTH_JWT_SECRET. */
const DEV_GATE_SECRET = "tollgate-dev-only-gate-signing-secret-000";

export class SettingsError extends Error {}

export function deploymentOf(env: Env): DeploymentEnv {
  const explicit = env.TOLLGATE_ENV ?? env.VERCEL_ENV;
  if (explicit !== undefined) {
    if (explicit === "development" || explicit === "preview" || explicit === "production" || explicit === "test") return explicit;
    throw new SettingsError(`TOLLGATE_ENV must be development, preview, production or test (got "${explicit}")`);
  }
  return env.NODE_ENV === "production" ? "production" : "development";
}

export function settingsFromEnv(env: Env): Settings {
  const deployment = deploymentOf(env);
  const production = deployment === "production" || deployment === "preview";
  const kvUrl = env.KV_REST_API_URL ?? (production ? undefined : DEV_KV_URL);
  const kvToken = env.KV_REST_API_TOKEN ?? (production ? undefined : DEV_KV_TOKEN);
  if (!kvUrl || !kvToken) {
    throw new SettingsError("KV_REST_API_URL and KV_REST_API_TOKEN must be set in preview and production (Vercel sets them when a KV store is linked)");
  }
  const gateSecret = env.TOLLGATE_GATE_SECRET ?? env.AUTH_JWT_SECRET ?? (production ? undefined : DEV_GATE_SECRET);
  if (!gateSecret) throw new SettingsError("TOLLGATE_GATE_SECRET (or AUTH_JWT_SECRET) must be set in production");
  if (production && (gateSecret === DEV_GATE_SECRET || gateSecret === DEV_JWT_SECRET)) {
    throw new SettingsError("a development secret cannot be used in production");
  }
  return {
    deployment,
    kv: { url: kvUrl, token: kvToken, timeoutMs: int(env, "TOLLGATE_KV_TIMEOUT_MS", 1500, 50, 30_000) },
    metering: {
      namespace: namespaceFor(deployment, env.TOLLGATE_KEY_PREFIX ?? "tg"),
      monthlyAllowance: int(env, "TOLLGATE_MONTHLY_ALLOWANCE", 100, 0, 1_000_000_000),
      refillPolicy: policy(env.TOLLGATE_REFILL_POLICY),
      seedUsers: {
        "test-user-id": production
          ? int(env, "TOLLGATE_TEST_USER_BALANCE_PRODUCTION", 10, 0, 1_000_000_000)
          : int(env, "TOLLGATE_TEST_USER_BALANCE_DEVELOPMENT", 1000, 0, 1_000_000_000),
      },
      historyLimit: int(env, "TOLLGATE_HISTORY_LIMIT", 100, 1, 10_000),
      kvTimeoutMs: int(env, "TOLLGATE_KV_TIMEOUT_MS", 1500, 50, 30_000),
      healAfterMs: int(env, "TOLLGATE_HEAL_AFTER_MS", 30_000, 1_000, 86_400_000),
    },
    adminApiToken: env.ADMIN_API_TOKEN || undefined,
    cronSecret: env.CRON_SECRET || undefined,
    topUpUrl: env.TOLLGATE_TOPUP_URL ?? "/",
    gateSecret,
    coalesce: env.TOLLGATE_COALESCE !== "0",
    devSignIn: !production && env.TOLLGATE_DEV_SIGNIN !== "0",
    benchRoutes: env.TOLLGATE_BENCH === "1",
  };
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be a whole number between ${min} and ${max} (got "${raw}")`);
  }
  return value;
}

function policy(raw: string | undefined): RefillPolicy {
  if (raw === undefined || raw === "" || raw === "top-up") return "top-up";
  if (raw === "add") return "add";
  throw new SettingsError(`TOLLGATE_REFILL_POLICY must be "top-up" or "add" (got "${raw}")`);
}
