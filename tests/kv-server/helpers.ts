import { randomBytes } from "node:crypto";
import { ReplyError, type Reply } from "../../lib/kv-server";
import { suiteRedisUrl } from "../support/redis";

/** The database REDIS_URL names (0 when it names none). */
function baseDb(): number {
  const path = new URL(suiteRedisUrl()).pathname.replace(/^\//, "");
  return path === "" ? 0 : Number(path);
}

/**
 * Databases reserved for this suite, counted from REDIS_URL's own: the next four. Each test
 * file that runs keyspace-wide commands (FLUSHDB, KEYS, DBSIZE) owns one, so files can run in
 * parallel; everything else uses a random key prefix in REDIS_URL's database.
 */
export const TEST_DB = {
  get http(): number { return baseDb() + 1; },
  get differentialCommands(): number { return baseDb() + 2; },
  get differentialRandom(): number { return baseDb() + 3; },
  get differentialScripting(): number { return baseDb() + 4; },
};

export function redisUrlFor(db: number): string {
  const url = new URL(suiteRedisUrl());
  url.pathname = `/${db}`;
  return url.toString();
}

export function randomPrefix(label: string): string {
  return `tollgate-test:${label}:${randomBytes(4).toString("hex")}:`;
}

/** Replies as plain JSON-able data, errors as {error}, for comparisons and messages. */
export function plain(reply: Reply | Reply[] | ReplyError): unknown {
  if (reply instanceof ReplyError) return { error: reply.message };
  if (Array.isArray(reply)) return reply.map((item) => plain(item));
  return reply;
}

const sorted = (items: unknown[]) => [...items].map((item) => JSON.stringify(item)).sort();

function pairs(items: unknown[]): unknown[] {
  const result: unknown[] = [];
  for (let i = 0; i < items.length; i += 2) result.push([items[i], items[i + 1]]);
  return result;
}

/** Commands whose reply order is a hash-table accident in Redis: compare as sorted sets. */
const UNORDERED = new Set(["keys", "smembers", "sinter", "sunion", "sdiff"]);

export interface CompareOptions {
  /**
   * A hash with a value over 64 bytes (or over 128 fields) leaves Redis's
   * listpack encoding, and its field order becomes a hash-table accident.
   * Small hashes keep insertion order in both engines and are compared exactly.
   */
  anyHashOrder?: boolean;
}

/**
 * Replies with the legitimately non-deterministic parts taken out: SCAN
 * cursors and order, set order, random picks, clock readings. TTLs are
 * compared with a tolerance by `sameReply`.
 */
export function normalize(command: readonly string[], reply: unknown, options: CompareOptions = {}): unknown {
  const name = (command[0] ?? "").toLowerCase();
  if (typeof reply === "object" && reply !== null && "error" in reply) return reply;
  if (options.anyHashOrder && Array.isArray(reply)) {
    if (name === "hgetall") return sorted(pairs(reply));
    if (name === "hkeys" || name === "hvals") return sorted(reply);
  }
  if (UNORDERED.has(name) && Array.isArray(reply)) return sorted(reply);
  if (name === "spop" && Array.isArray(reply)) return sorted(reply);
  if (name === "scan" && Array.isArray(reply)) return ["cursor", sorted(reply[1] as unknown[])];
  if ((name === "hscan" || name === "zscan") && Array.isArray(reply)) return ["cursor", sorted(pairs(reply[1] as unknown[]))];
  if (name === "sscan" && Array.isArray(reply)) return ["cursor", sorted(reply[1] as unknown[])];
  if (name === "srandmember") return Array.isArray(reply) ? { count: reply.length } : reply === null ? null : "member";
  if (name === "hrandfield") return Array.isArray(reply) ? { count: reply.length } : reply === null ? null : "field";
  if (name === "randomkey") return reply === null ? null : "key";
  if (name === "time" && Array.isArray(reply)) return reply.map((part) => typeof part);
  // MEMORY USAGE is an allocator figure in Redis and an estimate in the embedded engine.
  if (name === "memory" && typeof reply === "number") return reply > 0 && Number.isInteger(reply) ? "positive integer" : reply;
  return reply;
}

const TOLERANCE: Record<string, number> = { ttl: 1, pttl: 1500, expiretime: 1, pexpiretime: 1500 };

export function sameReply(command: readonly string[], a: unknown, b: unknown, options: CompareOptions = {}): boolean {
  const tolerance = TOLERANCE[(command[0] ?? "").toLowerCase()];
  if (tolerance !== undefined && typeof a === "number" && typeof b === "number" && a >= 0 && b >= 0) {
    return Math.abs(a - b) <= tolerance;
  }
  return JSON.stringify(normalize(command, a, options)) === JSON.stringify(normalize(command, b, options));
}
