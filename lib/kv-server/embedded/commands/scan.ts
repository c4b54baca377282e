import { ErrorText, type Reply } from "../../reply";
import { compileGlob, type KeyMatcher } from "../glob";
import { formatScore } from "../sorted-set";
import { arg, fail, numberArg, read, sameWord, type CommandContext, type CommandSpec } from "../command-context";

/**
 * SCAN and its per-type siblings. Replies are [cursor-as-string, items]:
 * the cursor must be a string, since @vercel/kv's scanIterator loops until
 * it sees exactly "0".
 */

const MAX_CURSOR = 2n ** 64n - 1n;

/** strtoul() as parseScanCursorOrReply uses it: "-1" wraps, "" is 0, a leading space is refused. */
function parseCursor(text: string): number {
  if (text === "") return 0;
  if (!/^[+-]?\d+$/.test(text)) fail(ErrorText.invalidCursor);
  const magnitude = BigInt(text.replace(/^[+-]/, ""));
  if (magnitude > MAX_CURSOR) fail(ErrorText.invalidCursor);
  const value = text.startsWith("-") && magnitude !== 0n ? 2n ** 64n - magnitude : magnitude;
  return Number(value);
}

interface ScanOptions {
  count: number;
  match: KeyMatcher | undefined;
  type: string | undefined;
}

function parseScanOptions(args: readonly string[], from: number, allowType: boolean): ScanOptions {
  const options: ScanOptions = { count: 10, match: undefined, type: undefined };
  for (let i = from; i < args.length; i += 2) {
    const word = args[i];
    const hasValue = i + 1 < args.length;
    if (sameWord(word, "count") && hasValue) {
      options.count = numberArg(arg(args, i + 1));
      if (options.count < 1) fail(ErrorText.syntax);
    } else if (sameWord(word, "match") && hasValue) {
      options.match = compileGlob(arg(args, i + 1));
    } else if (sameWord(word, "type") && allowType && hasValue) {
      options.type = arg(args, i + 1).toLowerCase();
    } else {
      fail(ErrorText.syntax);
    }
  }
  return options;
}

function scan(ctx: CommandContext, args: readonly string[]): Reply {
  const cursor = parseCursor(arg(args, 1));
  const options = parseScanOptions(args, 2, true);
  const page = ctx.keyspace.scan(cursor, options.count);
  const keys = page.keys.filter(
    (key) =>
      (options.match === undefined || options.match(key)) &&
      (options.type === undefined || ctx.keyspace.get(key)?.type === options.type),
  );
  return [String(page.cursor), keys];
}

/**
 * Collections are answered in one page with cursor "0". COUNT is only a
 * hint in Redis too, which does the same for every small (listpack or
 * intset) collection.
 */
function collectionScan(type: "hash" | "set" | "zset") {
  return (ctx: CommandContext, args: readonly string[]): Reply => {
    parseCursor(arg(args, 2));
    const value = read(ctx, arg(args, 1), type);
    if (value === undefined) return ["0", []];
    const options = parseScanOptions(args, 3, false);
    const keep = (item: string) => options.match === undefined || options.match(item);
    const items: string[] = [];
    if (value instanceof Map) {
      for (const [field, fieldValue] of value) if (keep(field)) items.push(field, fieldValue);
    } else if (value instanceof Set) {
      for (const member of value) if (keep(member)) items.push(member);
    } else {
      for (const { member, score } of value.all()) if (keep(member)) items.push(member, formatScore(score));
    }
    return ["0", items];
  };
}

export const scanCommands: CommandSpec[] = [
  { name: "scan", arity: -2, write: false, handler: scan },
  { name: "hscan", arity: -3, write: false, handler: collectionScan("hash") },
  { name: "sscan", arity: -3, write: false, handler: collectionScan("set") },
  { name: "zscan", arity: -3, write: false, handler: collectionScan("zset") },
];
