/**
 * Closed-loop load with autocannon, in its own process (the app runs in another): a fixed
 * number of connections, each sending its next request as soon as the previous answer
 * arrives. Input: argv[2] JSON `ClosedLoopInput`; output: one JSON line `ClosedLoopResult`.
 */
import autocannon from "autocannon";
import type { ClosedLoopInput, ClosedLoopResult } from "./closed-loop";

const input = JSON.parse(process.argv[2]!) as ClosedLoopInput;

async function main(): Promise<void> {
  const options = {
    url: input.url,
    method: input.method,
    headers: input.headers,
    body: input.body,
    connections: input.connections,
    timeout: 10,
  };
  if (input.warmupSeconds > 0) await autocannon({ ...options, duration: input.warmupSeconds });
  const started = performance.now();
  const r = await autocannon({ ...options, duration: input.seconds });
  const elapsed = (performance.now() - started) / 1000;
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(r.statusCodeStats)) statuses[code] = count;
  const completed = r.latency.totalCount;
  const result: ClosedLoopResult = {
    connections: input.connections,
    seconds: elapsed,
    completed,
    rps: completed / elapsed,
    // At one connection the mean time per request is exact from the count; autocannon's
    // histogram keeps whole milliseconds only.
    meanMs: input.connections === 1 ? (elapsed * 1000) / Math.max(1, completed) : r.latency.mean,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    statuses,
    errors: r.errors,
    timeouts: r.timeouts,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
