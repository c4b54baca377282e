import { ErrorText } from "../../reply";
import { INT64_MAX, parseInt64 } from "../numbers/int64";
import { fail, type CommandContext } from "../command-context";

export type ExpiryUnit = "ex" | "px" | "exat" | "pxat";

export interface ExpiryOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
  keepTtl: boolean;
  persist: boolean;
  expire: { unit: ExpiryUnit; amount: string } | undefined;
}

/**
 * SET's and GETEX's option words, with Redis's compatibility rules
 * (parseExtendedStringArgumentsOrReply): NX/XX exclude each other, only one
 * expiry style, KEEPTTL/PERSIST exclude any expiry, and anything not
 * allowed for the command is a syntax error. Repeating the same word is
 * accepted, and the last EX value wins.
 */
export function parseExpiryOptions(args: readonly string[], from: number, command: "set" | "getex"): ExpiryOptions {
  const isSet = command === "set";
  const options: ExpiryOptions = { nx: false, xx: false, get: false, keepTtl: false, persist: false, expire: undefined };
  const hasExpiry = (except: ExpiryUnit) => options.expire !== undefined && options.expire.unit !== except;
  for (let i = from; i < args.length; i++) {
    const word = (args[i] ?? "").toLowerCase();
    const next = args[i + 1];
    if (word === "nx" && isSet && !options.xx) {
      options.nx = true;
    } else if (word === "xx" && isSet && !options.nx) {
      options.xx = true;
    } else if (word === "get" && isSet) {
      options.get = true;
    } else if (word === "keepttl" && isSet && !options.persist && options.expire === undefined) {
      options.keepTtl = true;
    } else if (word === "persist" && !isSet && options.expire === undefined && !options.keepTtl) {
      options.persist = true;
    } else if (isUnit(word) && !options.keepTtl && !options.persist && !hasExpiry(word) && next !== undefined) {
      options.expire = { unit: word, amount: next };
      i++;
    } else {
      fail(ErrorText.syntax);
    }
  }
  return options;
}

function isUnit(word: string): word is ExpiryUnit {
  return word === "ex" || word === "px" || word === "exat" || word === "pxat";
}

/** getExpireMillisecondsOrReply: positive amount, no overflow, as an absolute ms time. */
export function resolveExpiry(ctx: CommandContext, expire: { unit: ExpiryUnit; amount: string }, command: string): number {
  const amount = parseInt64(expire.amount) ?? fail(ErrorText.notInteger);
  const seconds = expire.unit === "ex" || expire.unit === "exat";
  const invalid = `ERR invalid expire time in '${command}' command`;
  if (amount <= 0n || (seconds && amount > INT64_MAX / 1000n)) fail(invalid);
  let ms = seconds ? amount * 1000n : amount;
  if (expire.unit === "ex" || expire.unit === "px") ms += BigInt(ctx.now);
  if (ms > INT64_MAX) fail(invalid);
  return Number(ms);
}
