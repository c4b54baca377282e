import { DOUBLE, LONG_DOUBLE, roundRational, toDouble, type BinaryFloat, type FloatFormat } from "./binary-float";

/**
 * strtod()/strtold() as glibc implements them, because Redis validates
 * every float argument with them and the exact acceptance rules (hex
 * floats, "inf", a trailing "e" left unparsed, ERANGE) decide which error a
 * client sees.
 */

type Scanned =
  | { readonly kind: "nan" }
  | { readonly kind: "inf"; readonly neg: boolean }
  | { readonly kind: "number"; readonly neg: boolean; readonly radix: 10 | 16; readonly digits: string; readonly scale: bigint };

interface ScanResult {
  readonly scanned: Scanned;
  /** Index just past the last character the C function would consume. */
  readonly end: number;
}

const DECIMAL = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?/;
const HEX = /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?/;
const INFINITY = /^([+-]?)inf(?:inity)?/i;
const NAN = /^[+-]?nan(?:\([0-9A-Za-z_]*\))?/i;

/** The longest prefix of `text` (from `start`) that strtod would convert, or undefined. */
function scan(text: string, start: number): ScanResult | undefined {
  const rest = text.slice(start);
  const hex = HEX.exec(rest);
  if (hex) {
    const [all, sign = "", whole = "", fraction = "", onlyFraction = "", exponent = "0"] = hex;
    const fractionDigits = fraction || onlyFraction;
    return {
      scanned: {
        kind: "number",
        neg: sign === "-",
        radix: 16,
        digits: whole + fractionDigits,
        scale: BigInt(exponent) - BigInt(fractionDigits.length * 4),
      },
      end: start + all.length,
    };
  }
  const decimal = DECIMAL.exec(rest);
  if (decimal) {
    const [all, sign = "", whole = "", fraction = "", onlyFraction = "", exponent = "0"] = decimal;
    const fractionDigits = fraction || onlyFraction;
    return {
      scanned: {
        kind: "number",
        neg: sign === "-",
        radix: 10,
        digits: whole + fractionDigits,
        scale: BigInt(exponent) - BigInt(fractionDigits.length),
      },
      end: start + all.length,
    };
  }
  const inf = INFINITY.exec(rest);
  if (inf) return { scanned: { kind: "inf", neg: inf[1] === "-" }, end: start + inf[0].length };
  const nan = NAN.exec(rest);
  if (nan) return { scanned: { kind: "nan" }, end: start + nan[0].length };
  return undefined;
}

type Converted =
  | { readonly status: "ok" | "overflow" | "underflow"; readonly value: BinaryFloat }
  | { readonly status: "nan" };

/** Decimal exponents beyond this are outside even long double range; skip the BigInt work. */
const DECIMAL_EXPONENT_LIMIT = 5000n;

function convert(scanned: Scanned, format: FloatFormat): Converted {
  if (scanned.kind === "nan") return { status: "nan" };
  if (scanned.kind === "inf") return { status: "ok", value: { kind: "inf", neg: scanned.neg } };
  const { neg, radix, digits, scale } = scanned;
  const significand = BigInt(radix === 16 ? `0x${digits}` : digits.replace(/^0+(?=\d)/, ""));
  if (significand === 0n) return roundRational(neg, 0n, 1n, format);
  if (radix === 10) {
    const magnitude = scale + BigInt(digits.replace(/^0+/, "").length);
    if (magnitude > DECIMAL_EXPONENT_LIMIT) return { status: "overflow", value: { kind: "inf", neg } };
    if (magnitude < -DECIMAL_EXPONENT_LIMIT) return { status: "underflow", value: { kind: "finite", neg, mant: 0n, exp: 0 } };
    const power = 10n ** (scale < 0n ? -scale : scale);
    return scale < 0n
      ? roundRational(neg, significand, power, format)
      : roundRational(neg, significand * power, 1n, format);
  }
  const magnitude = scale + BigInt(digits.length * 4);
  if (magnitude > DECIMAL_EXPONENT_LIMIT * 4n) return { status: "overflow", value: { kind: "inf", neg } };
  if (magnitude < -DECIMAL_EXPONENT_LIMIT * 4n) return { status: "underflow", value: { kind: "finite", neg, mant: 0n, exp: 0 } };
  return scale < 0n
    ? roundRational(neg, significand, 1n << -scale, format)
    : roundRational(neg, significand << scale, 1n, format);
}

/**
 * Redis's string2ld()/getDoubleFromObject(): the whole string must convert,
 * no leading space, no NaN, and no ERANGE overflow or underflow to zero.
 */
function parseStrict(text: string, format: FloatFormat): BinaryFloat | undefined {
  if (text.length === 0) return undefined;
  const result = scan(text, 0);
  if (!result || result.end !== text.length) return undefined;
  const converted = convert(result.scanned, format);
  if (converted.status !== "ok") return undefined;
  return converted.value;
}

/** A score or increment argument (strtod). Infinities are allowed; NaN is not. */
export function parseDouble(text: string): number | undefined {
  // Fast path for the everyday case: plain decimals convert exactly with Number().
  if (/^-?\d{1,15}(?:\.\d{1,15})?$/.test(text)) return Number(text);
  const value = parseStrict(text, DOUBLE);
  return value === undefined ? undefined : toDouble(value);
}

/** An INCRBYFLOAT/HINCRBYFLOAT operand (strtold; 5 KiB limit as in Redis). */
export function parseLongDouble(text: string): BinaryFloat | undefined {
  if (text.length >= 5 * 1024) return undefined;
  return parseStrict(text, LONG_DOUBLE);
}

/**
 * The bound of a score range (ZCOUNT, ZRANGEBYSCORE...). Redis calls plain
 * strtod here without the strict checks: leading spaces are skipped,
 * overflow saturates to ±inf, and an empty string reads as 0.
 */
export function parseLooseDouble(text: string): number | undefined {
  let start = 0;
  while (start < text.length && " \t\n\v\f\r".includes(text[start] ?? "")) start++;
  const result = scan(text, start);
  if (!result) return text.length === 0 ? 0 : undefined;
  if (result.end !== text.length) return undefined;
  const converted = convert(result.scanned, DOUBLE);
  if (converted.status === "nan") return undefined;
  return toDouble(converted.value);
}
