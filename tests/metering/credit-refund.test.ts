import { describe, expect, it } from "vitest";
import { checkInvariants, readLedger } from "../../lib/metering";
import { kvTargets, meteringOn } from "../support/kv";

describe.each(kvTargets())("credits, refunds and resets on the $engine engine", (target) => {
  it("applies a keyed top-up once, however often it is retried or raced", async () => {
    const m = meteringOn(target);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () => m.credit({ userId: "hal", amount: 50, reason: "Recharge mensuelle", idempotencyKey: "inv-7" })),
    );
    expect(outcomes.filter((o) => o.status === "applied")).toHaveLength(1);
    const ledger = await readLedger(m.context, "hal");
    expect(ledger.balance).toBe(50);
    expect(ledger.history.map((e) => e.reason)).toEqual(["Recharge mensuelle"]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("refunds a paid debit exactly once, even when refunds race", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "ida", amount: 10, reason: "Top-up" });
    const d = await m.debit({ userId: "ida", cost: 4, route: "chat" });
    if (d.status !== "ok") throw new Error("debit refused");
    const refunds = await Promise.all(Array.from({ length: 10 }, () => m.refund("ida", d.debitId)));
    expect(refunds.filter((r) => r.status === "refunded")).toHaveLength(1);
    expect(refunds.filter((r) => r.status === "already_refunded")).toHaveLength(9);
    await d.settle();
    const ledger = await readLedger(m.context, "ida");
    expect(ledger.balance).toBe(10);
    expect(ledger.totals).toMatchObject({ debits: 4, refunds: 4, generations: 0 });
    const refundEntry = ledger.history.find((e) => e.type === "refund");
    expect(refundEntry).toMatchObject({ amount: 4, ref: d.debitId, route: "chat" });
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("refuses to refund unknown, foreign or refused debits and changes nothing", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "jo", amount: 3, reason: "Top-up" });
    await m.credit({ userId: "kim", amount: 3, reason: "Top-up" });
    const kims = await m.debit({ userId: "kim", cost: 2 });
    if (kims.status !== "ok") throw new Error("debit refused");
    const before = await readLedger(m.context, "jo");
    expect(await m.refund("jo", kims.debitId)).toEqual({ status: "not_refundable", debitId: kims.debitId });
    expect(await m.refund("jo", "deb_" + "0".repeat(32))).toMatchObject({ status: "not_refundable" });
    await expect(m.refund("jo", "../../etc")).rejects.toMatchObject({ code: "invalid_argument" });
    const after = await readLedger(m.context, "jo");
    expect(after.balance).toBe(before.balance);
    expect(after.totals).toEqual(before.totals);
    expect((await readLedger(m.context, "kim")).balance).toBe(1);
  });

  it("validates top-up amounts and reasons", async () => {
    const m = meteringOn(target);
    for (const amount of [0, -5, 2.5, 1e12, Number.NaN]) {
      await expect(m.credit({ userId: "lee", amount, reason: "x" })).rejects.toMatchObject({ code: "invalid_amount" });
    }
    await expect(m.credit({ userId: "lee", amount: 1, reason: "" })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(m.credit({ userId: "lee", amount: 1, reason: "r".repeat(201) })).rejects.toMatchObject({ code: "invalid_argument" });
    expect((await readLedger(m.context, "lee")).totals.credits).toBe(0);
  });

  it("resets to the starting balance with a single reset entry", async () => {
    const m = meteringOn(target, { seedUsers: { "test-user-id": 40 } });
    await m.recordArticleGeneration("test-user-id");
    await m.addTokens("test-user-id", 7, "Gift");
    const stats = await m.resetStats("test-user-id");
    expect(stats).toMatchObject({ balance: 40, generations: 0, tokensUsed: 0, tokensAdded: 40 });
    expect(stats.history.map((e) => e.type)).toEqual(["reset"]);
    expect(checkInvariants(await readLedger(m.context, "test-user-id"), { historyComplete: true })).toEqual([]);
  });
});
