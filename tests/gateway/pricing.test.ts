import { describe, expect, it } from "vitest";
import {
  assertPricingTable, holdDeadlineMs, maxOutputTokensFor, type PricedRoute, PRICING, priceOfUsage,
  type UsagePricedRoute,
} from "../../lib/gateway/pricing";

/** Usage-priced rows: the price of what a request used, the cap it may use, and start-up validation. Pure. */
const row: UsagePricedRoute = {
  id: "meter", method: "POST", path: "/api/meter",
  usage: { hold: 20, minimumHold: 2, perOutputTokens: { tokens: 10, price: 1 }, perInputTokens: { tokens: 100, price: 1 }, maxDurationSeconds: 60 },
};

describe("priceOfUsage", () => {
  it.each([
    // [input, output, credits]: one per started 100 input tokens, one per started 10 output tokens
    [1, 1, 2],
    [100, 10, 2],
    [101, 10, 3],
    [100, 11, 3],
    [5, 60, 7],
    [250, 95, 13],
  ])("%i input and %i output tokens cost %i", (inputTokens, outputTokens, credits) => {
    expect(priceOfUsage(row, { inputTokens, outputTokens })).toBe(credits);
  });

  it("never costs more than the hold", () => {
    expect(priceOfUsage(row, { inputTokens: 1, outputTokens: 1_000 })).toBe(20);
    expect(priceOfUsage(row, { inputTokens: 10_000, outputTokens: 1 })).toBe(20);
  });

  it("charges nothing for a request that produced nothing, whatever its prompt", () => {
    expect(priceOfUsage(row, { inputTokens: 500, outputTokens: 0 })).toBe(0);
  });

  it.each([[-1, 1], [1, 1.5], [Number.NaN, 1], [1, Number.POSITIVE_INFINITY]])("refuses counts that are not whole numbers ≥ 0 (%s, %s)", (inputTokens, outputTokens) => {
    expect(() => priceOfUsage(row, { inputTokens, outputTokens })).toThrow(TypeError);
  });
});

describe("maxOutputTokensFor", () => {
  it("is the most output whose price, with the input's, fits in what is held", () => {
    expect(maxOutputTokensFor(row, 20, 5)).toBe(190);
    expect(priceOfUsage(row, { inputTokens: 5, outputTokens: 190 })).toBe(20);
    // A partial hold of 3: 20 output tokens cost 1 + 2 = 3; the 21st would start a block costing 4.
    expect(maxOutputTokensFor(row, 3, 5)).toBe(20);
    expect(priceOfUsage(row, { inputTokens: 5, outputTokens: 20 })).toBe(3);
    expect(priceOfUsage(row, { inputTokens: 5, outputTokens: 21 })).toBe(4);
  });

  it("follows a partial hold, and is 0 when the input alone costs what is held", () => {
    expect(maxOutputTokensFor(row, 2, 5)).toBe(10);
    expect(maxOutputTokensFor(row, 2, 150)).toBe(0);
    expect(maxOutputTokensFor(row, 2, 250)).toBe(0);
  });
});

describe("the hold deadline", () => {
  it("is the route's longest run plus a margin, unless overridden", () => {
    expect(holdDeadlineMs(row)).toBe(90_000);
    expect(holdDeadlineMs(row, 2_000)).toBe(2_000);
  });
});

describe("assertPricingTable with usage-priced rows", () => {
  it("accepts the shipped table, whose chat-stream row is usage-priced", () => {
    expect(() => assertPricingTable(PRICING)).not.toThrow();
    expect(PRICING.find((r) => r.id === "chat-stream")?.usage).toBeDefined();
  });

  const bad: [string, (u: UsagePricedRoute["usage"]) => unknown][] = [
    ["a minimum above the hold", (u) => ({ ...u, minimumHold: 21 })],
    ["a zero minimum", (u) => ({ ...u, minimumHold: 0 })],
    ["a fractional hold", (u) => ({ ...u, hold: 2.5 })],
    ["a zero-token rate", (u) => ({ ...u, perOutputTokens: { tokens: 0, price: 1 } })],
    ["a negative price", (u) => ({ ...u, perInputTokens: { tokens: 100, price: -1 } })],
    ["a missing rate", (u) => ({ ...u, perInputTokens: undefined })],
    ["a duration of 0", (u) => ({ ...u, maxDurationSeconds: 0 })],
    ["a duration past 800 s", (u) => ({ ...u, maxDurationSeconds: 801 })],
    ["an unknown expiry", (u) => ({ ...u, onExpiry: "refund" })],
  ];
  it.each(bad)("refuses %s", (_label, change) => {
    const table = [{ ...row, usage: change(row.usage) }] as unknown as PricedRoute[];
    expect(() => assertPricingTable(table)).toThrow(TypeError);
  });

  it("refuses a row with both a cost and usage, or a usage row that fails open", () => {
    expect(() => assertPricingTable([{ ...row, cost: 3 } as unknown as PricedRoute])).toThrow(/both/);
    expect(() => assertPricingTable([{ ...row, failOpen: true } as unknown as PricedRoute])).toThrow(/fail open/);
  });
});
