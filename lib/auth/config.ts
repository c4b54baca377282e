import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { isProductionEnv } from "../deployment";
import { isLoopbackHost } from "../loopback";

/** HS256 needs a key at least as long as its hash output (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

/** Symmetric algorithms: verified with the shared secret, never with a JWKS key. */
export const SECRET_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;

/** Asymmetric algorithms an identity provider may sign with, verified against its JWKS. */
export const JWKS_ALGORITHMS = [
  "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
] as const;

/** What IdPs actually use; narrower than everything jose supports, on purpose. */
const DEFAULT_JWKS_ALGORITHMS: readonly string[] = ["RS256", "ES256", "EdDSA", "Ed25519"];

/** How long a JWKS fetch may block a request before we answer 503. */
export const DEFAULT_JWKS_TIMEOUT_MS = 3_000;

/**
 * Which claim makes a token an admin token. `null` is the default rule:
 * `role === "admin"` or `roles` includes "admin".
 */
export interface AdminClaimRule {
  readonly claim: string;
  /** The value that means admin. When the rule had no `=value`, `true` also counts. */
  readonly value: string;
  readonly acceptTrue: boolean;
}

/** Validated, immutable verifier configuration. Build it with `createAuthConfig`. */
export interface AuthConfig {
  /** HMAC key bytes, or undefined when only a JWKS is trusted. */
  readonly secret: Uint8Array | undefined;
  /** Resolves the IdP's public key for a token header; undefined without a JWKS. */
  readonly jwks: JWTVerifyGetKey | undefined;
  /** Pinned `alg` values: symmetric ones only with a secret, asymmetric only with a JWKS. */
  readonly algorithms: readonly string[];
  /** Required `iss` when set. */
  readonly issuer: string | undefined;
  /** Required `aud` (one of) when set. */
  readonly audience: string | undefined;
  readonly adminClaim: AdminClaimRule | null;
  /** Seconds of leeway on `exp`/`nbf`. @default 5 */
  readonly clockToleranceSeconds: number;
  readonly production: boolean;
}

export interface AuthConfigInput {
  /** HS256 shared secret (UTF-8 bytes of a string, or raw bytes). At least 32 bytes. */
  secret?: string | Uint8Array;
  /**
   * The IdP's key set: a URL (fetched with jose's `createRemoteJWKSet`) or a resolver such
   * as jose's `createLocalJWKSet(...)` (tests, or keys pinned in configuration).
   */
  jwks?: URL | JWTVerifyGetKey;
  /** @default 3000 */
  jwksTimeoutMs?: number;
  issuer?: string;
  audience?: string;
  /** Overrides the pinned algorithms. @default HS256 with a secret; RS256, ES256, EdDSA, Ed25519 with a JWKS */
  algorithms?: readonly string[];
  /** `claim` or `claim=value`. @default role === "admin" or roles includes "admin" */
  adminClaim?: string;
  /** @default 5 */
  clockToleranceSeconds?: number;
  /**
   * Production requires `issuer` and `audience` with a JWKS. @default true — callers must
   * opt out, so a forgotten flag fails closed.
   */
  production?: boolean;
}

/**
 * Validates options and builds the config. Every bad option is a TypeError thrown here, at
 * start-up, never on a request. Messages name the setting, never its value.
 */
