/**
 * The door of the KV server, as a pure decision: which requests are refused
 * before their body is read, with which status, and in which order. No
 * server runs here; http-protocol.test.ts proves the server applies it.
 */
import { describe, expect, it } from "vitest";
import { decideAdmission, requestFacts, type AdmissionRules, type RequestFacts } from "../../../lib/kv-server/http/admission";
import { hostPolicy } from "../../../lib/kv-server/http/host-check";

const PORT = 8079;
const rules: AdmissionRules = {
  hosts: hostPolicy("127.0.0.1", PORT, ["kv.internal", "proxy.test:9000"]),
  token: "full-token",
  readOnlyToken: "read-token",
};
const facts = (overrides: Partial<RequestFacts> = {}): RequestFacts => ({
  method: "POST",
  host: `127.0.0.1:${PORT}`,
  origin: undefined,
  secFetchSite: undefined,
  token: "full-token",
  ...overrides,
});
const statusOf = (overrides: Partial<RequestFacts>) => {
  const admission = decideAdmission(facts(overrides), rules);
  return admission.ok ? admission.access : admission.refusal.status;
};

describe("decideAdmission", () => {
  it("admits the full token as full and the read-only token as read-only", () => {
    expect(decideAdmission(facts(), rules)).toEqual({ ok: true, access: "full" });
    expect(decideAdmission(facts({ token: "read-token" }), rules)).toEqual({ ok: true, access: "read-only" });
    expect(statusOf({ method: "GET" })).toBe("full");
  });

  it("answers 421 to a Host that is not this server's, and closes the connection", () => {
    for (const host of ["evil.example", `evil.example:${PORT}`, "127.0.0.1:1", "proxy.test:9001", "proxy.test", "", undefined]) {
      const admission = decideAdmission(facts({ host }), rules);
      expect(admission.ok, String(host)).toBe(false);
      if (admission.ok) continue;
      expect(admission.refusal.status, String(host)).toBe(421);
      expect(admission.refusal.body).toEqual({ error: expect.stringMatching(/^ERR misdirected request/) });
      expect(admission.refusal.headers).toEqual({ connection: "close" });
    }
    for (const host of [`localhost:${PORT}`, `[::1]:${PORT}`, "kv.internal", "kv.internal:1", "proxy.test:9000"]) {
      expect(statusOf({ host }), host).toBe("full");
    }
  });

  it("answers 403 to a foreign Origin or a cross-site browser request; no Origin is fine", () => {
    for (const origin of ["https://evil.example", "null", "http://localhost:3000", "file:///x"]) {
      expect(statusOf({ origin }), origin).toBe(403);
    }
    for (const secFetchSite of ["cross-site", "same-site"]) expect(statusOf({ secFetchSite }), secFetchSite).toBe(403);
    expect(statusOf({ origin: `http://localhost:${PORT}` })).toBe("full");
    expect(statusOf({ origin: "http://kv.internal" })).toBe("full");
    expect(statusOf({ secFetchSite: "same-origin" })).toBe("full");
    expect(statusOf({ secFetchSite: "none" })).toBe("full");
  });

  it("answers 405 with Allow to any method but GET and POST", () => {
    for (const method of ["PUT", "DELETE", "OPTIONS", "HEAD", "post"]) {
      const admission = decideAdmission(facts({ method }), rules);
      expect(admission.ok ? "admitted" : admission.refusal.status, method).toBe(405);
      if (!admission.ok) expect(admission.refusal.headers).toEqual({ allow: "GET, POST", connection: "close" });
    }
  });

  it("answers 401 with WWW-Authenticate to a missing or wrong token", () => {
    for (const token of [undefined, "", "wrong", "full-token ", "FULL-TOKEN"]) {
      const admission = decideAdmission(facts({ token }), rules);
      expect(admission.ok ? "admitted" : admission.refusal.status, String(token)).toBe(401);
      if (!admission.ok) {
        expect(admission.refusal.body).toEqual({ error: "Unauthorized" });
        expect(admission.refusal.headers).toEqual({ "www-authenticate": 'Bearer realm="tollgate-kv"', connection: "close" });
      }
    }
  });

  it("decides in order: the name first, then the method, then the token", () => {
    expect(statusOf({ host: "evil.example", method: "PUT", token: undefined })).toBe(421);
    expect(statusOf({ origin: "https://evil.example", method: "PUT", token: undefined })).toBe(403);
    expect(statusOf({ method: "PUT", token: undefined })).toBe(405);
  });
});

describe("requestFacts", () => {
  const query = (text: string) => new URLSearchParams(text);

  it("takes the token from Authorization: Bearer, else from ?_token=", () => {
    expect(requestFacts("POST", { authorization: "Bearer abc" }, query("")).token).toBe("abc");
    expect(requestFacts("POST", { authorization: "bearer   abc " }, query("")).token).toBe("abc");
    expect(requestFacts("GET", {}, query("_token=xyz")).token).toBe("xyz");
    expect(requestFacts("GET", {}, query("")).token).toBeUndefined();
  });

  it("never lets ?_token= stand in for an Authorization header that is not Bearer", () => {
    expect(requestFacts("GET", { authorization: "Basic abc" }, query("_token=full-token")).token).toBeUndefined();
  });

  it("reads the method (GET when absent), Host, Origin and Sec-Fetch-Site", () => {
    expect(requestFacts(undefined, { host: "h", origin: "o", "sec-fetch-site": "none" }, query(""))).toEqual({
      method: "GET",
      host: "h",
      origin: "o",
      secFetchSite: "none",
      token: undefined,
    });
  });
});
