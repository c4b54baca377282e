import { afterEach, describe, expect, it, vi } from "vitest";

/**
 * The wiring of the development sign-in to the deployment: built from the environment the
 * way `next start` builds it, in a fresh module graph per case (the runtime is a singleton).
 */
const BASE = {
  KV_REST_API_URL: "http://127.0.0.1:1",
  KV_REST_API_TOKEN: "session-runtime-test",
  AUTH_JWT_SECRET: "session-runtime-secret-0123456789abcdef",
  AUTH_JWT_ISSUER: "https://issuer.session.test",
  AUTH_JWT_AUDIENCE: "tollgate-session-test",
};

async function load(env: Record<string, string | undefined>) {
  vi.resetModules();
  for (const [name, value] of Object.entries({ ...BASE, TOLLGATE_ENV: undefined, VERCEL_ENV: undefined, NODE_ENV: "development", TOLLGATE_DEV_SIGNIN: undefined, ...env })) {
    vi.stubEnv(name, value);
  }
  return import("../../lib/server/session-runtime");
}

const devRequest = () =>
  new Request("http://app.test/api/session/dev", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ as: "admin" }) });

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the development sign-in's wiring", () => {
  it.each([
    ["production", { VERCEL_ENV: "production" }],
    ["preview", { VERCEL_ENV: "preview" }],
    ["next start", { NODE_ENV: "production" }],
    ["next start with TOLLGATE_ENV=development (it names keys only)", { NODE_ENV: "production", TOLLGATE_ENV: "development" }],
  ])("is absent in %s: hidden from the page and a 404 from the route", async (_label, env) => {
    const runtime = await load(env);
    expect(runtime.devSignInAvailable()).toBe(false);
    const res = await runtime.sessionHandlers().devSignIn(devRequest());
    expect(res.status).toBe(404);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("is absent in development when TOLLGATE_DEV_SIGNIN=0", async () => {
    const runtime = await load({ TOLLGATE_DEV_SIGNIN: "0" });
    expect(runtime.devSignInAvailable()).toBe(false);
    expect((await runtime.sessionHandlers().devSignIn(devRequest())).status).toBe(404);
  });

  it("mints with the configured secret, issuer and audience in development", async () => {
    const runtime = await load({});
    expect(runtime.devSignInAvailable()).toBe(true);
    const res = await runtime.sessionHandlers().devSignIn(devRequest());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ userId: "dev-admin", isAdmin: true });
    const token = /^tollgate_session=([^;]+);/.exec(res.headers.get("set-cookie") ?? "")![1]!;
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ sub: "dev-admin", role: "admin", iss: BASE.AUTH_JWT_ISSUER, aud: BASE.AUTH_JWT_AUDIENCE });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(12 * 3600);
  });
});
