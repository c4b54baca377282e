import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { MAX_TTL_SECONDS, mintToken } from "../../lib/auth";
import { AUDIENCE, hsVerifier, ISSUER, NOW_MS, NOW_S, SECRET } from "./helpers";

describe("mintToken", () => {
  it("mints an HS256 JWT the verifier accepts, with exp = now + ttl", async () => {
    const token = await mintToken({ sub: "alice", ttlSeconds: 600, secret: SECRET, issuer: ISSUER, audience: AUDIENCE, now: () => NOW_MS });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    expect(decodeJwt(token)).toEqual({ sub: "alice", iat: NOW_S, exp: NOW_S + 600, iss: ISSUER, aud: AUDIENCE });
    expect(await hsVerifier()(token)).toEqual({ status: "verified", userId: "alice", isAdmin: false, expiresAt: NOW_S + 600 });
  });

  it("admin: true yields an admin token under the default rule", async () => {
    const token = await mintToken({ sub: "root", admin: true, ttlSeconds: 60, secret: SECRET, issuer: ISSUER, audience: AUDIENCE, now: () => NOW_MS });
    expect(await hsVerifier()(token)).toMatchObject({ status: "verified", isAdmin: true });
  });

  it("refuses a bad sub, ttl or secret", async () => {
    await expect(mintToken({ sub: "{x}", ttlSeconds: 60, secret: SECRET })).rejects.toThrow(TypeError);
    await expect(mintToken({ sub: "ok", ttlSeconds: 0, secret: SECRET })).rejects.toThrow(TypeError);
    await expect(mintToken({ sub: "ok", ttlSeconds: 1.5, secret: SECRET })).rejects.toThrow(TypeError);
    await expect(mintToken({ sub: "ok", ttlSeconds: MAX_TTL_SECONDS + 1, secret: SECRET })).rejects.toThrow(TypeError);
    await expect(mintToken({ sub: "ok", ttlSeconds: 60, secret: "short" })).rejects.toThrow(TypeError);
  });
});
