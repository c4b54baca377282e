import fc from "fast-check";
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWTVerifyGetKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AUTH_FAILURE_CODES, createAuthConfig, createTokenVerifier, type TokenVerifier } from "../../lib/auth";
import { AUDIENCE, b64url, ISSUER, NOW_MS, SECRET } from "./helpers";

const ALGS = ["none", "HS256", "HS512", "RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519", "ML-DSA-44", "A128KW", "dir"];

/** Strings that look enough like a JWT to get past the shape check and into jose. */
const jwtShaped = fc
  .record({
    header: fc.oneof(
      fc.record({ alg: fc.constantFrom(...ALGS), kid: fc.option(fc.string(), { nil: undefined }), crit: fc.option(fc.array(fc.string()), { nil: undefined }), b64: fc.option(fc.boolean(), { nil: undefined }) }),
      fc.jsonValue(),
    ),
    payload: fc.oneof(fc.jsonValue(), fc.record({ sub: fc.jsonValue(), exp: fc.jsonValue(), nbf: fc.jsonValue(), aud: fc.jsonValue() })),
    signature: fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") }),
  })
  .map(({ header, payload, signature }) => `${b64url(header)}.${b64url(payload)}.${signature}`);

const anyToken = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.constantFrom(..."aZ09-_.=+/ ") }),
  jwtShaped,
);

function assertRefusedNeverThrows(getVerify: () => TokenVerifier) {
  return fc.asyncProperty(anyToken, async (token) => {
    const result = await getVerify()(token); // a throw fails the property
    expect(result.status).toBe("refused");
    if (result.status === "refused") {
      expect(AUTH_FAILURE_CODES).toContain(result.code);
      expect(result.message).not.toContain(SECRET);
    }
  });
}

describe("property: arbitrary input is refused with a known code, never thrown", () => {
  let hs: TokenVerifier;
  let jwks: TokenVerifier;

  beforeAll(async () => {
    hs = createTokenVerifier(createAuthConfig({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE }), { now: () => NOW_MS });
    const keys = await Promise.all(
      (["RS256", "ES256", "EdDSA"] as const).map(async (alg) => ({
        ...(await exportJWK((await generateKeyPair(alg, { extractable: true })).publicKey)),
        kid: alg,
      })),
    );
    const local: JWTVerifyGetKey = createLocalJWKSet({ keys });
    jwks = createTokenVerifier(
      createAuthConfig({ secret: SECRET, jwks: local, issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256", "RS256", "ES256", "EdDSA"] }),
      { now: () => NOW_MS },
    );
  });

  it("HS256 verifier", async () => {
    await fc.assert(assertRefusedNeverThrows(() => hs), { numRuns: 500 });
  });

  it("secret + JWKS verifier", async () => {
    await fc.assert(assertRefusedNeverThrows(() => jwks), { numRuns: 500 });
  });
});
