import { runJsonWorker } from "./processes";

export interface OpenLoopInput {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  /** When set, requests cycle through these instead of url/headers/body (a mixed load). */
  variants?: { url: string; headers: Record<string, string>; body?: string }[];
  /** Arrivals per second. */
  rate: number;
  seconds: number;
  /** Sent at the same rate first, not measured. */
  warmupSeconds: number;
  /** More outstanding requests than this and new arrivals are shed (counted as failures). */
  maxInFlight: number;
  timeoutMs: number;
}

export interface OpenLoopResult {
  rate: number;
  measured: number;
  p50Ms: number;
  /** Infinity when requests had to be shed. */
  p99Ms: number;
  maxMs: number;
  statuses: Record<string, number>;
  /** Answers other than an HTTP status (errors, timeouts, shed). */
  failed: number;
  /** How late the generator itself sent a request at worst (its own health). */
  maxLagMs: number;
}

const WORKER = new URL("./open-loop-worker.ts", import.meta.url).pathname;

export async function openLoop(input: OpenLoopInput): Promise<OpenLoopResult> {
  const raw = await runJsonWorker<Omit<OpenLoopResult, "p99Ms"> & { p99Ms: number | "Infinity" }>(
    WORKER, input, (input.seconds + input.warmupSeconds) * 1000 + input.timeoutMs + 30_000);
  return { ...raw, p99Ms: raw.p99Ms === "Infinity" ? Infinity : raw.p99Ms };
}
