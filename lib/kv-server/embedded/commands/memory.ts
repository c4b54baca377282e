import { ErrorText, wrongArity, type Reply } from "../../reply";
import { parseInt64 } from "../numbers/int64";
import { byteLengthOf } from "../byte-string";
import type { StoredValue } from "../keyspace";
import { arg, fail, sameWord, type CommandContext, type CommandSpec } from "../command-context";

/**
 * MEMORY USAGE. Redis's figure comes from its allocator (jemalloc size
 * classes, encodings, dict overhead), so no other store can reproduce it.
 * This is an estimate of the same shape: a fixed cost per key, per element,
 * plus the bytes themselves. It is positive, grows with the value, and is
 * documented as a known difference in the README.
 */

const PER_KEY = 56;
const PER_ELEMENT: Record<StoredValue["type"], number> = { string: 0, hash: 24, list: 16, set: 24, zset: 32 };

/** Rounded up to the 8-byte steps an allocator hands out. */
const allocated = (bytes: number) => Math.ceil(bytes / 8) * 8;

function estimate(key: string, value: StoredValue): number {
  let bytes = PER_KEY + allocated(Buffer.byteLength(key));
  const element = PER_ELEMENT[value.type];
  switch (value.type) {
    case "string":
      return bytes + allocated(byteLengthOf(value.value));
    case "hash":
      for (const [field, text] of value.value) bytes += element + allocated(Buffer.byteLength(field) + Buffer.byteLength(text));
      return bytes;
    case "list":
      for (const item of value.value) bytes += element + allocated(Buffer.byteLength(item));
      return bytes;
    case "set":
      for (const member of value.value) bytes += element + allocated(Buffer.byteLength(member));
      return bytes;
    case "zset":
      for (const entry of value.value.all()) bytes += element + allocated(Buffer.byteLength(entry.member));
      return bytes;
  }
}

function usage(ctx: CommandContext, args: readonly string[]): Reply {
  if (args.length < 3) fail(wrongArity("memory|usage"));
  // SAMPLES only tunes how Redis samples big collections; the estimate here looks at every element.
  for (let i = 3; i < args.length; i += 2) {
    if (!sameWord(args[i], "samples") || i + 1 >= args.length) fail(ErrorText.syntax);
    const samples = parseInt64(arg(args, i + 1)) ?? fail(ErrorText.notInteger);
    if (samples < 0n) fail(ErrorText.syntax);
  }
  const key = arg(args, 2);
  const value = ctx.keyspace.get(key);
  return value === undefined ? null : estimate(key, value);
}

function memory(ctx: CommandContext, args: readonly string[]): Reply {
  // command-policy.ts serves MEMORY USAGE only and refuses the other subcommands before any
  // engine sees them, on every path (requests, transactions, redis.call), with one text.
  if (!sameWord(arg(args, 1), "usage")) throw new Error(`MEMORY ${arg(args, 1)} reached the embedded engine past the command policy`);
  return usage(ctx, args);
}

export const memoryCommands: CommandSpec[] = [{ name: "memory", arity: -2, write: false, handler: memory }];
