import {
  createLocalJWKSet,
  errors,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createAuthConfig, createTokenVerifier, type AuthConfigInput } from "../../lib/auth";
import { AUDIENCE, b64url, goodClaims, ISSUER, NOW_MS, SECRET, sign } from "./helpers";

interface Pair {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function pair(alg: string, kid?: string): Promise<Pair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk: kid === undefined ? jwk : { ...jwk, kid, alg, use: "sig" } };
}

function verifierFor(jwks: JWTVerifyGetKey, input: Partial<AuthConfigInput> = {}) {
  const config = createAuthConfig({ jwks, issuer: ISSUER, audience: AUDIENCE, production: true, ...input });
  return createTokenVerifier(config, { now: () => NOW_MS });
}

describe("createTokenVerifier with a JWKS (asymmetric IdP tokens)", () => {
  let rsa: Pair;
  let ec: Pair;
  let ed: Pair;
  let set: JSONWebKeySet;
  let verify: ReturnType<typeof verifierFor>;

  beforeAll(async () => {
    [rsa, ec, ed] = await Promise.all([pair("RS256", "rsa-1"), pair("ES256", "ec-1"), pair("EdDSA", "ed-1")]);
    set = { keys: [rsa.jwk, ec.jwk, ed.jwk] };
    verify = verifierFor(createLocalJWKSet(set));
  });

  it("accepts RS256, ES256 and EdDSA tokens signed by the IdP's keys", async () => {
    for (const [alg, p] of [["RS256", rsa], ["ES256", ec], ["EdDSA", ed]] as const) {
      const token = await sign(goodClaims({ sub: `user-${alg}` }), { alg, key: p.privateKey, header: { kid: p.jwk.kid } });
      expect(await verify(token)).toMatchObject({ status: "verified", userId: `user-${alg}` });
    }
  });

  it("refuses an HS256 token whose HMAC key is the IdP's public key PEM (key confusion)", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: "confused", alg: "RS256" };
    const pem = await exportSPKI(publicKey);
    const token = await sign(goodClaims({ role: "admin" }), {
      alg: "HS256",
      key: new TextEncoder().encode(pem),
      header: { kid: "confused" },
    });
    expect(await verifierFor(createLocalJWKSet({ keys: [jwk] }))(token)).toMatchObject({
      status: "refused",
      code: "token_alg_not_allowed",
    });
  });

  it('refuses alg "none"', async () => {
    const token = `${b64url({ alg: "none", kid: "rsa-1" })}.${b64url(goodClaims())}.`;
    expect(await verify(token)).toMatchObject({ status: "refused", code: "token_alg_not_allowed" });
  });

  it("refuses an allowed-by-jose alg that is not pinned (ES384 against the default list)", async () => {
    const es384 = await pair("ES384", "ec384");
    const token = await sign(goodClaims(), { alg: "ES384", key: es384.privateKey, header: { kid: "ec384" } });
    const withKey = verifierFor(createLocalJWKSet({ keys: [...set.keys, es384.jwk] }));
    expect(await withKey(token)).toMatchObject({ status: "refused", code: "token_alg_not_allowed" });
    const pinned = verifierFor(createLocalJWKSet({ keys: [...set.keys, es384.jwk] }), { algorithms: ["ES384"] });
    expect(await pinned(token)).toMatchObject({ status: "verified" });
  });

  it("token_bad_signature for an unknown kid (no key matches, not an outage)", async () => {
    const stranger = await pair("RS256", "stranger");
    const token = await sign(goodClaims(), { alg: "RS256", key: stranger.privateKey, header: { kid: "stranger" } });
    expect(await verify(token)).toMatchObject({ status: "refused", code: "token_bad_signature" });
  });

  it("token_bad_signature for a forged token reusing a real kid", async () => {
    const stranger = await pair("RS256");
    const token = await sign(goodClaims(), { alg: "RS256", key: stranger.privateKey, header: { kid: "rsa-1" } });
    expect(await verify(token)).toMatchObject({ status: "refused", code: "token_bad_signature" });
  });

  it("tries every candidate when several keys match a token without kid (key rotation)", async () => {
    const [a, b, c] = await Promise.all([pair("RS256"), pair("RS256"), pair("RS256")]);
    const rotating = verifierFor(createLocalJWKSet({ keys: [a.jwk, b.jwk] }));
    const byB = await sign(goodClaims(), { alg: "RS256", key: b.privateKey });
    expect(await rotating(byB)).toMatchObject({ status: "verified" });
    const byC = await sign(goodClaims(), { alg: "RS256", key: c.privateKey });
    expect(await rotating(byC)).toMatchObject({ status: "refused", code: "token_bad_signature" });
    // A good signature with a bad claim reports the claim, not "bad signature".
    const expiredByB = await sign(goodClaims({ exp: NOW_MS / 1000 - 60 }), { alg: "RS256", key: b.privateKey });
    expect(await rotating(expiredByB)).toMatchObject({ status: "refused", code: "token_expired" });
  });

  it("applies iss/aud/sub checks to IdP tokens too", async () => {
    const opts = { alg: "ES256", key: ec.privateKey, header: { kid: "ec-1" } };
    expect(await verify(await sign(goodClaims({ iss: "https://other/" }), opts))).toMatchObject({ code: "token_wrong_issuer" });
    expect(await verify(await sign(goodClaims({ aud: "other" }), opts))).toMatchObject({ code: "token_wrong_audience" });
    expect(await verify(await sign(goodClaims({ sub: "{x}" }), opts))).toMatchObject({ code: "token_invalid_subject" });
  });

  describe("token_jwks_unavailable", () => {
    it.each([
      ["a JWKS timeout", () => new errors.JWKSTimeout()],
      ["a network error", () => new TypeError("fetch failed")],
      ["a non-200 answer", () => new errors.JOSEError("Expected 200 OK from the JSON Web Key Set HTTP response")],
      ["a malformed key set", () => new errors.JWKSInvalid("JSON Web Key Set malformed")],
    ])("when the key set cannot be obtained: %s", async (_name, makeError) => {
      const failing: JWTVerifyGetKey = () => {
        throw makeError();
      };
      const token = await sign(goodClaims(), { alg: "RS256", key: rsa.privateKey, header: { kid: "rsa-1" } });
      expect(await verifierFor(failing)(token)).toMatchObject({ status: "refused", code: "token_jwks_unavailable" });
    });

    it("is not cached: the same token verifies once the IdP answers again", async () => {
      const local = createLocalJWKSet(set);
      let down = true;
      const flaky: JWTVerifyGetKey = (header, token) => {
        if (down) throw new errors.JWKSTimeout();
        return local(header, token);
      };
      const check = verifierFor(flaky);
      const token = await sign(goodClaims(), { alg: "RS256", key: rsa.privateKey, header: { kid: "rsa-1" } });
      expect(await check(token)).toMatchObject({ status: "refused", code: "token_jwks_unavailable" });
      down = false;
      expect(await check(token)).toMatchObject({ status: "verified" });
    });
  });

  describe("secret and JWKS together", () => {
    it("checks HS tokens only against the secret and asymmetric ones only against the JWKS", async () => {
      const both = verifierFor(createLocalJWKSet(set), { secret: SECRET, algorithms: ["HS256", "RS256"] });
      expect(await both(await sign(goodClaims()))).toMatchObject({ status: "verified" });
      const rs = await sign(goodClaims(), { alg: "RS256", key: rsa.privateKey, header: { kid: "rsa-1" } });
      expect(await both(rs)).toMatchObject({ status: "verified" });
      // The HMAC key is always the secret, so an HS token keyed with the public PEM fails.
      const { publicKey } = await generateKeyPair("RS256", { extractable: true });
      const confused = await sign(goodClaims(), {
        alg: "HS256",
        key: new TextEncoder().encode(await exportSPKI(publicKey)),
      });
      expect(await both(confused)).toMatchObject({ status: "refused", code: "token_bad_signature" });
    });
  });
});
