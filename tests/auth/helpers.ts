import { SignJWT, type JWTPayload } from "jose";
import { createAuthConfig, createTokenVerifier, type AuthConfigInput, type TokenVerifierOptions } from "../../lib/auth";

/** A fixed instant: every test controls the clock instead of sleeping. */
export const NOW_MS = Date.UTC(2030, 0, 15, 12, 0, 0);
export const NOW_S = NOW_MS / 1000;

export const SECRET = "test-secret-0123456789-abcdefghijklmnop";
export const SECRET_BYTES = new TextEncoder().encode(SECRET);
export const ISSUER = "https://issuer.test/";
export const AUDIENCE = "tollgate-test";

export interface SignOptions {
  alg?: string;
  key?: Parameters<SignJWT["sign"]>[0];
  header?: Record<string, unknown>;
}

/** Signs arbitrary claims exactly as given: no defaults are added behind the test's back. */
export async function sign(claims: JWTPayload, opts: SignOptions = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? "HS256", ...opts.header })
    .sign(opts.key ?? SECRET_BYTES);
}

/** A claim set the HS256 test verifier accepts at NOW. */
export function goodClaims(overrides: JWTPayload = {}): JWTPayload {
  return { sub: "user_123", iss: ISSUER, aud: AUDIENCE, iat: NOW_S - 10, exp: NOW_S + 3600, ...overrides };
}

export function hsVerifier(input: Partial<AuthConfigInput> = {}, opts: TokenVerifierOptions = {}) {
  const config = createAuthConfig({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, production: true, ...input });
  return createTokenVerifier(config, { now: () => NOW_MS, ...opts });
}

/** base64url of a JSON value, for hand-made tokens. */
export function b64url(value: unknown): string {
  const bytes = new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
