import { Redis } from "ioredis";
import { refusalReason } from "./command-policy";
import { EngineUnavailableError, type Engine } from "./engine";
import { ErrorText, ReplyError, type Reply } from "./reply";

/**
 * ioredis rewrites some replies by command name (HGETALL becomes an object).
 * Its lookup is case-sensitive, so sending the name uppercase keeps the raw
 * RESP2 reply. Other names keep their spelling: Redis echoes it back in
 * "unknown command" errors.
 */
function wireName(name: string): string {
  return name === "hgetall" ? "HGETALL" : name;
}

/**
 * RESP2 reply from ioredis in buffer mode with `stringNumbers`: bulk and
 * status strings arrive as Buffers (decoded as UTF-8), integers as decimal
 * strings. Converting those with Number() rounds int64 values beyond 2^53
 * correctly, where ioredis's own number parsing drifts in the last digits.
 */
function toReply(value: unknown): Reply {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (typeof value === "string") return Number(value);
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (Array.isArray(value)) return value.map(toReply);
  if (isRedisReplyError(value)) return new ReplyError(value.message);
  if (value instanceof Error) throw new EngineUnavailableError(value.message, { cause: value });
  return String(value);
}

/** redis-errors' ReplyError: what Redis answered, as opposed to a connection failure. */
function isRedisReplyError(value: unknown): value is Error {
  return value instanceof Error && value.name === "ReplyError";
}

function toFailure(error: unknown): ReplyError {
  if (isRedisReplyError(error)) return new ReplyError(error.message);
  const message = error instanceof Error ? error.message : String(error);
  throw new EngineUnavailableError(`Redis request failed: ${message}`, { cause: error });
}

class RedisEngine implements Engine {
  readonly kind = "redis";

  constructor(private readonly client: Redis) {}

  async exec(args: string[]): Promise<Reply> {
    const [name = "", ...rest] = args;
    const refusal = refusalReason(args);
    if (refusal !== undefined) return new ReplyError(refusal);
    try {
      return toReply(await this.client.callBuffer(wireName(name), ...rest));
    } catch (error) {
      return toFailure(error);
    }
  }

  async pipeline(commands: string[][]): Promise<Reply[]> {
    const refusals = commands.map((args) => refusalReason(args));
    const pipeline = this.client.pipeline();
    let forwarded = 0;
    commands.forEach((args, index) => {
      const [name = "", ...rest] = args;
      if (refusals[index] !== undefined) return;
      pipeline.callBuffer(wireName(name), ...rest);
      forwarded++;
    });
    let results: [Error | null, unknown][] | null = [];
    try {
      if (forwarded > 0) results = await pipeline.exec();
    } catch (error) {
      throw new EngineUnavailableError(`Redis pipeline failed: ${String(error)}`, { cause: error });
    }
    if (results === null) throw new EngineUnavailableError("Redis pipeline was discarded");
    const replies = results;
    let next = 0;
    return refusals.map((refusal) => {
      if (refusal !== undefined) return new ReplyError(refusal);
      const [error, value] = replies[next++] ?? [new Error("missing pipeline reply"), null];
      return error ? toFailure(error) : toReply(value);
    });
  }

  async multi(commands: string[][]): Promise<Reply[] | ReplyError> {
    // A command we refuse counts as a queue-time error: nothing may run.
    if (commands.some((args) => refusalReason(args) !== undefined || args.length === 0)) {
      return new ReplyError(ErrorText.execAbort);
    }
    const transaction = this.client.multi();
    for (const [name = "", ...rest] of commands) transaction.callBuffer(wireName(name), ...rest);
    let results: [Error | null, unknown][] | null;
    try {
      results = await transaction.exec();
    } catch (error) {
      // Unknown command or wrong arity while queueing: Redis discards the transaction.
      return toFailure(error);
    }
    if (results === null) throw new EngineUnavailableError("Redis transaction was discarded");
    return results.map(([error, value]) => (error ? toFailure(error) : toReply(value)));
  }

  async close(): Promise<void> {
    if (this.client.status === "end") return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/**
 * A pass-through to a real Redis (`redis://[:password@]host:port[/db]`).
 * Fails fast when Redis is unreachable at start, so a misconfigured dev
 * server says so instead of answering every request with an error.
 */
export async function createRedisEngine(url: string): Promise<Engine> {
  const client = new Redis(url, {
    lazyConnect: true,
    // Fail a request after two reconnection attempts, so the HTTP answer is a prompt 503.
    maxRetriesPerRequest: 2,
    // A command written before the connection dropped may already have run; re-sending
    // it after reconnecting could apply a DECRBY twice. Fail it instead: the caller sees
    // an ambiguous outcome, exactly as with a lost HTTP answer.
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
    stringNumbers: true,
  });
  // ioredis also emits connection errors as events; without a listener Node treats them as fatal.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new EngineUnavailableError(`cannot connect to Redis at ${redactUrl(url)}`, { cause: error });
  }
  return new RedisEngine(client);
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(invalid URL)";
  }
}
