/**
 * `npm run dev` as a newcomer runs it, with nothing configured: the local KV server and
 * `next dev`, its secrets made on first run and kept owner-only, the one-click sign-in
 * working in a browser, and the whole development app refusing requests addressed to any
 * name but its own (what a DNS-rebinding page would send). Runs the real script
 * (scripts/dev.ts) with its state in a temporary directory and on free ports, so a
 * developer's own `.tollgate` and :8079 are never touched.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./support/browser";
import { freePort } from "../support/ports";

const ROOT = resolve(import.meta.dirname, "../..");
const TSX = resolve(ROOT, "node_modules/.bin/tsx");

let dir: string;
let port: number;
let dev: ChildProcess;
let log = "";
let browser: Browser;

/** The environment of a fresh checkout: nothing of the suite's own configuration. */
function freshEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([k]) => !/^(TOLLGATE_|AUTH_|KV_|UPSTASH_|REDIS_URL$|NODE_ENV$|VERCEL_ENV$|ADMIN_API_TOKEN$|CRON_SECRET$)/.test(k));
  // NODE_ENV as `next dev` sets it anyway (a developer's shell usually has none).
  return { ...Object.fromEntries(kept), NODE_ENV: "development", NEXT_TELEMETRY_DISABLED: "1", ...extra };
}


interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, so the Host header is exactly what the test says (fetch would set its own). */
function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", fail);
    req.end(body);
  });
}

const own = () => `127.0.0.1:${port}`;
const json = (host: string, extra: Record<string, string> = {}) => ({ host, "content-type": "application/json", ...extra });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-dev-"));
  port = await freePort();
  const kvPort = await freePort();
  dev = spawn(TSX, ["scripts/dev.ts", "-p", String(port)], {
    cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: freshEnv({ TOLLGATE_DATA_DIR: dir, TOLLGATE_DEV_KV_PORT: String(kvPort) }),
  });
  dev.stdout?.on("data", (d) => (log += d));
  dev.stderr?.on("data", (d) => (log += d));
  const end = Date.now() + 180_000;
  for (;;) {
    // The first request compiles the route: `next dev` answers once it has.
    const up = await send("GET", "/api/me", { host: own() }).then((a) => a.status === 401, () => false);
    if (up) break;
    if (dev.exitCode !== null || Date.now() > end) throw new Error(`npm run dev did not come up:\n${log}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (dev?.pid !== undefined && dev.exitCode === null) {
    process.kill(-dev.pid, "SIGTERM");
    await new Promise((done) => {
      const timer = setTimeout(() => {
        try {
          process.kill(-dev.pid!, "SIGKILL");
        } catch {
          // gone already
        }
        done(undefined);
      }, 10_000);
      dev.on("exit", () => {
        clearTimeout(timer);
        done(undefined);
      });
    });
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("npm run dev, with nothing configured", () => {
  it("makes its own KV tokens and JWT secret, random and readable by their owner only", () => {
    const files = [join(dir, "kv", "token"), join(dir, "kv", "read-only-token"), join(dir, "jwt-secret")];
    const values = files.map((file) => {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      return readFileSync(file, "utf8").trim();
    });
    for (const value of values) expect(value).toMatch(/^[\w-]{43}$/);
    expect(new Set(values).size).toBe(3);
    expect(log).toContain(`development secret kept in ${join(dir, "jwt-secret")}`);
  });

  it("signs in with one click in the browser, as the test user with development's balance", async () => {
    const context = await browser.newContext({ baseURL: `http://${own()}` });
    const page = await context.newPage();
    await page.goto("/", { timeout: 120_000 });
    await page.getByRole("button", { name: "Sign in as the test user" }).click({ timeout: 120_000 });
    await page.getByTestId("balance").waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("balance").textContent()).toBe("1,000");
    await context.close();
  }, 240_000);

  it("accepts a token from `npm run token`, signed with the same local secret, and meters through the gate", async () => {
    const { stdout } = await promisify(execFile)(TSX, ["scripts/token.ts", "alice"], { cwd: ROOT, env: freshEnv({ TOLLGATE_DATA_DIR: dir }) });
    const bearer = { authorization: `Bearer ${stdout.trim()}` };
    const me = await send("GET", "/api/me", { host: own(), ...bearer });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ userId: "alice" });
    const generated = await send("POST", "/api/generate/article", json(own(), bearer), JSON.stringify({ topic: "tea" }));
    expect(generated.status).toBe(200);
    expect(generated.headers["x-tokens-cost"]).toBe("3");
  }, 180_000);
});

describe("npm run dev listens on loopback only", () => {
  // Every machine that runs CI has a non-loopback interface; one without has nothing to show.
  const external = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;

  it.skipIf(external === undefined)("the app cannot be reached on the machine's other address", async () => {
    const reached = await new Promise<boolean>((done) => {
      const socket = connect({ host: external!, port }, () => {
        socket.destroy();
        done(true);
      });
      socket.on("error", () => done(false));
    });
    expect(reached).toBe(false);
  });
});

describe("npm run dev refuses requests addressed to another name (DNS rebinding)", () => {
  const evil = () => `rebind.evil.example:${port}`;

  it("the one-click sign-in: 421 and no cookie; from its own name: 200 and a cookie", async () => {
    const refused = await send("POST", "/api/session/dev", json(evil(), { origin: `http://${evil()}` }), JSON.stringify({ as: "admin" }));
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.body)).toMatchObject({ code: "host_not_allowed" });
    expect(refused.headers["set-cookie"]).toBeUndefined();
    const allowed = await send("POST", "/api/session/dev", json(own(), { origin: `http://${own()}` }), JSON.stringify({ as: "admin" }));
    expect(allowed.status).toBe(200);
    expect(String(allowed.headers["set-cookie"])).toMatch(/^tollgate_session=/);
  }, 180_000);

  it("a generation route, before the gate authenticates or charges: 421", async () => {
    const refused = await send("POST", "/api/generate/article", json(evil()), JSON.stringify({ topic: "tea" }));
    expect(refused.status).toBe(421);
  });

  it("the user API, and a forwarded host a same-origin page could set: 421", async () => {
    expect((await send("GET", "/api/me", { host: evil() })).status).toBe(421);
    expect((await send("GET", "/api/me", { host: own(), "x-forwarded-host": "rebind.evil.example" })).status).toBe(421);
  });
});
