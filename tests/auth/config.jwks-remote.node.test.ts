import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type CryptoKey, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authConfigFromEnv, createAuthConfig, createTokenVerifier } from "../../lib/auth";
import { AUDIENCE, goodClaims, ISSUER, NOW_MS, sign } from "./helpers";

/**
 * The real remote path: jose's createRemoteJWKSet against a tiny local server whose
 * behaviour each test chooses (serve, fail, hang). Node-only because it listens on a port.
 */
describe("remote JWKS (createRemoteJWKSet over HTTP)", () => {
  let server: Server;
  let base: string;
  let privateKey: CryptoKey;
  let jwks: JSONWebKeySet;
  const hits: Record<string, number> = {};

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    privateKey = pair.privateKey;
    jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "remote-1", alg: "RS256", use: "sig" }] };
    server = createServer((req, res) => {
      const path = req.url ?? "/";
      hits[path] = (hits[path] ?? 0) + 1;
      if (path.startsWith("/ok")) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks));
      } else if (path.startsWith("/error")) {
        res.writeHead(500).end("boom");
      } else if (path.startsWith("/garbage")) {
        res.writeHead(200, { "content-type": "application/json" }).end("{not json");
      } else if (path.startsWith("/hang")) {
        // Never answer; the verifier's timeout must fire. Closed in afterAll.
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const token = () => sign(goodClaims(), { alg: "RS256", key: privateKey, header: { kid: "remote-1" } });

  function verifierAt(path: string, jwksTimeoutMs = 300) {
    const config = createAuthConfig({ jwks: new URL(path, base), jwksTimeoutMs, issuer: ISSUER, audience: AUDIENCE });
    return createTokenVerifier(config, { now: () => NOW_MS });
  }

  it("fetches the key set once and verifies IdP tokens", async () => {
    const verify = verifierAt("/ok-once");
    expect(await verify(await token())).toMatchObject({ status: "verified", userId: "user_123" });
    expect(await verify(await sign(goodClaims({ sub: "other" }), { alg: "RS256", key: privateKey, header: { kid: "remote-1" } }))).toMatchObject({
      status: "verified",
      userId: "other",
    });
    expect(hits["/ok-once"]).toBe(1);
  });

  it("works end to end from the environment (AUTH_JWKS_URL on localhost)", async () => {
    const config = authConfigFromEnv({
      NODE_ENV: "production",
      AUTH_JWKS_URL: `${base}/ok-env`,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
    });
    expect(await createTokenVerifier(config, { now: () => NOW_MS })(await token())).toMatchObject({ status: "verified" });
  });

  it.each([
    ["answers 500", "/error"],
    ["answers invalid JSON", "/garbage"],
    ["does not answer before the timeout", "/hang"],
  ])("token_jwks_unavailable when the IdP %s", async (_name, path) => {
    const started = Date.now();
    expect(await verifierAt(path)(await token())).toMatchObject({ status: "refused", code: "token_jwks_unavailable" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("token_jwks_unavailable when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = new URL(`http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks`);
    await new Promise((resolve) => closed.close(resolve));
    const config = createAuthConfig({ jwks: url, jwksTimeoutMs: 300, issuer: ISSUER, audience: AUDIENCE });
    expect(await createTokenVerifier(config, { now: () => NOW_MS })(await token())).toMatchObject({
      status: "refused",
      code: "token_jwks_unavailable",
    });
  });
});
