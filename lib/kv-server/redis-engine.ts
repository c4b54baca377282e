import { refusalReason } from "./command-policy";
import { EngineUnavailableError, type Engine } from "./engine";
import { RedisConnection, type RedisConnectionOptions } from "./redis/connection";
import { parseRedisUrl } from "./redis/redis-url";
import { encodeCommand } from "./redis/resp";
import { ScriptShaMap } from "./redis/script-shas";
import { ErrorText, ReplyError, type Reply } from "./reply";

export type RedisEngineOptions = RedisConnectionOptions;

const MULTI = encodeCommand(["MULTI"]);
const EXEC = encodeCommand(["EXEC"]);

/**
 * Forwards commands over one raw RESP2 connection. A pipeline or a
 * transaction is encoded as one buffer and written in one call, and its
 * replies are read straight into Reply values: no per-command client
 * objects, which is what made the REST server slower than Redis itself.
 */
class RedisEngine implements Engine {
  readonly kind = "redis";
  /** Upstash script flags: scripts are forwarded without them, under SHAs mapped back here. */
  private readonly scripts = new ScriptShaMap();

  constructor(
    private readonly connection: RedisConnection,
    /** Dials a connection of its own, for SCRIPT KILL. */
    private readonly dialAnother: () => RedisConnection,
  ) {}

  async exec(args: string[]): Promise<Reply> {
    const refusal = refusalReason(args);
    if (refusal !== undefined) return new ReplyError(refusal);
    if (isScriptKill(args)) return this.onOwnConnection(args);
    const forwarded = this.scripts.forward(args);
    const [reply] = await this.connection.send(encodeCommand(forwarded.args), 1);
    return forwarded.reply(reply ?? null);
  }

  async pipeline(commands: string[][]): Promise<Reply[]> {
    const refusals = commands.map((args) => refusalReason(args));
    let payload = "";
    const forwarded = commands.flatMap((args, index) => {
      if (refusals[index] !== undefined) return [];
      const command = this.scripts.forward(args);
      payload += encodeCommand(command.args);
      return [command];
    });
    const replies = forwarded.length > 0 ? await this.connection.send(payload, forwarded.length) : [];
    let next = 0;
    return refusals.map((refusal) => {
      if (refusal !== undefined) return new ReplyError(refusal);
      const index = next++;
      return forwarded[index]!.reply(replies[index] ?? null);
    });
  }

  /**
   * MULTI, the commands and EXEC in one write. Redis answers MULTI with OK,
   * each command with QUEUED or a queue-time error (unknown command, wrong
   * arity), then EXEC with the results, or with EXECABORT after a queue-time
   * error, when nothing has run.
   */
  async multi(commands: string[][]): Promise<Reply[] | ReplyError> {
    // A command we refuse counts as a queue-time error: nothing may run.
    if (commands.some((args) => refusalReason(args) !== undefined || args.length === 0)) {
      return new ReplyError(ErrorText.execAbort);
    }
    const forwarded = commands.map((args) => this.scripts.forward(args));
    const payload = MULTI + forwarded.map((command) => encodeCommand(command.args)).join("") + EXEC;
    const replies = await this.connection.send(payload, commands.length + 2);
    const [opened] = replies;
    const result = replies[replies.length - 1] ?? null;
    if (opened !== "OK") throw new EngineUnavailableError(`Redis refused MULTI: ${describe(opened ?? null)}`);
    if (result instanceof ReplyError) return result;
    // Nil: a WATCHed key changed. WATCH is refused over REST, so this means a broken connection state.
    if (result === null) throw new EngineUnavailableError("Redis transaction was discarded");
    if (!Array.isArray(result) || result.length !== commands.length) {
      throw new EngineUnavailableError(`unexpected EXEC reply from Redis: ${describe(result)}`);
    }
    return result.map((reply, index) => forwarded[index]!.reply(reply));
  }

  /**
   * A runaway script occupies the shared connection: everything sent on it
   * waits behind the EVAL, SCRIPT KILL included. So SCRIPT KILL goes to
   * Redis on a connection of its own, which Redis serves once the script is
   * past its busy-reply-threshold.
   */
  private async onOwnConnection(args: string[]): Promise<Reply> {
    const side = this.dialAnother();
    try {
      await side.open();
      const [reply] = await side.send(encodeCommand(args), 1);
      return reply ?? null;
    } finally {
      await side.close();
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

function isScriptKill(args: readonly string[]): boolean {
  return args.length === 2 && (args[0] ?? "").toLowerCase() === "script" && (args[1] ?? "").toLowerCase() === "kill";
}

function describe(reply: Reply): string {
  return reply instanceof ReplyError ? reply.message : JSON.stringify(reply).slice(0, 100);
}

/**
 * A pass-through to a real Redis (`redis[s]://[[user]:password@]host[:port][/db]`;
 * AUTH and SELECT on every connection). Fails fast when Redis is unreachable
 * at start, so a misconfigured dev server says so instead of answering every
 * request with an error. A URL it cannot honour is a TypeError.
 */
export async function createRedisEngine(url: string, options: RedisEngineOptions = {}): Promise<Engine> {
  const address = parseRedisUrl(url);
  const connection = new RedisConnection(address, options);
  try {
    await connection.open();
  } catch (error) {
    await connection.close();
    throw new EngineUnavailableError(`cannot connect to Redis at ${redactUrl(url)}`, { cause: error });
  }
  // SCRIPT KILL is server-wide: the extra connection needs no database (a SELECT would get BUSY).
  return new RedisEngine(connection, () => new RedisConnection({ ...address, db: 0 }, options));
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
