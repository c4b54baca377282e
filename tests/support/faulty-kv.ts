import type { MeteringKv } from "../../lib/metering";

/**
 * Fault injection around a REAL client talking to a real store (not a mock): transaction
 * number N (1-based, counted from creation) either never leaves ("before-send": the
 * connection was already gone) or is applied by the store and then its answer is lost
 * ("after-send": the cut came between the write and its reply), or reaches the store only
 * `lateMs` later ({ lateMs }: a slow network; the caller's timeout may fire first, and the
 * store still applies it), or only once `until` resolves ({ until }: the same, with the test
 * deciding when it lands, so the order of events does not depend on the machine's speed).
 */
export type FaultPlan = Record<number, "before-send" | "after-send" | { lateMs: number } | { until: Promise<unknown> }>;

export function faultyKv(kv: MeteringKv, plan: FaultPlan): MeteringKv & { calls: () => number } {
  let calls = 0;
  return {
    scan: kv.scan.bind(kv),
    calls: () => calls,
    multi() {
      const tx = kv.multi();
      const realExec = tx.exec.bind(tx);
      const patched = Object.assign(tx, {
        exec: (async (options?: { keepErrors: true }) => {
          calls++;
          const fault = plan[calls];
          if (fault === "before-send") throw new TypeError("fetch failed (injected: connection refused)");
          if (typeof fault === "object") await ("until" in fault ? fault.until : new Promise((resolve) => setTimeout(resolve, fault.lateMs)));
          const result = await realExec(options as { keepErrors: true });
          if (fault === "after-send") throw new TypeError("fetch failed (injected: connection reset after write)");
          return result;
        }) as typeof tx.exec,
      });
      return patched;
    },
  } as MeteringKv & { calls: () => number };
}
