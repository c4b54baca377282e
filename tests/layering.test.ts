import { ESLint } from "eslint";
import { readdirSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layering rule in eslint.config.mjs, exercised: the framework-free core refuses the
 * framework, Node's modules and the app's wiring, and accepts what it may use.
 */
const ROOT = resolve(import.meta.dirname, "..");
const eslint = new ESLint({ cwd: ROOT });

async function restricted(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: resolve(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("the core's imports", () => {
  it.each(["lib/metering/probe.ts", "lib/auth/probe.ts", "lib/gateway/probe.ts", "lib/http/probe.ts"])("%s may not import Next, Node or the app's wiring", async (file) => {
    const source = [
      'import { after } from "next/server";',
      'import { readFileSync } from "node:fs";',
      'import { createHash } from "crypto";',
      'import { nodeApp } from "../server/node-platform";',
      'import { getApp } from "../app";',
      'import { loadSettings } from "../settings";',
      "export const used = [after, readFileSync, createHash, nodeApp, getApp, loadSettings];",
    ].join("\n");
    expect(await restricted(file, source)).toHaveLength(6);
  });

  it("may import each other, jose and the shared id rule", async () => {
    const source = [
      'import { jwtVerify } from "jose";',
      'import { problem } from "../http";',
      'import { isValidUserId } from "../user-id";',
      "export const used = [jwtVerify, problem, isValidUserId];",
    ].join("\n");
    expect(await restricted("lib/gateway/probe.ts", source)).toEqual([]);
  });

  it("does not bind the rest of the app (lib/server may import Next)", async () => {
    expect(await restricted("lib/server/probe.ts", 'import { after } from "next/server";\nexport const used = after;')).toEqual([]);
  });
});

describe("the environment is read in one module", () => {
  it("no file of lib/ or app/ reads process.env but lib/settings.ts", () => {
    const files = ["lib", "app"].flatMap((dir) =>
      readdirSync(resolve(ROOT, dir), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
        .map((e) => relative(ROOT, resolve(e.parentPath, e.name))));
    const readers = files.filter((file) => file !== "lib/settings.ts" && readFileSync(resolve(ROOT, file), "utf8").includes("process.env"));
    expect(readers).toEqual([]);
  });
});
