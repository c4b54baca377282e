/** The texts Redis 7.0.15 answers scripting commands with (measured against it). */
export const ScriptErrorText = {
  keysGreaterThanArgs: "ERR Number of keys can't be greater than number of args",
  keysNegative: "ERR Number of keys can't be negative",
  writeFlagWithRo: "ERR Can not execute a script with write flag using *_ro command.",
  /** The SHUTDOWN NOSAVE is Redis's wording; there is no SHUTDOWN over REST. */
  busy: "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
  notBusy: "NOTBUSY No scripts in execution right now.",
  unkillable:
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
  flushOption: "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
  // Raised inside the script (redis.call) or returned as {err=...} (redis.pcall):
  noArguments: "ERR Please specify at least one argument for this redis lib call",
  badArgument: "ERR Lua redis lib command arguments must be strings or integers",
  unknownCommand: "ERR Unknown Redis command called from script",
  wrongArity: "ERR Wrong number of args calling Redis command from script",
  notFromScripts: "ERR This Redis command is not allowed from script",
  writeFromReadOnly: "ERR Write commands are not allowed from read-only scripts.",
  killed: "ERR Script killed by user with SCRIPT KILL...",
  /** Redis 7.0 stops the server's own shutdown the same way; here it is the engine closing. */
  engineClosing: "ERR Script killed because the KV engine is closing",
  wrongArgs: "ERR wrong number of arguments",
  wrongArgsOrTypes: "ERR wrong number or type of arguments",
} as const;

export function compileError(detail: string): string {
  return `ERR Error compiling script (new function): ${detail}`;
}

/**
 * What luaPushErrorBuff makes of an error text: "-CODE msg" or "CODE msg"
 * keeps its code, a text without a space gets "ERR ", and trailing CR/LF go.
 * redis.error_reply and errors returned by commands both pass through it.
 */
export function normalizeErrorText(text: string): string {
  const body = text.startsWith("-") ? text.slice(1) : text;
  const space = body.indexOf(" ");
  const [code, message] = space === -1 ? ["ERR", body] : [body.slice(0, space), body.slice(space + 1)];
  return `${code} ${message.replace(/^[\r\n]+|[\r\n]+$/g, "")}`;
}

/**
 * An error raised out of a script, as Redis 7.0 replies with it: the
 * message, then where it happened, e.g.
 * "ERR value is not an integer or out of range script: <sha>, on @user_script:1."
 * Newlines become spaces, since an error reply is one protocol line.
 */
export function scriptFailure(message: string, sha: string, where: { source: string; line: number } | undefined): string {
  const suffix = where === undefined ? "" : ` script: ${sha}, on ${where.source}:${where.line}.`;
  return (message + suffix).replace(/[\r\n]/g, " ");
}
