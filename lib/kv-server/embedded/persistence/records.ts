import { SortedSet } from "../sorted-set";
import type { StoredValue } from "../keyspace";

/**
 * One line of the append-only log: the commands one engine call applied
 * (a MULTI is a single record, so it replays all-or-nothing) and the time
 * they ran at. Replay runs them at that same time, so lazy expiry and
 * relative TTLs come out exactly as they did live.
 */
export interface LogRecord {
  readonly t: number;
  readonly c: string[][];
}

export function encodeRecord(record: LogRecord): string {
  return `${JSON.stringify(record)}\n`;
}

export function decodeRecord(line: string): LogRecord | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { t, c } = parsed as { t?: unknown; c?: unknown };
    if (typeof t !== "number" || !Array.isArray(c)) return undefined;
    const valid = c.every((command) => Array.isArray(command) && command.every((part) => typeof part === "string"));
    return valid ? { t, c: c as string[][] } : undefined;
  } catch {
    return undefined;
  }
}

/** A key in a snapshot: [key, type, data, expireAt or null]. */
type SnapshotEntry = [string, StoredValue["type"], unknown, number | null];

/** Scores go as strings: JSON has no -0, inf or -inf. */
function encodeScore(score: number): string {
  return Object.is(score, -0) ? "-0" : String(score);
}

export function encodeEntry(key: string, value: StoredValue, expireAt: number | undefined): string {
  let data: unknown;
  switch (value.type) {
    case "string":
      // Bytes that are not valid UTF-8 (see byte-string.ts) would not survive JSON text.
      data = typeof value.value === "string" ? value.value : { base64: value.value.toString("base64") };
      break;
    case "hash":
      data = [...value.value];
      break;
    case "list":
      data = value.value;
      break;
    case "set":
      data = [...value.value];
      break;
    case "zset":
      data = value.value.all().map(({ member, score }) => [member, encodeScore(score)]);
      break;
  }
  const entry: SnapshotEntry = [key, value.type, data, expireAt ?? null];
  return `${JSON.stringify(entry)}\n`;
}

export class CorruptDataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    options?: { cause?: unknown },
  ) {
    super(`corrupt KV data in ${file} at line ${line}`, options);
    this.name = "CorruptDataError";
  }
}

export function decodeEntry(line: string): { key: string; value: StoredValue; expireAt: number | undefined } {
  const [key, type, data, expireAt] = JSON.parse(line) as SnapshotEntry;
  const expiry = expireAt === null ? undefined : expireAt;
  switch (type) {
    case "string": {
      const text = typeof data === "string" ? data : Buffer.from((data as { base64: string }).base64, "base64");
      return { key, value: { type, value: text }, expireAt: expiry };
    }
    case "hash":
      return { key, value: { type, value: new Map(data as [string, string][]) }, expireAt: expiry };
    case "list":
      return { key, value: { type, value: data as string[] }, expireAt: expiry };
    case "set":
      return { key, value: { type, value: new Set(data as string[]) }, expireAt: expiry };
    case "zset": {
      const pairs = data as [string, string][];
      const longest = pairs.reduce((most, [member]) => Math.max(most, Buffer.byteLength(member)), 0);
      const zset = new SortedSet(pairs.length, longest);
      for (const [member, score] of pairs) zset.set(member, Number(score));
      return { key, value: { type, value: zset }, expireAt: expiry };
    }
    default:
      throw new Error(`unknown value type ${String(type)}`);
  }
}
