import { describe, expect, it } from "vitest";
import {
  authFailureResponse,
  forbidden,
  insufficientTokens,
  invalidRequest,
  meteringUnavailable,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  problem,
  PROBLEMS,
  type ProblemCode,
  unauthenticated,
  unsupportedMediaType,
} from "../../lib/http";
import { AUTH_FAILURE_CODES, AUTH_FAILURE_MESSAGES } from "../../lib/auth";

async function body(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

function expectProblemHeaders(response: Response): void {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  expect(response.headers.get("cache-control")).toBe("no-store");
}

describe("problem()", () => {
  it("builds an RFC 9457 body from the code's row of the table, with the standard headers", async () => {
    const response = problem("idempotency_key_reused", { detail: "short and stout", extra: { spout: 1 }, headers: { "x-a": "b" } });
    expect(response.status).toBe(422);
    expectProblemHeaders(response);
    expect(response.headers.get("x-a")).toBe("b");
    expect(await body(response)).toEqual({
      type: "urn:tollgate:problem:idempotency_key_reused",
      title: "Idempotency-Key reused",
      status: 422,
      code: "idempotency_key_reused",
      detail: "short and stout",
      spout: 1,
    });
  });

  it("every code in the table answers its own status and title", async () => {
    for (const [code, row] of Object.entries(PROBLEMS) as [ProblemCode, { status: number; title: string }][]) {
      const response = problem(code);
      expect(response.status).toBe(row.status);
      expect(await body(response)).toMatchObject({ code, status: row.status, title: row.title });
    }
  });

  it("omits detail when not given, and extras never override standard members", async () => {
    const response = problem("not_found", { extra: { code: "spoofed", status: 200, type: "t", title: "t" } });
    expect(await body(response)).toEqual({ type: "urn:tollgate:problem:not_found", title: "Not found", status: 404, code: "not_found" });
  });

  it("caller headers cannot drop no-store or change the content type", () => {
    const response = problem("forbidden", { headers: { "cache-control": "public, max-age=60", "content-type": "text/html" } });
    expectProblemHeaders(response);
  });
});

describe("unauthenticated()", () => {
  it("a missing credential gets a bare Bearer challenge (RFC 6750 §3.1)", async () => {
    const response = unauthenticated("token_missing", AUTH_FAILURE_MESSAGES.token_missing);
    expect(response.status).toBe(401);
    expectProblemHeaders(response);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="tollgate"');
    expect(await body(response)).toMatchObject({ code: "unauthenticated", reason: "token_missing" });
  });

  it("a bad token gets error=invalid_token with the description", async () => {
    const response = unauthenticated("token_expired", AUTH_FAILURE_MESSAGES.token_expired);
    expect(response.headers.get("www-authenticate")).toBe(
      'Bearer realm="tollgate", error="invalid_token", error_description="the token has expired"',
    );
    expect(await body(response)).toMatchObject({
      status: 401,
      code: "unauthenticated",
      reason: "token_expired",
      detail: "the token has expired",
    });
  });

  it("keeps the challenge a valid quoted-string whatever the message", () => {
    const response = unauthenticated("token_malformed", 'bad "quote" \\ and ünïcode\nnewline');
    const header = response.headers.get("www-authenticate")!;
    const description = /error_description="(.*)"$/.exec(header)![1]!;
    expect(description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/);
  });

  it("every failure message is already header-safe", () => {
    for (const code of AUTH_FAILURE_CODES) {
      expect(unauthenticated(code, AUTH_FAILURE_MESSAGES[code]).headers.get("www-authenticate")).not.toContain("?");
    }
  });
});

describe("authFailureResponse()", () => {
  it("maps an unreachable key set to 503 with Retry-After, not 401", async () => {
    const response = authFailureResponse({ code: "token_jwks_unavailable", message: AUTH_FAILURE_MESSAGES.token_jwks_unavailable });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(response.headers.get("www-authenticate")).toBeNull();
    expect(await body(response)).toMatchObject({ code: "auth_unavailable", reason: "token_jwks_unavailable" });
  });

  it.each(AUTH_FAILURE_CODES.filter((c) => c !== "token_jwks_unavailable"))("maps %s to 401", async (code) => {
    const response = authFailureResponse({ code, message: AUTH_FAILURE_MESSAGES[code] });
    expect(response.status).toBe(401);
    expect(await body(response)).toMatchObject({ code: "unauthenticated", reason: code });
  });
});

describe("helpers", () => {
  it("forbidden → 403 forbidden", async () => {
    const response = forbidden("admins only");
    expect(response.status).toBe(403);
    expectProblemHeaders(response);
    expect(await body(response)).toMatchObject({ code: "forbidden", detail: "admins only" });
  });

  it("invalidRequest → 400 with the caller's code and extras", async () => {
    const response = invalidRequest("invalid_amount", "amount must be a positive safe integer", { field: "amount" });
    expect(response.status).toBe(400);
    expect(await body(response)).toMatchObject({ code: "invalid_amount", field: "amount" });
  });

  it("meteringUnavailable → 503 metering_unavailable with Retry-After", async () => {
    const response = meteringUnavailable(3);
    expect(response.status).toBe(503);
    expectProblemHeaders(response);
    expect(response.headers.get("retry-after")).toBe("3");
    expect(await body(response)).toMatchObject({ code: "metering_unavailable", retryAfter: 3 });
    expect(meteringUnavailable().headers.get("retry-after")).toBe("1");
    expect(() => meteringUnavailable(1.5)).toThrow(TypeError);
  });

  it("insufficientTokens → 402 with balance, cost and topUpUrl", async () => {
    const response = insufficientTokens({ balance: 3, cost: 10, topUpUrl: "/billing" });
    expect(response.status).toBe(402);
    expectProblemHeaders(response);
    expect(await body(response)).toMatchObject({ code: "insufficient_tokens", balance: 3, cost: 10, topUpUrl: "/billing" });
    expect(() => insufficientTokens({ balance: 0.5, cost: 1, topUpUrl: "/" })).toThrow(TypeError);
  });

  it("notFound → 404", async () => {
    const response = notFound();
    expect(response.status).toBe(404);
    expect(await body(response)).toMatchObject({ code: "not_found" });
  });

  it("methodNotAllowed → 405 with Allow", async () => {
    const response = methodNotAllowed(["GET", "POST"]);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, POST");
    expect(await body(response)).toMatchObject({ code: "method_not_allowed", allowed: ["GET", "POST"] });
  });

  it("payloadTooLarge → 413 with the limit", async () => {
    const response = payloadTooLarge(1024);
    expect(response.status).toBe(413);
    expect(await body(response)).toMatchObject({ code: "payload_too_large", maxBytes: 1024 });
  });

  it("unsupportedMediaType → 415", async () => {
    const response = unsupportedMediaType();
    expect(response.status).toBe(415);
    expectProblemHeaders(response);
    expect(await body(response)).toMatchObject({ code: "unsupported_media_type", expected: "application/json" });
  });
});
