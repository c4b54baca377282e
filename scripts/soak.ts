/**
 * `npm run soak`: a steady load against the real app for a long while (10 minutes by
 * default), watching for leaks. Not part of CI.
 *
 * Starts the local KV server in its own process and `next start` in another (like
 * `npm run bench`), then sends a fixed arrival rate of metered requests — paid chat and
 * article requests from a few users, and 402s from a user out of tokens — in back-to-back
 * open-loop chunks. Every `--sample` seconds it prints the resident memory of the app's
 * process tree and of the KV server process (and Redis's own used_memory, for context),
 * with the chunk's latencies and statuses. At the end: a verdict per process — flat when,
 * after warm-up, the mean of the last third of the samples is within `--tolerance` of the
 * mean of the first third — and the ledgers' invariants.
 *
 * Options: --minutes N (10), --rate N req/s (150), --sample N s (10), --tolerance F (0.15),
 * --engine redis|embedded (redis), --skip-build.
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { balanceOf, buildApp, type RunningApp, startApp, topUp, userToken } from "../bench/support/app";
import { type KvProcess, startKvProcess } from "../bench/support/kv-host";
import { openLoop } from "../bench/support/open-loop";
import { treeRssMiB } from "../bench/support/processes";
import { createKvClient } from "../lib/kv-client";
import { checkInvariants, createMetering, readLedger } from "../lib/metering";

interface Sample {
  t: number;
  appMiB: number;
  kvMiB: number;
  redisMiB: number | null;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
}

function options() {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "10" },
      rate: { type: "string", default: "150" },
      sample: { type: "string", default: "10" },
      tolerance: { type: "string", default: "0.15" },
      engine: { type: "string", default: "redis" },
      "skip-build": { type: "boolean", default: false },
    },
  });
  const num = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new TypeError(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  if (values.engine !== "redis" && values.engine !== "embedded") throw new TypeError("--engine must be redis or embedded");
  return {
    minutes: num("minutes", values.minutes, 0.5),
    rate: num("rate", values.rate, 1),
    sampleSeconds: num("sample", values.sample, 2),
    tolerance: num("tolerance", values.tolerance, 0),
    engine: values.engine as "redis" | "embedded",
    skipBuild: values["skip-build"],
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  };
}

/** Flat when, after warm-up, the last third's mean is within `tolerance` of the first third's. */
function verdict(values: readonly number[], tolerance: number): { flat: boolean; first: number; last: number; change: number } {
  const third = Math.max(1, Math.floor(values.length / 3));
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(values.slice(0, third));
  const last = mean(values.slice(-third));
  const change = (last - first) / first;
  return { flat: Math.abs(change) <= tolerance, first, last, change };
}

async function redisUsedMiB(redis: Redis | null): Promise<number | null> {
  if (redis === null) return null;
  const info = await redis.info("memory");
  const match = /used_memory:(\d+)/.exec(info);
  return match ? Number(match[1]) / 2 ** 20 : null;
}

