import { type AuthConfig, authConfigFromEnv, MIN_ADMIN_API_TOKEN_LENGTH } from "./auth";
import { isProductionStage, type Stage, stageOf } from "./deployment";
import { LOOPBACK_NAMES } from "./loopback";
import { DEFAULT_KV_TIMEOUT_MS, type DeploymentEnv, MAX_HOLD_DEADLINE_MS, type MeteringOptions, namespaceFor, type RefillPolicy } from "./metering";

/**
 * Every setting Tollgate reads from the environment, in one place (README: Configuration).
 * The environment is read here (`loadSettings`) and in the scripts' entry points, nowhere
 * else in lib/ or app/; the metering core, the verifier and the gate get plain values.
 */
export type Env = Record<string, string | undefined>;

export interface Settings {
  /**
   * The deployment's own kind (lib/deployment.ts): VERCEL_ENV, else NODE_ENV. Never
   * TOLLGATE_ENV. What it allows is already decided below (`devSignIn`, `demoFailures`,
   * `allowedHosts`): nothing else needs to ask.
   */
  stage: Stage;
  kv: { url: string; token: string; timeoutMs: number };
  metering: Omit<MeteringOptions, "clock">;
  /** The token verifier's configuration (AUTH_*), validated. */
  auth: AuthConfig;
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
  /** Development sign-in buttons on the dashboard. Never in production or preview. */
  devSignIn: boolean;
  /** `fail: true` makes the demo handlers fail on purpose (to show refunds): development, or a test build. */
  demoFailures: boolean;
  /** The /api/bench/* routes `npm run bench` measures: only in a test build (TOLLGATE_TEST_BUILD). */
  benchRoutes: boolean;
  /**
   * In development, the host names requests may be addressed to (loopback, the public
   * origin's, TOLLGATE_ALLOWED_HOSTS); a request for any other is refused, which is what
   * stops a DNS-rebinding page from driving the development app (lib/http/allowed-host.ts).
   * Null in a deployment: the platform routes by host.
   */
  allowedHosts: readonly string[] | null;
  /**
   * The origin browsers reach the app at (TOLLGATE_PUBLIC_ORIGIN), e.g. behind a proxy that
   * rewrites the Host or terminates TLS. Writes the session cookie authenticates must come
   * from it, and its scheme decides the cookie's `__Host-` name. Null: each request's own
   * origin (lib/http/same-origin.ts). @default null
   */
  publicOrigin: string | null;
  /**
   * The deadline of every usage-priced route's hold (TOLLGATE_HOLD_DEADLINE_MS), instead of
   * the route's maxDurationSeconds plus a margin (lib/gateway/pricing.ts). For tests that
   * must see a hold expire without waiting a minute. @default null (per route)
   */
  holdDeadlineMs: number | null;
  /** Milliseconds between two words of the demo model's streamed answer (TOLLGATE_DEMO_STREAM_DELAY_MS). @default 15 */
  demoStreamDelayMs: number;
}

/** Where `npm run dev` starts the local KV server. The address is no secret; its token is. */
export const DEV_KV_URL = "http://127.0.0.1:8079";


/**
 * What the build was made for, fixed when `next build` ran: next.config.ts inlines
 * TOLLGATE_TEST_BUILD into the bundles, so a normal production build keeps "0" whatever its
 * run-time environment says. A test build (the benchmark's and the end-to-end suite's)
 * serves the /api/bench/* routes and honours the demo failure flag.
 */
export interface BuildFlags {
  forTests: boolean;
}

export const BUILD: BuildFlags = { forTests: process.env.TOLLGATE_TEST_BUILD === "1" };

export class SettingsError extends Error {}

/** The settings of this process: its environment and its build, read once per call. */
export function loadSettings(): Settings {
  return settingsFromEnv(process.env, BUILD);
}

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

/**
 * The key namespace's name: TOLLGATE_ENV, else the stage. It names keys and nothing else
 * (lib/deployment.ts decides what is production).
 */
