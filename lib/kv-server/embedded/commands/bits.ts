import { ErrorText, type Reply } from "../../reply";
import { parseInt64 } from "../numbers/int64";
import { bytesOf, writableBytes } from "../byte-string";
import { arg, fail, read, sameWord, type CommandContext, type CommandSpec } from "../command-context";

/**
 * GETBIT, SETBIT, BITCOUNT, BITPOS and BITOP (bitops.c). Bit 0 is the most
 * significant bit of the first byte; a string reads as zero bits past its end.
 */

/** proto-max-bulk-len: no string may grow past 512 MB, so no bit offset may reach past it. */
export const MAX_STRING_BYTES = 512 * 1024 * 1024;

/**
 * getBitOffsetFromArgument(): a non-negative int64 whose byte lies below
 * 512 MB. With `bits` (BITFIELD), "#n" means the n-th field of that width.
 */
export function parseBitOffset(text: string, bits = 0): number {
  const error = "ERR bit offset is not an integer or out of range";
  const hash = bits > 0 && text.startsWith("#");
  let offset = parseInt64(hash ? text.slice(1) : text) ?? fail(error);
  // C multiplies in int64 and wraps, so a huge "#n" can land back on a small offset.
  if (hash) offset = BigInt.asIntN(64, offset * BigInt(bits));
  if (offset < 0n || offset >> 3n >= BigInt(MAX_STRING_BYTES)) fail(error);
  return Number(offset);
}

// Bit offsets reach 2^32, past what JS's 32-bit shift operators take, so they are divided instead.
const byteIndex = (offset: number) => Math.floor(offset / 8);
const bitMask = (offset: number) => 0x80 >> offset % 8;

export function readBit(bytes: Uint8Array, offset: number): number {
  return ((bytes[byteIndex(offset)] ?? 0) & bitMask(offset)) === 0 ? 0 : 1;
}

export function writeBit(bytes: Uint8Array, offset: number, bit: number): void {
  const index = byteIndex(offset);
  bytes[index] = bit ? (bytes[index] ?? 0) | bitMask(offset) : (bytes[index] ?? 0) & ~bitMask(offset);
}

/** The string at `key` as bytes that may be changed in place, created or zero-padded to `length`. */
export function growString(ctx: CommandContext, key: string, length: number): Buffer {
  const existing = read(ctx, key, "string");
  const bytes = writableBytes(existing, length);
  // SETBIT, SETRANGE and BITFIELD change a string in place: the TTL stays.
  if (bytes !== existing) ctx.keyspace.set(key, { type: "string", value: bytes }, { keepTtl: true });
  return bytes;
}

function getbit(ctx: CommandContext, args: readonly string[]): Reply {
  const offset = parseBitOffset(arg(args, 2));
  const value = read(ctx, arg(args, 1), "string");
  return value === undefined ? 0 : readBit(bytesOf(value), offset);
}

function setbit(ctx: CommandContext, args: readonly string[]): Reply {
  const offset = parseBitOffset(arg(args, 2));
  const error = "ERR bit is not an integer or out of range";
  const bit = parseInt64(arg(args, 3)) ?? fail(error);
  if (bit !== 0n && bit !== 1n) fail(error);
  const bytes = growString(ctx, arg(args, 1), byteIndex(offset) + 1);
  const previous = readBit(bytes, offset);
  writeBit(bytes, offset, Number(bit));
  return previous;
}

/** A range in bits, both ends inclusive, after Redis's index conversion. */
interface BitRange {
  readonly first: number;
  readonly last: number;
}

/**
 * The start/end conversion BITCOUNT and BITPOS share: negative indexes
 * count from the end, both ends are clamped into the string, and BYTE
 * ranges become whole bytes of bits. undefined means an empty range.
 */
function toBitRange(start: bigint, end: bigint, byteLength: number, unit: "byte" | "bit"): BitRange | undefined {
  const total = BigInt(unit === "bit" ? byteLength * 8 : byteLength);
  let from = start < 0n ? total + start : start;
  let to = end < 0n ? total + end : end;
  if (from < 0n) from = 0n;
  if (to < 0n) to = 0n;
  if (to >= total) to = total - 1n;
  if (from > to) return undefined;
  return unit === "bit" ? { first: Number(from), last: Number(to) } : { first: Number(from) * 8, last: Number(to) * 8 + 7 };
}

function parseUnit(text: string | undefined): "byte" | "bit" {
  if (text === undefined || sameWord(text, "byte")) return "byte";
  if (sameWord(text, "bit")) return "bit";
  return fail(ErrorText.syntax);
}

const intArg64 = (text: string): bigint => parseInt64(text) ?? fail(ErrorText.notInteger);

function popcount(byte: number): number {
  let count = 0;
  for (let b = byte; b !== 0; b &= b - 1) count++;
  return count;
}

