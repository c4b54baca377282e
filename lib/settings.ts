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
  /** Signs the headers the gate hands to route handlers (the key is derived from it). */
  gateSecret: string;
  /**
   * Also accepted when verifying those headers, never for signing: the secret being
   * rotated out, so passes signed with it just before a rotation are not refused.
   */
  gatePreviousSecret: string | undefined;
  /** Debits of concurrent requests share one transaction (see lib/metering/coalescer.ts). */
  coalesce: boolean;
  /** Development sign-in buttons on the dashboard. Never in production. */
  devSignIn: boolean;
  /** The /api/bench/* routes `npm run bench` measures (TOLLGATE_BENCH=1). */
  benchRoutes: boolean;
  /**
   * The origin browsers reach the app at (TOLLGATE_PUBLIC_ORIGIN), e.g. behind a proxy that
   * rewrites the Host or terminates TLS. Writes the session cookie authenticates must come
   * from it, and its scheme decides the cookie's `__Host-` name. Null: each request's own
   * origin (lib/http/same-origin.ts). @default null
   */
  publicOrigin: string | null;
}

export const DEV_KV_URL = "http://127.0.0.1:8079";
export const DEV_KV_TOKEN = "tollgate-dev-token";
/** Public and development-only, like DEV_JWT_SECRET: production must set TOLLGATE_GATE_SECRET or AUTH_JWT_SECRET. */
const DEV_GATE_SECRET = "tollgate-dev-only-gate-signing-secret-000";

export class SettingsError extends Error {}

/**
 * The two names the same Upstash REST credentials go by. The Upstash integration from the
 * Vercel Marketplace (which replaced Vercel KV) injects the `KV_REST_API_*` family for the
 * store linked to the project; Upstash's console and `Redis.fromEnv()` use
 * `UPSTASH_REDIS_REST_*`. Upstash names no read-only token variable (its SDK reads only the
 * URL and the token, its console shows the token without a variable name), so only the
 * Vercel family has one; it matters only to the local KV server.
 */
export interface KvCredentialNames {
  url: string;
  token: string;
  readOnlyToken: string | undefined;
}

export const KV_REST_API = {
  url: "KV_REST_API_URL",
  token: "KV_REST_API_TOKEN",
  readOnlyToken: "KV_REST_API_READ_ONLY_TOKEN",
} as const satisfies KvCredentialNames;
export const UPSTASH_REDIS_REST = {
  url: "UPSTASH_REDIS_REST_URL",
  token: "UPSTASH_REDIS_REST_TOKEN",
  readOnlyToken: undefined,
} as const satisfies KvCredentialNames;

export interface KvCredentials {
  /** The family the values came from; null when neither family's URL or token is set. */
  names: KvCredentialNames | null;
  url: string | undefined;
  token: string | undefined;
  readOnlyToken: string | undefined;
}

/**
 * The KV credentials in the environment, from ONE family: `KV_REST_API_*` when its URL or
 * token is set, else `UPSTASH_REDIS_REST_*`. Vercel's family comes first because Vercel
 * writes it for the store actually linked to the deployment (and rewrites it when the
 * store is relinked or its token rotated); an `UPSTASH_REDIS_REST_*` pair is typically
 * pasted by hand and can outlive the store it was copied from. `Redis.fromEnv()` prefers
 * UPSTASH and falls back per variable; Tollgate does neither.
 *
 * A URL from one family and a token from the other is refused: the two families are two
 * names for two (possibly different) stores, and a token sent to another store's URL is
 * a 401 at best and a leaked credential at worst. Missing values stay undefined: whether
 * a development default applies is the caller's decision. Empty values count as unset (a
 * variable cleared in a dashboard is often left as ""). Errors name variables, never
 * values.
 */
