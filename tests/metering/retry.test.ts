import { describe, expect, it } from "vitest";
import { retryUntilDone } from "../../lib/metering/retry";

describe("retryUntilDone: the metering core's one polling loop", () => {
  it("returns the first defined result, after pauses that double up to the cap", async () => {
    const asked: number[] = [];
    let calls = 0;
    const result = await retryUntilDone(async () => (++calls === 5 ? "done" : undefined), { first: 1, max: 4 }, (pause) => {
      asked.push(pause);
      return true;
    });
    expect(result).toBe("done");
    expect(asked).toEqual([1, 2, 4, 4]);
  });

  it("stops, with undefined, when it may not wait for another try", async () => {
    let calls = 0;
    const result = await retryUntilDone(async () => {
      calls++;
      return undefined;
    }, { first: 1, max: 1 }, () => calls < 3);
    expect(result).toBeUndefined();
    expect(calls).toBe(3);
  });

  it("a false result is a result: a fenced step that found its fence closed ends the loop", async () => {
    let calls = 0;
    expect(await retryUntilDone(async () => (calls++, false), { first: 1, max: 1 }, () => true)).toBe(false);
    expect(calls).toBe(1);
  });
});
