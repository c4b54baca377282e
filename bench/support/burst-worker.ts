/**
 * A burst of requests, `concurrency` at a time, from one process; prints every answer's
 * status in request order. Input: argv[2] JSON `BurstInput`; output: `BurstResult`.
 */
import type { BurstInput, BurstResult } from "./burst";

const input = JSON.parse(process.argv[2]!) as BurstInput;

async function main(): Promise<void> {
  const statuses: (number | "error")[] = new Array<number | "error">(input.requests.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: input.concurrency }, async () => {
    while (next < input.requests.length) {
      const i = next++;
      const r = input.requests[i]!;
      try {
        const res = await fetch(`${input.baseUrl}${r.path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${r.token ?? input.token}`, "content-type": "application/json" },
          body: r.body,
        });
        await res.arrayBuffer();
        statuses[i] = res.status;
      } catch {
        statuses[i] = "error";
      }
    }
  }));
  const result: BurstResult = { statuses, seconds: (performance.now() - started) / 1000 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
