import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * lib/auth and lib/http run in Next's Edge middleware. The edge test project injects
 * `Buffer` (vitest's edge environment adds it), so it cannot catch Node-only APIs; this
 * scan can.
 */
const ROOT = resolve(import.meta.dirname, "..");
const DIRS = ["lib/auth", "lib/http"];
const FORBIDDEN: [RegExp, string][] = [
  [/from\s+["']node:/, "a node: import"],
  [/require\(/, "require()"],
  [/\bBuffer\b/, "Buffer"],
  [/\bprocess\./, "process.*"],
  [/from\s+["'](fs|path|crypto|http|https|net|os|child_process|stream|util)["']/, "a Node built-in import"],
];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

describe("edge safety of lib/auth and lib/http", () => {
  const files = DIRS.flatMap(sources);

  it("has files to check", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files)("%s uses only Web-standard APIs", (file) => {
    const code = readFileSync(join(ROOT, file), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const [pattern, what] of FORBIDDEN) {
      expect(pattern.test(code), `${file} contains ${what}`).toBe(false);
    }
  });
});
