import type { VercelKV } from "@vercel/kv";
import { KvProtocolError, KvUnavailableError } from "./errors";

/**
 * The slice of `@vercel/kv` (an `@upstash/redis` client) the metering core uses. Every
 * state change is one MULTI/EXEC (`/multi-exec`, atomic); a pipeline is never used for
 * writes because it is not a transaction. `scan` is only for the monthly cron.
 *
 * Build the client with retries OFF (lib/kv-client.ts does): a transaction whose answer was lost
 * would otherwise be sent again and applied twice.
 */
export type MeteringKv = Pick<VercelKV, "multi" | "scan">;
export type Transaction = ReturnType<MeteringKv["multi"]>;

export interface ExecOptions {
  /** Give up after this long; the caller must treat the outcome as unknown. */
  timeoutMs: number;
}

/**
 * Runs a transaction and returns the raw per-command results. A transport failure or a
 * timeout becomes KvUnavailableError: the transaction may or may not have been applied,
 * and the caller decides how to stay safe (void a debit, answer 503).
 */
export async function execTx(tx: Transaction, options: ExecOptions): Promise<unknown[]> {
  const items = await execTxItems(tx, options);
  return items.map((item, i) => {
    if (item.error) throw new KvProtocolError(`KV command ${i} failed: ${item.error}`);
    return item.result;
  });
}

/** One command's answer inside an EXEC: a failed command does not undo the others. */
export interface TxItem {
  error?: string;
  result: unknown;
}

/**
 * Like execTx, but a failed command is returned, not thrown: a transaction that carries
 * several users' commands (coalescer.ts) must fail only the owner of that command.
 */
export async function execTxItems(tx: Transaction, { timeoutMs }: ExecOptions): Promise<TxItem[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KvUnavailableError(`KV did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let items: { error?: string; result: unknown }[];
  try {
    items = (await Promise.race([tx.exec({ keepErrors: true }), timeout])) as { error?: string; result: unknown }[];
  } catch (cause) {
    if (cause instanceof KvUnavailableError) throw cause;
    throw new KvUnavailableError(`KV request failed: ${describe(cause)}`, { cause });
  } finally {
    clearTimeout(timer);
  }
  if (!Array.isArray(items)) throw new KvProtocolError("KV transaction answered with a non-array");
  return items;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message.split(", command was:")[0]!.slice(0, 200);
  return String(cause).slice(0, 200);
}

// The client JSON-parses strings by default ("93" → 93); these accept either form, so a
// client configured with automaticDeserialization:false works too.

export function asInt(value: unknown, what: string): number {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) {
    throw new KvProtocolError(`expected an integer for ${what}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return n;
}

export function asIntOrNull(value: unknown, what: string): number | null {
  return value === null || value === undefined ? null : asInt(value, what);
}

export function asStringOrNull(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function asRecord(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  // A client without automatic deserialization returns HGETALL as a flat array.
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (let i = 0; i + 1 < value.length; i += 2) out[String(value[i])] = value[i + 1];
    return out;
  }
  throw new KvProtocolError("expected a hash");
}

export function asArray(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new KvProtocolError("expected an array");
  return value;
}
