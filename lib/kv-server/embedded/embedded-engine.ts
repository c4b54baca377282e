import type { Engine } from "../engine";
import { ErrorText, ReplyError, type Reply } from "../reply";
import { CommandFailure, type CommandContext, type CommandSpec } from "./command-context";
import { resolveCommand } from "./command-table";
import { Keyspace } from "./keyspace";
import { DataDirPersistence, type PersistenceOptions } from "./persistence/data-dir";
import type { LogRecord } from "./persistence/records";

export interface EmbeddedEngineOptions {
  /** Directory for the snapshot and append-only log; omit for memory only. */
  readonly dataDir?: string;
  /** Injected clock (ms since the epoch), so expiry is testable without sleeping. @default Date.now */
  readonly now?: () => number;
  /** Persistence tuning, for tests. */
  readonly persistence?: Omit<PersistenceOptions, "dataDir">;
  /** How often expired keys are swept in the background. @default 100 */
  readonly sweepIntervalMs?: number;
}

/** Keys examined per sweep; lazy expiry covers the rest, as in Redis. */
const SWEEP_BUDGET = 200;

/**
 * The in-memory engine. Commands run synchronously, one at a time, so a
 * MULTI is atomic simply by running its commands back to back in one call.
 */
class EmbeddedEngine implements Engine {
  readonly kind = "embedded";
  private readonly keyspace = new Keyspace();
  private persistence: DataDirPersistence | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly clock: () => number,
    sweepIntervalMs: number,
  ) {
    this.sweeper = setInterval(() => {
      this.keyspace.now = this.clock();
      this.keyspace.sweepExpired(SWEEP_BUDGET);
    }, sweepIntervalMs);
    this.sweeper.unref();
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

  private runOne(args: readonly string[], now: number, log: string[][]): Reply {
    const resolution = resolveCommand(args);
    return resolution.ok ? this.run(resolution.spec, args, now, log) : resolution.error;
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
    const now = this.clock();
    this.keyspace.now = now;
    const log: string[][] = [];
    const reply = this.runOne(args, now, log);
    this.persist([{ t: now, c: log }]);
    return reply;
  }

  async pipeline(commands: string[][]): Promise<Reply[]> {
    this.assertOpen();
    const records: LogRecord[] = [];
    const replies = commands.map((args) => {
      const now = this.clock();
      this.keyspace.now = now;
      const log: string[][] = [];
      const reply = this.runOne(args, now, log);
      records.push({ t: now, c: log });
      return reply;
    });
    this.persist(records);
    return replies;
  }

  async multi(commands: string[][]): Promise<Reply[] | ReplyError> {
    this.assertOpen();
    const resolved = commands.map((args) => resolveCommand(args));
    if (resolved.some((resolution) => !resolution.ok)) return new ReplyError(ErrorText.execAbort);
    // One clock reading for the whole transaction, as Redis does while in EXEC.
    const now = this.clock();
    this.keyspace.now = now;
    const log: string[][] = [];
    const replies = resolved.map((resolution, index) =>
      resolution.ok ? this.run(resolution.spec, commands[index] ?? [], now, log) : resolution.error,
    );
    this.persist([{ t: now, c: log }]);
    return replies;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.persistence?.close(this.keyspace);
    this.persistence = undefined;
  }
}

export async function createEmbeddedEngine(options: EmbeddedEngineOptions = {}): Promise<Engine> {
  const engine = new EmbeddedEngine(options.now ?? Date.now, options.sweepIntervalMs ?? 100);
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
