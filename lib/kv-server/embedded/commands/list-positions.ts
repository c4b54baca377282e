import { ErrorText, type Reply } from "../../reply";
import { INT64_MIN } from "../numbers/int64";
import { arg, atLeastArg, fail, intArg, read, sameWord, type CommandContext, type CommandSpec } from "../command-context";

/** LINSERT and LPOS: list commands that find elements by value. */

function linsert(ctx: CommandContext, args: readonly string[]): Reply {
  const where = arg(args, 2);
  const after = sameWord(where, "after");
  if (!after && !sameWord(where, "before")) fail(ErrorText.syntax);
  const list = read(ctx, arg(args, 1), "list");
  if (list === undefined) return 0;
  const index = list.indexOf(arg(args, 3));
  if (index === -1) return -1;
  list.splice(after ? index + 1 : index, 0, arg(args, 4));
  return list.length;
}

const RANK_ZERO =
  "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";

/** LPOS key element [RANK rank] [COUNT count] [MAXLEN len] (lposCommand). */
function lpos(ctx: CommandContext, args: readonly string[]): Reply {
  let rank = 1;
  let count: number | undefined;
  let maxlen = 0;
  for (let i = 3; i < args.length; i++) {
    const word = args[i];
    const hasValue = i + 1 < args.length;
    if (sameWord(word, "rank") && hasValue) {
      const value = intArg(arg(args, ++i));
      if (value === 0n) fail(RANK_ZERO);
      // Redis 7.0 negates LONG_MIN into itself, which then matches from the first hit on.
      rank = value === INT64_MIN ? -1 : Number(value);
    } else if (sameWord(word, "count") && hasValue) {
      count = atLeastArg(arg(args, ++i), 0, "ERR COUNT can't be negative");
    } else if (sameWord(word, "maxlen") && hasValue) {
      maxlen = atLeastArg(arg(args, ++i), 0, "ERR MAXLEN can't be negative");
    } else {
      fail(ErrorText.syntax);
    }
  }
  const list = read(ctx, arg(args, 1), "list");
  if (list === undefined) return count === undefined ? null : [];
  const element = arg(args, 2);
  const fromTail = rank < 0;
  const skip = Math.abs(rank) - 1;
  const found: number[] = [];
  let matches = 0;
  for (let scanned = 0; scanned < list.length && (maxlen === 0 || scanned < maxlen); scanned++) {
    const index = fromTail ? list.length - 1 - scanned : scanned;
    if (list[index] !== element || ++matches <= skip) continue;
    found.push(index);
    // COUNT 0 means every match.
    if (count === undefined || (count > 0 && found.length >= count)) break;
  }
  return count === undefined ? (found[0] ?? null) : found;
}


export const listPositionCommands: CommandSpec[] = [
  { name: "linsert", arity: 5, write: true, handler: linsert },
  { name: "lpos", arity: -3, write: false, handler: lpos },
];
