import { describe, expect, it } from "vitest";
import { createAuthConfig, createTokenVerifier, mintToken } from "../../lib/auth";
import { clearedSessionCookie, createSessionHandlers, type DevIdentity, sessionCookie } from "../../lib/auth/session";

/**
 * The session handlers in process, with an injected clock: what the browser tests cannot
 * reach (a disabled dev sign-in, the exact Max-Age, the clock-tolerance edge).
 */
const SECRET = "session-test-secret-0123456789abcdef";
const NOW = Date.UTC(2025, 10, 3, 12, 0, 0);
const clock = () => NOW;
const verify = createTokenVerifier(createAuthConfig({ secret: SECRET, production: false }), { now: clock, cacheSize: 0 });
const devMint = (as: DevIdentity) => mintToken({ sub: as === "admin" ? "dev-admin" : "test-user-id", admin: as === "admin", ttlSeconds: 43_200, secret: SECRET, now: clock });

function post(path: string, body: unknown, headers: Record<string, string> = {}, origin = "http://app.test"): Request {
  return new Request(`${origin}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

describe("createSessionHandlers", () => {
  const handlers = createSessionHandlers({ verify, devMint, now: clock });

  it("sets the cookie to the token's remaining lifetime, to the second", async () => {
    const token = await mintToken({ sub: "alice", ttlSeconds: 900, secret: SECRET, now: () => NOW - 100_000 });
    const res = await handlers.signIn(post("/api/session", { token }));
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toBe(`tollgate_session=${token}; Path=/; Max-Age=800; HttpOnly; SameSite=Strict`);
    expect(await res.json()).toEqual({ userId: "alice", isAdmin: false, expiresAt: NOW / 1000 + 800 });
  });

  it("refuses a token that only the clock tolerance still accepts: its cookie could not live a second", async () => {
    const token = await mintToken({ sub: "alice", ttlSeconds: 60, secret: SECRET, now: () => NOW - 62_000 });
    expect((await verify(token)).status).toBe("verified");
    const res = await handlers.signIn(post("/api/session", { token }));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthenticated", reason: "token_expired" });
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("over https (directly, behind a TLS-terminating proxy, or by the public origin) names it __Host- and adds Secure", async () => {
    const token = await mintToken({ sub: "alice", ttlSeconds: 900, secret: SECRET, now: clock });
    const direct = await handlers.signIn(post("/api/session", { token }, {}, "https://app.test"));
    const proxied = await handlers.signIn(post("/api/session", { token }, { "x-forwarded-proto": "https" }));
    const configured = await createSessionHandlers({ verify, devMint, now: clock, publicOrigin: "https://app.test" })
      .signIn(post("/api/session", { token }, { origin: "https://app.test" }));
    const plain = await handlers.signIn(post("/api/session", { token }));
    for (const res of [direct, proxied, configured]) {
      expect(res.headers.get("set-cookie")).toBe(`__Host-tollgate_session=${token}; Path=/; Max-Age=900; HttpOnly; SameSite=Strict; Secure`);
    }
    expect(plain.headers.get("set-cookie")).toBe(`tollgate_session=${token}; Path=/; Max-Age=900; HttpOnly; SameSite=Strict`);
  });

  it("mints 12-hour development sessions for the two fixed identities only", async () => {
    const user = await handlers.devSignIn(post("/api/session/dev", { as: "user" }));
    expect(user.status).toBe(200);
    expect(await user.json()).toEqual({ userId: "test-user-id", isAdmin: false, expiresAt: NOW / 1000 + 43_200 });
    expect(user.headers.get("set-cookie")).toContain("Max-Age=43200");
    const admin = await handlers.devSignIn(post("/api/session/dev", { as: "admin" }));
    expect(await admin.json()).toMatchObject({ userId: "dev-admin", isAdmin: true });
    const other = await handlers.devSignIn(post("/api/session/dev", { as: "alice" }));
    expect(other.status).toBe(400);
    expect(other.headers.get("set-cookie")).toBeNull();
  });

  it("has no development sign-in when it is off: 404, and nothing is minted", async () => {
    let minted = 0;
    const off = createSessionHandlers({ verify, devMint: null, now: clock });
    const counting = createSessionHandlers({ verify, devMint: async (as) => (minted++, devMint(as)), now: clock });
    const res = await off.devSignIn(post("/api/session/dev", { as: "admin" }));
    expect(res.status).toBe(404);
    expect(res.headers.get("set-cookie")).toBeNull();
    await counting.devSignIn(post("/api/session/dev", { as: "user" }));
    expect(minted).toBe(1);
  });

  it("refuses sign-in and sign-out from another site, a sibling subdomain or another origin before reading anything (login CSRF)", async () => {
    let minted = 0;
    const guarded = createSessionHandlers({ verify, devMint: async (as) => (minted++, devMint(as)), now: clock });
    const token = await mintToken({ sub: "attacker", ttlSeconds: 900, secret: SECRET, now: clock });
    const forged: Record<string, string>[] = [
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site", origin: "http://blog.app.test" },
      { origin: "http://blog.app.test" },
    ];
    for (const headers of forged) {
      for (const res of [
        await guarded.devSignIn(post("/api/session/dev", { as: "admin" }, headers)),
        await guarded.signIn(post("/api/session", { token }, headers)),
        await guarded.signOut(new Request("http://app.test/api/session", { method: "DELETE", headers })),
      ]) {
        expect(res.status).toBe(403);
        expect(await res.json()).toMatchObject({ code: "cross_origin_request" });
        expect(res.headers.get("set-cookie")).toBeNull();
      }
    }
    expect(minted).toBe(0);
    const own = { "sec-fetch-site": "same-origin", origin: "http://app.test" };
    expect((await guarded.devSignIn(post("/api/session/dev", { as: "user" }, own))).status).toBe(200);
    expect((await guarded.signIn(post("/api/session", { token }, own))).status).toBe(200);
  });

  it("takes only JSON bodies: a form post cannot sign anyone in (415)", async () => {
    const token = await mintToken({ sub: "attacker", ttlSeconds: 900, secret: SECRET, now: clock });
    const form = new Request("http://app.test/api/session", {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${token}`,
    });
    const res = await handlers.signIn(form);
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "unsupported_media_type" });
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("signs out by expiring the cookie with the attributes it was set with", async () => {
    const res = await handlers.signOut(new Request("https://app.test/api/session", { method: "DELETE" }));
    expect(res.status).toBe(204);
    // Over https: the __Host- cookie, and an unprefixed one left from before it existed.
    expect(res.headers.getSetCookie()).toEqual([
      "__Host-tollgate_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure",
      "tollgate_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure",
    ]);
    const plain = await handlers.signOut(new Request("http://app.test/api/session", { method: "DELETE" }));
    expect(plain.headers.getSetCookie()).toEqual(["tollgate_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"]);
  });
});

describe("sessionCookie", () => {
  it("never builds a cookie that would delete itself or live forever", () => {
    expect(() => sessionCookie("t", { maxAgeSeconds: 0, secure: false })).toThrow(TypeError);
    expect(() => sessionCookie("t", { maxAgeSeconds: 1.5, secure: false })).toThrow(TypeError);
    expect(sessionCookie("a.b.c", { maxAgeSeconds: 1, secure: false })).toBe("tollgate_session=a.b.c; Path=/; Max-Age=1; HttpOnly; SameSite=Strict");
    expect(clearedSessionCookie({ secure: false })).toBe("tollgate_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    expect(sessionCookie("a.b.c", { maxAgeSeconds: 1, secure: true })).toBe("__Host-tollgate_session=a.b.c; Path=/; Max-Age=1; HttpOnly; SameSite=Strict; Secure");
  });
});
