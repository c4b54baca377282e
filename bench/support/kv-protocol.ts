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

export type KvFault =
  | { kind: "none" }
  | { kind: "delay"; ms: number }
  | { kind: "error"; status?: number }
  | { kind: "drop" }
  | { kind: "drop-after-exec" };

export interface KvFaultOptions {
  /** Apply the fault to this many requests, then stop. */
  times?: number;
  /** Only requests to these paths (e.g. "/multi-exec"). */
  paths?: string[];
}

export interface KvCounters {
  requests: number;
  commands: number;
  byPath: Record<string, number>;
}

export type KvRequest =
  | { id: number; op: "counters" | "reset" | "stop" | "start" | "memory" | "exit" }
  | { id: number; op: "fault"; fault: KvFault; options?: KvFaultOptions };

export type KvResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
