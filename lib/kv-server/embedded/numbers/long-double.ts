import { addFinite, formatFixed, LONG_DOUBLE, zero, type BinaryFloat } from "./binary-float";
import { parseLongDouble } from "./parse-float";

export type FloatIncrement =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly reason: "not-a-float" | "nan-or-infinity" };

/**
 * INCRBYFLOAT/HINCRBYFLOAT arithmetic: both operands are read with strtold,
 * summed in 80-bit extended precision and printed with "%.17Lf" minus
 * trailing zeros (Redis's LD_STR_HUMAN). That is why 10.5 + 0.1 answers
 * "10.6" rather than the double-precision "10.599999999999999".
 */
export function incrementFloat(current: string | undefined, increment: string): FloatIncrement {
  const base: BinaryFloat | undefined = current === undefined ? zero() : parseLongDouble(current);
  const delta = parseLongDouble(increment);
  if (base === undefined || delta === undefined) return { ok: false, reason: "not-a-float" };
  if (base.kind === "inf" || delta.kind === "inf") return { ok: false, reason: "nan-or-infinity" };
  const sum = addFinite(base, delta, LONG_DOUBLE);
  if (sum.status === "overflow") return { ok: false, reason: "nan-or-infinity" };
  return { ok: true, text: humanReadable(sum.value) };
}

/** Whether strtold accepts the text, and the value is neither NaN nor infinite. */
export function isFiniteLongDouble(text: string): boolean {
  const value = parseLongDouble(text);
  return value !== undefined && value.kind === "finite";
}

function humanReadable(value: BinaryFloat): string {
  let text = formatFixed(value, 17);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return text === "-0" ? "0" : text;
}
