import { describe, expect, it } from "vitest";
import { refuseCookieWrite, refuseCrossOrigin, refuseNonJsonBody } from "../../lib/http";

/**
 * The CSRF rules every cookie-authenticated write passes through (the gate, the admin
 * routes, the session routes). Issue: a form on blog.example.com reset a user on
 * app.example.com while an admin was signed in (SameSite=Strict does not stop a sibling
 * subdomain: same site).
 */
const APP = "https://app.example.com";

function request(headers: Record<string, string>, { method = "POST", url = `${APP}/api/admin/users/ann/reset` } = {}): Request {
  return new Request(url, { method, headers });
}

async function codeOf(response: Response | null): Promise<string | null> {
  if (response === null) return null;
  const body = (await response.json()) as { code: string; status: number };
  expect(body.status).toBe(response.status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return `${response.status} ${body.code}`;
}

describe("refuseCrossOrigin", () => {
  it.each([
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
    ["Sec-Fetch-Site: same-site (a sibling subdomain)", { "sec-fetch-site": "same-site", origin: "https://blog.example.com" }],
    ["same-site even with our own Origin", { "sec-fetch-site": "same-site", origin: APP }],
    ["an Origin of a sibling subdomain", { origin: "https://blog.example.com" }],
    ["an Origin of another scheme", { origin: "http://app.example.com" }],
    ["an Origin of another port", { origin: "https://app.example.com:8443" }],
    ["an opaque Origin (sandboxed frame)", { origin: "null" }],
    ["a mismatched Origin labelled same-origin", { "sec-fetch-site": "same-origin", origin: "https://evil.example" }],
  ])("refuses %s: 403 cross_origin_request", async (_, headers) => {
    expect(await codeOf(refuseCrossOrigin(request(headers)))).toBe("403 cross_origin_request");
  });

  it.each([
    ["the app's own pages", { "sec-fetch-site": "same-origin", origin: APP }],
    ["an Origin in another case", { origin: "HTTPS://App.Example.com" }],
    ["a user-initiated request", { "sec-fetch-site": "none" }],
    ["a client that is not a browser (neither header)", {}],
  ])("lets %s through", async (_, headers) => {
    expect(refuseCrossOrigin(request(headers))).toBeNull();
  });

  it("compares with the configured public origin when there is one, not the Host the app saw", async () => {
    const behindProxy = request({ origin: APP }, { url: "http://10.0.0.7:3000/api/session" });
    expect(await codeOf(refuseCrossOrigin(behindProxy))).toBe("403 cross_origin_request");
    expect(refuseCrossOrigin(behindProxy, { publicOrigin: APP })).toBeNull();
    const fromInternal = request({ origin: "http://10.0.0.7:3000" }, { url: "http://10.0.0.7:3000/api/session" });
    expect(await codeOf(refuseCrossOrigin(fromInternal, { publicOrigin: APP }))).toBe("403 cross_origin_request");
  });

  it("compares with the Host the browser addressed, not the address next start listens on", async () => {
    // `next start -H 0.0.0.0` builds request.url as http://localhost:3000 whatever the Host.
    const nextStart = (headers: Record<string, string>) => request(headers, { url: "http://localhost:3000/api/session" });
    expect(refuseCrossOrigin(nextStart({ host: "app.example.com:3000", origin: "http://app.example.com:3000" }))).toBeNull();
    expect(await codeOf(refuseCrossOrigin(nextStart({ host: "app.example.com:3000", origin: "http://localhost:3000" })))).toBe("403 cross_origin_request");
    // A proxy in front passes the browser's Host on in X-Forwarded-Host.
    expect(refuseCrossOrigin(nextStart({ host: "10.0.0.7:3000", "x-forwarded-host": "app.example.com", "x-forwarded-proto": "https", origin: APP }))).toBeNull();
  });

  it("takes the scheme from a TLS-terminating proxy's X-Forwarded-Proto", () => {
    const req = request({ origin: APP, "x-forwarded-proto": "https" }, { url: "http://app.example.com/api/session" });
    expect(refuseCrossOrigin(req)).toBeNull();
  });
});

describe("refuseNonJsonBody", () => {
  it.each([
    ["a bodiless POST (what fetch no-cors sends without a preflight)", "POST", {}],
    ["a form post", "POST", { "content-type": "application/x-www-form-urlencoded" }],
    ["a multipart form", "POST", { "content-type": "multipart/form-data; boundary=x" }],
    ["text/plain (a form with enctype=text/plain)", "POST", { "content-type": "text/plain" }],
    ["a DELETE that declares a non-JSON body", "DELETE", { "content-type": "text/plain" }],
  ])("refuses %s: 415 unsupported_media_type", async (_, method, headers) => {
    expect(await codeOf(refuseNonJsonBody(request(headers, { method })))).toBe("415 unsupported_media_type");
  });

  it("accepts JSON, and a DELETE without a body", () => {
    expect(refuseNonJsonBody(request({ "content-type": "application/json" }))).toBeNull();
    expect(refuseNonJsonBody(request({ "content-type": "application/json; charset=utf-8" }))).toBeNull();
    expect(refuseNonJsonBody(request({}, { method: "DELETE" }))).toBeNull();
  });
});

describe("refuseCookieWrite", () => {
  const forged = () => request({ "sec-fetch-site": "same-site", "content-type": "text/plain" });

  it("applies both rules to the session cookie, origin first", async () => {
    expect(await codeOf(refuseCookieWrite(forged(), { kind: "cookie", token: "t" }))).toBe("403 cross_origin_request");
    const ownPageNoBody = request({ "sec-fetch-site": "same-origin", origin: APP });
    expect(await codeOf(refuseCookieWrite(ownPageNoBody, { kind: "cookie", token: "t" }))).toBe("415 unsupported_media_type");
  });

  it("leaves Bearer calls and requests without credentials to the caller", () => {
    expect(refuseCookieWrite(forged(), { kind: "bearer", token: "t" })).toBeNull();
    expect(refuseCookieWrite(forged(), null)).toBeNull();
  });
});