export function kvCredentialsFromEnv(env: Env): KvCredentials {
  const read = (name: string) => env[name] || undefined;
  const uses = (family: KvCredentialNames) => read(family.url) !== undefined || read(family.token) !== undefined;
  const names: KvCredentialNames | null = uses(KV_REST_API) ? KV_REST_API : uses(UPSTASH_REDIS_REST) ? UPSTASH_REDIS_REST : null;
  const url = names ? read(names.url) : undefined;
  const token = names ? read(names.token) : undefined;
  if (names) {
    const other = names === KV_REST_API ? UPSTASH_REDIS_REST : KV_REST_API;
    const mixed = (have: string, missing: string, stray: string) =>
      new SettingsError(
        `${have} is set but ${missing} is not, and ${stray} cannot stand in for it: the URL and the token must ` +
          `both be KV_REST_API_* or both UPSTASH_REDIS_REST_* (a mixed pair usually means two different stores)`,
      );
    if (url === undefined && read(other.url) !== undefined) throw mixed(names.token, names.url, other.url);
    if (token === undefined && read(other.token) !== undefined) throw mixed(names.url, names.token, other.token);
  }
  // The only read-only variable is Vercel's; next to an UPSTASH pair it belongs to another store.
  const readOnly = read(KV_REST_API.readOnlyToken);
  if (readOnly !== undefined && names === UPSTASH_REDIS_REST) {
    throw new SettingsError(
      `${KV_REST_API.readOnlyToken} is set with ${UPSTASH_REDIS_REST.url}/${UPSTASH_REDIS_REST.token}: ` +
        `use KV_REST_API_URL and KV_REST_API_TOKEN with it, or unset it (a mixed set usually means two different stores)`,
    );
  }
  return { names, url, token, readOnlyToken: readOnly };
}

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
  const kv = kvCredentialsFromEnv(env);
  // Development fills in what is missing with the local KV server's address and token
  // (`npm run kv` on another port needs only the URL; `npm run dev` starts one with the token).
  const kvUrl = kv.url ?? (production ? undefined : DEV_KV_URL);
  const kvToken = kv.token ?? (production ? undefined : DEV_KV_TOKEN);
  if (!kvUrl || !kvToken) {
    throw new SettingsError(
      kv.names
        ? `${kv.url ? kv.names.token : kv.names.url} must be set with ${kv.url ? kv.names.url : kv.names.token} in preview and production`
        : "KV_REST_API_URL and KV_REST_API_TOKEN (or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN) must be set in " +
            "preview and production (on Vercel, connect an Upstash for Redis store from the Marketplace to the project)",
    );
  }
  const gateSecret = env.TOLLGATE_GATE_SECRET ?? env.AUTH_JWT_SECRET ?? (production ? undefined : DEV_GATE_SECRET);
  if (!gateSecret) throw new SettingsError("TOLLGATE_GATE_SECRET (or AUTH_JWT_SECRET) must be set in production");
  if (production && (gateSecret === DEV_GATE_SECRET || gateSecret === DEV_JWT_SECRET)) {
    throw new SettingsError("a development secret cannot be used in production");
  }
  const gatePreviousSecret = env.TOLLGATE_GATE_SECRET_PREVIOUS || undefined;
  if (gatePreviousSecret !== undefined && gatePreviousSecret.length < 32) {
    throw new SettingsError("TOLLGATE_GATE_SECRET_PREVIOUS must be at least 32 characters");
  }
  if (production && (gatePreviousSecret === DEV_GATE_SECRET || gatePreviousSecret === DEV_JWT_SECRET)) {
    throw new SettingsError("a development secret cannot be used in production (TOLLGATE_GATE_SECRET_PREVIOUS)");
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
    gatePreviousSecret,
    coalesce: env.TOLLGATE_COALESCE !== "0",
    devSignIn: !production && env.TOLLGATE_DEV_SIGNIN !== "0",
    benchRoutes: env.TOLLGATE_BENCH === "1",
    publicOrigin: publicOrigin(env.TOLLGATE_PUBLIC_ORIGIN),
  };
}

/** `https://app.example.com` (a port is allowed): a scheme and a host, nothing after them. */
function publicOrigin(raw: string | undefined): string | null {
  if (raw === undefined || raw === "") return null;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  const plain = url !== null && (url.protocol === "https:" || url.protocol === "http:")
    && url.username === "" && url.password === "" && url.pathname === "/" && url.search === "" && url.hash === "";
  if (url === null || !plain) {
    throw new SettingsError(`TOLLGATE_PUBLIC_ORIGIN must be an origin like https://app.example.com, with no path, query or credentials (got "${raw}")`);
  }
  return url.origin;
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
