import { describe, expect, it } from "vitest";
import { createSeedApi } from "../lib/seed-api";
import { kvTargets, meteringOn } from "./support/kv";

describe.each(kvTargets())("the seed application's API on the $engine engine", (target) => {
  it("recordArticleGeneration reports failure with the stats when tokens run out", async () => {
    const m = createSeedApi(meteringOn(target));
    await m.addTokens("rae", 5, "Welcome");
    expect((await m.recordArticleGeneration("rae")).success).toBe(true);
    const refused = await m.recordArticleGeneration("rae");
    expect(refused).toMatchObject({ success: false, stats: { balance: 2, generations: 1 } });
    expect(refused.message).toMatch(/Not enough tokens/);
  });

  it("addTokens returns the new stats; recordArticleGeneration honours a custom cost", async () => {
    const m = createSeedApi(meteringOn(target));
    const stats = await m.addTokens("sam", 12, "Recharge mensuelle");
    expect(stats).toMatchObject({ balance: 12, tokensAdded: 12 });
    expect((await m.recordArticleGeneration("sam", 10)).stats).toMatchObject({ balance: 2, tokensUsed: 10 });
  });
});

describe("the seed API keeps its names and defaults", () => {
  it("recordArticleGeneration costs 3 unless told otherwise", async () => {
    const [target] = kvTargets();
    const m = createSeedApi(meteringOn(target!));
    await m.addTokens("ida", 10, "Welcome");
    expect((await m.recordArticleGeneration("ida")).stats).toMatchObject({ balance: 7, tokensUsed: 3 });
    expect(Object.keys(m).sort()).toEqual(["addTokens", "getUserStats", "recordArticleGeneration", "resetStats"]);
  });
});
