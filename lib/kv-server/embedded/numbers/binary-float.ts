/**
 * Exact binary floating point, done with BigInt.
 *
 * Redis formats scores with printf("%.17g") and INCRBYFLOAT results with
 * printf("%.17Lf") on an x87 80-bit long double. JavaScript has neither
 * exact printf rounding (toPrecision breaks ties away from zero, glibc to
 * even) nor a 64-bit-mantissa type, so the embedded engine reproduces both
 * from first principles: a value is sign * mant * 2^exp, rounded to a format
 * with round-half-even exactly as the FPU does.
 */

export type BinaryFloat =
  | { readonly kind: "finite"; readonly neg: boolean; readonly mant: bigint; readonly exp: number }
  | { readonly kind: "inf"; readonly neg: boolean };

export interface FloatFormat {
  /** Significand bits, including the leading one. */
  readonly precision: number;
  /** Exponent of the least significant bit of the smallest subnormal. */
  readonly minExp: number;
  /** Largest exponent a finite value's significand may be scaled by. */
  readonly maxExp: number;
}

/** IEEE 754 binary64. */
export const DOUBLE: FloatFormat = { precision: 53, minExp: -1074, maxExp: 1023 - 52 };
/** x87 extended precision, what `long double` is on x86-64 Linux builds of Redis. */
export const LONG_DOUBLE: FloatFormat = { precision: 64, minExp: -16445, maxExp: 16383 - 63 };

export type RoundResult =
  | { readonly status: "ok"; readonly value: BinaryFloat }
  /** Too large for the format: the C library returns ±HUGE_VAL with ERANGE. */
  | { readonly status: "overflow"; readonly value: BinaryFloat }
  /** A non-zero value that rounds to zero: ERANGE with a zero result. */
  | { readonly status: "underflow"; readonly value: BinaryFloat };

export function zero(neg = false): BinaryFloat {
  return { kind: "finite", neg, mant: 0n, exp: 0 };
}

function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  const hex = n.toString(16);
  return (hex.length - 1) * 4 + Number.parseInt(hex[0] ?? "0", 16).toString(2).length;
}

/** Rounds the exact non-negative rational num/den to `format`, half to even. */
export function roundRational(neg: boolean, num: bigint, den: bigint, format: FloatFormat): RoundResult {
  if (num === 0n) return { status: "ok", value: zero(neg) };
  const p = format.precision;
  let exp = bitLength(num) - bitLength(den) - p;
  for (;;) {
    exp = Math.max(exp, format.minExp);
    const [q] = divideByPowerOfTwo(num, den, exp);
    if (q >= 1n << BigInt(p)) {
      exp++;
    } else if (q < 1n << BigInt(p - 1) && exp > format.minExp) {
      exp--;
    } else {
      break;
    }
  }
  const [quotient, remainder, divisor] = divideByPowerOfTwo(num, den, exp);
  let mant = quotient;
  const twice = remainder * 2n;
  if (twice > divisor || (twice === divisor && (mant & 1n) === 1n)) mant++;
  if (mant === 1n << BigInt(p)) {
    mant >>= 1n;
    exp++;
  }
  if (exp > format.maxExp) return { status: "overflow", value: { kind: "inf", neg } };
  if (mant === 0n) return { status: "underflow", value: zero(neg) };
  return { status: "ok", value: { kind: "finite", neg, mant, exp } };
}

/** floor(num / (den * 2^exp)) with its remainder and the divisor used. */
function divideByPowerOfTwo(num: bigint, den: bigint, exp: number): [bigint, bigint, bigint] {
  const n = exp < 0 ? num << BigInt(-exp) : num;
  const d = exp > 0 ? den << BigInt(exp) : den;
  return [n / d, n % d, d];
}

