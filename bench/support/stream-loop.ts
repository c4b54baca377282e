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
  /** Streams answered 200 and read to the end, per second (a refusal is not a stream served). */
  rps: number;
  /** From sending the request to the first text chunk of a 200 answer; null when none had one. */
  firstChunkMs: { p50: number | null; p90: number | null; p99: number | null };
  /** From sending the request to the end of a 200 answer's stream; null when none was answered 200. */
  totalMs: { p50: number | null; p99: number | null };
  statuses: Record<string, number>;
  errors: number;
}

const WORKER = new URL("./stream-loop-worker.ts", import.meta.url).pathname;

export function streamLoop(input: StreamLoopInput): Promise<StreamLoopResult> {
  return runJsonWorker<StreamLoopResult>(WORKER, input, (input.seconds + input.warmupSeconds) * 1000 + 60_000);
}
