import { describe, expect, it } from "vitest";
import { quantileOfSorted } from "../../bench/support/quantile";
import { ms } from "../../bench/support/report";
import { type StreamRun, summarizeStreams } from "../../bench/support/results";

/** The benchmark's arithmetic: what `npm run bench` prints must not be NaN or a refusal counted as a stream. */
describe("bench figures", () => {
  it("nearest-rank quantiles, and none of nothing", () => {
    expect(quantileOfSorted([], 0.5)).toBeUndefined();
    expect(quantileOfSorted([7], 0.99)).toBe(7);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([quantileOfSorted(hundred, 0.5), quantileOfSorted(hundred, 0.99), quantileOfSorted(hundred, 1)]).toEqual([51, 100, 100]);
  });

  it("a streaming round with no 200 answer gives no latency, and the summary takes the rounds that have one", () => {
    const run = (round: number, p50: number | null): StreamRun => ({
      variant: "stream-metered", round, connections: 1, seconds: 1, completed: 3, rps: p50 === null ? 0 : 3,
      firstChunkMs: { p50, p90: p50, p99: p50 }, totalMs: { p50, p99: p50 }, statuses: p50 === null ? { 402: 3 } : { 200: 3 }, errors: 0,
    });
    const [summary] = summarizeStreams([run(1, 10), run(2, null), run(3, 20)]);
    expect(summary).toMatchObject({ firstChunkP50Ms: 15, totalP50Ms: 15, statuses: { 200: 6, 402: 3 } });
    const [none] = summarizeStreams([run(1, null)]);
    expect(ms(none!.firstChunkP50Ms)).toBe("n/a");
    expect(ms(12.345)).toBe("12.3 ms");
  });
});
