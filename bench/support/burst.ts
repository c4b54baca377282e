import { runJsonWorker } from "./processes";

export interface BurstRequest {
  path: string;
  body: string;
  /** Overrides the burst's token. */
  token?: string;
}

export interface BurstInput {
  baseUrl: string;
  token: string;
  requests: BurstRequest[];
  concurrency: number;
}

export interface BurstResult {
  statuses: (number | "error")[];
  seconds: number;
}

const WORKER = new URL("./burst-worker.ts", import.meta.url).pathname;

export function burst(input: BurstInput, timeoutMs = 120_000): Promise<BurstResult> {
  return runJsonWorker<BurstResult>(WORKER, input, timeoutMs);
}

/** The generation routes and their prices (lib/gateway/pricing.ts), with a valid body each. */
export const ROUTES = [
  { path: "/api/chat", cost: 1, body: JSON.stringify({ message: "hello" }) },
  { path: "/api/generate/article", cost: 3, body: JSON.stringify({ topic: "tea" }) },
  { path: "/api/generate/nutrition-plan", cost: 5, body: JSON.stringify({ goal: "energy" }) },
  { path: "/api/generate/workout-plan", cost: 10, body: JSON.stringify({ goal: "run" }) },
] as const;
