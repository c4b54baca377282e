import { describe, expect, it } from "vitest";
import { api, balanceOf, e2e, topUp, uniqueUser, userToken } from "./support/context";

/**
 * Cross-site request forgery against the real app (next start): a page on a sibling
 * subdomain is the same *site*, so `SameSite=Strict` still sends it the session cookie.
 * Every write the cookie authenticates must come from the app's own origin with a JSON
 * body; a Bearer caller is not affected. Issue: a form on blog.example.com reset a user on
 * app.example.com while an admin was signed in.
 */
const cookie = (token: string) => ({ cookie: `tollgate_session=${token}` });
const SIBLING = "http://blog.127.0.0.1.nip.io";

/** What browsers send from elsewhere: a sibling subdomain, another site, another origin. */
const FORGED: [string, Record<string, string>][] = [
  ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site", origin: "https://evil.example" }],
  ["Sec-Fetch-Site: same-site (a sibling subdomain)", { "sec-fetch-site": "same-site", origin: SIBLING }],
  ["a mismatched Origin", { origin: SIBLING }],
];

async function problemCode(res: Response): Promise<string> {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return `${res.status} ${((await res.json()) as { code: string }).code}`;
}

describe("cookie-authenticated writes from elsewhere, through next start", () => {
  it.each(FORGED)("a generation route refuses %s with 403 before charging (the gate)", async (_, headers) => {
    const user = uniqueUser("csrf");
    await topUp(user, 10);
    const res = await api("/api/generate/article", { method: "POST", headers: { ...cookie(await userToken(user)), ...headers }, json: { topic: "tea" } });
    expect(await problemCode(res)).toBe("403 cross_origin_request");
    expect(res.headers.get("x-tokens-cost")).toBeNull();
    expect(await balanceOf(user)).toBe(10);
  });

  it("a generation route refuses a form or text body from the cookie with 415 before charging", async () => {
    const user = uniqueUser("csrf");
    await topUp(user, 10);
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      const res = await api("/api/generate/article", {
        method: "POST", headers: { ...cookie(await userToken(user)), "content-type": type, origin: e2e().appUrl }, body: "topic=tea",
      });
      expect(await problemCode(res)).toBe("415 unsupported_media_type");
      expect(res.headers.get("x-tokens-cost")).toBeNull();
    }
    expect(await balanceOf(user)).toBe(10);
    // Refused by the gate, not charged and given back by the handler: no debit at all.
    const stats = (await (await api(`/api/admin/users/${user}`, { admin: true })).json()) as { history: { type: string }[] };
    expect(stats.history.map((e) => e.type)).toEqual(["credit"]);
  });

  it.each(FORGED)("the admin reset refuses %s with 403 and resets nothing", async (_, headers) => {
    const user = uniqueUser("csrf");
    await topUp(user, 10);
    const admin = await userToken(uniqueUser("ops"), { admin: true });
    const res = await api(`/api/admin/users/${user}/reset`, { method: "POST", headers: { ...cookie(admin), ...headers }, json: {} });
    expect(await problemCode(res)).toBe("403 cross_origin_request");
    expect(await balanceOf(user)).toBe(10);
  });

  it("the admin reset refuses a bodiless or form POST with the cookie (415); {} from the app's own page resets", async () => {
    const user = uniqueUser("csrf");
    await topUp(user, 10);
    const admin = cookie(await userToken(uniqueUser("ops"), { admin: true }));
    const bodiless = await api(`/api/admin/users/${user}/reset`, { method: "POST", headers: admin });
    expect(await problemCode(bodiless)).toBe("415 unsupported_media_type");
    const form = await api(`/api/admin/users/${user}/reset`, {
      method: "POST", headers: { ...admin, "content-type": "application/x-www-form-urlencoded" }, body: "x=1",
    });
    expect(await problemCode(form)).toBe("415 unsupported_media_type");
    expect(await balanceOf(user)).toBe(10);

    const own = await api(`/api/admin/users/${user}/reset`, {
      method: "POST", headers: { ...admin, origin: e2e().appUrl, "sec-fetch-site": "same-origin" }, json: {},
    });
    expect(own.status).toBe(200);
    expect(await balanceOf(user)).toBe(0);
  });

  it.each(FORGED)("the admin top-up refuses %s with 403", async (_, headers) => {
    const user = uniqueUser("csrf");
    const admin = await userToken(uniqueUser("ops"), { admin: true });
    const res = await api(`/api/admin/users/${user}/tokens`, { method: "POST", headers: { ...cookie(admin), ...headers }, json: { amount: 5, reason: "x" } });
    expect(await problemCode(res)).toBe("403 cross_origin_request");
    expect(await balanceOf(user)).toBe(0);
  });

  it.each(FORGED)("sign-in and sign-out refuse %s with 403 and set no cookie (login CSRF)", async (_, headers) => {
    const signIn = await api("/api/session", { method: "POST", headers, json: { token: await userToken(uniqueUser("attacker")) } });
    expect(await problemCode(signIn)).toBe("403 cross_origin_request");
    expect(signIn.headers.get("set-cookie")).toBeNull();
    const signOut = await api("/api/session", { method: "DELETE", headers });
    expect(await problemCode(signOut)).toBe("403 cross_origin_request");
    expect(signOut.headers.get("set-cookie")).toBeNull();
  });
});

describe("Bearer calls carry no ambient credential and are unaffected", () => {
  it("a Bearer token is served whatever the browser headers say, and wins over a cookie beside it", async () => {
    const user = uniqueUser("csrf");
    await topUp(user, 10);
    const token = await userToken(user);
    const res = await api("/api/generate/article", {
      method: "POST", token, headers: { ...cookie(await userToken(uniqueUser("other"))), "sec-fetch-site": "same-site", origin: SIBLING }, json: { topic: "tea" },
    });
    expect(res.status).toBe(200);
    expect(await balanceOf(user)).toBe(7);
  });

  it("the admin token may still reset without a body", async () => {
    const user = uniqueUser("csrf");
    await topUp(user, 10);
    const res = await api(`/api/admin/users/${user}/reset`, { method: "POST", admin: true });
    expect(res.status).toBe(200);
    expect(await balanceOf(user)).toBe(0);
  });
});
