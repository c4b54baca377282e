/**
 * The token pair a local server makes when none is configured: random, kept
 * in files only their owner reads, and never taken from a file it cannot trust.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ephemeralTokens, LocalTokenError, localTokens } from "../../lib/kv-server";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-kv-tokens-"));
  dirs.push(dir);
  return dir;
}

describe("local tokens", () => {
  it("makes a random pair on first run, mode 0600 in a 0700 directory, and reads the same pair after", () => {
    const dir = join(tempDir(), "nested", "kv");
    const first = localTokens(dir);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.readOnlyToken).not.toBe(first.token);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const file of [first.tokenFile!, first.readOnlyTokenFile!]) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(localTokens(dir)).toEqual(first);
    expect(localTokens(tempDir()).token).not.toBe(first.token);
  });

  it("tightens a token file someone made readable to others", () => {
    const dir = tempDir();
    const { tokenFile, token } = localTokens(dir);
    chmodSync(tokenFile!, 0o644);
    expect(localTokens(dir).token).toBe(token);
    expect(statSync(tokenFile!).mode & 0o777).toBe(0o600);
  });

  it("refuses a file that holds no token, or a symlink, and never writes through either", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "token"), "tollgate-dev-token\n");
    expect(() => localTokens(dir)).toThrow(LocalTokenError);
    expect(readFileSync(join(dir, "token"), "utf8")).toBe("tollgate-dev-token\n");

    const other = tempDir();
    const target = join(other, "elsewhere");
    writeFileSync(target, "x".repeat(43));
    symlinkSync(target, join(other, "token"));
    expect(() => localTokens(other)).toThrow(/symlink/);
    expect(readFileSync(target, "utf8")).toBe("x".repeat(43));
  });

  it("makes a different pair each time for a server that keeps nothing", () => {
    const a = ephemeralTokens();
    expect(a.tokenFile).toBeUndefined();
    expect(ephemeralTokens().token).not.toBe(a.token);
  });
});
