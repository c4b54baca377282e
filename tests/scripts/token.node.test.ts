import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { authConfigFromEnv, createTokenVerifier } from "../../lib/auth";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const TSX = resolve(ROOT, "node_modules/.bin/tsx");
const SECRET = "cli-test-secret-0123456789-abcdefghij";

/** Runs `scripts/token.ts` as `npm run token` would, with a controlled environment. */
async function token(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AUTH_|TOLLGATE_|VERCEL_ENV|NODE_ENV)/.test(k)),
  );
  try {
    const { stdout, stderr } = await run(TSX, ["scripts/token.ts", ...args], { cwd: ROOT, env: { ...clean, ...env } as NodeJS.ProcessEnv });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("scripts/token.ts", () => {
  it("prints exactly one verifiable JWT on stdout and hints on stderr", async () => {
    const env = { AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: "https://iss.test/", AUTH_JWT_AUDIENCE: "aud-test", NODE_ENV: "production" };
    const out = await token(["test-user-id", "--admin", "--ttl", "30m"], env);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(out.stderr).toContain("test-user-id");
    const result = await createTokenVerifier(authConfigFromEnv(env))(out.stdout.trim());
    expect(result).toMatchObject({ status: "verified", userId: "test-user-id", isAdmin: true });
    if (result.status === "verified") expect(result.expiresAt - Date.now() / 1000).toBeGreaterThan(30 * 60 - 60);
  });

  it("outside production with no secret, signs with the checkout's own local secret (made once, owner-only) and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-token-"));
    try {
      const env = { NODE_ENV: "development", TOLLGATE_DATA_DIR: dir };
      const first = await token(["alice"], env);
      expect(first.code).toBe(0);
      const file = join(dir, "jwt-secret");
      expect(first.stderr).toContain(`the local development secret in ${file}`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const secret = readFileSync(file, "utf8").trim();
      expect(secret).toMatch(/^[\w-]{43}$/);
      const verify = createTokenVerifier(authConfigFromEnv({ NODE_ENV: "development", AUTH_JWT_SECRET: secret }));
      expect(await verify(first.stdout.trim())).toMatchObject({ status: "verified", userId: "alice", isAdmin: false });
      // The same secret next time (npm run dev reads it too), not a new one per call.
      const second = await token(["bob"], env);
      expect(readFileSync(file, "utf8").trim()).toBe(secret);
      expect(await verify(second.stdout.trim())).toMatchObject({ status: "verified", userId: "bob" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["no user id", []],
    ["an invalid user id", ["{x}"]],
    ["two user ids", ["a", "b"]],
    ["a junk ttl", ["alice", "--ttl", "forever"]],
    ["a missing ttl value", ["alice", "--ttl"]],
    ["an unknown flag", ["alice", "--root"]],
  ])("exits 2 with nothing on stdout for %s", async (_name, args) => {
    const out = await token(args, { NODE_ENV: "development" });
    expect(out.code).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr).toMatch(/token: .+/);
  });

  it("exits 2 in production without a secret, without printing any secret", async () => {
    const out = await token(["alice"], { NODE_ENV: "production" });
    expect(out.code).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain("AUTH_JWT_SECRET");
  });
});
