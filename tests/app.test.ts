import { describe, expect, it } from "vitest";
import { buildApp, WEB_PLATFORM } from "../lib/app";
import { settingsFromEnv } from "../lib/settings";

/**
 * The composition root's wiring of the development sign-in to the deployment: built from
 * an environment the way `next dev` and `next start` build it.
 */
const BASE = {
  KV_REST_API_URL: "http://127.0.0.1:1",
  KV_REST_API_TOKEN: "app-test-token",
  AUTH_JWT_SECRET: "app-test-secret-0123456789abcdef01234",
  AUTH_JWT_ISSUER: "https://issuer.app.test",
  AUTH_JWT_AUDIENCE: "tollgate-app-test",
};

const appFor = (env: Record<string, string>) => buildApp(settingsFromEnv({ ...BASE, ...env }, { forTests: false }), WEB_PLATFORM);

const devRequest = () =>
  new Request("http://app.test/api/session/dev", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ as: "admin" }) });

describe("the development sign-in's wiring", () => {
  it.each([
    ["production", { VERCEL_ENV: "production" }],
    ["preview", { VERCEL_ENV: "preview" }],
    ["next start", { NODE_ENV: "production" }],
    ["next start with TOLLGATE_ENV=development (it names keys only)", { NODE_ENV: "production", TOLLGATE_ENV: "development" }],
  ])("is absent in %s: hidden from the page and a 404 from the route", async (_label, env) => {
    const app = appFor(env);
    expect(app.devSignIn).toBe(false);
    const res = await app.session.devSignIn(devRequest());
    expect(res.status).toBe(404);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("is absent in development when TOLLGATE_DEV_SIGNIN=0", async () => {
    const app = appFor({ NODE_ENV: "development", TOLLGATE_DEV_SIGNIN: "0" });
    expect(app.devSignIn).toBe(false);
    expect((await app.session.devSignIn(devRequest())).status).toBe(404);
  });

  it("mints with the configured secret, issuer and audience in development", async () => {
    const app = appFor({ NODE_ENV: "development" });
    expect(app.devSignIn).toBe(true);
    const res = await app.session.devSignIn(devRequest());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ userId: "dev-admin", isAdmin: true });
    const token = /^tollgate_session=([^;]+);/.exec(res.headers.get("set-cookie") ?? "")![1]!;
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ sub: "dev-admin", role: "admin", iss: BASE.AUTH_JWT_ISSUER, aud: BASE.AUTH_JWT_AUDIENCE });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(12 * 3600);
    // The token it minted is one the app's own authenticate() accepts.
    expect(await app.authenticate(new Request("http://app.test/", { headers: { authorization: `Bearer ${token}` } })))
      .toMatchObject({ status: "user", userId: "dev-admin", isAdmin: true, credential: "bearer" });
  });

  it("one authenticate for the routes: an ADMIN_API_TOKEN is an operator, a missing credential is refused", async () => {
    const app = appFor({ NODE_ENV: "production", ADMIN_API_TOKEN: "app-test-admin-token-0123456789" });
    expect(await app.authenticate(new Request("http://app.test/", { headers: { authorization: "Bearer app-test-admin-token-0123456789" } })))
      .toEqual({ status: "admin_token" });
    expect(await app.authenticate(new Request("http://app.test/"))).toMatchObject({ status: "refused", failure: { code: "token_missing" }, credential: null });
  });
});
