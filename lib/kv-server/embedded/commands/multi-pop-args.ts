import { ErrorText } from "../../reply";
import { arg, atLeastArg, fail, sameWord } from "../command-context";

export interface MultiPopArgs<End extends string> {
  readonly keys: readonly string[];
  readonly end: End;
  readonly count: number;
}

/**
 * `numkeys key [key ...] <end> [COUNT count]`, the arguments LMPOP and ZMPOP
 * share (Redis parses both the same way, in lmpopGenericCommand and
 * zmpopGenericCommand): `ends` are the two words for where to pop from.
 */
export function parseMultiPop<End extends string>(args: readonly string[], ends: readonly [End, End]): MultiPopArgs<End> {
  const numkeys = atLeastArg(arg(args, 1), 1, "ERR numkeys should be greater than 0");
  const whereIndex = 2 + numkeys;
  if (whereIndex >= args.length) fail(ErrorText.syntax);
  const where = arg(args, whereIndex);
  const end = ends.find((word) => sameWord(where, word)) ?? fail(ErrorText.syntax);
  let count: number | undefined;
  for (let i = whereIndex + 1; i < args.length; i++) {
    if (count === undefined && sameWord(args[i], "count") && i + 1 < args.length) {
      count = atLeastArg(arg(args, ++i), 1, "ERR count should be greater than 0");
    } else {
      fail(ErrorText.syntax);
    }
  }
  return { keys: args.slice(2, whereIndex), end, count: count ?? 1 };
}

