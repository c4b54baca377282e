// One of several processes hammering one balance (tests/metering/metering.concurrency.node.test.ts).
// Each uses its own client and its own metering instance, as separate app instances would.
import { createKvClient } from "../../lib/kv-client";
import { createMetering } from "../../lib/metering";
import { createDebitCoalescer } from "../../lib/metering/coalescer";

const [url, token, namespace, userId, count, concurrency, mode, allowance] = process.argv.slice(2);
// A round-trip bound a slow, loaded machine cannot reach (this test is about exactness, not latency).
const metering = createMetering(createKvClient({ url: url!, token: token!, timeoutMs: 15_000 }), {
  namespace: namespace!, monthlyAllowance: Number(allowance ?? 0), kvTimeoutMs: 15_000, healAfterMs: 75_000, historyLimit: 10_000,
});
const debit = mode === "coalesced" ? createDebitCoalescer(metering).debit : metering.debit;
const tally: Record<string, number> = {};
const settles: Promise<void>[] = [];
let next = 0;
async function lane(): Promise<void> {
  while (next < Number(count)) {
    next++;
    try {
      const outcome = await debit({ userId: userId!, cost: 1 + (next % 3), route: `worker-${process.pid}` });
      tally[outcome.status] = (tally[outcome.status] ?? 0) + 1;
      if (outcome.status === "ok") {
        tally.paid = (tally.paid ?? 0) + outcome.cost;
        settles.push(outcome.settle());
      }
    } catch (error) {
      tally.error = (tally.error ?? 0) + 1;
      tally.lastError = String(error) as unknown as number;
    }
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, lane));
await Promise.all(settles);
process.stdout.write(JSON.stringify(tally));
process.exit(0);
