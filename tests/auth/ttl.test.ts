import { describe, expect, it } from "vitest";
import { MAX_TTL_SECONDS, parseTtl } from "../../lib/auth";

describe("parseTtl", () => {
  it.each([
    ["45s", 45],
    ["30m", 1_800],
    ["1h", 3_600],
    ["2d", 172_800],
    ["366d", MAX_TTL_SECONDS],
    [" 1h ", 3_600],
  ])("%s → %d seconds", (input, seconds) => {
    expect(parseTtl(input)).toBe(seconds);
  });

  it.each(["", "1", "h", "0s", "-1h", "1.5h", "1H", "1 h", "1w", "1h30m", "01h", "367d", "9999999999s", "Infinity"])(
    "refuses %j",
    (input) => {
      expect(() => parseTtl(input)).toThrow(TypeError);
    },
  );
});
