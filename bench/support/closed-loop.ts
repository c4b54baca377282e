import { runJsonWorker } from "./processes";

export interface ClosedLoopInput {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
  /** Load sent and discarded first (JIT, connection set-up, caches). */
  warmupSeconds: number;
}

export interface ClosedLoopResult {
  connections: number;
  seconds: number;
  /** Answers received (any status). */
  completed: number;
  rps: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

const WORKER = new URL("./closed-loop-worker.ts", import.meta.url).pathname;

export function closedLoop(input: ClosedLoopInput): Promise<ClosedLoopResult> {
  return runJsonWorker<ClosedLoopResult>(WORKER, input, (input.seconds + input.warmupSeconds) * 1000 + 30_000);
}
