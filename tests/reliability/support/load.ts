import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const WORKER = new URL("./load-worker.ts", import.meta.url).pathname;

export interface LoadInput {
  baseUrl: string;
  users: { id: string; token: string }[];
  routes: { path: string; cost: number; body: string }[];
  count: number;
  concurrency: number;
  /** Per request; past it the worker counts an error (the app must answer well before). */
  timeoutMs: number;
  /** Paid debit ids kept per user (for refunds). */
  keepDebitIds: number;
}

export interface UserTally {
  paid: number;
  paidTokens: number;
  refused: number;
  unavailable: number;
  /** Any other status: a bug for these suites. */
  other: number;
  /** No HTTP answer at all. */
  errors: number;
  paidIds: { debitId: string; cost: number }[];
}

export interface LoadResult {
  statuses: Record<string, number>;
  users: Record<string, UserTally>;
  unexpected: { status: number; body: string }[];
}

/**
 * The priced routes (lib/gateway/pricing.ts) with a valid body each. The last one is gated
 * inside its handler instead of the Edge middleware (the e2e app is a test build, TOLLGATE_TEST_BUILD=1),
 * so every reliability suite covers both placements of the gate.
 */
export const PRICED_ROUTES = [
  { path: "/api/chat", cost: 1, body: JSON.stringify({ message: "hello" }) },
  { path: "/api/generate/article", cost: 3, body: JSON.stringify({ topic: "tea" }) },
  { path: "/api/generate/nutrition-plan", cost: 5, body: JSON.stringify({ goal: "energy" }) },
  { path: "/api/generate/workout-plan", cost: 10, body: JSON.stringify({ goal: "run" }) },
  { path: "/api/bench/metered", cost: 1, body: JSON.stringify({ message: "hello" }) },
];

/** Runs `processes` load workers at once (each its own Node process) and merges their tallies. */
export async function runLoad(processes: number, input: LoadInput): Promise<LoadResult> {
  const outputs = await Promise.all(Array.from({ length: processes }, () =>
    run(process.execPath, ["--import", "tsx", WORKER, JSON.stringify(input)], { timeout: 170_000, maxBuffer: 16 * 1024 * 1024 })));
  const merged: LoadResult = { statuses: {}, users: {}, unexpected: [] };
  for (const { stdout } of outputs) {
    const r = JSON.parse(stdout.trim().split("\n").pop()!) as LoadResult;
    for (const [s, n] of Object.entries(r.statuses)) merged.statuses[s] = (merged.statuses[s] ?? 0) + n;
    for (const [id, t] of Object.entries(r.users)) {
      const m = (merged.users[id] ??= { paid: 0, paidTokens: 0, refused: 0, unavailable: 0, other: 0, errors: 0, paidIds: [] });
      m.paid += t.paid;
      m.paidTokens += t.paidTokens;
      m.refused += t.refused;
      m.unavailable += t.unavailable;
      m.other += t.other;
      m.errors += t.errors;
      m.paidIds.push(...t.paidIds);
    }
    merged.unexpected.push(...r.unexpected);
  }
  return merged;
}
