import type { ClosedLoopResult } from "./closed-loop";
import type { FalseRefusalRun } from "./false-refusals";
import type { KvThroughputResult } from "./kv-throughput";
import type { StreamLoopResult } from "./stream-loop";

/** The route variants compared (bench/run.ts). */
export type Variant = "plain" | "hook" | "metered" | "handler" | "refused";

/** The two places the gate can run: the metered variants, each compared with "plain". */
export type MeteredVariant = "metered" | "handler";
export const PLACEMENTS: readonly { variant: MeteredVariant; label: string }[] = [
  { variant: "metered", label: "Edge middleware" },
  { variant: "handler", label: "gate in the handler" },
];

export const VARIANTS: readonly { id: Variant; label: string; path: string }[] = [
  { id: "plain", label: "unmetered", path: "/api/bench/plain" },
  { id: "hook", label: "no-op middleware", path: "/api/bench/hook" },
  { id: "metered", label: "metered: Edge middleware (JWT + debit)", path: "/api/chat" },
  { id: "handler", label: "metered: gate in the handler", path: "/api/bench/metered" },
  { id: "refused", label: "metered, out of tokens (402)", path: "/api/chat" },
];

/** The streaming route, metered (hold → stream → settle) and not (bench/run.ts stage 6). */
export type StreamVariant = "stream-plain" | "stream-metered";
export const STREAM_VARIANTS: readonly { id: StreamVariant; label: string; path: string }[] = [
  { id: "stream-plain", label: "stream, unmetered", path: "/api/bench/stream" },
  { id: "stream-metered", label: "stream, metered (Edge middleware hold, settled by usage)", path: "/api/chat/stream" },
];

export interface StreamRun extends StreamLoopResult {
  variant: StreamVariant;
  round: number;
}

export interface StreamSummary {
  variant: StreamVariant;
  connections: number;
  /** Mean over rounds. */
  rps: number;
  /** Medians over rounds. */
  firstChunkP50Ms: number;
  firstChunkP99Ms: number;
  totalP50Ms: number;
  statuses: Record<string, number>;
}

export function summarizeStreams(runs: readonly StreamRun[]): StreamSummary[] {
  const out: StreamSummary[] = [];
  for (const { id } of STREAM_VARIANTS) {
    for (const connections of [...new Set(runs.map((r) => r.connections))]) {
      const mine = runs.filter((r) => r.variant === id && r.connections === connections);
      if (mine.length === 0) continue;
      const statuses: Record<string, number> = {};
      for (const r of mine) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
      out.push({
        variant: id, connections, rps: mean(mine.map((r) => r.rps)),
        firstChunkP50Ms: medianOf(mine.map((r) => r.firstChunkMs.p50)), firstChunkP99Ms: medianOf(mine.map((r) => r.firstChunkMs.p99)),
        totalP50Ms: medianOf(mine.map((r) => r.totalMs.p50)), statuses,
      });
    }
  }
  return out;
}

export interface ClosedLoopRun extends ClosedLoopResult {
  variant: Variant;
  round: number;
  /** HTTP requests the KV server received during the run. */
  kvRequests: number;
}

export interface VariantSummary {
  variant: Variant;
  connections: number;
  rounds: number;
  /** Mean over rounds. */
  rps: number;
  /** Medians over rounds. */
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** KV HTTP requests per answered request. */
  kvPerRequest: number;
  statuses: Record<string, number>;
}

export interface RatioSummary {
  /** Which metered variant is compared with the unmetered one (absent in older reports: "metered"). */
  variant?: MeteredVariant;
  connections: number;
  /** metered ÷ unmetered for each adjacent pair, in run order. */
  pairs: number[];
  median: number;
  /** Median over pairs of (mean latency metered − unmetered), ms. */
  addedMs: number;
}

export interface OpenLoopStep {
  variant: Variant;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  unexpected: number;
  pass: boolean;
  /** The load generator's worst lateness sending a request (its own health). */
  generatorLagMs: number;
}

export interface OpenLoopSummary {
  steps: OpenLoopStep[];
  maxPlain: number;
  maxMetered: number;
  ratio: number;
  /** The gate in the handler (absent in older reports). */
  maxHandler?: number;
  handlerRatio?: number;
}

export interface Target {
  name: string;
  target: string;
  value: number;
  display: string;
  met: boolean;
}

export interface EngineReport {
  version: 1;
  date: string;
  engine: "redis" | "embedded";
  machine: {
    cpus: number; cpuModel: string; node: string; platform: string; memoryGiB: number;
    /** 1-minute load average before and after the run (the load generator included). */
    loadAverage?: { before: number; after: number };
  };
  settings: { seconds: number; rounds: number; connections: number[] };
  closedLoop: { runs: ClosedLoopRun[]; summary: VariantSummary[] };
  ratios: RatioSummary[];
  gateTiming: { samples: number; authMs: number; meterMs: number } | null;
  /** Medians over alternating rounds. */
  kvThroughput: KvThroughputResult[];
  /** rest-pipeline ÷ ioredis-pipeline, per round. */
  kvRestOverNative: number[];
  openLoop: OpenLoopSummary | null;
  falseRefusals: FalseRefusalRun[] | null;
  /** Stage 6 (absent in older reports). */
  streaming?: { runs: StreamRun[]; summary: StreamSummary[] } | null;
  targets: Target[];
  notes: string[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The median of the rounds that gave a figure (NaN when none did). */
function medianOf(values: readonly (number | null)[]): number {
  return median(values.filter((v): v is number => v !== null));
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function summarize(runs: readonly ClosedLoopRun[]): VariantSummary[] {
  const out: VariantSummary[] = [];
  const keys = new Set(runs.map((r) => `${r.variant}|${r.connections}`));
  for (const key of keys) {
    const group = runs.filter((r) => `${r.variant}|${r.connections}` === key);
    const statuses: Record<string, number> = {};
    for (const r of group) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
    const completed = group.reduce((a, r) => a + r.completed, 0);
    out.push({
      variant: group[0]!.variant,
      connections: group[0]!.connections,
      rounds: group.length,
      rps: mean(group.map((r) => r.rps)),
      meanMs: median(group.map((r) => r.meanMs)),
      p50Ms: median(group.map((r) => r.p50Ms)),
      p99Ms: median(group.map((r) => r.p99Ms)),
      kvPerRequest: group.reduce((a, r) => a + r.kvRequests, 0) / Math.max(1, completed),
      statuses,
    });
  }
  return out;
}

/** Each metered variant ÷ the unmetered one, pair by pair within a round. */
export function ratios(runs: readonly ClosedLoopRun[]): RatioSummary[] {
  const out: RatioSummary[] = [];
  for (const { variant } of PLACEMENTS) {
    for (const connections of new Set(runs.map((r) => r.connections))) {
      const at = runs.filter((r) => r.connections === connections);
      const pairs: number[] = [];
      const added: number[] = [];
      for (const round of new Set(at.map((r) => r.round))) {
        const plain = at.find((r) => r.round === round && r.variant === "plain");
        const metered = at.find((r) => r.round === round && r.variant === variant);
        if (plain === undefined || metered === undefined) continue;
        pairs.push(metered.rps / plain.rps);
        added.push(metered.meanMs - plain.meanMs);
      }
      if (pairs.length > 0) out.push({ variant, connections, pairs, median: median(pairs), addedMs: median(added) });
    }
  }
  return out;
}

export function placementLabel(variant: MeteredVariant | undefined): string {
  return PLACEMENTS.find((p) => p.variant === (variant ?? "metered"))!.label;
}
