import { createLocalJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWTVerifyGetKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createAuthConfig, createTokenVerifier } from "../../lib/auth";
import { AUDIENCE, goodClaims, ISSUER, NOW_MS, NOW_S, sign } from "./helpers";

/**
 * The cache is observed through the key resolver: jose calls it once per real
 * verification, so a hit is "the counter did not move". No timing involved.
 */
describe("verified-token cache", () => {
  let privateKey: CryptoKey;
  let local: JWTVerifyGetKey;

  beforeAll(async () => {
    const keys = await generateKeyPair("ES256", { extractable: true });
    privateKey = keys.privateKey;
    local = createLocalJWKSet({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: "k1" }] });
  });

  function setup(cacheSize?: number) {
    const clock = { ms: NOW_MS };
    const counter = { calls: 0 };
    const counting: JWTVerifyGetKey = (header, token) => {
      counter.calls++;
      return local(header, token);
    };
    const config = createAuthConfig({ jwks: counting, issuer: ISSUER, audience: AUDIENCE, production: true });
    const verify = createTokenVerifier(config, { now: () => clock.ms, cacheSize });
    return { verify, clock, counter };
  }

  const token = (overrides = {}) => sign(goodClaims(overrides), { alg: "ES256", key: privateKey, header: { kid: "k1" } });

  it("a hit returns the same result without verifying again", async () => {
    const { verify, counter } = setup();
    const t = await token({ exp: NOW_S + 60 });
    const first = await verify(t);
    expect(first).toMatchObject({ status: "verified" });
    expect(counter.calls).toBe(1);
    expect(await verify(t)).toEqual(first);
    expect(await verify(t)).toEqual(first);
    expect(counter.calls).toBe(1);
  });

  it("is keyed on the exact token string: a different token is verified", async () => {
    const { verify, counter } = setup();
    const t = await token();
    await verify(t);
    // Another last pair of characters (never the same one: that would be the same token).
    await verify(`${t.slice(0, -2)}${t.endsWith("AA") ? "BB" : "AA"}`);
    expect(counter.calls).toBe(2);
  });

  it("an entry ends at exp, checked against now() on every hit", async () => {
    const { verify, clock, counter } = setup();
    const t = await token({ exp: NOW_S + 60 });
    expect(await verify(t)).toMatchObject({ status: "verified" });
    clock.ms = NOW_MS + 59_000;
    expect(await verify(t)).toMatchObject({ status: "verified" });
    expect(counter.calls).toBe(1);
    // Past exp (still inside jose's 5 s tolerance): the cache misses, jose decides.
    clock.ms = NOW_MS + 62_000;
    expect(await verify(t)).toMatchObject({ status: "verified" });
    expect(counter.calls).toBe(2);
    clock.ms = NOW_MS + 70_000;
    expect(await verify(t)).toMatchObject({ status: "refused", code: "token_expired" });
    expect(counter.calls).toBe(3);
  });

  it("never caches failures", async () => {
    const { verify, counter } = setup();
    const t = await token({ sub: "*" });
    expect(await verify(t)).toMatchObject({ status: "refused", code: "token_invalid_subject" });
    expect(await verify(t)).toMatchObject({ status: "refused", code: "token_invalid_subject" });
    expect(counter.calls).toBe(2);
  });

  it("is bounded: the least recently used entry is evicted at cacheSize", async () => {
    const { verify, counter } = setup(2);
    const [a, b, c] = await Promise.all([token({ sub: "a" }), token({ sub: "b" }), token({ sub: "c" })]);
    await verify(a);
    await verify(b);
    await verify(a); // hit: a becomes most recent
    expect(counter.calls).toBe(2);
    await verify(c); // evicts b, the least recently used
    expect(counter.calls).toBe(3);
    await verify(a);
    await verify(c);
    expect(counter.calls).toBe(3);
    await verify(b);
    expect(counter.calls).toBe(4);
  });

  it("cacheSize 0 disables caching", async () => {
    const { verify, counter } = setup(0);
    const t = await token();
    await verify(t);
    await verify(t);
    expect(counter.calls).toBe(2);
  });

  it("rejects a nonsensical cacheSize at construction", () => {
    expect(() => setup(-1)).toThrow(TypeError);
    expect(() => setup(1.5)).toThrow(TypeError);
  });
});
