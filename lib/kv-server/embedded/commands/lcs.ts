import { ErrorText, type Reply } from "../../reply";
import { parseInt64 } from "../numbers/int64";
import { bytesOf } from "../byte-string";
import { arg, fail, sameWord, type CommandContext, type CommandSpec } from "../command-context";
import { MAX_STRING_BYTES } from "./bits";

/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] (lcsCommand in
 * t_string.c): the longest common subsequence of two strings' bytes, by the
 * same dynamic-programming table and the same backward walk, so that among
 * several equally long answers the same one is chosen and IDX lists the same
 * ranges in the same order.
 */

function readBytes(ctx: CommandContext, key: string): Buffer {
  const stored = ctx.keyspace.get(key);
  if (stored === undefined) return Buffer.alloc(0);
  if (stored.type !== "string") fail("ERR The specified keys must contain string values");
  return bytesOf(stored.value);
}

interface Options {
  len: boolean;
  idx: boolean;
  withMatchLen: boolean;
  minMatchLen: number;
}

function parseOptions(args: readonly string[]): Options {
  const options: Options = { len: false, idx: false, withMatchLen: false, minMatchLen: 0 };
  for (let i = 3; i < args.length; i++) {
    const word = args[i];
    if (sameWord(word, "idx")) options.idx = true;
    else if (sameWord(word, "len")) options.len = true;
    else if (sameWord(word, "withmatchlen")) options.withMatchLen = true;
    else if (sameWord(word, "minmatchlen") && i + 1 < args.length) {
      const value = parseInt64(arg(args, ++i)) ?? fail(ErrorText.notInteger);
      options.minMatchLen = value < 0n ? 0 : Number(value);
    } else fail(ErrorText.syntax);
  }
  if (options.idx && options.len) fail("ERR If you want both the length and indexes, please just use IDX.");
  return options;
}

function lcs(ctx: CommandContext, args: readonly string[]): Reply {
  // Both keys are read before the options are parsed.
  const a = readBytes(ctx, arg(args, 1));
  const b = readBytes(ctx, arg(args, 2));
  const options = parseOptions(args);
  const width = b.length + 1;
  // Redis refuses a table (4 bytes a cell) larger than proto-max-bulk-len.
  if ((a.length + 1) * width * 4 > MAX_STRING_BYTES) {
    fail("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  const table = new Uint32Array((a.length + 1) * width);
  const at = (i: number, j: number) => table[i * width + j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      table[i * width + j] = a[i - 1] === b[j - 1] ? at(i - 1, j - 1) + 1 : Math.max(at(i - 1, j), at(i, j - 1));
    }
  }
  const length = at(a.length, b.length);
  if (options.len) return length;

  const result = Buffer.alloc(length);
  const matches: Reply[] = [];
  let next = length;
  // aStart === undefined: no range open. Ranges grow backwards while the matches stay contiguous.
  let aStart: number | undefined;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = a.length;
  let j = b.length;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[--next] = a[i - 1] ?? 0;
      if (aStart === undefined) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      i--;
      j--;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) i--;
      else j--;
      if (aStart !== undefined) emit = true;
    }
    if (emit && aStart !== undefined) {
      const matchLength = aEnd - aStart + 1;
      if (options.minMatchLen === 0 || matchLength >= options.minMatchLen) {
        const range: Reply[] = [[aStart, aEnd], [bStart, bEnd]];
        matches.push(options.withMatchLen ? [...range, matchLength] : range);
      }
      aStart = undefined;
    }
  }
  if (options.idx) return ["matches", matches, "len", length];
  return result.toString("utf8");
}

export const lcsCommands: CommandSpec[] = [{ name: "lcs", arity: -3, write: false, handler: lcs }];
