import { administrativeRefusal, REDIS_COMMANDS } from "../command-policy";
import { ReplyError, unknownCommand, wrongArity } from "../reply";
import type { CommandSpec } from "./command-context";
import { bitfieldCommands } from "./commands/bitfield";
import { bitCommands } from "./commands/bits";
import { hashCommands } from "./commands/hashes";
import { keyCommands } from "./commands/keys";
import { lcsCommands } from "./commands/lcs";
import { listPositionCommands } from "./commands/list-positions";
import { listCommands } from "./commands/lists";
import { memoryCommands } from "./commands/memory";
import { scanCommands } from "./commands/scan";
import { serverCommands } from "./commands/server";
import { setCommands } from "./commands/sets";
import { stringRangeCommands } from "./commands/string-ranges";
import { stringCommands } from "./commands/strings";
import { zsetCombineCommands } from "./commands/zset-combine";
import { zsetPopCommands } from "./commands/zset-pops";
import { zsetRangeCommands } from "./commands/zset-ranges";
import { zsetCommands } from "./commands/zsets";
import { scriptCommands } from "./scripting/script-commands";

const TABLE: ReadonlyMap<string, CommandSpec> = new Map(
  [
    ...scriptCommands,
    ...stringCommands,
    ...stringRangeCommands,
    ...bitCommands,
    ...bitfieldCommands,
    ...lcsCommands,
    ...keyCommands,
    ...scanCommands,
    ...hashCommands,
    ...listCommands,
    ...listPositionCommands,
    ...setCommands,
    ...zsetCommands,
    ...zsetRangeCommands,
    ...zsetPopCommands,
    ...zsetCombineCommands,
    ...memoryCommands,
    ...serverCommands,
  ].map((spec) => [spec.name, spec]),
);

/** Names the embedded engine implements, for documentation and tests. */
export const EMBEDDED_COMMANDS: readonly string[] = [...TABLE.keys()].sort();

/** The spec of a command the embedded engine implements (name in lowercase). */
export function lookupCommand(name: string): CommandSpec | undefined {
  return TABLE.get(name);
}

export type Resolution = { readonly ok: true; readonly spec: CommandSpec } | { readonly ok: false; readonly error: ReplyError };

/**
 * What Redis checks when a command is queued: that it exists and has a
 * legal number of arguments. Failing here inside MULTI aborts the whole
 * transaction (EXECABORT). A real Redis command the embedded engine lacks
 * fails here too: better to refuse the transaction than run part of it.
 */
export function resolveCommand(args: readonly string[]): Resolution {
  const name = (args[0] ?? "").toLowerCase();
  // Admin commands are refused by policy, not for want of an implementation.
  const refusal = REDIS_COMMANDS.has(name) ? administrativeRefusal(args) : undefined;
  if (refusal !== undefined) return { ok: false, error: new ReplyError(refusal) };
  const spec = TABLE.get(name);
  if (spec === undefined) {
    const message = REDIS_COMMANDS.has(name)
      ? `ERR '${name}' is not supported by the embedded KV engine; start the KV server with --redis to use it`
      : unknownCommand(args);
    return { ok: false, error: new ReplyError(message) };
  }
  const arityOk = spec.arity > 0 ? args.length === spec.arity : args.length >= -spec.arity;
  if (!arityOk) return { ok: false, error: new ReplyError(wrongArity(spec.name)) };
  return { ok: true, spec };
}
