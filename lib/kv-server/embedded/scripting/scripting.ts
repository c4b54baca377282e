import { createHash } from "node:crypto";
import { administrativeRefusal, REDIS_COMMANDS } from "../../command-policy";
import { ErrorText, ReplyError, wrongArity, type Reply } from "../../reply";
import { parseShebang, type ScriptFlag } from "../../script-flags";
import type { CommandSpec } from "../command-context";
import { lookupCommand, resolveCommand } from "../command-table";
import { parseInt64AsNumber } from "../numbers/int64";
import { LuaSandbox } from "./lua-sandbox";
import { ScriptErrorText } from "./script-errors";
import { RunningScript, type SliceOptions } from "./script-run";

/** What scripting needs from the engine: run one command, with its effects logged. */
export interface CommandRunner {
  run(spec: CommandSpec, args: readonly string[], now: number, log: string[][]): Reply;
}

interface CachedScript {
  readonly ref: number;
  /** With a shebang, Redis leaves "compat mode": the script may write only if it does not say no-writes. */
  readonly shebang: boolean;
  readonly flags: ReadonlySet<ScriptFlag>;
}

/** The script being run, for redis.call. */
interface Invocation {
  readonly now: number;
  readonly log: string[][];
  readonly readOnly: boolean;
  script: RunningScript | undefined;
}

/** Commands Redis 7.0 refuses inside scripts (CMD_NOSCRIPT). */
const NOT_FROM_SCRIPTS: ReadonlySet<string> = new Set([
  "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro", "function", "script", "multi", "exec", "discard",
  "watch", "unwatch", "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "wait",
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor", "sync", "psync",
  "save", "bgsave", "bgrewriteaof", "shutdown", "replicaof", "slaveof", "failover", "reset", "auth", "hello",
  "client", "quit", "select",
]);

/**
 * Commands whose string replies are status replies ("+OK", "+string"),
 * which a script sees as {ok=...}. The Reply type does not tell status from
 * bulk strings, and only a script can observe the difference.
 */
const STATUS_REPLIES: ReadonlySet<string> = new Set([
  "set", "setex", "psetex", "mset", "rename", "flushdb", "flushall", "lset", "ltrim", "hmset", "type", "pfmerge",
  "restore", "swapdb", "select", "ping",
]);

function isStatusReply(name: string, args: readonly string[], reply: Reply): boolean {
  if (typeof reply !== "string" || !STATUS_REPLIES.has(name)) return false;
  if (name === "ping") return args.length === 1;
  // SET ... GET answers the old value as a bulk string.
  if (name === "set") return !args.slice(3).some((word) => word.toLowerCase() === "get");
  return true;
}

export const SCRIPTING_COMMANDS: ReadonlySet<string> = new Set(["eval", "eval_ro", "evalsha", "evalsha_ro", "script"]);

/**
 * EVAL, EVALSHA, their _RO forms and SCRIPT for the embedded engine: the
 * script cache, the Lua sandbox, and the checks redis.call makes. A script
 * that finishes within its first slice answers at once; a longer one comes
 * back as a RunningScript the engine waits for (see script-run.ts).
 */
