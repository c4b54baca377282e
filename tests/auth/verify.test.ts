import { generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { AUTH_FAILURE_MESSAGES, MAX_TOKEN_BYTES, type VerifyResult } from "../../lib/auth";
import { AUDIENCE, b64url, goodClaims, hsVerifier, NOW_S, SECRET, sign } from "./helpers";

function expectFailure(result: VerifyResult, code: string): void {
  expect(result).toMatchObject({ status: "refused", code });
}

describe("createTokenVerifier (HS256)", () => {
  it("accepts a good token and reports user, admin flag and expiry", async () => {
    const verify = hsVerifier();
    const result = await verify(await sign(goodClaims()));
    expect(result).toEqual({ status: "verified", userId: "user_123", isAdmin: false, expiresAt: NOW_S + 3600 });
  });

  it("grants admin for role: admin or roles including admin, and nothing looser", async () => {
    const verify = hsVerifier();
    expect(await verify(await sign(goodClaims({ role: "admin" })))).toMatchObject({ status: "verified", isAdmin: true });
    expect(await verify(await sign(goodClaims({ roles: ["reader", "admin"] })))).toMatchObject({ status: "verified", isAdmin: true });
    expect(await verify(await sign(goodClaims({ role: "Admin" })))).toMatchObject({ status: "verified", isAdmin: false });
    expect(await verify(await sign(goodClaims({ roles: "admin" })))).toMatchObject({ status: "verified", isAdmin: false });
    expect(await verify(await sign(goodClaims({ admin: true })))).toMatchObject({ status: "verified", isAdmin: false });
  });

  it("uses AUTH_ADMIN_CLAIM when configured", async () => {
    const named = hsVerifier({ adminClaim: "https://tollgate.test/admin" });
    expect(await named(await sign(goodClaims({ "https://tollgate.test/admin": true })))).toMatchObject({ isAdmin: true });
    expect(await named(await sign(goodClaims({ role: "admin" })))).toMatchObject({ status: "verified", isAdmin: false });
    const valued = hsVerifier({ adminClaim: "groups=tollgate-admins" });
    expect(await valued(await sign(goodClaims({ groups: ["staff", "tollgate-admins"] })))).toMatchObject({ isAdmin: true });
    expect(await valued(await sign(goodClaims({ groups: true })))).toMatchObject({ status: "verified", isAdmin: false });
  });

  it("token_missing for an empty string", async () => {
    expectFailure(await hsVerifier()(""), "token_missing");
  });

  describe("token_too_large", () => {
    it("refuses a real, correctly signed token just over 4096 bytes and accepts one at the limit", async () => {
      const verify = hsVerifier();
      let pad = 2000;
      let token = await sign(goodClaims({ pad: "x".repeat(pad) }));
      while (token.length <= MAX_TOKEN_BYTES) token = await sign(goodClaims({ pad: "x".repeat(++pad) }));
      expect(token.length).toBeGreaterThan(MAX_TOKEN_BYTES);
      expectFailure(await verify(token), "token_too_large");
      const atLimit = await sign(goodClaims({ pad: "x".repeat(pad - 3) }));
      expect(atLimit.length).toBeLessThanOrEqual(MAX_TOKEN_BYTES);
      expect(await verify(atLimit)).toMatchObject({ status: "verified" });
    });

    it("counts UTF-8 bytes, not UTF-16 units", async () => {
      const token = "€".repeat(2000); // 2000 units, 6000 bytes
      expectFailure(await hsVerifier()(token), "token_too_large");
    });
  });

  describe("token_malformed", () => {
    it.each([
      ["one segment", "abc"],
      ["two segments", "abc.def"],
      ["four segments", "a.b.c.d"],
      ["non-base64url characters", "ab+/.cd==.ef"],
      ["whitespace", " eyJ.eyJ.sig"],
      ["empty header", ".eyJ.sig"],
    ])("refuses %s", async (_name, token) => {
      expectFailure(await hsVerifier()(token), "token_malformed");
    });

    it("refuses a header that is not JSON", async () => {
      expectFailure(await hsVerifier()(`${b64url("not json")}.${b64url(goodClaims())}.c2ln`), "token_malformed");
    });

    it("refuses a correctly signed payload that is not a JSON object", async () => {
      const verify = hsVerifier();
      const { CompactSign } = await import("jose");
      const signed = await new CompactSign(new TextEncoder().encode("[1,2,3]"))
        .setProtectedHeader({ alg: "HS256" })
        .sign(new TextEncoder().encode(SECRET));
      expectFailure(await verify(signed), "token_malformed");
    });

    it("refuses a token without exp (it would never expire)", async () => {
      const { exp: _exp, ...claims } = goodClaims();
      const result = await hsVerifier()(await sign(claims));
      expectFailure(result, "token_malformed");
    });

    it("refuses a non-numeric exp or nbf", async () => {
      expectFailure(await hsVerifier()(await sign(goodClaims({ exp: "tomorrow" as never }))), "token_malformed");
      expectFailure(await hsVerifier()(await sign(goodClaims({ nbf: "now" as never }))), "token_malformed");
    });
  });

  describe("token_alg_not_allowed", () => {
    it('refuses a hand-crafted alg "none" token', async () => {
      const verify = hsVerifier();
      for (const alg of ["none", "None", "NONE"]) {
        const token = `${b64url({ alg, typ: "JWT" })}.${b64url(goodClaims({ role: "admin" }))}.`;
        expectFailure(await verify(token), "token_alg_not_allowed");
      }
    });

    it("refuses an RS256 token presented to the HS256 verifier", async () => {
      const { privateKey } = await generateKeyPair("RS256");
      const token = await sign(goodClaims(), { alg: "RS256", key: privateKey });
      expectFailure(await hsVerifier()(token), "token_alg_not_allowed");
    });

    it("refuses HS512 when only HS256 is pinned", async () => {
      const token = await sign(goodClaims(), { alg: "HS512" });
      expectFailure(await hsVerifier()(token), "token_alg_not_allowed");
      expect(await hsVerifier({ algorithms: ["HS512"] })(token)).toMatchObject({ status: "verified" });
    });
  });

  describe("token_bad_signature", () => {
    it("refuses a token signed with another secret", async () => {
      const token = await sign(goodClaims(), { key: new TextEncoder().encode("another-secret-that-is-32-bytes-long!!") });
      expectFailure(await hsVerifier()(token), "token_bad_signature");
    });

    it("refuses a payload edited after signing (privilege escalation attempt)", async () => {
      const [header, , signature] = (await sign(goodClaims())).split(".");
      const forged = `${header}.${b64url(goodClaims({ role: "admin" }))}.${signature}`;
      expectFailure(await hsVerifier()(forged), "token_bad_signature");
    });

    it("refuses a signature with a changed byte", async () => {
      const token = await sign(goodClaims());
      const [header, payload, signature] = token.split(".") as [string, string, string];
      const flipped = signature.slice(0, 10) + (signature[10] === "A" ? "B" : "A") + signature.slice(11);
      expectFailure(await hsVerifier()(`${header}.${payload}.${flipped}`), "token_bad_signature");
    });
  });

  describe("time claims (tolerance 5 s)", () => {
    it("token_expired past exp + tolerance; accepted inside the tolerance", async () => {
      const verify = hsVerifier();
      expectFailure(await verify(await sign(goodClaims({ exp: NOW_S - 6 }))), "token_expired");
      expect(await verify(await sign(goodClaims({ exp: NOW_S - 4 })))).toMatchObject({ status: "verified" });
    });

    it("token_not_yet_valid for nbf beyond the tolerance", async () => {
      const verify = hsVerifier();
      expectFailure(await verify(await sign(goodClaims({ nbf: NOW_S + 60 }))), "token_not_yet_valid");
      expect(await verify(await sign(goodClaims({ nbf: NOW_S + 4 })))).toMatchObject({ status: "verified" });
    });

    it("honours a configured tolerance of 0", async () => {
      const strict = hsVerifier({ clockToleranceSeconds: 0 });
      expectFailure(await strict(await sign(goodClaims({ exp: NOW_S }))), "token_expired");
      expectFailure(await strict(await sign(goodClaims({ nbf: NOW_S + 1 }))), "token_not_yet_valid");
    });
  });

  describe("issuer and audience pinning", () => {
    it("token_wrong_issuer for another or a missing iss", async () => {
      const verify = hsVerifier();
      expectFailure(await verify(await sign(goodClaims({ iss: "https://evil.test/" }))), "token_wrong_issuer");
      const { iss: _iss, ...noIss } = goodClaims();
      expectFailure(await verify(await sign(noIss)), "token_wrong_issuer");
    });

    it("token_wrong_audience for another or a missing aud; an array containing ours is fine", async () => {
      const verify = hsVerifier();
      expectFailure(await verify(await sign(goodClaims({ aud: "someone-else" }))), "token_wrong_audience");
      const { aud: _aud, ...noAud } = goodClaims();
      expectFailure(await verify(await sign(noAud)), "token_wrong_audience");
      expect(await verify(await sign(goodClaims({ aud: ["other", AUDIENCE] })))).toMatchObject({ status: "verified" });
    });

    it("does not check iss/aud when they are not configured", async () => {
      const open = hsVerifier({ issuer: undefined, audience: undefined });
      expect(await open(await sign(goodClaims({ iss: "anyone", aud: "anything" })))).toMatchObject({ status: "verified" });
    });
  });

  describe("token_invalid_subject", () => {
    it.each([
      ["braces (would break the KV hash tag)", "{x}"],
      ["a glob character", "*"],
      ["129 characters", "a".repeat(129)],
      ["empty", ""],
      ["a leading dash", "-user"],
      ["whitespace", "user 1"],
      ["a number", 123],
      ["null", null],
      ["an object", { id: "user" }],
    ])("refuses sub = %s", async (_name, sub) => {
      const result = await hsVerifier()(await sign(goodClaims({ sub: sub as string })));
      expectFailure(result, "token_invalid_subject");
    });

    it("refuses a token without sub", async () => {
      const { sub: _sub, ...claims } = goodClaims();
      expectFailure(await hsVerifier()(await sign(claims)), "token_invalid_subject");
    });

    it("accepts common IdP subject formats", async () => {
      const verify = hsVerifier();
      for (const sub of ["auth0|abc123", "user_2abc", "3f1c2a9e-7b1d-4c55-9d7e-0a1b2c3d4e5f", "a@b.test", "a".repeat(128)]) {
        expect(await verify(await sign(goodClaims({ sub })))).toMatchObject({ status: "verified", userId: sub });
      }
    });
  });

  it("failure messages are the fixed wording and never echo the token or the secret", async () => {
    const token = await sign(goodClaims({ exp: NOW_S - 100 }));
    const result = await hsVerifier()(token);
    if (result.status === "verified") throw new Error("expected a failure");
    expect(result.message).toBe(AUTH_FAILURE_MESSAGES.token_expired);
    expect(result.message).not.toContain(SECRET);
    expect(result.message).not.toContain(token.split(".")[1]);
  });
});
