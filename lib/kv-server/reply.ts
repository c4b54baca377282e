/**
 * Reply values in RESP2 shapes, as the Upstash REST protocol carries them:
 * integers are numbers, bulk and status strings are raw strings (never
 * JSON-parsed), nil is null, arrays nest.
 */
export type Reply = null | number | string | Reply[] | ReplyError;

/**
 * A Redis error reply ("ERR ...", "WRONGTYPE ..."). It is a value, not an
 * exception: a failed command is an expected outcome that travels back to
 * the client like any other reply.
 */
export class ReplyError {
  constructor(readonly message: string) {}
}

/** The exact texts Redis 7 answers with; clients match on some of them. */
export const ErrorText = {
  wrongType: "WRONGTYPE Operation against a key holding the wrong kind of value",
  notInteger: "ERR value is not an integer or out of range",
  notFloat: "ERR value is not a valid float",
  overflow: "ERR increment or decrement would overflow",
  syntax: "ERR syntax error",
  noSuchKey: "ERR no such key",
  outOfRange: "ERR index out of range",
  mustBePositive: "ERR value is out of range, must be positive",
  minMaxNotFloat: "ERR min or max is not a float",
  invalidCursor: "ERR invalid cursor",
  execAbort: "EXECABORT Transaction discarded because of previous errors.",
  noScript: "NOSCRIPT No matching script. Please use EVAL.",
} as const;

export function wrongArity(command: string): string {
  return `ERR wrong number of arguments for '${command}' command`;
}

/**
 * Redis's "unknown command" text: the name as typed, then each argument
 * quoted until 128 bytes of them have been shown; CR and LF become spaces so
 * the reply stays on one protocol line.
 */
export function unknownCommand(args: readonly string[]): string {
  const name = truncateBytes(args[0] ?? "", 128);
  let shown = "";
  for (let i = 1; i < args.length && Buffer.byteLength(shown) < 128; i++) {
    shown += `'${truncateBytes(args[i] ?? "", 128 - Buffer.byteLength(shown))}' `;
  }
  return `ERR unknown command '${name}', with args beginning with: ${shown}`.replace(/[\r\n]/g, " ");
}

function truncateBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  return bytes.length <= maxBytes ? text : bytes.subarray(0, maxBytes).toString("utf8");
}
