/**
 * The number formats Redis clients observe, checked against values read
 * off a real Redis 7.0 (the differential tests cover them in context too).
 */
import { describe, expect, it } from "vitest";
import { formatScore } from "../../lib/kv-server/embedded/sorted-set";
import { incrementFloat } from "../../lib/kv-server/embedded/numbers/long-double";
import { parseDouble, parseLooseDouble } from "../../lib/kv-server/embedded/numbers/parse-float";
import { parseInt64 } from "../../lib/kv-server/embedded/numbers/int64";
import { compileGlob } from "../../lib/kv-server/embedded/glob";
import { compareBytes } from "../../lib/kv-server/embedded/sorted-set";

describe("scores print like printf(\"%.17g\")", () => {
  it.each([
    [1.1, "1.1000000000000001"],
    [1e20, "1e+20"],
    [0.0001, "0.0001"],
    [0.00001, "1.0000000000000001e-05"],
    [-0, "-0"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
    [5e-324, "4.9406564584124654e-324"],
    // An exact tie at the 17th digit rounds to even, where toPrecision() would round up.
    [1000000000000000.25, "1000000000000000.2"],
    [123456789, "123456789"],
  ])("%s → %s", (score, text) => {
    expect(formatScore(score)).toBe(text);
  });
});

describe("INCRBYFLOAT runs in 80-bit long double", () => {
  it("sums like x87 and prints %.17Lf without trailing zeros", () => {
    expect(incrementFloat("10.5", "0.1")).toEqual({ ok: true, text: "10.6" });
    expect(incrementFloat("0.1", "0.2")).toEqual({ ok: true, text: "0.3" });
    expect(incrementFloat(undefined, "0x10")).toEqual({ ok: true, text: "16" });
    expect(incrementFloat("-0.5", "0.5")).toEqual({ ok: true, text: "0" });
    expect(incrementFloat("1", "1e-18")).toEqual({ ok: true, text: "1" });
    expect(incrementFloat("abc", "1")).toEqual({ ok: false, reason: "not-a-float" });
    expect(incrementFloat(undefined, "inf")).toEqual({ ok: false, reason: "nan-or-infinity" });
    const huge = incrementFloat(undefined, "1e400");
    expect(huge.ok && huge.text.startsWith("10000000000000000000281880683947586514586")).toBe(true);
  });
});

describe("float parsing follows strtod and Redis's checks", () => {
  it("strict (scores, increments)", () => {
    expect(parseDouble("0x1.8p1")).toBe(3);
    expect(parseDouble("inf")).toBe(Infinity);
    expect(parseDouble("-Infinity")).toBe(-Infinity);
    for (const bad of [" 1", "1 ", "", "nan", "1e400", "1e-400", "0b1", "1e", "1_0"]) expect(parseDouble(bad)).toBeUndefined();
  });

  it("loose (range bounds)", () => {
    expect(parseLooseDouble("")).toBe(0);
    expect(parseLooseDouble(" 5")).toBe(5);
    expect(parseLooseDouble("1e400")).toBe(Infinity);
    expect(parseLooseDouble("  ")).toBeUndefined();
    expect(parseLooseDouble("5 ")).toBeUndefined();
  });

  it("integers are canonical int64 only", () => {
    expect(parseInt64("-9223372036854775808")).toBe(-9223372036854775808n);
    for (const bad of ["9223372036854775808", "+1", "01", "-0", " 1", "1.0", ""]) expect(parseInt64(bad)).toBeUndefined();
  });
});

describe("glob matching is Redis's stringmatchlen", () => {
  it.each([
    ["h?llo", "héllo", false], // "?" is one byte and "é" is two
    ["h??llo", "héllo", true],
    ["h[^e]llo", "hallo", true],
    ["a[", "a[", false],
    ["a[", "a", false],
    ["[b-a]", "a", true],
    ["a\\*b", "a*b", true],
    ["*a*a*a*a*a*a*a*b", "a".repeat(60), false],
  ])("%s vs %s → %s", (pattern, text, expected) => {
    expect(compileGlob(pattern)(text)).toBe(expected);
  });
});

it("orders members by UTF-8 bytes, not UTF-16 code units", () => {
  expect(compareBytes("\uffff", "\u{10000}")).toBeLessThan(0);
  expect(compareBytes("a", "ab")).toBeLessThan(0);
  expect(compareBytes("é", "z")).toBeGreaterThan(0);
});