async function main(): Promise<void> {
  const o = options();
  if (!o.skipBuild) buildApp();
  const token = `soak-${crypto.randomUUID()}`;
  const kv: KvProcess = await startKvProcess({ engine: o.engine, token, redisUrl: o.redisUrl });
  const redis = o.engine === "redis" ? new Redis(o.redisUrl) : null;
  let app: RunningApp | null = null;
  try {
    app = await startApp({ kvUrl: kv.url, kvToken: kv.token });
    const rich = Array.from({ length: 5 }, (_, i) => `soak-${i}-${crypto.randomUUID().slice(0, 8)}`);
    for (const user of rich) await topUp(app, user, 500_000_000);
    const broke = `soak-broke-${crypto.randomUUID().slice(0, 8)}`;
    const json = "application/json";
    const variants = [];
    for (const user of rich) {
      const auth = `Bearer ${await userToken(user, 86_400)}`;
      variants.push({ url: `${app.url}/api/chat`, headers: { authorization: auth, "content-type": json }, body: JSON.stringify({ message: "soak" }) });
      variants.push({ url: `${app.url}/api/generate/article`, headers: { authorization: auth, "content-type": json }, body: JSON.stringify({ topic: "soak" }) });
    }
    variants.push({ url: `${app.url}/api/chat`, headers: { authorization: `Bearer ${await userToken(broke, 86_400)}`, "content-type": json }, body: JSON.stringify({ message: "soak" }) });

    console.log(`soak: ${o.minutes} min at ${o.rate} req/s against ${app.url} (app pid ${app.pid}, KV server pid ${kv.pid}, ${o.engine} engine)`);
    console.log("   t s   app MiB   KV MiB  redis MiB   p50 ms   p99 ms  statuses");
    const samples: Sample[] = [];
    const started = performance.now();
    const end = started + o.minutes * 60_000;
    while (performance.now() < end) {
      const seconds = Math.min(o.sampleSeconds, Math.max(1, (end - performance.now()) / 1000));
      const r = await openLoop({
        url: variants[0]!.url, method: "POST", headers: {}, variants, rate: o.rate, seconds, warmupSeconds: 0, maxInFlight: 2000, timeoutMs: 10_000,
      });
      const s: Sample = {
        t: (performance.now() - started) / 1000,
        appMiB: treeRssMiB(app.pid),
        kvMiB: treeRssMiB(kv.pid),
        redisMiB: await redisUsedMiB(redis),
        rate: o.rate, p50Ms: r.p50Ms, p99Ms: r.p99Ms, statuses: r.statuses,
      };
      samples.push(s);
      console.log([
        s.t.toFixed(0).padStart(6), s.appMiB.toFixed(1).padStart(9), s.kvMiB.toFixed(1).padStart(8),
        (s.redisMiB?.toFixed(1) ?? "-").padStart(10), s.p50Ms.toFixed(1).padStart(8),
        (Number.isFinite(s.p99Ms) ? s.p99Ms.toFixed(1) : "shed").padStart(8),
        ` ${Object.entries(s.statuses).map(([k, n]) => `${k}×${n}`).join(" ")}`,
      ].join(""));
    }

    // Warm-up: the first minute (or first sixth of a shorter run) is JIT and caches filling.
    const warmup = Math.min(60, (o.minutes * 60) / 6);
    const steady = samples.filter((s) => s.t > warmup);
    console.log(`\nverdict (after ${warmup.toFixed(0)} s of warm-up, ${steady.length} samples; flat = last third within ${(o.tolerance * 100).toFixed(0)}% of first third):`);
    let allFlat = true;
    for (const [name, values] of [["app (next start)", steady.map((s) => s.appMiB)], ["KV server", steady.map((s) => s.kvMiB)]] as const) {
      if (values.length < 3) {
        console.log(`  ${name}: too few samples for a verdict`);
        continue;
      }
      const v = verdict(values, o.tolerance);
      allFlat &&= v.flat;
      console.log(`  ${name.padEnd(17)} ${v.first.toFixed(1)} → ${v.last.toFixed(1)} MiB (${v.change >= 0 ? "+" : ""}${(v.change * 100).toFixed(1)}%): ${v.flat ? "flat" : "GROWING"}`);
    }
    const redisValues = steady.map((s) => s.redisMiB).filter((v): v is number => v !== null);
    if (redisValues.length >= 3) {
      const v = verdict(redisValues, o.tolerance);
      console.log(`  Redis used_memory ${v.first.toFixed(1)} → ${v.last.toFixed(1)} MiB (data: operation records are kept for the 24 h refund window, so this grows with traffic by design)`);
    }
    const total: Record<string, number> = {};
    for (const s of samples) for (const [k, n] of Object.entries(s.statuses)) total[k] = (total[k] ?? 0) + n;
    console.log(`  requests: ${Object.entries(total).map(([k, n]) => `${k}×${n}`).join(" ")}; worst p99 ${Math.max(...samples.map((s) => s.p99Ms)).toFixed(1)} ms`);

    // The ledgers after the soak, read straight from the store.
    await new Promise((r) => setTimeout(r, 500));
    const reader = createMetering(createKvClient({ url: kv.url, token: kv.token, timeoutMs: 5000 }), { namespace: app.namespace, monthlyAllowance: 0 });
    let ledgerProblems = 0;
    for (const user of [...rich, broke]) {
      const ledger = await readLedger(reader.context, user);
      const problems = checkInvariants(ledger, { historyComplete: false });
      ledgerProblems += problems.length;
      if (problems.length > 0) console.log(`  ${user}: ${problems.join("; ")}`);
      if ((await balanceOf(app, user)).balance < 0) ledgerProblems++;
    }
    console.log(`  ledgers: ${ledgerProblems === 0 ? "invariants hold for every user" : `${ledgerProblems} problems`}`);
    console.log(allFlat && ledgerProblems === 0 ? "\nSOAK OK" : "\nSOAK FAILED");
    process.exitCode = allFlat && ledgerProblems === 0 ? 0 : 1;
  } finally {
    await app?.stop();
    await kv.close();
    redis?.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