export function namespaceEnvOf(env: Env, stage: Stage): DeploymentEnv {
  const named = env.TOLLGATE_ENV?.trim();
  if (named === undefined || named === "") return stage;
  if (named === "development" || named === "preview" || named === "production" || named === "test") return named;
  throw new SettingsError(`TOLLGATE_ENV must be development, preview, production or test (got "${named}")`);
}

export function settingsFromEnv(env: Env, build: BuildFlags = BUILD): Settings {
  let stage: Stage;
  try {
    stage = stageOf(env);
  } catch (error) {
    throw new SettingsError((error as Error).message);
  }
  const production = isProductionStage(stage);
  const kv = kvCredentialsFromEnv(env);
  // Development fills in the local KV server's address (`npm run kv` on another port needs
  // only the URL). Never a token: `npm run dev` hands the app the one it generated.
  const kvUrl = kv.url ?? (production ? undefined : DEV_KV_URL);
  if (!kvUrl || !kv.token) {
    throw new SettingsError(
      !production
        ? `${kv.names?.token ?? KV_REST_API.token} is not set: \`npm run dev\` starts the local KV server and hands the app ` +
            "its token (kept in .tollgate/kv/token), or set the URL and token of a store"
        : kv.names
          ? `${kv.url ? kv.names.token : kv.names.url} must be set with ${kv.url ? kv.names.url : kv.names.token} in preview and production`
          : "KV_REST_API_URL and KV_REST_API_TOKEN (or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN) must be set in " +
            "preview and production (on Vercel, connect an Upstash for Redis store from the Marketplace to the project)",
    );
  }
  const gateSecret = env.TOLLGATE_GATE_SECRET || env.AUTH_JWT_SECRET || undefined;
  if (!gateSecret) {
    throw new SettingsError(
      "TOLLGATE_GATE_SECRET (or AUTH_JWT_SECRET) must be set: it signs what the gate hands to route handlers" +
        (production ? "" : " (`npm run dev` makes a local one)"),
    );
  }
  if (gateSecret.length < 32) {
    throw new SettingsError(`${env.TOLLGATE_GATE_SECRET ? "TOLLGATE_GATE_SECRET" : "AUTH_JWT_SECRET (the gate's secret when TOLLGATE_GATE_SECRET is unset)"} must be at least 32 characters`);
  }
  const gatePreviousSecret = env.TOLLGATE_GATE_SECRET_PREVIOUS || undefined;
  if (gatePreviousSecret !== undefined && gatePreviousSecret.length < 32) {
    throw new SettingsError("TOLLGATE_GATE_SECRET_PREVIOUS must be at least 32 characters");
  }
  const origin = publicOrigin(env.TOLLGATE_PUBLIC_ORIGIN);
  const kvTimeoutMs = int(env, "TOLLGATE_KV_TIMEOUT_MS", DEFAULT_KV_TIMEOUT_MS, 50, 30_000);
  const healAfterMs = int(env, "TOLLGATE_HEAL_AFTER_MS", 30_000, 1_000, 86_400_000);
  if (healAfterMs < 5 * kvTimeoutMs) {
    // The timing assumption (lib/metering/timing.ts): a healer must never act on an
    // operation whose own caller may still be mid-flight.
    throw new SettingsError(`TOLLGATE_HEAL_AFTER_MS must be at least 5 × TOLLGATE_KV_TIMEOUT_MS (${5 * kvTimeoutMs})`);
  }
  const keyPrefix = env.TOLLGATE_KEY_PREFIX || "tg";
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(keyPrefix)) {
    throw new SettingsError(`TOLLGATE_KEY_PREFIX must be 1-32 letters, digits, _ or - (got "${keyPrefix}")`);
  }
  const adminApiToken = secretOrUnset(env, "ADMIN_API_TOKEN", MIN_ADMIN_API_TOKEN_LENGTH);
  const cronSecret = secretOrUnset(env, "CRON_SECRET", MIN_ADMIN_API_TOKEN_LENGTH);
  let auth: AuthConfig;
  try {
    auth = authConfigFromEnv(env, production);
  } catch (error) {
    throw new SettingsError((error as Error).message);
  }
  return {
    stage,
    kv: { url: kvUrl, token: kv.token, timeoutMs: kvTimeoutMs },
    metering: {
      namespace: namespaceFor(namespaceEnvOf(env, stage), keyPrefix),
      monthlyAllowance: int(env, "TOLLGATE_MONTHLY_ALLOWANCE", 100, 0, 1_000_000_000),
      refillPolicy: policy(env.TOLLGATE_REFILL_POLICY),
      seedUsers: {
        "test-user-id": production
          ? int(env, "TOLLGATE_TEST_USER_BALANCE_PRODUCTION", 10, 0, 1_000_000_000)
          : int(env, "TOLLGATE_TEST_USER_BALANCE_DEVELOPMENT", 1000, 0, 1_000_000_000),
      },
      historyLimit: int(env, "TOLLGATE_HISTORY_LIMIT", 100, 1, 10_000),
      kvTimeoutMs,
      healAfterMs,
    },
    auth,
    adminApiToken,
    cronSecret,
    topUpUrl: topUpUrl(env.TOLLGATE_TOPUP_URL),
    gateSecret,
    gatePreviousSecret,
    coalesce: flag(env, "TOLLGATE_COALESCE", true),
    devSignIn: !production && flag(env, "TOLLGATE_DEV_SIGNIN", true),
    demoFailures: !production || build.forTests,
    benchRoutes: build.forTests,
    allowedHosts: stage === "development" ? allowedHosts(env.TOLLGATE_ALLOWED_HOSTS, origin) : null,
    publicOrigin: origin,
    holdDeadlineMs: optionalInt(env, "TOLLGATE_HOLD_DEADLINE_MS", 1_000, MAX_HOLD_DEADLINE_MS),
    demoStreamDelayMs: int(env, "TOLLGATE_DEMO_STREAM_DELAY_MS", 15, 0, 10_000),
  };
}

