import { runJsonWorker } from "./processes";

/** A closed loop of streaming requests: each connection reads its answer to the end, then sends the next. */
export interface StreamLoopInput {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export interface StreamLoopResult {
  connections: number;
  seconds: number;
  /** Streams read to the end (any status). */
  completed: number;
  /** Completed streams per second. */
  rps: number;
  /** From sending the request to the first text chunk of the answer. */
  firstChunkMs: { p50: number; p90: number; p99: number };
  /** From sending the request to the end of the stream. */
  totalMs: { p50: number; p99: number };
  statuses: Record<string, number>;
  errors: number;
}

const WORKER = new URL("./stream-loop-worker.ts", import.meta.url).pathname;

export function streamLoop(input: StreamLoopInput): Promise<StreamLoopResult> {
  return runJsonWorker<StreamLoopResult>(WORKER, input, (input.seconds + input.warmupSeconds) * 1000 + 60_000);
}
