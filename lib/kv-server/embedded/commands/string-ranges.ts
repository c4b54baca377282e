import { ErrorText, type Reply } from "../../reply";
import { parseInt64 } from "../numbers/int64";
import { byteLengthOf, bytesOf } from "../byte-string";
import { arg, fail, read, type CommandContext, type CommandSpec } from "../command-context";
import { growString, MAX_STRING_BYTES } from "./bits";

/** GETRANGE (and its old name SUBSTR) and SETRANGE: byte ranges of a string value (t_string.c). */

const int64Arg = (text: string): bigint => parseInt64(text) ?? fail(ErrorText.notInteger);

function getrange(ctx: CommandContext, args: readonly string[]): Reply {
  const start = int64Arg(arg(args, 2));
  const end = int64Arg(arg(args, 3));
  const value = read(ctx, arg(args, 1), "string");
  if (value === undefined) return "";
  const bytes = bytesOf(value);
  const length = BigInt(bytes.length);
  // Both ends negative and crossed: empty, before clamping could turn it into one byte.
  if (start < 0n && end < 0n && start > end) return "";
  let from = start < 0n ? length + start : start;
  let to = end < 0n ? length + end : end;
  if (from < 0n) from = 0n;
  if (to < 0n) to = 0n;
  if (to >= length) to = length - 1n;
  if (from > to || length === 0n) return "";
  // Cutting through a multi-byte character leaves invalid UTF-8, which the reply decodes as Redis's does.
  return bytes.subarray(Number(from), Number(to) + 1).toString("utf8");
}

function setrange(ctx: CommandContext, args: readonly string[]): Reply {
  const key = arg(args, 1);
  const offset = int64Arg(arg(args, 2));
  const patch = Buffer.from(arg(args, 3), "utf8");
  if (offset < 0n) fail("ERR offset is out of range");
  const existing = read(ctx, key, "string");
  // Writing nothing changes nothing, and does not create the key.
  if (patch.length === 0) {
    ctx.logAs([]);
    return existing === undefined ? 0 : byteLengthOf(existing);
  }
  if (offset + BigInt(patch.length) > BigInt(MAX_STRING_BYTES)) {
    fail("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  }
  const start = Number(offset);
  const bytes = growString(ctx, key, start + patch.length);
  patch.copy(bytes, start);
  return bytes.length;
}

export const stringRangeCommands: CommandSpec[] = [
  { name: "getrange", arity: 4, write: false, handler: getrange },
  { name: "substr", arity: 4, write: false, handler: getrange },
  { name: "setrange", arity: 4, write: true, handler: setrange },
];