export function createAuthConfig(input: AuthConfigInput): AuthConfig {
  const production = input.production ?? true;
  const secretBytes = input.secret === undefined ? undefined : toBytes(input.secret);
  if (secretBytes !== undefined && secretBytes.length < MIN_SECRET_BYTES) {
    throw new TypeError(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  // No default key, not even in development: a key in the repository would be known to
  // every web page and every host that can reach a development server.
  if (secretBytes === undefined && input.jwks === undefined) {
    throw new TypeError(
      "Tollgate auth is not configured: set AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL (identity provider); " +
        "in development `npm run dev` makes a local secret (.tollgate/jwt-secret) and hands it to the app",
    );
  }

  const jwks = input.jwks === undefined ? undefined : buildJwks(input.jwks, input.jwksTimeoutMs);
  if (jwks !== undefined && production && (input.issuer === undefined || input.audience === undefined)) {
    // A public IdP key set signs tokens for every application of every tenant; without
    // pinning iss and aud, a token minted for someone else's app would be accepted here.
    throw new TypeError("AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE are required with AUTH_JWKS_URL in production");
  }

  const algorithms = resolveAlgorithms(input.algorithms, secretBytes !== undefined, jwks !== undefined);
  const clockToleranceSeconds = input.clockToleranceSeconds ?? 5;
  if (!Number.isSafeInteger(clockToleranceSeconds) || clockToleranceSeconds < 0 || clockToleranceSeconds > 300) {
    throw new TypeError("AUTH_CLOCK_TOLERANCE must be a whole number of seconds between 0 and 300");
  }
  if (input.issuer !== undefined && input.issuer.trim() === "") throw new TypeError("AUTH_JWT_ISSUER must not be empty");
  if (input.audience !== undefined && input.audience.trim() === "") throw new TypeError("AUTH_JWT_AUDIENCE must not be empty");

  return Object.freeze({
    secret: secretBytes,
    jwks,
    algorithms: Object.freeze([...algorithms]),
    issuer: input.issuer,
    audience: input.audience,
    adminClaim: input.adminClaim === undefined ? null : parseAdminClaim(input.adminClaim),
    clockToleranceSeconds,
    production,
  });
}

/**
 * The platform entry point: the only place that reads the environment. Empty strings count
 * as unset (Vercel and `.env` files produce them for blank values).
 */
export function authConfigFromEnv(env: Record<string, string | undefined>, production = isProductionEnv(env)): AuthConfig {
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const jwksUrl = get("AUTH_JWKS_URL");
  const algorithms = get("AUTH_JWT_ALGORITHMS");
  const tolerance = get("AUTH_CLOCK_TOLERANCE");
  return createAuthConfig({
    // The secret is used byte-for-byte: trimming it would silently change the key.
    secret: env.AUTH_JWT_SECRET === undefined || env.AUTH_JWT_SECRET === "" ? undefined : env.AUTH_JWT_SECRET,
    jwks: jwksUrl === undefined ? undefined : parseJwksUrl(jwksUrl),
    issuer: get("AUTH_JWT_ISSUER"),
    audience: get("AUTH_JWT_AUDIENCE"),
    algorithms: algorithms === undefined ? undefined : algorithms.split(",").map((a) => a.trim()).filter((a) => a !== ""),
    adminClaim: get("AUTH_ADMIN_CLAIM"),
    clockToleranceSeconds: tolerance === undefined ? undefined : parseWholeSeconds(tolerance),
    production,
  });
}

function buildJwks(jwks: URL | JWTVerifyGetKey, timeoutMs: number | undefined): JWTVerifyGetKey {
  if (typeof jwks === "function") return jwks;
  // Keys fetched over plain HTTP can be swapped by anyone on the path.
  if (jwks.protocol !== "https:" && !(jwks.protocol === "http:" && isLoopbackHost(jwks.hostname))) {
    throw new TypeError("AUTH_JWKS_URL must use https (http is allowed only for localhost)");
  }
  const timeoutDuration = timeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutDuration) || timeoutDuration <= 0) {
    throw new TypeError("the JWKS timeout must be a positive whole number of milliseconds");
  }
  // jose caches the set (10 min) and refetches on an unknown kid at most every 30 s, so a
  // stream of forged kids cannot turn into a stream of fetches against the IdP.
  return createRemoteJWKSet(jwks, { timeoutDuration });
}

function parseJwksUrl(value: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new TypeError("AUTH_JWKS_URL must be an absolute URL");
  }
}

function resolveAlgorithms(requested: readonly string[] | undefined, hasSecret: boolean, hasJwks: boolean): string[] {
  if (requested === undefined) {
    return [...(hasSecret ? ["HS256"] : []), ...(hasJwks ? DEFAULT_JWKS_ALGORITHMS : [])];
  }
  if (requested.length === 0) throw new TypeError("AUTH_JWT_ALGORITHMS must list at least one algorithm");
  for (const alg of requested) {
    const symmetric = (SECRET_ALGORITHMS as readonly string[]).includes(alg);
    const asymmetric = (JWKS_ALGORITHMS as readonly string[]).includes(alg);
    // "none" and anything unknown land here: the list is an allow-list, never a hint.
    if (!symmetric && !asymmetric) throw new TypeError(`AUTH_JWT_ALGORITHMS: unsupported algorithm "${alg}"`);
    // Each family has exactly one key source, so an HS token can never be checked against
    // a public key (the classic RS/HS key confusion) and vice versa.
    if (symmetric && !hasSecret) throw new TypeError(`AUTH_JWT_ALGORITHMS: ${alg} needs AUTH_JWT_SECRET`);
    if (asymmetric && !hasJwks) throw new TypeError(`AUTH_JWT_ALGORITHMS: ${alg} needs AUTH_JWKS_URL`);
  }
  return [...new Set(requested)];
}

function parseAdminClaim(value: string): AdminClaimRule {
  const eq = value.indexOf("=");
  const claim = (eq === -1 ? value : value.slice(0, eq)).trim();
  const expected = eq === -1 ? "admin" : value.slice(eq + 1).trim();
  if (claim === "" || expected === "") throw new TypeError('AUTH_ADMIN_CLAIM must be "claim" or "claim=value"');
  return Object.freeze({ claim, value: expected, acceptTrue: eq === -1 });
}

function parseWholeSeconds(value: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new TypeError("AUTH_CLOCK_TOLERANCE must be a whole number of seconds");
  return Number(value);
}

function toBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === "string" ? new TextEncoder().encode(secret) : new Uint8Array(secret);
}
