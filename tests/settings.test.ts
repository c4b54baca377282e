import { describe, expect, it } from "vitest";
import { isProductionStage } from "../lib/deployment";
import { LOOPBACK_NAMES } from "../lib/loopback";
import {
  DEV_KV_URL,
  KV_REST_API,
  kvCredentialsFromEnv,
  SettingsError,
  settingsFromEnv,
  UPSTASH_REDIS_REST,
  type Env,
} from "../lib/settings";

/**
 * Which KV credentials the app, `npm run dev` and `npm run kv` take from the environment
 * (README: Configuration). Values are distinct per variable so a test can tell which one
 * was taken, and look like secrets so a test can prove no error message repeats one.
 */
const VALUES = {
  KV_REST_API_URL: "https://vercel-linked.upstash.io",
  KV_REST_API_TOKEN: "secret-kv-token-0123456789",
  KV_REST_API_READ_ONLY_TOKEN: "secret-kv-readonly-0123456789",
  UPSTASH_REDIS_REST_URL: "https://hand-copied.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "secret-upstash-token-0123456789",
} as const;
type Name = keyof typeof VALUES;

function envWith(...names: Name[]): Env {
  return Object.fromEntries(names.map((name) => [name, VALUES[name]]));
}

const GATE_SECRET = "settings-test-gate-secret-0123456789";
const PRODUCTION: Env = { NODE_ENV: "production", TOLLGATE_GATE_SECRET: GATE_SECRET, AUTH_JWT_SECRET: GATE_SECRET };
/** `next dev` as `npm run dev` starts it: the local KV token and a secret in its environment. */
const DEVELOPMENT: Env = { NODE_ENV: "development", KV_REST_API_TOKEN: VALUES.KV_REST_API_TOKEN, AUTH_JWT_SECRET: GATE_SECRET };

function refusal(run: () => unknown): SettingsError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as Error).message;
    for (const value of Object.values(VALUES)) expect(message).not.toContain(value);
    return error as SettingsError;
  }
  throw new Error("expected a SettingsError");
}

