import { describe, expect, it } from "vitest";
import { isAdminApiToken, MIN_ADMIN_API_TOKEN_LENGTH } from "../../lib/auth";

const EXPECTED = "admin-token-0123456789abcdef";

describe("isAdminApiToken", () => {
  it("true for the exact token", async () => {
    expect(await isAdminApiToken(EXPECTED, EXPECTED)).toBe(true);
    expect(await isAdminApiToken("ünïcødé-admin-token-✓", "ünïcødé-admin-token-✓")).toBe(true);
  });

  it.each([
    ["a different token of the same length", EXPECTED.replace("0", "1")],
    ["a prefix", EXPECTED.slice(0, -1)],
    ["an extension", `${EXPECTED}x`],
    ["different case", EXPECTED.toUpperCase()],
    ["surrounding whitespace", ` ${EXPECTED}`],
    ["empty", ""],
  ])("false for %s", async (_name, presented) => {
    expect(await isAdminApiToken(presented, EXPECTED)).toBe(false);
  });

  it("compares the whole digest: every one-character near miss is refused", async () => {
    // A compare that stopped early would accept about 1 in 256 of these.
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-";
    const misses: string[] = [];
    for (let i = 0; i < EXPECTED.length; i++) {
      for (const ch of alphabet) if (ch !== EXPECTED[i]) misses.push(EXPECTED.slice(0, i) + ch + EXPECTED.slice(i + 1));
    }
    const results = await Promise.all(misses.map((m) => isAdminApiToken(m, EXPECTED)));
    expect(misses.length).toBeGreaterThan(900);
    expect(results.filter(Boolean)).toEqual([]);
  });

  it("false when ADMIN_API_TOKEN is unset, whatever is presented", async () => {
    expect(await isAdminApiToken(EXPECTED, undefined)).toBe(false);
    expect(await isAdminApiToken("", undefined)).toBe(false);
  });

  it("false when ADMIN_API_TOKEN is shorter than 16 characters, even on an exact match", async () => {
    const short = "a".repeat(MIN_ADMIN_API_TOKEN_LENGTH - 1);
    expect(await isAdminApiToken(short, short)).toBe(false);
    expect(await isAdminApiToken("", "")).toBe(false);
    const minimal = "b".repeat(MIN_ADMIN_API_TOKEN_LENGTH);
    expect(await isAdminApiToken(minimal, minimal)).toBe(true);
  });
});
