/**
 * The local KV server alone: commands per second through the Upstash REST protocol
 * (`/pipeline`, `/multi-exec`, single commands on `/`) against the same INCRBY/GET mix
 * sent straight to Redis with ioredis, pipelined. Each mode keeps `inFlight` batches
 * outstanding for `seconds`. Input: argv[2] JSON `KvThroughputInput`; output: one JSON line.
 */
import { Redis } from "ioredis";
import type { KvThroughputInput, KvThroughputResult, ThroughputMode } from "./kv-throughput";

const input = JSON.parse(process.argv[2]!) as KvThroughputInput;
const prefix = `bench:kvtp:${crypto.randomUUID().slice(0, 8)}`;

function batch(seq: number, size: number): string[][] {
  const commands: string[][] = [];
  for (let i = 0; i < size; i++) {
    const key = `${prefix}:{k${(seq * size + i) % input.keys}}`;
    commands.push(i % 2 === 0 ? ["INCRBY", key, "1"] : ["GET", key]);
  }
  return commands;
}

async function drive(seconds: number, inFlight: number, run: (seq: number) => Promise<number>): Promise<{ commands: number; errors: number; seconds: number }> {
  let commands = 0;
  let errors = 0;
  let seq = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      try {
        // Not `commands += await …`: that reads `commands` before the await and loses the
        // other lanes' updates.
        const done = await run(seq++);
        commands += done;
      } catch {
        errors++;
      }
    }
  }));
  return { commands, errors, seconds: (performance.now() - started) / 1000 };
}

async function rest(path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${input.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${input.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as unknown;
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return json;
}

function countReplyErrors(replies: unknown): number {
  if (!Array.isArray(replies)) return 1;
  return replies.filter((r) => typeof r !== "object" || r === null || "error" in r).length;
}

async function main(): Promise<void> {
  const results: KvThroughputResult[] = [];
  const redis = input.modes.includes("ioredis-pipeline") ? new Redis(input.redisUrl, { lazyConnect: true, enableAutoPipelining: false }) : null;
  await redis?.connect();
  // Every mode is warmed up before any is measured: the first REST mode run in a fresh
  // worker (and a fresh server) was 20-30 % slower than the same mode run later, which
  // skewed whichever mode came first in a round.
  for (const measuring of [false, true]) {
    for (const mode of input.modes) await runMode(mode, measuring);
  }
  async function runMode(mode: ThroughputMode, measuring: boolean): Promise<void> {
    const size = mode === "rest-single" ? 1 : input.batch;
    const inFlight = mode === "rest-single" ? input.inFlight * 4 : input.inFlight;
    let replyErrors = 0;
    const run: Record<ThroughputMode, (seq: number) => Promise<number>> = {
      "ioredis-pipeline": async (seq) => {
        const p = redis!.pipeline();
        for (const [name, ...args] of batch(seq, size)) p.call(name!, ...args);
        const out = (await p.exec()) ?? [];
        const failed = out.filter(([error]) => error !== null).length;
        replyErrors += failed;
        return size;
      },
      "rest-pipeline": async (seq) => {
        const failed = countReplyErrors(await rest("/pipeline", batch(seq, size)));
        replyErrors += failed;
        return size;
      },
      "rest-multi-exec": async (seq) => {
        const failed = countReplyErrors(await rest("/multi-exec", batch(seq, size)));
        replyErrors += failed;
        return size;
      },
      "rest-single": async (seq) => {
        const reply = (await rest("/", batch(seq, 1)[0])) as Record<string, unknown>;
        if (!("result" in reply)) replyErrors++;
        return 1;
      },
    };
    if (!measuring) {
      await drive(Math.min(1, input.seconds / 2), inFlight, run[mode]);
      return;
    }
    const r = await drive(input.seconds, inFlight, run[mode]);
    results.push({ mode, batch: size, inFlight, commandsPerSecond: r.commands / r.seconds, commands: r.commands, errors: r.errors + replyErrors });
  }
  if (redis !== null) {
    // Leave nothing behind in the shared Redis.
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
    redis.disconnect();
  }
  process.stdout.write(`${JSON.stringify({ results })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
