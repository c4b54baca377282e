import type { Reply, ReplyError } from "./reply";

/**
 * What the HTTP front end needs from a data store. Two implementations: the
 * embedded in-memory engine and a pass-through to a real Redis.
 *
 * Expected command failures come back as ReplyError values; the promises
 * reject only when the store itself is unusable (e.g. Redis unreachable).
 */
export interface Engine {
  /** One command, args already strings (args[0] is the command name). */
  exec(args: string[]): Promise<Reply>;
  /**
   * Atomic MULTI/EXEC. Queue-time errors (unknown command, wrong arity) abort
   * the whole thing (EXECABORT, nothing applied); runtime errors (WRONGTYPE...)
   * are per-item and the other commands still apply, exactly like Redis.
   */
  multi(commands: string[][]): Promise<Reply[] | ReplyError>;
  /** Non-atomic pipeline: each command runs on its own, in order. */
  pipeline(commands: string[][]): Promise<Reply[]>;
  /** Stops background work and flushes persistence. Idempotent. */
  close(): Promise<void>;
  readonly kind: "embedded" | "redis";
}

/**
 * The store behind the engine failed as a whole (Redis unreachable, the
 * connection dropped): not a command error, so it is thrown rather than
 * returned, and the HTTP layer answers 503.
 */
export class EngineUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineUnavailableError";
  }
}
