import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Keyspace } from "../keyspace";
import { AppendLog } from "./append-log";
import { CorruptDataError, decodeEntry, decodeRecord, encodeEntry, encodeRecord, type LogRecord } from "./records";

export interface PersistenceOptions {
  readonly dataDir: string;
  /** Rewrite the snapshot once the log grows past this. @default 64 MiB */
  readonly compactAfterBytes?: number;
  /** @default 1000 */
  readonly fsyncIntervalMs?: number;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`KV data directory ${dataDir} is in use by process ${pid} (remove ${dataDir}/LOCK if that process is not a KV server)`);
    this.name = "DataDirLockedError";
  }
}

const SNAPSHOT = "snapshot.jsonl";
const LOCK = "LOCK";
const LOG_NAME = /^append-(\d+)\.log$/;
const SNAPSHOT_FORMAT = "tollgate-kv-snapshot";

/**
 * The on-disk layout: `snapshot.jsonl` (a header naming generation G, then
 * one key per line) and `append-<g>.log` files. Everything in logs with
 * g >= G happened after the snapshot, so a start loads the snapshot and
 * replays those logs in order; older logs are leftovers of an interrupted
 * compaction and are deleted.
 *
 * Compaction opens log G+1 first, then atomically renames a snapshot of
 * generation G+1 into place, then deletes old logs: a crash between any
 * two steps still loads every write exactly once.
 */
export class DataDirPersistence {
  private log: AppendLog | undefined;
  private generation = 0;

  private constructor(
    private readonly options: Required<PersistenceOptions>,
    private readonly clock: () => number,
  ) {}

  /** Loads the directory into `keyspace`, replaying logged commands through `replay`. */
  static open(
    options: PersistenceOptions,
    keyspace: Keyspace,
    clock: () => number,
    replay: (record: LogRecord) => void,
  ): DataDirPersistence {
    const persistence = new DataDirPersistence(
      { compactAfterBytes: 64 * 1024 * 1024, fsyncIntervalMs: 1000, ...options },
      clock,
    );
    persistence.load(keyspace, replay);
    return persistence;
  }

  private path(name: string): string {
    return join(this.options.dataDir, name);
  }

  private load(keyspace: Keyspace, replay: (record: LogRecord) => void): void {
    mkdirSync(this.options.dataDir, { recursive: true });
    this.lock();
    const snapshotGeneration = this.loadSnapshot(keyspace);
    const logs = readdirSync(this.options.dataDir)
      .map((name) => ({ name, generation: Number(LOG_NAME.exec(name)?.[1] ?? -1) }))
      .filter((log) => log.generation >= 0)
      .sort((a, b) => a.generation - b.generation);
    let replayed = 0;
    const current = logs.filter((log) => log.generation >= snapshotGeneration);
    current.forEach((log, index) => {
      replayed += this.replayLog(this.path(log.name), index === current.length - 1, replay);
    });
    for (const log of logs) if (log.generation < snapshotGeneration) unlinkSync(this.path(log.name));
    const last = current.at(-1);
    this.generation = last?.generation ?? snapshotGeneration;
    if (replayed > 0 || current.length > 1) {
      // Fold the replayed history into a fresh snapshot so the next start is fast.
      this.compact(keyspace);
    } else {
      const path = this.path(`append-${this.generation}.log`);
      this.log = new AppendLog(path, existsSync(path) ? statSync(path).size : 0, this.options.fsyncIntervalMs);
    }
  }

  private lock(): void {
    const path = this.path(LOCK);
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number(readFileSync(path, "utf8").trim());
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) throw new DataDirLockedError(this.options.dataDir, owner);
    // The owner died without cleaning up (kill -9): take the directory over.
    unlinkSync(path);
    this.lock();
  }

  private loadSnapshot(keyspace: Keyspace): number {
    const path = this.path(SNAPSHOT);
    if (!existsSync(path)) return 0;
    const lines = readFileSync(path, "utf8").split("\n");
    let generation = 0;
    lines.forEach((line, index) => {
      if (line === "") return;
      try {
        if (index === 0) {
          const header = JSON.parse(line) as { format?: unknown; generation?: unknown };
          if (header.format !== SNAPSHOT_FORMAT || typeof header.generation !== "number") throw new Error("bad header");
          generation = header.generation;
          return;
        }
        const { key, value, expireAt } = decodeEntry(line);
        keyspace.set(key, value, { expireAt });
      } catch (cause) {
        throw new CorruptDataError(path, index + 1, { cause });
      }
    });
    return generation;
  }

  /** Returns the number of records replayed. A torn final line of the newest log is cut off. */
  private replayLog(path: string, newest: boolean, replay: (record: LogRecord) => void): number {
    const text = readFileSync(path, "utf8");
    let offset = 0;
    let count = 0;
    let lineNumber = 0;
    while (offset < text.length) {
      lineNumber++;
      const end = text.indexOf("\n", offset);
      const record = end === -1 ? undefined : decodeRecord(text.slice(offset, end));
      if (record === undefined) {
        const isTail = end === -1 || text.indexOf("\n", end + 1) === -1;
        // Only the very end of the newest log can be half-written by a crash.
        if (!(newest && isTail)) throw new CorruptDataError(path, lineNumber);
        truncateSync(path, Buffer.byteLength(text.slice(0, offset)));
        break;
      }
      replay(record);
      count++;
      offset = end + 1;
    }
    return count;
  }

  append(records: readonly LogRecord[]): void {
    if (records.length === 0 || this.log === undefined) return;
    this.log.append(records.map(encodeRecord).join(""));
  }

  /** Called after writes: rewrites the snapshot once the log has grown enough. */
  compactIfDue(keyspace: Keyspace): void {
    if (this.log !== undefined && this.log.bytes > this.options.compactAfterBytes) this.compact(keyspace);
  }

  compact(keyspace: Keyspace): void {
    const next = this.generation + 1;
    const nextLog = new AppendLog(this.path(`append-${next}.log`), 0, this.options.fsyncIntervalMs);
    this.writeSnapshot(keyspace, next);
    this.log?.close();
    this.log = nextLog;
    this.deleteLogsBefore(next);
    this.generation = next;
  }

  private writeSnapshot(keyspace: Keyspace, generation: number): void {
    keyspace.now = this.clock();
    const temporary = this.path(`${SNAPSHOT}.tmp`);
    const fd = openSync(temporary, "w");
    try {
      let buffer = `${JSON.stringify({ format: SNAPSHOT_FORMAT, version: 1, generation, savedAt: keyspace.now })}\n`;
      for (const [key, value, expireAt] of keyspace.entries()) {
        buffer += encodeEntry(key, value, expireAt);
        if (buffer.length > 1 << 20) {
          writeSync(fd, buffer);
          buffer = "";
        }
      }
      writeSync(fd, buffer);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path(SNAPSHOT));
    syncDirectory(this.options.dataDir);
  }

  private deleteLogsBefore(generation: number): void {
    for (const name of readdirSync(this.options.dataDir)) {
      const match = LOG_NAME.exec(name);
      if (match && Number(match[1]) < generation) unlinkSync(this.path(name));
    }
  }

  /** Clean stop: everything goes into one snapshot and the logs are removed. */
  close(keyspace: Keyspace): void {
    if (this.log === undefined) return;
    this.log.close();
    this.log = undefined;
    const next = this.generation + 1;
    this.writeSnapshot(keyspace, next);
    this.deleteLogsBefore(next + 1);
    this.generation = next;
    unlinkSync(this.path(LOCK));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Makes the rename itself durable. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
