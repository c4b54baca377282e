/**
 * Streaming load in its own process (the app runs in another): `connections` loops, each
 * POSTing, timing the first text chunk of the AI SDK UI message stream (a `text-delta`
 * part) and reading the answer to its end before the next request. Autocannon times whole
 * answers only, so this worker does it with fetch. Input: argv[2] JSON `StreamLoopInput`;
 * output: one JSON line `StreamLoopResult`.
 */
import { quantileOfSorted } from "./quantile";
import type { StreamLoopInput, StreamLoopResult } from "./stream-loop";

const input = JSON.parse(process.argv[2]!) as StreamLoopInput;

interface Sample {
  firstChunkMs: number;
  totalMs: number;
  status: number;
}

async function once(): Promise<Sample> {
  const started = performance.now();
  const response = await fetch(input.url, { method: "POST", headers: input.headers, body: input.body });
  let firstChunkMs = Number.NaN;
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (Number.isNaN(firstChunkMs)) {
      seen += decoder.decode(value, { stream: true });
      if (seen.includes('"text-delta"')) firstChunkMs = performance.now() - started;
    }
  }
  return { firstChunkMs, totalMs: performance.now() - started, status: response.status };
}

async function run(seconds: number): Promise<{ samples: Sample[]; errors: number; elapsed: number }> {
  const samples: Sample[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(Array.from({ length: input.connections }, async () => {
    while (performance.now() < end) {
      try {
        samples.push(await once());
      } catch {
        errors++;
      }
    }
  }));
  return { samples, errors, elapsed: (performance.now() - started) / 1000 };
}

/** null when no stream gave a figure (JSON has no NaN). */
function quantile(values: number[], q: number): number | null {
  return quantileOfSorted([...values].sort((a, b) => a - b), q) ?? null;
}

async function main(): Promise<void> {
  if (input.warmupSeconds > 0) await run(input.warmupSeconds);
  const { samples, errors, elapsed } = await run(input.seconds);
  const statuses: Record<string, number> = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const answered = samples.filter((s) => s.status === 200);
  const first = answered.filter((s) => !Number.isNaN(s.firstChunkMs)).map((s) => s.firstChunkMs);
  const total = answered.map((s) => s.totalMs);
  const result: StreamLoopResult = {
    connections: input.connections,
    seconds: elapsed,
    completed: samples.length,
    rps: answered.length / elapsed,
    firstChunkMs: { p50: quantile(first, 0.5), p90: quantile(first, 0.9), p99: quantile(first, 0.99) },
    totalMs: { p50: quantile(total, 0.5), p99: quantile(total, 0.99) },
    statuses,
    errors,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
