import { ErrorText, type Reply } from "../../reply";
import { parseInt64 } from "../numbers/int64";
import { bytesOf } from "../byte-string";
import { arg, fail, read, sameWord, type CommandContext, type CommandSpec } from "../command-context";
import { growString, parseBitOffset, readBit, writeBit } from "./bits";

/**
 * BITFIELD and BITFIELD_RO (bitfieldGeneric() in bitops.c): integers of
 * 1 to 64 bits (unsigned up to 63, since a reply cannot carry a u64) at any
 * bit offset. Arithmetic runs in BigInt and is folded into int64/uint64
 * exactly where C would wrap, so overflow detection matches Redis bit for
 * bit, including its quirks at the int64 edges.
 */

type Overflow = "wrap" | "sat" | "fail";

interface FieldType {
  readonly signed: boolean;
  readonly bits: number;
}

type FieldOp =
  | { readonly kind: "get"; readonly type: FieldType; readonly offset: number }
  | { readonly kind: "set" | "incrby"; readonly type: FieldType; readonly offset: number; readonly value: bigint; readonly overflow: Overflow };

const int64 = (value: bigint) => BigInt.asIntN(64, value);
const uint64 = (value: bigint) => BigInt.asUintN(64, value);

function parseType(text: string): FieldType {
  const error = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
  // The sign letter is case-sensitive in Redis.
  const signed = text.startsWith("i");
  if (!signed && !text.startsWith("u")) fail(error);
  const bits = parseInt64(text.slice(1)) ?? fail(error);
  if (bits < 1n || bits > (signed ? 64n : 63n)) fail(error);
  return { signed, bits: Number(bits) };
}

function parseOps(args: readonly string[]): FieldOp[] {
  const ops: FieldOp[] = [];
  let overflow: Overflow = "wrap";
  for (let i = 2; i < args.length; i++) {
    const word = arg(args, i);
    const remaining = args.length - i - 1;
    if (sameWord(word, "overflow") && remaining >= 1) {
      const mode = arg(args, ++i).toLowerCase();
      if (mode !== "wrap" && mode !== "sat" && mode !== "fail") fail("ERR Invalid OVERFLOW type specified");
      overflow = mode;
      continue;
    }
    const kind = sameWord(word, "get") && remaining >= 2 ? "get" : sameWord(word, "set") && remaining >= 3 ? "set" : sameWord(word, "incrby") && remaining >= 3 ? "incrby" : undefined;
    if (kind === undefined) fail(ErrorText.syntax);
    const type = parseType(arg(args, i + 1));
    const offset = parseBitOffset(arg(args, i + 2), type.bits);
    if (kind === "get") {
      ops.push({ kind, type, offset });
      i += 2;
    } else {
      const value = parseInt64(arg(args, i + 3)) ?? fail(ErrorText.notInteger);
      ops.push({ kind, type, offset, value, overflow });
      i += 3;
    }
  }
  return ops;
}

function readField(bytes: Uint8Array, offset: number, type: FieldType): bigint {
  let value = 0n;
  for (let i = 0; i < type.bits; i++) value = (value << 1n) | BigInt(readBit(bytes, offset + i));
  return type.signed ? BigInt.asIntN(type.bits, value) : value;
}

function writeField(bytes: Uint8Array, offset: number, bits: number, value: bigint): void {
  const raw = BigInt.asUintN(bits, value);
  for (let i = 0; i < bits; i++) writeBit(bytes, offset + i, Number((raw >> BigInt(bits - 1 - i)) & 1n));
}

/** What to store after an overflow under WRAP/SAT, or undefined when value + increment fits. */
type Checked = { readonly overflowed: false } | { readonly overflowed: true; readonly limit: bigint };

/** checkUnsignedBitfieldOverflow(): `value` is a uint64, `increment` an int64. */
function checkUnsigned(value: bigint, increment: bigint, bits: number, overflow: Overflow): Checked {
  const max = (1n << BigInt(bits)) - 1n;
  const maxIncrement = int64(max - value);
  const minIncrement = int64(-value);
  const wrapped = () => uint64(value + increment) & max;
  if (value > max || (increment > 0n && increment > maxIncrement)) {
    return { overflowed: true, limit: overflow === "sat" ? max : wrapped() };
  }
  if (increment < 0n && increment < minIncrement) {
    return { overflowed: true, limit: overflow === "sat" ? 0n : wrapped() };
  }
  return { overflowed: false };
}

/** checkSignedBitfieldOverflow(): both int64; C's wrapping subtractions kept as they are. */
function checkSigned(value: bigint, increment: bigint, bits: number, overflow: Overflow): Checked {
  const max = bits === 64 ? (1n << 63n) - 1n : (1n << BigInt(bits - 1)) - 1n;
  const min = -max - 1n;
  const maxIncrement = int64(max - value);
  const minIncrement = int64(min - value);
  const wrapped = () => BigInt.asIntN(bits, value + increment);
  if (value > max || (bits !== 64 && increment > maxIncrement) || (value >= 0n && increment > 0n && increment > maxIncrement)) {
    return { overflowed: true, limit: overflow === "sat" ? max : wrapped() };
  }
  if (value < min || (bits !== 64 && increment < minIncrement) || (value < 0n && increment < 0n && increment < minIncrement)) {
    return { overflowed: true, limit: overflow === "sat" ? min : wrapped() };
  }
  return { overflowed: false };
}

function bitfieldWith(readOnly: boolean) {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    const key = arg(args, 1);
    const ops = parseOps(args);
    const writes = ops.filter((op) => op.kind !== "get");
    let bytes: Uint8Array;
    if (writes.length === 0) {
      const value = read(ctx, key, "string");
      bytes = value === undefined ? new Uint8Array(0) : bytesOf(value);
      ctx.logAs([]);
    } else {
      if (readOnly) fail("ERR BITFIELD_RO only supports the GET subcommand");
      // The string grows to the farthest bit any write reaches, even when every write then FAILs.
      const highest = Math.max(...writes.map((op) => op.offset + op.type.bits - 1));
      bytes = growString(ctx, key, Math.floor(highest / 8) + 1);
    }
    return ops.map((op): Reply => {
      const { signed, bits } = op.type;
      const current = readField(bytes, op.offset, op.type);
      if (op.kind === "get") return Number(current);
      let next: bigint;
      let checked: Checked;
      if (op.kind === "incrby") {
        checked = signed ? checkSigned(current, op.value, bits, op.overflow) : checkUnsigned(current, op.value, bits, op.overflow);
        next = checked.overflowed ? checked.limit : current + op.value;
      } else {
        const value = signed ? op.value : uint64(op.value);
        checked = signed ? checkSigned(value, 0n, bits, op.overflow) : checkUnsigned(value, 0n, bits, op.overflow);
        next = checked.overflowed ? checked.limit : value;
      }
      if (checked.overflowed && op.overflow === "fail") return null;
      writeField(bytes, op.offset, bits, next);
      // SET answers the old value, INCRBY the new one.
      return Number(op.kind === "set" ? current : next);
    });
  };
}

export const bitfieldCommands: CommandSpec[] = [
  { name: "bitfield", arity: -2, write: true, handler: bitfieldWith(false) },
  { name: "bitfield_ro", arity: -2, write: false, handler: bitfieldWith(true) },
];