export class Scripting {
  private sandbox: LuaSandbox;
  private readonly cache = new Map<string, CachedScript>();
  private current: Invocation | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: SliceOptions,
  ) {
    this.sandbox = this.newSandbox();
  }

  private newSandbox(): LuaSandbox {
    return new LuaSandbox({ call: (args) => this.call(args) });
  }

  /** Runs a scripting command (name in SCRIPTING_COMMANDS, arity already checked). */
  execute(args: readonly string[], now: number, log: string[][]): Reply | RunningScript {
    const name = args[0]!.toLowerCase();
    if (name === "script") return this.script(args);
    return this.evaluate(args, now, log, name.endsWith("_ro"), name.startsWith("evalsha"));
  }

  /** What a command gets while `running` has passed the busy limit: BUSY, except SCRIPT KILL. */
  static whileBusy(args: readonly string[], running: RunningScript): Reply {
    const isKill = (args[0] ?? "").toLowerCase() === "script" && (args[1] ?? "").toLowerCase() === "kill";
    if (isKill && args.length === 2) return running.kill();
    return new ReplyError(ScriptErrorText.busy);
  }

  private evaluate(args: readonly string[], now: number, log: string[][], ro: boolean, bySha: boolean): Reply | RunningScript {
    const numkeys = parseInt64AsNumber(args[2]!);
    if (numkeys === undefined) return new ReplyError(ErrorText.notInteger);
    if (numkeys > args.length - 3) return new ReplyError(ScriptErrorText.keysGreaterThanArgs);
    if (numkeys < 0) return new ReplyError(ScriptErrorText.keysNegative);
    let sha: string;
    if (bySha) {
      sha = args[1]!.toLowerCase();
      if (!this.cache.has(sha)) return new ReplyError(ErrorText.noScript);
    } else {
      const loaded = this.load(args[1]!);
      if (loaded instanceof ReplyError) return loaded;
      sha = loaded;
    }
    const script = this.cache.get(sha)!;
    const noWrites = script.flags.has("no-writes");
    if (ro && script.shebang && !noWrites) return new ReplyError(ScriptErrorText.writeFlagWithRo);
    this.sandbox.setArguments(args.slice(3, 3 + numkeys), args.slice(3 + numkeys));
    const invocation: Invocation = { now, log, readOnly: ro || noWrites, script: undefined };
    const running = new RunningScript(this.sandbox.L, script.ref, sha, this.options, () => (this.current = invocation));
    invocation.script = running;
    const done = running.start();
    return done === undefined ? running : done.reply;
  }

  /** Compiles and caches a body; its SHA, or Redis's error. */
  private load(body: string): string | ReplyError {
    const sha = createHash("sha1").update(body, "utf8").digest("hex");
    if (this.cache.has(sha)) return sha;
    const shebang = parseShebang(body);
    if (!shebang.ok) return new ReplyError(shebang.error);
    // The shebang line is skipped but its line feed kept, so error line numbers match the client's text.
    const compiled = this.sandbox.compile(body.slice(shebang.length));
    if (!compiled.ok) return new ReplyError(compiled.error);
    this.cache.set(sha, { ref: compiled.ref, shebang: shebang.present, flags: shebang.flags });
    return sha;
  }

  /** SCRIPT LOAD, EXISTS, FLUSH and KILL: the subcommands command-policy.ts serves. */
  private script(args: readonly string[]): Reply {
    const sub = args[1]!.toLowerCase();
    switch (sub) {
      case "load":
        if (args.length !== 3) return new ReplyError(wrongArity("script|load"));
        return this.load(args[2]!);
      case "exists":
        if (args.length < 3) return new ReplyError(wrongArity("script|exists"));
        return args.slice(2).map((sha) => (this.cache.has(sha.toLowerCase()) ? 1 : 0));
      case "flush": {
        const mode = args[2]?.toLowerCase();
        if (args.length > 3 || (mode !== undefined && mode !== "sync" && mode !== "async")) {
          return new ReplyError(ScriptErrorText.flushOption);
        }
        // A fresh interpreter, as Redis resets its Lua state: nothing a script left behind survives.
        this.cache.clear();
        this.sandbox = this.newSandbox();
        return "OK";
      }
      case "kill":
        if (args.length !== 2) return new ReplyError(wrongArity("script|kill"));
        // Reached only when no script is running: a running one is killed through whileBusy.
        return new ReplyError(ScriptErrorText.notBusy);
      default:
        // command-policy.ts serves only the four above and refuses the rest (HELP, DEBUG, unknown
        // names) before any engine sees them, on every path: requests, transactions, scripts.
        throw new Error(`SCRIPT ${sub} reached the embedded engine past the command policy`);
    }
  }

  /** redis.call / redis.pcall: the checks of Redis 7.0's scriptCall, then the command. */
  private call(args: string[]): { reply: Reply; status: boolean } {
    const invocation = this.current;
    if (invocation === undefined) throw new Error("redis.call outside a running script");
    const name = args[0]!.toLowerCase();
    const spec = lookupCommand(name);
    const refusal = this.refusal(name, spec, args, invocation);
    if (refusal !== undefined) return { reply: new ReplyError(refusal), status: false };
    if (spec!.write && invocation.script !== undefined) invocation.script.wrote = true;
    const reply = this.runner.run(spec!, args, invocation.now, invocation.log);
    return { reply, status: isStatusReply(name, args, reply) };
  }

  private refusal(name: string, spec: CommandSpec | undefined, args: readonly string[], invocation: Invocation): string | undefined {
    if (spec === undefined) {
      if (!REDIS_COMMANDS.has(name)) return ScriptErrorText.unknownCommand;
      if (NOT_FROM_SCRIPTS.has(name)) return ScriptErrorText.notFromScripts;
      const resolution = resolveCommand(args);
      return resolution.ok ? ScriptErrorText.unknownCommand : resolution.error.message;
    }
    const arityOk = spec.arity > 0 ? args.length === spec.arity : args.length >= -spec.arity;
    if (!arityOk) return ScriptErrorText.wrongArity;
    if (NOT_FROM_SCRIPTS.has(name)) return ScriptErrorText.notFromScripts;
    // A subcommand the server does not serve (MEMORY STATS) gets the same answer as over HTTP.
    const notServed = administrativeRefusal(args);
    if (notServed !== undefined) return notServed;
    if (spec.write && invocation.readOnly) return ScriptErrorText.writeFromReadOnly;
    return undefined;
  }
}
