import { afterEach, describe, expect, it, vi } from "vitest";

/**
 * `apiRoute` wraps every API route outside the gate (session, me, admin, cron). Built from
 * the environment the way `next dev` and `next start` build it, in a fresh module graph per
 * case (the runtime is a singleton).
 */
const BASE = {
  KV_REST_API_URL: "http://127.0.0.1:1",
  KV_REST_API_TOKEN: "api-route-test-token",
  AUTH_JWT_SECRET: "api-route-test-secret-0123456789abcdef",
};

async function load(env: Record<string, string | undefined>) {
  vi.resetModules();
  for (const [name, value] of Object.entries({ ...BASE, TOLLGATE_ENV: undefined, VERCEL_ENV: undefined, TOLLGATE_ALLOWED_HOSTS: undefined, ...env })) {
    vi.stubEnv(name, value);
  }
  return import("../../lib/server/api-route");
}

afterEach(() => {
  vi.unstubAllEnvs();
});

function devSignIn(host: string): Request {
  return new Request(`http://${host}/api/session/dev`, {
    method: "POST", headers: { host, "content-type": "application/json" }, body: JSON.stringify({ as: "admin" }),
  });
}

describe("apiRoute: a development server refuses foreign Hosts before any handler runs", () => {
  it("in development, a rebinding page's request is a 421 and the handler never runs", async () => {
    const { apiRoute } = await load({ NODE_ENV: "development" });
    const handler = vi.fn(async () => new Response("signed in"));
    const route = apiRoute(handler);
    const res = await route(devSignIn("evil.example:3000"));
    expect(res.status).toBe(421);
    expect(await res.json()).toMatchObject({ code: "host_not_allowed" });
    expect(handler).not.toHaveBeenCalled();
    expect((await route(devSignIn("localhost:3000"))).status).toBe(200);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it("in development, TOLLGATE_ALLOWED_HOSTS adds a name", async () => {
    const { apiRoute } = await load({ NODE_ENV: "development", TOLLGATE_ALLOWED_HOSTS: "laptop.local" });
    expect((await apiRoute(async () => new Response("ok"))(devSignIn("laptop.local:3000"))).status).toBe(200);
  });

  it("in a deployment, the platform routes by host: no check", async () => {
    const { apiRoute } = await load({ NODE_ENV: "production" });
    expect((await apiRoute(async () => new Response("ok"))(devSignIn("app.example.com"))).status).toBe(200);
  });
});