function countBits(bytes: Uint8Array, range: BitRange): number {
  let count = 0;
  let bit = range.first;
  // Partial bytes bit by bit, whole bytes by popcount.
  while (bit <= range.last && bit % 8 !== 0) count += readBit(bytes, bit++);
  while (bit + 7 <= range.last) {
    count += popcount(bytes[byteIndex(bit)] ?? 0);
    bit += 8;
  }
  while (bit <= range.last) count += readBit(bytes, bit++);
  return count;
}

function findBit(bytes: Uint8Array, range: BitRange, bit: number): number | undefined {
  // A byte with no bit of the wanted value is skipped whole.
  const skip = bit === 1 ? 0x00 : 0xff;
  let i = range.first;
  while (i <= range.last) {
    if (i % 8 === 0 && i + 7 <= range.last && bytes[byteIndex(i)] === skip) {
      i += 8;
      continue;
    }
    if (readBit(bytes, i) === bit) return i;
    i++;
  }
  return undefined;
}

function bitcount(ctx: CommandContext, args: readonly string[]): Reply {
  // Redis 7.0 looks the key up first: a missing key is 0 whatever the arguments.
  const value = read(ctx, arg(args, 1), "string");
  if (value === undefined) return 0;
  const bytes = bytesOf(value);
  if (args.length === 2) return countBits(bytes, { first: 0, last: bytes.length * 8 - 1 });
  if (args.length !== 4 && args.length !== 5) fail(ErrorText.syntax);
  const start = intArg64(arg(args, 2));
  const end = intArg64(arg(args, 3));
  // Checked before the unit is parsed, so "-1 -2 nonsense" is 0, not a syntax error.
  if (start < 0n && end < 0n && start > end) return 0;
  const range = toBitRange(start, end, bytes.length, parseUnit(args[4]));
  return range === undefined ? 0 : countBits(bytes, range);
}

function bitpos(ctx: CommandContext, args: readonly string[]): Reply {
  const target = parseInt64(arg(args, 2)) ?? fail(ErrorText.notInteger);
  if (target !== 0n && target !== 1n) fail("ERR The bit argument must be 1 or 0.");
  const bit = Number(target);
  const value = read(ctx, arg(args, 1), "string");
  // A missing key is an endless run of zero bits.
  if (value === undefined) return bit === 1 ? -1 : 0;
  const bytes = bytesOf(value);
  let range: BitRange | undefined;
  const endGiven = args.length >= 5;
  if (args.length === 3) {
    range = bytes.length === 0 ? undefined : { first: 0, last: bytes.length * 8 - 1 };
  } else if (args.length <= 6) {
    const start = intArg64(arg(args, 3));
    const unit = parseUnit(args[5]);
    const end = endGiven ? intArg64(arg(args, 4)) : BigInt(unit === "bit" ? bytes.length * 8 : bytes.length) - 1n;
    range = toBitRange(start, end, bytes.length, unit);
  } else {
    fail(ErrorText.syntax);
  }
  if (range === undefined) return -1;
  const found = findBit(bytes, range, bit);
  if (found !== undefined) return found;
  // No clear bit inside: without an explicit end the string counts as zero-padded on the right.
  return bit === 0 && !endGiven ? range.last + 1 : -1;
}

type BitOperation = "and" | "or" | "xor" | "not";

function bitop(ctx: CommandContext, args: readonly string[]): Reply {
  const operation = arg(args, 1).toLowerCase();
  if (operation !== "and" && operation !== "or" && operation !== "xor" && operation !== "not") fail(ErrorText.syntax);
  const op: BitOperation = operation;
  if (op === "not" && args.length !== 4) fail("ERR BITOP NOT must be called with a single source key.");
  const target = arg(args, 2);
  // Missing keys are empty strings; every source is type-checked before anything is written.
  const sources = args.slice(3).map((key) => {
    const value = read(ctx, key, "string");
    return value === undefined ? Buffer.alloc(0) : bytesOf(value);
  });
  const length = Math.max(...sources.map((source) => source.length));
  if (length === 0) {
    ctx.keyspace.delete(target);
    return 0;
  }
  const result = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    // Shorter strings count as zero-padded.
    let byte = sources[0]?.[i] ?? 0;
    if (op === "not") byte = ~byte & 0xff;
    for (let s = 1; s < sources.length; s++) {
      const other = sources[s]?.[i] ?? 0;
      byte = op === "and" ? byte & other : op === "or" ? byte | other : byte ^ other;
    }
    result[i] = byte;
  }
  // Like SET, the result replaces the destination and drops its TTL.
  ctx.keyspace.set(target, { type: "string", value: result });
  return length;
}

export const bitCommands: CommandSpec[] = [
  { name: "getbit", arity: 3, write: false, handler: getbit },
  { name: "setbit", arity: 4, write: true, handler: setbit },
  { name: "bitcount", arity: -2, write: false, handler: bitcount },
  { name: "bitpos", arity: -3, write: false, handler: bitpos },
  { name: "bitop", arity: -4, write: true, handler: bitop },
];