/** Loopback, the public origin's host, and `TOLLGATE_ALLOWED_HOSTS` (comma-separated names, no ports). */
function allowedHosts(raw: string | undefined, origin: string | null): readonly string[] {
  const named = (raw ?? "").split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "");
  for (const host of named) {
    if (!/^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$/.test(host)) {
      throw new SettingsError(`TOLLGATE_ALLOWED_HOSTS must list host names or [IPv6] addresses, without ports (got "${host}")`);
    }
  }
  const fromOrigin = origin === null ? [] : [new URL(origin).hostname];
  return [...new Set([...LOOPBACK_NAMES, ...fromOrigin, ...named])];
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

/** A secret that may be left out (the feature is then off), but never a short one that would be guessable. */
function secretOrUnset(env: Env, name: string, minLength: number): string | undefined {
  const value = env[name] || undefined;
  if (value !== undefined && value.length < minLength) throw new SettingsError(`${name} must be at least ${minLength} characters (or unset)`);
  return value;
}

/** `1` or `0`; anything else is a typo that must not silently mean either. */
function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "1" || raw === "0") return raw === "1";
  throw new SettingsError(`${name} must be 1 or 0 (got "${raw}")`);
}

/** Where the 402 sends people to buy tokens: a path of this app, or an http(s) URL. */
function topUpUrl(raw: string | undefined): string {
  if (raw === undefined || raw === "") return "/";
  if (raw.startsWith("/") && !raw.startsWith("//")) return raw;
  try {
    const url = new URL(raw);
    if (url.protocol === "https:" || url.protocol === "http:") return url.href;
  } catch {
    // reported below
  }
  throw new SettingsError(`TOLLGATE_TOPUP_URL must be a path like /pricing or an http(s) URL (got "${raw}")`);
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

/** Unset means "not overridden": null, never a made-up default. */
function optionalInt(env: Env, name: string, min: number, max: number): number | null {
  const raw = env[name];
  return raw === undefined || raw === "" ? null : int(env, name, min, min, max);
}

function policy(raw: string | undefined): RefillPolicy {
  if (raw === undefined || raw === "" || raw === "top-up") return "top-up";
  if (raw === "add") return "add";
  throw new SettingsError(`TOLLGATE_REFILL_POLICY must be "top-up" or "add" (got "${raw}")`);
}
