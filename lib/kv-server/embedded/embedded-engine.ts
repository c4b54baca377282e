import type { Engine } from "../engine";
import { ErrorText, ReplyError, type Reply } from "../reply";
import { CommandFailure, type CommandContext, type CommandSpec } from "./command-context";
import { resolveCommand } from "./command-table";
import { Keyspace } from "./keyspace";
import { DataDirPersistence, type PersistenceOptions } from "./persistence/data-dir";
import type { LogRecord } from "./persistence/records";
import { ScriptErrorText } from "./scripting/script-errors";
import { RunningScript } from "./scripting/script-run";
import { Scripting, SCRIPTING_COMMANDS } from "./scripting/scripting";

export interface EmbeddedEngineOptions {
  /** Directory for the snapshot and append-only log; omit for memory only. */
  readonly dataDir?: string;
  /** Injected clock (ms since the epoch), so expiry is testable without sleeping. @default Date.now */
  readonly now?: () => number;
  /** Persistence tuning, for tests. */
  readonly persistence?: Omit<PersistenceOptions, "dataDir">;
  /** How often expired keys are swept in the background. @default 100 */
  readonly sweepIntervalMs?: number;
  /**
   * How long a script may run before other callers get BUSY and SCRIPT KILL
   * may stop it (Redis's busy-reply-threshold, formerly lua-time-limit).
   * @default 5000
   */
  readonly busyScriptTimeMs?: number;
  /** How long a script runs before the event loop gets a turn. @default 10 */
  readonly scriptSliceMs?: number;
}

/**
 * Taken by the call whose script outlived its first slice, until that whole
 * call (the rest of its pipeline or transaction included) has finished.
 */
interface Hold {
  /** The script the call is waiting for now (a pipeline may run several). */
  script: RunningScript;
  readonly released: Promise<void>;
  release(): void;
  /** Settles when the call moves on to waiting for another script. */
  scriptChanged: Promise<void>;
  changeScript(script: RunningScript): void;
}

function createHold(script: RunningScript): Hold {
  let release!: () => void;
  let announce!: () => void;
  const hold: Hold = {
    script,
    released: new Promise<void>((resolve) => (release = resolve)),
    release: () => release(),
    scriptChanged: new Promise<void>((resolve) => (announce = resolve)),
    changeScript(next) {
      hold.script = next;
      announce();
      hold.scriptChanged = new Promise<void>((resolve) => (announce = resolve));
    },
  };
  return hold;
}

/** Keys examined per sweep; lazy expiry covers the rest, as in Redis. */
const SWEEP_BUDGET = 200;

/**
 * The in-memory engine. Commands run synchronously, one at a time, so a
 * MULTI is atomic simply by running its commands back to back in one call.
 *
 * Scripts are the exception: one that outlives its first slice (see
 * scripting/script-run.ts) makes its call wait on the event loop. That call
 * then holds the engine: every other call waits for it to finish, or, once
 * the script has run past the busy limit, is answered BUSY at once (SCRIPT
 * KILL excepted), as Redis answers other clients during a long script. The
 * background sweeper waits too, so nothing expires under a running script.
 */
class EmbeddedEngine implements Engine {
  readonly kind = "embedded";
  private readonly keyspace = new Keyspace();
  private persistence: DataDirPersistence | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private readonly scripting: Scripting;
  private hold: Hold | undefined;
  private closed = false;

  constructor(
    private readonly clock: () => number,
    options: EmbeddedEngineOptions,
  ) {
    this.sweeper = setInterval(() => {
      if (this.hold !== undefined) return;
      this.keyspace.now = this.clock();
      this.keyspace.sweepExpired(SWEEP_BUDGET);
    }, options.sweepIntervalMs ?? 100);
    this.sweeper.unref();
    this.scripting = new Scripting(
      {
        // A script's commands all run at the time it started, as in Redis 7.
        run: (spec, args, now, log) => {
          this.keyspace.now = now;
          return this.run(spec, args, now, log);
        },
      },
      { busyMs: options.busyScriptTimeMs ?? 5000, sliceMs: options.scriptSliceMs ?? 10 },
    );
  }

  /** Loads the data directory; replayed commands run at the time they were logged. */
  openPersistence(options: PersistenceOptions): void {
    this.persistence = DataDirPersistence.open(options, this.keyspace, this.clock, (record) => {
      this.keyspace.now = record.t;
      for (const args of record.c) {
        const resolution = resolveCommand(args);
        if (resolution.ok) this.run(resolution.spec, args, record.t, []);
      }
    });
  }

  private run(spec: CommandSpec, args: readonly string[], now: number, log: string[][]): Reply {
    let logged: string[][] | undefined;
    const ctx: CommandContext = {
      keyspace: this.keyspace,
      now,
      logAs: (commands) => {
        logged = commands;
      },
    };
    try {
      const reply = spec.handler(ctx, args);
      if (spec.write) log.push(...(logged ?? [[...args]]));
      return reply;
    } catch (error) {
      if (error instanceof CommandFailure) return error.reply;
      throw error;
    }
  }