export function fromDouble(value: number): BinaryFloat {
  if (!Number.isFinite(value)) return { kind: "inf", neg: value < 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const neg = high >>> 31 === 1;
  const biasedExp = (high >>> 20) & 0x7ff;
  let mant = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  if (biasedExp === 0) return { kind: "finite", neg, mant, exp: -1074 };
  mant |= 1n << 52n;
  return { kind: "finite", neg, mant, exp: biasedExp - 1075 };
}

/** Exact for any value already rounded to DOUBLE. */
export function toDouble(value: BinaryFloat): number {
  if (value.kind === "inf") return value.neg ? -Infinity : Infinity;
  const magnitude = Number(value.mant) * 2 ** value.exp;
  return value.neg ? -magnitude : magnitude;
}

/** Exact sum, then rounded to `format`. Callers handle infinities first. */
export function addFinite(
  a: Extract<BinaryFloat, { kind: "finite" }>,
  b: Extract<BinaryFloat, { kind: "finite" }>,
  format: FloatFormat,
): RoundResult {
  const exp = Math.min(a.exp, b.exp);
  const sa = (a.neg ? -a.mant : a.mant) << BigInt(a.exp - exp);
  const sb = (b.neg ? -b.mant : b.mant) << BigInt(b.exp - exp);
  const sum = sa + sb;
  // IEEE: an exact zero sum is +0 unless both addends were -0.
  if (sum === 0n) return { status: "ok", value: zero(a.neg && b.neg && a.mant === 0n && b.mant === 0n) };
  const neg = sum < 0n;
  const magnitude = neg ? -sum : sum;
  return exp >= 0
    ? roundRational(neg, magnitude << BigInt(exp), 1n, format)
    : roundRational(neg, magnitude, 1n << BigInt(-exp), format);
}

/** round-half-even(|value| * 10^scale), exactly. */
function scaledDecimal(value: Extract<BinaryFloat, { kind: "finite" }>, scale: number): bigint {
  let num = value.mant;
  let den = 1n;
  if (scale >= 0) num *= 10n ** BigInt(scale);
  else den *= 10n ** BigInt(-scale);
  if (value.exp >= 0) num <<= BigInt(value.exp);
  else den <<= BigInt(-value.exp);
  const q = num / den;
  const twice = (num % den) * 2n;
  return twice > den || (twice === den && (q & 1n) === 1n) ? q + 1n : q;
}

/** printf("%.{digits}f"), which is what "%.17Lf" is on a long double. */
export function formatFixed(value: BinaryFloat, digits: number): string {
  if (value.kind === "inf") return value.neg ? "-inf" : "inf";
  const text = scaledDecimal(value, digits).toString().padStart(digits + 1, "0");
  const sign = value.neg ? "-" : "";
  if (digits === 0) return sign + text;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** printf("%.{precision}g"): shortest of %e/%f style, trailing zeros removed. */
export function formatGeneral(value: BinaryFloat, precision: number): string {
  if (value.kind === "inf") return value.neg ? "-inf" : "inf";
  const sign = value.neg ? "-" : "";
  if (value.mant === 0n) return `${sign}0`;
  const low = 10n ** BigInt(precision - 1);
  const high = low * 10n;
  // Decimal exponent estimate from the binary one, then corrected.
  let exponent = Math.floor((bitLength(value.mant) + value.exp - 1) * Math.LOG10E * Math.LN2);
  let digits = scaledDecimal(value, precision - 1 - exponent);
  while (digits >= high) {
    exponent++;
    digits = scaledDecimal(value, precision - 1 - exponent);
  }
  while (digits < low) {
    exponent--;
    digits = scaledDecimal(value, precision - 1 - exponent);
  }
  const text = digits.toString();
  if (exponent < -4 || exponent >= precision) {
    const mantissa = stripZeros(`${text[0]}.${text.slice(1)}`);
    const expSign = exponent < 0 ? "-" : "+";
    return `${sign}${mantissa}e${expSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const pointAt = exponent + 1;
  const fixed =
    pointAt <= 0 ? `0.${"0".repeat(-pointAt)}${text}` : `${text.slice(0, pointAt)}.${text.slice(pointAt)}`;
  return sign + stripZeros(fixed);
}

function stripZeros(text: string): string {
  if (!text.includes(".")) return text;
  return text.replace(/0+$/, "").replace(/\.$/, "");
}
