import { ErrorText, ReplyError, type Reply } from "../reply";
import { parseInt64, parseInt64AsNumber } from "./numbers/int64";
import type { Keyspace, StoredValue, ValueOf, ValueType } from "./keyspace";

/** What a command handler sees. */
export interface CommandContext {
  readonly keyspace: Keyspace;
  /** Milliseconds since the epoch, fixed for the whole command (or transaction). */
  readonly now: number;
  /**
   * Replaces what the append-only log records for this command. Used where
   * replaying the original would not reproduce its effect: random choices
   * (SPOP becomes SREM) and relative expiries (EX becomes PXAT).
   */
  logAs(commands: string[][]): void;
}

/** args[0] is the command name, as typed. */
export type CommandHandler = (ctx: CommandContext, args: readonly string[]) => Reply;

export interface CommandSpec {
  /** Lowercase canonical name, as Redis prints it in arity errors. */
  readonly name: string;
  /** Redis arity: n means exactly n args (name included), -n means at least n. */
  readonly arity: number;
  /** Writes are logged for persistence and refused to the read-only token. */
  readonly write: boolean;
  readonly handler: CommandHandler;
}

/**
 * Thrown by handlers and helpers to answer with an error reply. Handlers
 * validate before mutating, so throwing never leaves a half-applied command.
 */
export class CommandFailure extends Error {
  readonly reply: ReplyError;
  constructor(message: string) {
    super(message);
    this.name = "CommandFailure";
    this.reply = new ReplyError(message);
  }
}

export function fail(message: string): never {
  throw new CommandFailure(message);
}

export function arg(args: readonly string[], index: number): string {
  const value = args[index];
  // Arity is checked before dispatch, so a missing argument is a bug in a handler.
  if (value === undefined) throw new Error(`argument ${index} missing for ${args[0] ?? "?"}`);
  return value;
}

export function sameWord(text: string | undefined, word: string): boolean {
  return text !== undefined && text.toLowerCase() === word;
}

export function intArg(text: string): bigint {
  return parseInt64(text) ?? fail(ErrorText.notInteger);
}

export function numberArg(text: string): number {
  return parseInt64AsNumber(text) ?? fail(ErrorText.notInteger);
}

/**
 * Redis's getRangeLongFromObjectOrReply(min, LONG_MAX): a whole number of at least `min`,
 * with one error text for "abc" and for a number too small, as Redis answers both.
 */
export function atLeastArg(text: string, min: number, message: string): number {
  const value = parseInt64AsNumber(text);
  if (value === undefined || value < min) fail(message);
  return value;
}

/** getPositiveLongFromObjectOrReply: a count that must be >= 0; even "abc" gets the "positive" text. */
export function countArg(text: string): number {
  return atLeastArg(text, 0, ErrorText.mustBePositive);
}

/** The value at `key` if it has type `type`; WRONGTYPE if it has another. */
export function read<T extends ValueType>(ctx: CommandContext, key: string, type: T): ValueOf<T> | undefined {
  const stored = ctx.keyspace.get(key);
  if (stored === undefined) return undefined;
  if (stored.type !== type) fail(ErrorText.wrongType);
  // The type tag was just checked; TypeScript cannot narrow a generic union by it.
  return stored.value as unknown as ValueOf<T>;
}

/** The value at `key`, created empty when missing. */
export function readOrCreate<T extends ValueType>(
  ctx: CommandContext,
  key: string,
  type: T,
  create: () => ValueOf<T>,
): ValueOf<T> {
  const existing = read(ctx, key, type);
  if (existing !== undefined) return existing;
  const value = create();
  ctx.keyspace.set(key, { type, value } as StoredValue);
  return value;
}

/** Redis never keeps empty collections: the key goes when its last element does. */
export function deleteIfEmpty(ctx: CommandContext, key: string, size: number): void {
  if (size === 0) ctx.keyspace.delete(key);
}

/** HDEL, SREM, ZREM: remove args[2..] from the collection at args[1]; an emptied key goes away. */
export function removeMembers(ctx: CommandContext, args: readonly string[], type: "hash" | "set" | "zset"): number {
  const key = arg(args, 1);
  const collection = read(ctx, key, type) as { delete(member: string): boolean; size: number } | undefined;
  if (collection === undefined) return 0;
  let removed = 0;
  for (const member of args.slice(2)) if (collection.delete(member)) removed++;
  deleteIfEmpty(ctx, key, collection.size);
  return removed;
}

/** Redis clamps start/stop of LRANGE, LTRIM, ZRANGE the same way; undefined = empty range. */
export function clampRange(start: number, stop: number, length: number): [number, number] | undefined {
  let from = start < 0 ? length + start : start;
  let to = stop < 0 ? length + stop : stop;
  if (from < 0) from = 0;
  if (from > to || from >= length) return undefined;
  if (to >= length) to = length - 1;
  return [from, to];
}
