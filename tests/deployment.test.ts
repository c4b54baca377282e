import { describe, expect, it } from "vitest";
import { isProductionEnv, isProductionStage, stageOf, StageError } from "../lib/deployment";

describe("stageOf: the deployment decides, TOLLGATE_ENV never does", () => {
  it.each([
    [{}, "development"],
    [{ NODE_ENV: "development" }, "development"],
    [{ NODE_ENV: "test" }, "test"],
    [{ NODE_ENV: "production" }, "production"],
    [{ NODE_ENV: "staging" }, "production"], // unknown: fail closed
    [{ VERCEL_ENV: "production" }, "production"],
    [{ VERCEL_ENV: "preview", NODE_ENV: "development" }, "preview"],
    [{ VERCEL_ENV: "development", NODE_ENV: "production" }, "development"], // `vercel dev`
    [{ TOLLGATE_ENV: "development", NODE_ENV: "production" }, "production"],
    [{ TOLLGATE_ENV: "development", VERCEL_ENV: "production" }, "production"],
    [{ TOLLGATE_ENV: "test", VERCEL_ENV: "preview" }, "preview"],
    [{ TOLLGATE_ENV: "production", NODE_ENV: "development" }, "development"],
  ] as const)("%o → %s", (env, stage) => {
    expect(stageOf(env)).toBe(stage);
  });

  it("refuses a VERCEL_ENV Vercel never sets", () => {
    expect(() => stageOf({ VERCEL_ENV: "staging" })).toThrow(StageError);
  });

  it("counts production and preview as production (a preview is a public URL)", () => {
    expect(["production", "preview", "development", "test"].filter((s) => isProductionStage(s as never))).toEqual(["production", "preview"]);
    expect(isProductionEnv({ NODE_ENV: "production", TOLLGATE_ENV: "development" })).toBe(true);
  });
});
