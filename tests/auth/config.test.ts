import { createLocalJWKSet } from "jose";
import { describe, expect, it } from "vitest";
import { authConfigFromEnv, createAuthConfig } from "../../lib/auth";
import { AUDIENCE, ISSUER, SECRET } from "./helpers";

const JWKS_URL = "https://idp.test/.well-known/jwks.json";

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error("expected a TypeError");
}

describe("authConfigFromEnv", () => {
  it.each(["development", "test", "production"])("with neither secret nor JWKS, throws a TypeError naming both settings (NODE_ENV=%s: no default key, ever)", (nodeEnv) => {
    const message = messageOf(() => authConfigFromEnv({ NODE_ENV: nodeEnv }));
    expect(message).toContain("AUTH_JWT_SECRET");
    expect(message).toContain("AUTH_JWKS_URL");
    expect(message).toContain("npm run dev");
  });

  it("with a JWKS only, has no secret and trusts the IdP's algorithms", () => {
    const config = authConfigFromEnv({ NODE_ENV: "development", AUTH_JWKS_URL: JWKS_URL });
    expect(config.secret).toBeUndefined();
    expect(config.algorithms).toEqual(["RS256", "ES256", "EdDSA", "Ed25519"]);
  });

  it("decides production by the deployment, never by TOLLGATE_ENV", () => {
    expect(authConfigFromEnv({ NODE_ENV: "production", TOLLGATE_ENV: "development", AUTH_JWT_SECRET: SECRET }).production).toBe(true);
    expect(authConfigFromEnv({ VERCEL_ENV: "preview", AUTH_JWT_SECRET: SECRET }).production).toBe(true);
    expect(authConfigFromEnv({ NODE_ENV: "development", TOLLGATE_ENV: "production", AUTH_JWT_SECRET: SECRET }).production).toBe(false);
  });

  it("refuses a short secret without echoing it", () => {
    const short = "only-31-bytes-long-secret-value";
    expect(new TextEncoder().encode(short).length).toBe(31);
    const message = messageOf(() => authConfigFromEnv({ NODE_ENV: "development", AUTH_JWT_SECRET: short }));
    expect(message).toContain("at least 32 bytes");
    expect(message).not.toContain(short);
    expect(authConfigFromEnv({ NODE_ENV: "production", AUTH_JWT_SECRET: `${short}!` }).secret?.length).toBe(32);
  });

  it("reads issuer, audience, admin claim and clock tolerance", () => {
    const config = authConfigFromEnv({
      NODE_ENV: "production",
      AUTH_JWT_SECRET: SECRET,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      AUTH_ADMIN_CLAIM: "groups=admins",
      AUTH_CLOCK_TOLERANCE: "30",
    });
    expect(config).toMatchObject({
      issuer: ISSUER,
      audience: AUDIENCE,
      adminClaim: { claim: "groups", value: "admins", acceptTrue: false },
      clockToleranceSeconds: 30,
      production: true,
    });
    expect(authConfigFromEnv({ AUTH_JWT_SECRET: SECRET }).clockToleranceSeconds).toBe(5);
  });

  it("treats blank variables as unset", () => {
    expect(() => authConfigFromEnv({ NODE_ENV: "test", AUTH_JWT_SECRET: "", AUTH_JWKS_URL: "" })).toThrow(/not configured/);
    const config = authConfigFromEnv({ NODE_ENV: "test", AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: " ", AUTH_JWKS_URL: "" });
    expect(config).toMatchObject({ issuer: undefined, jwks: undefined });
  });

  it("requires issuer and audience with a JWKS in production (a shared IdP signs for other apps too)", () => {
    const base = { NODE_ENV: "production", AUTH_JWKS_URL: JWKS_URL };
    expect(() => authConfigFromEnv(base)).toThrow(/AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE/);
    expect(() => authConfigFromEnv({ ...base, AUTH_JWT_ISSUER: ISSUER })).toThrow(TypeError);
    expect(authConfigFromEnv({ ...base, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE }).jwks).toBeTypeOf("function");
  });

  it.each([
    ["not a URL", "jwks.json"],
    ["plain http to a remote host", "http://idp.test/jwks.json"],
  ])("refuses AUTH_JWKS_URL that is %s", (_name, url) => {
    expect(() => authConfigFromEnv({ NODE_ENV: "development", AUTH_JWKS_URL: url })).toThrow(TypeError);
  });

  it("allows plain http to localhost (local IdP emulators)", () => {
    expect(authConfigFromEnv({ NODE_ENV: "development", AUTH_JWKS_URL: "http://127.0.0.1:9999/jwks" }).jwks).toBeDefined();
  });

  describe("AUTH_JWT_ALGORITHMS", () => {
    it("overrides the pinned list", () => {
      const config = authConfigFromEnv({ NODE_ENV: "development", AUTH_JWKS_URL: JWKS_URL, AUTH_JWT_ALGORITHMS: " RS256 , PS256 " });
      expect(config.algorithms).toEqual(["RS256", "PS256"]);
    });

    it.each([
      ["none", { AUTH_JWT_SECRET: SECRET }],
      ["HS256,none", { AUTH_JWT_SECRET: SECRET }],
      ["RS256", { AUTH_JWT_SECRET: SECRET }], // asymmetric without a JWKS
      ["HS256", { AUTH_JWKS_URL: JWKS_URL }], // symmetric without a secret: would key on nothing
      ["ES256K", { AUTH_JWKS_URL: JWKS_URL }],
      [",", { AUTH_JWT_SECRET: SECRET }],
    ])("refuses %s with %o", (algorithms, env) => {
      expect(() => authConfigFromEnv({ NODE_ENV: "development", AUTH_JWT_ALGORITHMS: algorithms, ...env })).toThrow(TypeError);
    });
  });

  it.each(["-1", "1.5", "abc", "301"])("refuses AUTH_CLOCK_TOLERANCE=%s", (value) => {
    expect(() => authConfigFromEnv({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE: value })).toThrow(TypeError);
  });

  it.each(["=admin", "claim=", " = "])("refuses AUTH_ADMIN_CLAIM=%s", (value) => {
    expect(() => authConfigFromEnv({ AUTH_JWT_SECRET: SECRET, AUTH_ADMIN_CLAIM: value })).toThrow(TypeError);
  });
});

describe("createAuthConfig", () => {
  it("defaults to production, so forgetting the flag fails closed", () => {
    const jwks = createLocalJWKSet({ keys: [] });
    expect(() => createAuthConfig({ jwks })).toThrow(/AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE/);
    expect(createAuthConfig({ jwks, production: false }).production).toBe(false);
    expect(() => createAuthConfig({ production: false })).toThrow(/not configured/);
  });

  it("accepts an injected key resolver in place of a URL", () => {
    const config = createAuthConfig({ jwks: createLocalJWKSet({ keys: [] }), issuer: ISSUER, audience: AUDIENCE });
    expect(config.algorithms).toEqual(["RS256", "ES256", "EdDSA", "Ed25519"]);
  });

  it("is immutable", () => {
    const config = createAuthConfig({ secret: SECRET });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.algorithms)).toBe(true);
  });
});
