import { describe, expect, it } from "vitest";
import { checkInvariants, readLedger } from "../../lib/metering";
import { createDebitCoalescer } from "../../lib/metering/coalescer";
import { kvTargets, meteringOn } from "../support/kv";

/**
 * DECRBY/check/compensate can refuse a debit only because an earlier one, refused too, has
 * not been given back yet. Within one coalesced batch the coalescer sees that and tries
 * such a debit once more after the compensation (lib/metering/coalescer.ts).
 */
describe.each(kvTargets())("false refusals in a coalesced batch on the $engine engine", (target) => {
  it("serves a debit the balance at rest covers, refused at first behind a bigger refused one", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "fay", amount: 10, reason: "Top-up" });
    const coalescer = createDebitCoalescer(m);
    // One batch: 10 − 8 = 2 (paid); 2 − 5 = −3 (refused); −3 − 2 = −5, but at rest 2 ≥ 2.
    const outcomes = await Promise.all([8, 5, 2].map((cost) => coalescer.debit({ userId: "fay", cost })));
    expect(outcomes.map((o) => o.status)).toEqual(["ok", "insufficient_tokens", "ok"]);
    expect(coalescer.stats.batches).toBe(2);
    await Promise.all(outcomes.map((o) => (o.status === "ok" ? o.settle() : undefined)));
    const ledger = await readLedger(m.context, "fay");
    expect(ledger.balance).toBe(0);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("retries once only, and never overdraws, however the costs fall", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "gil", amount: 50, reason: "Top-up" });
    const coalescer = createDebitCoalescer(m);
    const costs = Array.from({ length: 60 }, (_, i) => [10, 5, 3, 1][i % 4]!);
    const outcomes = await Promise.all(costs.map((cost) => coalescer.debit({ userId: "gil", cost })));
    await Promise.all(outcomes.map((o) => (o.status === "ok" ? o.settle() : undefined)));
    const paid = outcomes.reduce((sum, o, i) => sum + (o.status === "ok" ? costs[i]! : 0), 0);
    const ledger = await readLedger(m.context, "gil");
    expect(ledger.balance).toBe(50 - paid);
    expect(ledger.balance).toBeGreaterThanOrEqual(0);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    // Each debit reached the store at most twice: the first try and one retry.
    expect(coalescer.stats.debits).toBeGreaterThan(costs.length);
    expect(coalescer.stats.debits).toBeLessThanOrEqual(2 * costs.length);
  });
});
