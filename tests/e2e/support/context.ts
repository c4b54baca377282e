import { inject } from "vitest";
import { mintToken } from "../../../lib/auth";

export interface E2eContext {
  appUrl: string;
  controlUrl: string;
  keyPrefix: string;
  /** The environment `next start` runs with (test secrets only): a test may start a second app. */
  appEnv: Record<string, string>;
}

declare module "vitest" {
  export interface ProvidedContext {
    e2e: E2eContext;
  }
}

/** Test-only secrets, given to the app through its environment by the global setup. */
export const E2E_SECRETS = {
  jwt: "e2e-jwt-secret-0123456789abcdef0123456789abcdef",
  admin: "e2e-admin-token-0123456789abcdef",
  cron: "e2e-cron-secret-0123456789abcdef",
  issuer: "https://issuer.e2e.test",
  audience: "tollgate-e2e",
} as const;

export function e2e(): E2eContext {
  return inject("e2e");
}

export function userToken(
  sub: string,
  opts: { admin?: boolean; ttlSeconds?: number; now?: () => number; secret?: string; audience?: string } = {},
): Promise<string> {
  return mintToken({
    sub, secret: opts.secret ?? E2E_SECRETS.jwt, ttlSeconds: opts.ttlSeconds ?? 600, admin: opts.admin, now: opts.now,
    issuer: E2E_SECRETS.issuer, audience: opts.audience ?? E2E_SECRETS.audience,
  });
}

export function uniqueUser(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}

export async function api(path: string, init: RequestInit & { token?: string; admin?: boolean; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  if (init.admin) headers.set("authorization", `Bearer ${E2E_SECRETS.admin}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return fetch(`${e2e().appUrl}${path}`, { ...init, headers, body });
}

export async function control(path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${e2e().controlUrl}${path}`, {
    method: body === undefined && path === "/counters" ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

export async function topUp(userId: string, amount: number): Promise<number> {
  const res = await api(`/api/admin/users/${encodeURIComponent(userId)}/tokens`, { method: "POST", admin: true, json: { amount, reason: "e2e" } });
  if (res.status !== 201) throw new Error(`top-up failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { balance: number }).balance;
}

/** A user's balance as the admin API reports it. */
export async function balanceOf(userId: string): Promise<number> {
  const res = await api(`/api/admin/users/${encodeURIComponent(userId)}`, { admin: true });
  return ((await res.json()) as { balance: number }).balance;
}
