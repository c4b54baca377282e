import type { Fault as KvFault, FaultOptions as KvFaultOptions } from "../../lib/kv-server";

/** Messages between kv-host.ts (parent) and kv-process.ts (child). */
export interface KvProcessOptions {
  engine: "redis" | "embedded";
  token: string;
  /** @default "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** Embedded engine only: persist here (omit for memory only). */
  dataDir?: string;
  /** @default 0 (any free port) */
  port?: number;
}

/** The server's own types: the bench process speaks for the server it hosts. */
export type { Fault as KvFault, FaultOptions as KvFaultOptions, KvServerCounters as KvCounters } from "../../lib/kv-server";
export type KvRequest =
  | { id: number; op: "counters" | "reset" | "stop" | "start" | "memory" | "exit" }
  | { id: number; op: "fault"; fault: KvFault; options?: KvFaultOptions };

export type KvResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