  /** A reply, or a script still running, which the caller waits for through its turn. */
  private runOne(args: readonly string[], now: number, log: string[][]): Reply | RunningScript {
    const resolution = resolveCommand(args);
    return resolution.ok ? this.runResolved(resolution.spec, args, now, log) : resolution.error;
  }

  private runResolved(spec: CommandSpec, args: readonly string[], now: number, log: string[][]): Reply | RunningScript {
    return SCRIPTING_COMMANDS.has(spec.name) ? this.scripting.execute(args, now, log) : this.run(spec, args, now, log);
  }

  /**
   * Runs `work` once no other call holds the engine, or answers `onBusy`
   * when the holder's script is past the busy limit. `work` runs
   * synchronously up to the first script it has to wait for (`wait`), so
   * between the check and the work nothing else can start.
   */
  private async turn<T>(
    onBusy: (script: RunningScript) => T,
    work: (wait: (script: RunningScript) => Promise<Reply>) => Promise<T>,
  ): Promise<T> {
    while (this.hold !== undefined) {
      const { script, released, scriptChanged } = this.hold;
      if (script.isPastBusyLimit) return onBusy(script);
      await Promise.race([released, script.pastBusyLimit, scriptChanged]);
    }
    this.assertOpen();
    let mine: Hold | undefined;
    const wait = (script: RunningScript): Promise<Reply> => {
      if (mine === undefined) this.hold = mine = createHold(script);
      else mine.changeScript(script);
      return script.finished;
    };
    try {
      return await work(wait);
    } finally {
      if (mine !== undefined) {
        if (this.hold === mine) this.hold = undefined;
        mine.release();
      }
    }
  }

  private persist(records: LogRecord[]): void {
    if (this.persistence === undefined) return;
    this.persistence.append(records.filter((record) => record.c.length > 0));
    this.persistence.compactIfDue(this.keyspace);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("the embedded KV engine is closed");
  }

  async exec(args: string[]): Promise<Reply> {
    this.assertOpen();
    return this.turn(
      (script) => Scripting.whileBusy(args, script),
      async (wait) => {
        const now = this.clock();
        this.keyspace.now = now;
        const log: string[][] = [];
        const outcome = this.runOne(args, now, log);
        const reply = outcome instanceof RunningScript ? await wait(outcome) : outcome;
        this.persist([{ t: now, c: log }]);
        return reply;
      },
    );
  }

  async pipeline(commands: string[][]): Promise<Reply[]> {
    this.assertOpen();
    return this.turn(
      (script) => commands.map((args) => Scripting.whileBusy(args, script)),
      async (wait) => {
        const records: LogRecord[] = [];
        const replies: Reply[] = [];
        for (const args of commands) {
          const now = this.clock();
          this.keyspace.now = now;
          const log: string[][] = [];
          const outcome = this.runOne(args, now, log);
          replies.push(outcome instanceof RunningScript ? await wait(outcome) : outcome);
          records.push({ t: now, c: log });
        }
        this.persist(records);
        return replies;
      },
    );
  }

  async multi(commands: string[][]): Promise<Reply[] | ReplyError> {
    this.assertOpen();
    return this.turn(
      (): Reply[] | ReplyError => new ReplyError(ScriptErrorText.busy),
      async (wait) => {
        const resolved = commands.map((args) => resolveCommand(args));
        if (resolved.some((resolution) => !resolution.ok)) return new ReplyError(ErrorText.execAbort);
        // One clock reading for the whole transaction, as Redis does while in EXEC.
        const now = this.clock();
        const log: string[][] = [];
        const replies: Reply[] = [];
        for (const [index, resolution] of resolved.entries()) {
          this.keyspace.now = now;
          if (!resolution.ok) continue;
          const outcome = this.runResolved(resolution.spec, commands[index] ?? [], now, log);
          replies.push(outcome instanceof RunningScript ? await wait(outcome) : outcome);
        }
        this.persist([{ t: now, c: log }]);
        return replies;
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    const hold = this.hold;
    if (hold !== undefined) {
      // Its writes so far are logged when its call ends, then folded into the snapshot below.
      hold.script.stop(ScriptErrorText.engineClosing);
      await hold.released;
    }
    this.persistence?.close(this.keyspace);
    this.persistence = undefined;
  }
}

export async function createEmbeddedEngine(options: EmbeddedEngineOptions = {}): Promise<Engine> {
  const engine = new EmbeddedEngine(options.now ?? Date.now, options);
  if (options.dataDir !== undefined) {
    try {
      engine.openPersistence({ ...options.persistence, dataDir: options.dataDir });
    } catch (error) {
      await engine.close();
      throw error;
    }
  }
  return engine;
}
