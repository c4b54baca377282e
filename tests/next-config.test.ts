import { readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { nextConfigFor } from "../next.config";

const ROOT = resolve(import.meta.dirname, "..");

/** Every file under `dir`, relative to the repository. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** What Next treats as a route handler: `route.<ext>` for one of the build's page extensions. */
function isRouteFile(file: string, extensions: readonly string[]): boolean {
  const name = file.split("/").pop()!;
  return extensions.some((ext) => name === `route.${ext}`);
}

describe("the benchmark's routes exist only in a test build (a build-time switch)", () => {
  it("a normal build sees no route under app/api/bench, and inlines TOLLGATE_TEST_BUILD=0", () => {
    const config = nextConfigFor({ TOLLGATE_BENCH: "1" }); // the old run-time switch means nothing
    const bench = filesUnder(join(ROOT, "app/api/bench"));
    expect(bench.filter((file) => isRouteFile(file, config.pageExtensions!))).toEqual([]);
    expect(config.env).toEqual({ TOLLGATE_TEST_BUILD: "0" });
    // Every other route is still a route.
    expect(filesUnder(join(ROOT, "app/api/generate")).filter((file) => isRouteFile(file, config.pageExtensions!))).toHaveLength(3);
  });

  it("a test build sees the four bench routes and inlines TOLLGATE_TEST_BUILD=1", () => {
    const config = nextConfigFor({ TOLLGATE_TEST_BUILD: "1" });
    const routes = filesUnder(join(ROOT, "app/api/bench")).filter((file) => isRouteFile(file, config.pageExtensions!));
    expect(routes.sort()).toEqual([
      "app/api/bench/hook/route.bench.ts", "app/api/bench/metered/route.bench.ts", "app/api/bench/plain/route.bench.ts", "app/api/bench/stream/route.bench.ts",
    ]);
    expect(config.env).toEqual({ TOLLGATE_TEST_BUILD: "1" });
  });
});
