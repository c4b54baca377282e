import { runJsonWorker } from "./processes";

export type ThroughputMode = "ioredis-pipeline" | "rest-pipeline" | "rest-multi-exec" | "rest-single";

export interface KvThroughputInput {
  /** The local KV server. */
  url: string;
  token: string;
  /** For the native baseline. */
  redisUrl: string;
  modes: ThroughputMode[];
  /** Commands per pipeline / transaction. */
  batch: number;
  /** Batches outstanding at once (single commands: 4× this many). */
  inFlight: number;
  /** Distinct keys the commands cycle over. */
  keys: number;
  seconds: number;
}

export interface KvThroughputResult {
  mode: ThroughputMode;
  batch: number;
  inFlight: number;
  commandsPerSecond: number;
  commands: number;
  /** Failed requests plus error replies; should be 0. */
  errors: number;
}

const WORKER = new URL("./kv-throughput-worker.ts", import.meta.url).pathname;

export async function kvThroughput(input: KvThroughputInput): Promise<KvThroughputResult[]> {
  const seconds = input.modes.length * (input.seconds + 1) * 1000 + 30_000;
  return (await runJsonWorker<{ results: KvThroughputResult[] }>(WORKER, input, seconds)).results;
}
