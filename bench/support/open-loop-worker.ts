/**
 * Open-loop load: requests leave at a fixed rate whatever the server does, and each
 * latency is measured from the moment the request was *due*, so a server (or a load
 * generator) that falls behind shows it in the percentiles instead of hiding it
 * (no coordinated omission). Input: argv[2] JSON `OpenLoopInput`; output: `OpenLoopResult`.
 */
import { quantileOfSorted } from "./quantile";
import { Agent, request } from "node:http";
import type { OpenLoopInput, OpenLoopResult } from "./open-loop";

const input = JSON.parse(process.argv[2]!) as OpenLoopInput;
const agent = new Agent({ keepAlive: true, maxSockets: input.maxInFlight, maxFreeSockets: input.maxInFlight });
const variants = (input.variants ?? [{ url: input.url, headers: input.headers, body: input.body }]).map((v) => {
  const body = v.body === undefined ? undefined : Buffer.from(v.body);
  const headers: Record<string, string | number> = { ...v.headers };
  if (body !== undefined) headers["content-length"] = body.length;
  return { target: new URL(v.url), headers, body };
});

function send(i: number, due: number, record: boolean, done: (status: number | "error", latency: number, record: boolean) => void): void {
  const { target, headers, body } = variants[i % variants.length]!;
  const req = request({
    agent, host: target.hostname, port: target.port, path: target.pathname + target.search,
    method: input.method, headers, timeout: input.timeoutMs,
  }, (res) => {
    res.on("data", () => undefined);
    res.on("end", () => done(res.statusCode ?? 0, performance.now() - due, record));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", () => done("error", performance.now() - due, record));
  req.end(body);
}

async function main(): Promise<void> {
  const interval = 1000 / input.rate;
  const warmupEnd = input.warmupSeconds * 1000;
  const total = Math.round(input.rate * (input.warmupSeconds + input.seconds));
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let inFlight = 0;
  let sent = 0;
  let shed = 0;
  let finished = 0;
  let maxLagMs = 0;
  const start = performance.now();

  await new Promise<void>((resolve) => {
    const done = (status: number | "error", latency: number, record: boolean) => {
      inFlight--;
      finished++;
      if (record) {
        latencies.push(latency);
        statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
      }
      if (finished + shed === total) resolve();
    };
    const tick = () => {
      const now = performance.now() - start;
      // Everything due by now leaves now; a late tick sends a burst, as real arrivals would.
      while (sent + shed < total && (sent + shed) * interval <= now) {
        const i = sent + shed;
        const dueAt = start + i * interval;
        maxLagMs = Math.max(maxLagMs, performance.now() - dueAt);
        const record = i * interval >= warmupEnd;
        if (inFlight >= input.maxInFlight) {
          // The server is hopelessly behind: count the request as failed instead of
          // letting the generator's own queue grow without bound.
          shed++;
          if (record) statuses.shed = (statuses.shed ?? 0) + 1;
          continue;
        }
        inFlight++;
        sent++;
        send(i, dueAt, record, done);
      }
      if (finished + shed === total) resolve();
      else if (sent + shed < total) setTimeout(tick, Math.max(0, Math.min(interval, 1)));
    };
    tick();
  });

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => quantileOfSorted(latencies, p) ?? 0;
  const measured = latencies.length + (statuses.shed ?? 0);
  const ok = Object.entries(statuses).filter(([s]) => s !== "error" && s !== "shed").reduce((a, [, n]) => a + n, 0);
  const result: OpenLoopResult = {
    rate: input.rate,
    measured,
    p50Ms: pct(0.5),
    p99Ms: (statuses.shed ?? 0) > 0 ? Infinity : pct(0.99),
    maxMs: latencies.at(-1) ?? 0,
    statuses,
    failed: measured - ok,
    maxLagMs,
  };
  process.stdout.write(`${JSON.stringify(result, (_k, v: unknown) => (v === Infinity ? "Infinity" : v))}\n`);
  agent.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
