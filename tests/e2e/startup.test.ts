/**
 * A misconfigured deployment does not start (instrumentation.ts): it must never answer,
 * let alone charge, requests it cannot serve. Runs the built app with a setting that breaks
 * the timing rule (heal delay under 5 × the KV timeout) and one with a malformed number.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const NEXT = resolve(ROOT, "node_modules/next/dist/bin/next");

function start(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TOLLGATE_") && !k.startsWith("AUTH_") && !k.startsWith("KV_")));
  const child = spawn(process.execPath, [NEXT, "start", "-p", "0", "-H", "127.0.0.1"], {
    cwd: ROOT, env: { ...base, NODE_ENV: "production", TOLLGATE_ENV: "test", NEXT_TELEMETRY_DISABLED: "1", ...env },
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((done) => child.on("exit", (code) => {
    clearTimeout(timer);
    done({ code, output });
  }));
}

const GOOD = {
  AUTH_JWT_SECRET: "startup-test-secret-0123456789abcdef0123456789",
  KV_REST_API_URL: "http://127.0.0.1:1",
  KV_REST_API_TOKEN: "startup-test-token",
};

describe("start-up checks of next start", () => {
  it.each([
    ["a heal delay too short for the KV timeout", { ...GOOD, TOLLGATE_KV_TIMEOUT_MS: "5000", TOLLGATE_HEAL_AFTER_MS: "6000" }, /TOLLGATE_HEAL_AFTER_MS must be at least 5 × TOLLGATE_KV_TIMEOUT_MS/],
    ["an allowance that is not a number", { ...GOOD, TOLLGATE_MONTHLY_ALLOWANCE: "lots" }, /TOLLGATE_MONTHLY_ALLOWANCE must be a whole number/],
  ])("exits 1 with %s, naming the setting", async (_label, env, message) => {
    const { code, output } = await start(env);
    expect(code).toBe(1);
    expect(output).toMatch(message);
    expect(output).not.toContain("startup-test-token");
  });
});
