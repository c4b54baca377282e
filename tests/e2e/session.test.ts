import { describe, expect, it } from "vitest";
import { api, E2E_SECRETS, topUp, uniqueUser, userToken } from "./support/context";

/** `Set-Cookie` → name, value and attributes (lower-cased names). */
function parseSetCookie(header: string | null) {
  if (header === null) return null;
  const [pair, ...attrs] = header.split(";").map((s) => s.trim());
  const eq = pair!.indexOf("=");
  const attributes = new Map<string, string | true>();
  for (const a of attrs) {
    const i = a.indexOf("=");
    attributes.set((i === -1 ? a : a.slice(0, i)).toLowerCase(), i === -1 ? true : a.slice(i + 1));
  }
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes };
}

const signIn = (json: unknown, headers: Record<string, string> = {}) => api("/api/session", { method: "POST", json, headers });
const devSignIn = (json: unknown, headers: Record<string, string> = {}) => api("/api/session/dev", { method: "POST", json, headers });
const withCookie = (token: string) => ({ cookie: `tollgate_session=${token}` });

describe("POST /api/session, through next start", () => {
  it("sets an HttpOnly, SameSite=Strict cookie that lives as long as the token, and the cookie works", async () => {
    const user = uniqueUser("sess");
    const token = await userToken(user, { ttlSeconds: 600 });
    const res = await signIn({ token });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain(token);
    expect(JSON.parse(body)).toMatchObject({ userId: user, isAdmin: false, expiresAt: expect.any(Number) });
    expect(res.headers.get("cache-control")).toBe("no-store");

    const cookie = parseSetCookie(res.headers.get("set-cookie"))!;
    expect(cookie).toMatchObject({ name: "tollgate_session", value: token });
    expect(cookie.attributes.get("httponly")).toBe(true);
    expect(cookie.attributes.get("samesite")).toBe("Strict");
    expect(cookie.attributes.get("path")).toBe("/");
    expect(cookie.attributes.has("secure")).toBe(false); // the app is served over plain http here
    expect(Number(cookie.attributes.get("max-age"))).toBeGreaterThan(590);
    expect(Number(cookie.attributes.get("max-age"))).toBeLessThanOrEqual(600);

    const me = await api("/api/me", { headers: withCookie(cookie.value) });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ userId: user, isAdmin: false });
  });

  it("over https (a TLS-terminating proxy says so) names the cookie __Host- and marks it Secure; the unprefixed name is then ignored", async () => {
    const user = uniqueUser("sess");
    const token = await userToken(user);
    const https = { "x-forwarded-proto": "https" };
    const res = await signIn({ token }, https);
    expect(res.status).toBe(200);
    const cookie = parseSetCookie(res.headers.get("set-cookie"))!;
    expect(cookie).toMatchObject({ name: "__Host-tollgate_session", value: token });
    expect(cookie.attributes.get("secure")).toBe(true);
    expect(cookie.attributes.get("path")).toBe("/");
    expect(cookie.attributes.has("domain")).toBe(false);

    expect(await (await api("/api/me", { headers: { ...https, cookie: `__Host-tollgate_session=${token}` } })).json()).toMatchObject({ userId: user });
    // What a sibling subdomain could plant: not read over https, even beside the real one.
    const planted = await userToken(uniqueUser("planted"));
    expect((await api("/api/me", { headers: { ...https, ...withCookie(planted) } })).status).toBe(401);
    const both = await api("/api/me", { headers: { ...https, cookie: `tollgate_session=${planted}; __Host-tollgate_session=${token}` } });
    expect(await both.json()).toMatchObject({ userId: user });
  });

  it("the session cookie pays for a metered route, like a Bearer token", async () => {
    const user = uniqueUser("sess");
    await topUp(user, 5);
    const token = await userToken(user);
    const res = await api("/api/generate/article", { method: "POST", headers: withCookie(token), json: { topic: "tea" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tokens-cost")).toBe("3");
    expect(res.headers.get("x-tokens-remaining")).toBe("2");
  });

  it.each([
    ["malformed", async () => "not-a-jwt", "token_malformed"],
    ["signed with another key", () => userToken(uniqueUser("sess"), { secret: "another-secret-0123456789abcdef0123456" }), "token_bad_signature"],
    ["expired", () => userToken(uniqueUser("sess"), { ttlSeconds: 60, now: () => Date.now() - 3_600_000 }), "token_expired"],
    ["for another audience", () => userToken(uniqueUser("sess"), { audience: "someone-else" }), "token_wrong_audience"],
  ])("answers 401 to a %s token and sets no cookie", async (_label, make, reason) => {
    const res = await signIn({ token: await make() });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer .*error="invalid_token"/);
    expect(await res.json()).toMatchObject({ code: "unauthenticated", reason });
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it.each([
    ["no token", {}, 400, "missing_field"],
    ["a token that is not a string", { token: 42 }, 400, "invalid_field"],
    ["an empty token", { token: "  " }, 400, "invalid_field"],
    ["an unknown field", { token: "a.b.c", userId: "admin" }, 400, "unknown_field"],
    ["a JSON array", [1], 400, "invalid_json"],
  ])("validates the body: %s → %i %s", async (_label, json, status, code) => {
    const res = await signIn(json);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ code });
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("refuses a form post (415) and a cross-site request (403)", async () => {
    const token = await userToken(uniqueUser("sess"));
    const form = await api("/api/session", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${token}` });
    expect(form.status).toBe(415);
    expect(form.headers.get("set-cookie")).toBeNull();
    const crossSite = await signIn({ token }, { "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get("set-cookie")).toBeNull();
  });

  it("DELETE signs out: the cookie is expired with the same name, path and attributes", async () => {
    const res = await api("/api/session", { method: "DELETE" });
    expect(res.status).toBe(204);
    const cookie = parseSetCookie(res.headers.get("set-cookie"))!;
    expect(cookie).toMatchObject({ name: "tollgate_session", value: "" });
    expect(cookie.attributes.get("max-age")).toBe("0");
    expect(cookie.attributes.get("path")).toBe("/");
    expect(cookie.attributes.get("httponly")).toBe(true);
    expect(cookie.attributes.get("samesite")).toBe("Strict");
  });
});

describe("the development sign-in in a production build whose keys are named development (TOLLGATE_ENV=development)", () => {
  it.each([{ as: "admin" }, { as: "user" }])("POST /api/session/dev %o is a 404 that sets no cookie", async (json) => {
    const res = await devSignIn(json);
    expect(res.status).toBe(404);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("the sign-in page offers no one-click sign-in", async () => {
    const html = await (await api("/")).text();
    expect(html).toContain("Token from your identity provider");
    expect(html).not.toContain("Sign in as the test user");
    expect(html).not.toContain("Sign in as an administrator");
  });

  it("a token signed with anything but the configured secret is refused: there is no development key", async () => {
    const forged = await userToken(uniqueUser("sess"), { secret: "tollgate-dev-only-public-secret-never-use-in-production" });
    expect((await signIn({ token: forged })).status).toBe(401);
  });
});

describe("the pages read the session cookie", () => {
  const page = async (path: string, token?: string) => {
    const res = await api(path, { headers: token === undefined ? {} : withCookie(token) });
    expect(res.status).toBe(200);
    return res.text();
  };

  it("shows a signed-out visitor what Tollgate is and the token sign-in", async () => {
    const html = await page("/");
    expect(html).toContain("Pay for AI generations with tokens");
    expect(html).toContain("Token from your identity provider");
  });

  it("treats an expired cookie as signed out and says so", async () => {
    const expired = await userToken(uniqueUser("sess"), { ttlSeconds: 60, now: () => Date.now() - 3_600_000 });
    const html = await page("/", expired);
    expect(html).toContain("Your session has expired");
    expect(html).not.toContain('data-testid="balance"');
  });

  it("renders the dashboard for a signed-in user, with the balance from the store", async () => {
    const user = uniqueUser("sess");
    await topUp(user, 1234);
    const html = await page("/", await userToken(user));
    expect(html).toMatch(/data-testid="balance">1,234</);
  });

  it("gives the admin console to administrators only", async () => {
    const anonymous = await page("/admin");
    expect(anonymous).toContain("Sign in with an administrator account");
    expect(anonymous).not.toContain("Find a user");

    const user = await page("/admin", await userToken(uniqueUser("sess")));
    expect(user).toContain("Administrators only");
    expect(user).not.toContain("Find a user");

    const admin = await page("/admin", await userToken(uniqueUser("ops"), { admin: true }));
    expect(admin).toContain("Find a user");
    expect(admin).not.toContain("Administrators only");
  });

  it("does not take the admin API token as a page session", async () => {
    const html = await page("/admin", E2E_SECRETS.admin);
    expect(html).not.toContain("Find a user");
  });
});
