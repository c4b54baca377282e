import { describe, expect, it } from "vitest";
import { extractCredentials, isSecureRequest, SECURE_SESSION_COOKIE, SESSION_COOKIE } from "../../lib/auth";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";

function req(headers: Record<string, string>): Request {
  return new Request("http://tollgate.test/api/x", { headers });
}

describe("extractCredentials", () => {
  it("exports the session cookie name", () => {
    expect(SESSION_COOKIE).toBe("tollgate_session");
  });

  it("reads a bearer token, scheme case-insensitive", () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      expect(extractCredentials(req({ authorization: `${scheme} ${JWT}` }))).toEqual({ kind: "bearer", token: JWT });
    }
  });

  it("tolerates extra spaces around the token", () => {
    expect(extractCredentials(req({ authorization: `Bearer    ${JWT}  ` }))).toEqual({ kind: "bearer", token: JWT });
  });

  it("accepts the full RFC 6750 b64token alphabet", () => {
    expect(extractCredentials(req({ authorization: "Bearer a-b._c~d+e/f==" }))).toEqual({ kind: "bearer", token: "a-b._c~d+e/f==" });
  });

  it.each([
    ["no token", "Bearer"],
    ["only spaces", "Bearer    "],
    ["two tokens", `Bearer ${JWT} ${JWT}`],
    ["a comma list", `Bearer ${JWT}, Bearer ${JWT}`],
    ["quotes", `Bearer "${JWT}"`],
    ["non-ASCII", "Bearer tökén"],
    ["padding in the middle", "Bearer ab==cd"],
    ["no space after the scheme", `Bearer${JWT}`],
    ["a colon after the scheme", `Bearer: ${JWT}`],
  ])("rejects a Bearer header with %s, without falling back to the cookie", (_name, authorization) => {
    expect(extractCredentials(req({ authorization, cookie: `${SESSION_COOKIE}=${JWT}` }))).toBeNull();
  });

  it("the header wins over the cookie; they are never combined", () => {
    const result = extractCredentials(req({ authorization: "Bearer header-token", cookie: `${SESSION_COOKIE}=cookie-token` }));
    expect(result).toEqual({ kind: "bearer", token: "header-token" });
  });

  it("ignores other schemes and uses the session cookie", () => {
    const result = extractCredentials(req({ authorization: "Basic dXNlcjpwYXNz", cookie: `${SESSION_COOKIE}=${JWT}` }));
    expect(result).toEqual({ kind: "cookie", token: JWT });
    expect(extractCredentials(req({ authorization: "Basic dXNlcjpwYXNz" }))).toBeNull();
  });

  it("finds the session cookie among others", () => {
    const cookie = `theme=dark; ${SESSION_COOKIE}=${JWT}; other=1`;
    expect(extractCredentials(req({ cookie }))).toEqual({ kind: "cookie", token: JWT });
  });

  it("unwraps a quoted cookie value (RFC 6265)", () => {
    expect(extractCredentials(req({ cookie: `${SESSION_COOKIE}="${JWT}"` }))).toEqual({ kind: "cookie", token: JWT });
  });

  it.each([
    ["no cookie header", {}],
    ["an unrelated cookie", { cookie: "theme=dark" }],
    ["a name that only ends with ours", { cookie: `x${SESSION_COOKIE}=${JWT}` }],
    ["a differently-cased name", { cookie: `Tollgate_Session=${JWT}` }],
    ["an empty value", { cookie: `${SESSION_COOKIE}=` }],
    ["junk characters", { cookie: `${SESSION_COOKIE}=a b` }],
    ["two different values (cookie tossing)", { cookie: `${SESSION_COOKIE}=aaa; ${SESSION_COOKIE}=bbb` }],
  ])("returns null for %s", (_name, headers) => {
    expect(extractCredentials(req(headers as Record<string, string>))).toBeNull();
  });

  it("accepts the same cookie value sent twice", () => {
    expect(extractCredentials(req({ cookie: `${SESSION_COOKIE}=aaa; ${SESSION_COOKIE}=aaa` }))).toEqual({
      kind: "cookie",
      token: "aaa",
    });
  });

  describe("over https: the __Host- name, which a sibling subdomain cannot set", () => {
    const secure = (headers: Record<string, string>) => new Request("https://tollgate.test/api/x", { headers });

    it("reads __Host-tollgate_session and ignores the unprefixed name", () => {
      expect(SECURE_SESSION_COOKIE).toBe("__Host-tollgate_session");
      expect(extractCredentials(secure({ cookie: `${SECURE_SESSION_COOKIE}=${JWT}` }))).toEqual({ kind: "cookie", token: JWT });
      expect(extractCredentials(secure({ cookie: `${SESSION_COOKIE}=${JWT}` }))).toBeNull();
      // A planted unprefixed cookie beside ours changes nothing.
      expect(extractCredentials(secure({ cookie: `${SESSION_COOKIE}=planted; ${SECURE_SESSION_COOKIE}=${JWT}` }))).toEqual({ kind: "cookie", token: JWT });
    });

    it("over plain http reads only the unprefixed name (a __Host- cookie cannot exist there)", () => {
      expect(extractCredentials(req({ cookie: `${SECURE_SESSION_COOKIE}=${JWT}` }))).toBeNull();
    });

    it("counts as https behind a TLS-terminating proxy, or when the public origin is https", () => {
      const proxied = req({ cookie: `${SECURE_SESSION_COOKIE}=${JWT}`, "x-forwarded-proto": "https" });
      expect(isSecureRequest(proxied)).toBe(true);
      expect(extractCredentials(proxied)).toEqual({ kind: "cookie", token: JWT });
      const configured = req({ cookie: `${SECURE_SESSION_COOKIE}=${JWT}` });
      expect(extractCredentials(configured, { publicOrigin: "https://app.example.com" })).toEqual({ kind: "cookie", token: JWT });
      expect(isSecureRequest(secure({}), { publicOrigin: "http://intranet.test" })).toBe(false);
    });
  });
});