describe("kvCredentialsFromEnv: every combination of the two families' URL and token", () => {
  // [KV_REST_API_URL, KV_REST_API_TOKEN, UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN] set or not,
  // and what comes out: the family, the URL and token taken, or the variables a refusal names.
  type Outcome =
    | { family: "KV" | "UPSTASH" | null; url: Name | null; token: Name | null }
    | { refused: [have: Name, missing: Name, stray: Name] };
  const table: [string, Outcome][] = [
    ["0000", { family: null, url: null, token: null }],
    ["0001", { family: "UPSTASH", url: null, token: "UPSTASH_REDIS_REST_TOKEN" }],
    ["0010", { family: "UPSTASH", url: "UPSTASH_REDIS_REST_URL", token: null }],
    ["0011", { family: "UPSTASH", url: "UPSTASH_REDIS_REST_URL", token: "UPSTASH_REDIS_REST_TOKEN" }],
    ["0100", { family: "KV", url: null, token: "KV_REST_API_TOKEN" }],
    // Vercel's family is chosen; with no URL anywhere there is nothing to mix.
    ["0101", { family: "KV", url: null, token: "KV_REST_API_TOKEN" }],
    ["0110", { refused: ["KV_REST_API_TOKEN", "KV_REST_API_URL", "UPSTASH_REDIS_REST_URL"] }],
    ["0111", { refused: ["KV_REST_API_TOKEN", "KV_REST_API_URL", "UPSTASH_REDIS_REST_URL"] }],
    ["1000", { family: "KV", url: "KV_REST_API_URL", token: null }],
    ["1001", { refused: ["KV_REST_API_URL", "KV_REST_API_TOKEN", "UPSTASH_REDIS_REST_TOKEN"] }],
    ["1010", { family: "KV", url: "KV_REST_API_URL", token: null }],
    // A half-set Vercel pair does not fall back to a complete UPSTASH pair: it names another store.
    ["1011", { refused: ["KV_REST_API_URL", "KV_REST_API_TOKEN", "UPSTASH_REDIS_REST_TOKEN"] }],
    ["1100", { family: "KV", url: "KV_REST_API_URL", token: "KV_REST_API_TOKEN" }],
    ["1101", { family: "KV", url: "KV_REST_API_URL", token: "KV_REST_API_TOKEN" }],
    ["1110", { family: "KV", url: "KV_REST_API_URL", token: "KV_REST_API_TOKEN" }],
    ["1111", { family: "KV", url: "KV_REST_API_URL", token: "KV_REST_API_TOKEN" }],
  ];
  const ORDER: Name[] = ["KV_REST_API_URL", "KV_REST_API_TOKEN", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"];

  it("the table covers all 16 combinations", () => {
    expect(new Set(table.map(([bits]) => bits)).size).toBe(16);
  });

  it.each(table)("%s", (bits, outcome) => {
    const env = envWith(...ORDER.filter((_, i) => bits[i] === "1"));
    if ("refused" in outcome) {
      const [have, missing, stray] = outcome.refused;
      const error = refusal(() => kvCredentialsFromEnv(env));
      expect(error.message).toContain(`${have} is set but ${missing} is not, and ${stray} cannot stand in for it`);
      return;
    }
    const credentials = kvCredentialsFromEnv(env);
    const family = { KV: KV_REST_API, UPSTASH: UPSTASH_REDIS_REST, null: null }[String(outcome.family)];
    expect(credentials.names).toBe(family);
    expect(credentials.url).toBe(outcome.url === null ? undefined : VALUES[outcome.url]);
    expect(credentials.token).toBe(outcome.token === null ? undefined : VALUES[outcome.token]);
  });

  it("counts an empty variable as unset (a value cleared in a dashboard)", () => {
    const env = { ...envWith("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"), KV_REST_API_URL: "", KV_REST_API_TOKEN: "" };
    expect(kvCredentialsFromEnv(env)).toMatchObject({ names: UPSTASH_REDIS_REST, url: VALUES.UPSTASH_REDIS_REST_URL });
    expect(() => kvCredentialsFromEnv({ ...envWith("KV_REST_API_URL"), KV_REST_API_TOKEN: "", UPSTASH_REDIS_REST_TOKEN: "x" })).toThrow(
      /KV_REST_API_URL is set but KV_REST_API_TOKEN is not/,
    );
  });
});

describe("kvCredentialsFromEnv: the read-only token", () => {
  it("comes with Vercel's pair", () => {
    const env = envWith("KV_REST_API_URL", "KV_REST_API_TOKEN", "KV_REST_API_READ_ONLY_TOKEN");
    expect(kvCredentialsFromEnv(env).readOnlyToken).toBe(VALUES.KV_REST_API_READ_ONLY_TOKEN);
  });

  it("is read with nothing else set (the local KV server decides what it means)", () => {
    expect(kvCredentialsFromEnv(envWith("KV_REST_API_READ_ONLY_TOKEN"))).toEqual({
      names: null, url: undefined, token: undefined, readOnlyToken: VALUES.KV_REST_API_READ_ONLY_TOKEN,
    });
  });

  it("is refused next to an UPSTASH pair (Upstash names no read-only variable; this one is another store's)", () => {
    for (const upstash of [["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"], ["UPSTASH_REDIS_REST_TOKEN"]] as Name[][]) {
      const error = refusal(() => kvCredentialsFromEnv(envWith("KV_REST_API_READ_ONLY_TOKEN", ...upstash)));
      expect(error.message).toMatch(/^KV_REST_API_READ_ONLY_TOKEN is set with UPSTASH_REDIS_REST_URL\/UPSTASH_REDIS_REST_TOKEN/);
    }
  });
});

describe("settingsFromEnv: KV credentials", () => {
  it("takes either family in production, Vercel's first", () => {
    expect(settingsFromEnv({ ...PRODUCTION, ...envWith("KV_REST_API_URL", "KV_REST_API_TOKEN") }).kv).toMatchObject({
      url: VALUES.KV_REST_API_URL, token: VALUES.KV_REST_API_TOKEN,
    });
    expect(settingsFromEnv({ ...PRODUCTION, ...envWith("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN") }).kv).toMatchObject({
      url: VALUES.UPSTASH_REDIS_REST_URL, token: VALUES.UPSTASH_REDIS_REST_TOKEN,
    });
    const both = envWith("KV_REST_API_URL", "KV_REST_API_TOKEN", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN");
    expect(settingsFromEnv({ ...PRODUCTION, ...both }).kv).toMatchObject({ url: VALUES.KV_REST_API_URL, token: VALUES.KV_REST_API_TOKEN });
  });

  it.each(["production", "preview"])("refuses %s with no credentials, naming both families and the Marketplace", (deployment) => {
    const error = refusal(() => settingsFromEnv({ ...PRODUCTION, VERCEL_ENV: deployment }));
    expect(error.message).toContain("KV_REST_API_URL and KV_REST_API_TOKEN (or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN)");
    expect(error.message).toContain("Marketplace");
  });

  it.each([
    [["KV_REST_API_URL"], "KV_REST_API_TOKEN must be set with KV_REST_API_URL"],
    [["KV_REST_API_TOKEN"], "KV_REST_API_URL must be set with KV_REST_API_TOKEN"],
    [["UPSTASH_REDIS_REST_URL"], "UPSTASH_REDIS_REST_TOKEN must be set with UPSTASH_REDIS_REST_URL"],
    [["UPSTASH_REDIS_REST_TOKEN"], "UPSTASH_REDIS_REST_URL must be set with UPSTASH_REDIS_REST_TOKEN"],
  ] as [Name[], string][])("refuses half a pair in production: %j", (names, message) => {
    expect(refusal(() => settingsFromEnv({ ...PRODUCTION, ...envWith(...names) })).message).toMatch(new RegExp(`^${message}`));
  });

  it("refuses a mixed pair in production and in development alike", () => {
    for (const deployment of ["production", "development"]) {
      const env = { ...PRODUCTION, NODE_ENV: deployment, ...envWith("KV_REST_API_URL", "UPSTASH_REDIS_REST_TOKEN") };
      expect(refusal(() => settingsFromEnv(env)).message).toContain("UPSTASH_REDIS_REST_TOKEN cannot stand in for it");
    }
  });

  it("fills in the local KV server's URL in development, never a token", () => {
    const development: Env = { NODE_ENV: "development", AUTH_JWT_SECRET: GATE_SECRET };
    expect(settingsFromEnv({ ...development, ...envWith("KV_REST_API_TOKEN") }).kv).toMatchObject({
      url: DEV_KV_URL, token: VALUES.KV_REST_API_TOKEN,
    });
    expect(settingsFromEnv({ ...development, ...envWith("UPSTASH_REDIS_REST_TOKEN") }).kv).toMatchObject({
      url: DEV_KV_URL, token: VALUES.UPSTASH_REDIS_REST_TOKEN,
    });
    for (const env of [development, { ...development, ...envWith("UPSTASH_REDIS_REST_URL") }]) {
      expect(refusal(() => settingsFromEnv(env)).message).toMatch(/_TOKEN is not set: `npm run dev` starts the local KV server/);
    }
  });
});

describe("settingsFromEnv: TOLLGATE_PUBLIC_ORIGIN", () => {
  const dev: Env = DEVELOPMENT;

  it("is unset by default: each request's own origin counts", () => {
    expect(settingsFromEnv(dev).publicOrigin).toBeNull();
    expect(settingsFromEnv({ ...dev, TOLLGATE_PUBLIC_ORIGIN: "" }).publicOrigin).toBeNull();
  });

  it("keeps an origin in its serialised form (lowercase host, no default port, no slash)", () => {
    expect(settingsFromEnv({ ...dev, TOLLGATE_PUBLIC_ORIGIN: "https://App.Example.com/" }).publicOrigin).toBe("https://app.example.com");
    expect(settingsFromEnv({ ...dev, TOLLGATE_PUBLIC_ORIGIN: "https://app.example.com:443" }).publicOrigin).toBe("https://app.example.com");
    expect(settingsFromEnv({ ...dev, TOLLGATE_PUBLIC_ORIGIN: "http://localhost:3000" }).publicOrigin).toBe("http://localhost:3000");
  });

  it.each(["app.example.com", "ftp://app.example.com", "https://app.example.com/app", "https://u:p@app.example.com", "https://app.example.com/?x=1", "https://"])(
    "refuses %s: an origin is a scheme and a host, nothing more",
    (raw) => {
      expect(() => settingsFromEnv({ ...dev, TOLLGATE_PUBLIC_ORIGIN: raw })).toThrow(/TOLLGATE_PUBLIC_ORIGIN/);
    },
  );
});

describe("settingsFromEnv: the gate's previous secret", () => {
  const production = { ...PRODUCTION, ...envWith("KV_REST_API_URL", "KV_REST_API_TOKEN") };

  it("is unset by default, and read from TOLLGATE_GATE_SECRET_PREVIOUS for verifying passes during a rotation", () => {
    expect(settingsFromEnv(production).gatePreviousSecret).toBeUndefined();
    expect(settingsFromEnv({ ...production, TOLLGATE_GATE_SECRET_PREVIOUS: "" }).gatePreviousSecret).toBeUndefined();
    const previous = "settings-test-old-gate-secret-0123456789";
    expect(settingsFromEnv({ ...production, TOLLGATE_GATE_SECRET_PREVIOUS: previous }).gatePreviousSecret).toBe(previous);
  });

  it("refuses a short one without repeating it", () => {
    const short = "secret-but-short";
    const error = refusal(() => settingsFromEnv({ ...production, TOLLGATE_GATE_SECRET_PREVIOUS: short }));
    expect(error.message).toContain("TOLLGATE_GATE_SECRET_PREVIOUS must be at least 32 characters");
    expect(error.message).not.toContain(short);
  });
});

describe("settingsFromEnv: the gate's secret has no default, in development either", () => {
  it("takes TOLLGATE_GATE_SECRET, else AUTH_JWT_SECRET, and refuses neither being set, or a short one", () => {
    const base: Env = { NODE_ENV: "development", ...envWith("KV_REST_API_TOKEN") };
    expect(settingsFromEnv({ ...base, AUTH_JWT_SECRET: GATE_SECRET }).gateSecret).toBe(GATE_SECRET);
    expect(settingsFromEnv({ ...base, AUTH_JWT_SECRET: GATE_SECRET, TOLLGATE_GATE_SECRET: `${GATE_SECRET}-own` }).gateSecret).toBe(`${GATE_SECRET}-own`);
    expect(refusal(() => settingsFromEnv(base)).message).toMatch(/TOLLGATE_GATE_SECRET \(or AUTH_JWT_SECRET\) must be set.*npm run dev/);
    expect(refusal(() => settingsFromEnv({ ...base, TOLLGATE_GATE_SECRET: "short" })).message).toContain("at least 32 characters");
  });
});

describe("settingsFromEnv: development switches follow the deployment, not TOLLGATE_ENV", () => {
  const deployed: Env = { ...PRODUCTION, ...envWith("KV_REST_API_URL", "KV_REST_API_TOKEN") };

  it.each([
    ["NODE_ENV=production", { NODE_ENV: "production" }],
    ["VERCEL_ENV=production", { VERCEL_ENV: "production", NODE_ENV: "development" }],
    ["VERCEL_ENV=preview", { VERCEL_ENV: "preview" }],
  ])("%s with TOLLGATE_ENV=development: development's keys, none of its switches", (_label, stage) => {
    const settings = settingsFromEnv({ ...deployed, ...stage, TOLLGATE_ENV: "development" });
    expect(isProductionStage(settings.stage)).toBe(true);
    expect(settings.metering.namespace).toBe("tg:development");
    expect(settings).toMatchObject({ devSignIn: false, demoFailures: false, benchRoutes: false, allowedHosts: null });
    expect(settings.metering.seedUsers).toEqual({ "test-user-id": 10 });
  });

  it("development, as `next dev` runs: the switches on, foreign hosts refused, TOLLGATE_ENV naming the keys only", () => {
    const settings = settingsFromEnv({ ...DEVELOPMENT, TOLLGATE_ENV: "production" });
    expect(settings).toMatchObject({ stage: "development", devSignIn: true, demoFailures: true, benchRoutes: false });
    expect(settings.allowedHosts).toEqual(LOOPBACK_NAMES);
    expect(settings.metering.namespace).toBe("tg:production");
    expect(settings.metering.seedUsers).toEqual({ "test-user-id": 1000 });
  });

  it("the bench routes and the failure flag come from the build, never from the run-time environment", () => {
    const runtimeAsks = { ...deployed, TOLLGATE_TEST_BUILD: "1", TOLLGATE_BENCH: "1" };
    expect(settingsFromEnv(runtimeAsks, { forTests: false })).toMatchObject({ benchRoutes: false, demoFailures: false });
    expect(settingsFromEnv(deployed, { forTests: true })).toMatchObject({ benchRoutes: true, demoFailures: true, devSignIn: false });
  });

  it("TOLLGATE_ALLOWED_HOSTS and the public origin add names in development; a port or a path is refused", () => {
    const settings = settingsFromEnv({ ...DEVELOPMENT, TOLLGATE_ALLOWED_HOSTS: "Laptop.Local, 192.168.1.5,[fd00::1]", TOLLGATE_PUBLIC_ORIGIN: "https://dev.example.test" });
    expect(settings.allowedHosts).toEqual([...LOOPBACK_NAMES, "dev.example.test", "laptop.local", "192.168.1.5", "[fd00::1]"]);
    for (const bad of ["laptop.local:3000", "evil.test/x", "a@b"]) {
      expect(refusal(() => settingsFromEnv({ ...DEVELOPMENT, TOLLGATE_ALLOWED_HOSTS: bad })).message).toContain("TOLLGATE_ALLOWED_HOSTS");
    }
  });
});

/**
 * Every variable the app reads (README: Configuration), its default, a value it takes, and
 * a value it refuses (a SettingsError naming it, at start-up: instrumentation.ts exits).
 * A deployment with everything required set is the base; each row changes one variable.
 */
describe("settingsFromEnv: every variable, its default and its refusal", () => {
  const BASE: Env = {
    NODE_ENV: "production", KV_REST_API_URL: VALUES.KV_REST_API_URL, KV_REST_API_TOKEN: VALUES.KV_REST_API_TOKEN,
    AUTH_JWT_SECRET: GATE_SECRET,
  };
  const read = (extra: Env) => settingsFromEnv({ ...BASE, ...extra }, { forTests: false });
  type Row = [name: string, pick: (s: ReturnType<typeof read>) => unknown, fallback: unknown, good: [string, unknown] | null, bad: string | null];
  const rows: Row[] = [
    ["TOLLGATE_ENV", (s) => s.metering.namespace, "tg:production", ["test", "tg:test"], "staging"],
    ["TOLLGATE_KEY_PREFIX", (s) => s.metering.namespace, "tg:production", ["acme", "acme:production"], "a:b"],
    ["TOLLGATE_MONTHLY_ALLOWANCE", (s) => s.metering.monthlyAllowance, 100, ["0", 0], "lots"],
    ["TOLLGATE_REFILL_POLICY", (s) => s.metering.refillPolicy, "top-up", ["add", "add"], "rollover"],
    ["TOLLGATE_TEST_USER_BALANCE_PRODUCTION", (s) => s.metering.seedUsers, { "test-user-id": 10 }, ["25", { "test-user-id": 25 }], "-1"],
    ["TOLLGATE_HISTORY_LIMIT", (s) => s.metering.historyLimit, 100, ["500", 500], "0"],
    ["TOLLGATE_KV_TIMEOUT_MS", (s) => [s.kv.timeoutMs, s.metering.kvTimeoutMs], [1500, 1500], ["1000", [1000, 1000]], "10"],
    ["TOLLGATE_HEAL_AFTER_MS", (s) => s.metering.healAfterMs, 30_000, ["60000", 60_000], "7000"],
    ["TOLLGATE_COALESCE", (s) => s.coalesce, true, ["0", false], "false"],
    ["TOLLGATE_HOLD_DEADLINE_MS", (s) => s.holdDeadlineMs, null, ["5000", 5000], "500"],
    ["TOLLGATE_DEMO_STREAM_DELAY_MS", (s) => s.demoStreamDelayMs, 15, ["0", 0], "-1"],
    ["TOLLGATE_GATE_SECRET", (s) => s.gateSecret, GATE_SECRET, [`${GATE_SECRET}-own`, `${GATE_SECRET}-own`], "short"],
    ["TOLLGATE_GATE_SECRET_PREVIOUS", (s) => s.gatePreviousSecret, undefined, [`${GATE_SECRET}-old`, `${GATE_SECRET}-old`], "short"],
    ["TOLLGATE_TOPUP_URL", (s) => s.topUpUrl, "/", ["https://shop.example.com/tokens", "https://shop.example.com/tokens"], "javascript:alert(1)"],
    ["TOLLGATE_PUBLIC_ORIGIN", (s) => s.publicOrigin, null, ["https://app.example.com", "https://app.example.com"], "app.example.com"],
    ["ADMIN_API_TOKEN", (s) => s.adminApiToken, undefined, ["admin-token-0123456789", "admin-token-0123456789"], "short"],
    ["CRON_SECRET", (s) => s.cronSecret, undefined, ["cron-secret-0123456789", "cron-secret-0123456789"], "short"],
    ["AUTH_JWT_ISSUER", (s) => s.auth.issuer, undefined, ["https://idp.example.com/", "https://idp.example.com/"], null],
    ["AUTH_JWT_AUDIENCE", (s) => s.auth.audience, undefined, ["tollgate", "tollgate"], null],
    ["AUTH_JWT_ALGORITHMS", (s) => s.auth.algorithms, ["HS256"], ["HS512", ["HS512"]], "none"],
    ["AUTH_ADMIN_CLAIM", (s) => s.auth.adminClaim, null, ["groups=ops", { claim: "groups", value: "ops", acceptTrue: false }], "=ops"],
    ["AUTH_CLOCK_TOLERANCE", (s) => s.auth.clockToleranceSeconds, 5, ["30", 30], "forever"],
    ["AUTH_JWT_SECRET", (s) => s.auth.secret?.length, GATE_SECRET.length, null, "too-short-secret"],
    ["AUTH_JWKS_URL", (s) => s.auth.jwks, undefined, null, "http://idp.example.com/jwks.json"],
    ["VERCEL_ENV", (s) => s.stage, "production", ["preview", "preview"], "staging"],
  ];

  it.each(rows)("%s", (name, pick, fallback, good, bad) => {
    expect(pick(read({}))).toEqual(fallback);
    if (good !== null) expect(pick(read({ [name]: good[0] }))).toEqual(good[1]);
    if (bad !== null) {
      const error = refusal(() => read({ [name]: bad }));
      expect(error.message).toContain(name);
    }
  });

  it("development-only variables: read in development, ignored (or refused) in a deployment", () => {
    const dev = { ...BASE, NODE_ENV: "development" };
    expect(settingsFromEnv({ ...dev, TOLLGATE_TEST_USER_BALANCE_DEVELOPMENT: "7" }).metering.seedUsers).toEqual({ "test-user-id": 7 });
    expect(settingsFromEnv(dev).metering.seedUsers).toEqual({ "test-user-id": 1000 });
    expect(settingsFromEnv({ ...dev, TOLLGATE_DEV_SIGNIN: "0" }).devSignIn).toBe(false);
    expect(refusal(() => settingsFromEnv({ ...dev, TOLLGATE_DEV_SIGNIN: "no" })).message).toContain("TOLLGATE_DEV_SIGNIN");
    expect(read({ TOLLGATE_DEV_SIGNIN: "1" }).devSignIn).toBe(false);
    expect(read({ TOLLGATE_ALLOWED_HOSTS: "laptop.local" }).allowedHosts).toBeNull();
  });

  it("refusals name the variable, never a secret's value", () => {
    for (const [name, value] of [["TOLLGATE_GATE_SECRET", "short-secret-value"], ["ADMIN_API_TOKEN", "short-admin"], ["AUTH_JWT_SECRET", "short-jwt-secret"]]) {
      const error = refusal(() => read({ [name!]: value! }));
      expect(error.message).toContain(name!);
      expect(error.message).not.toContain(value!);
    }
  });
});
