import { describe, expect, it } from "vitest";
import { checkInvariants, nextPeriodStart, periodOf, readLedger } from "../../lib/metering";
import { kvTargets, manualClock, meteringOn } from "../support/kv";
import { createSeedApi } from "../../lib/seed-api";

describe("billing periods (UTC calendar months)", () => {
  it.each([
    ["2026-01-31T23:59:59.999Z", "2026-01", "2026-02-01T00:00:00.000Z"],
    ["2026-02-01T00:00:00.000Z", "2026-02", "2026-03-01T00:00:00.000Z"],
    ["2028-02-29T12:00:00.000Z", "2028-02", "2028-03-01T00:00:00.000Z"],
    ["2026-12-31T23:59:59.999Z", "2026-12", "2027-01-01T00:00:00.000Z"],
    // 23:30 on Nov 30 in New York is already December in UTC: periods never follow local time.
    ["2026-12-01T04:30:00.000Z", "2026-12", "2027-01-01T00:00:00.000Z"],
  ])("%s is in %s, which ends at %s", (at, period, next) => {
    expect(periodOf(Date.parse(at))).toBe(period);
    expect(new Date(nextPeriodStart(Date.parse(at))).toISOString()).toBe(next);
  });
});

describe.each(kvTargets())("monthly grant on the $engine engine", (target) => {
  it("grants a new user the allowance on the first metered request of the month", async () => {
    const clock = manualClock("2026-11-25T10:00:00Z");
    const m = meteringOn(target, { monthlyAllowance: 30, clock: clock.now });
    const first = await m.debit({ userId: "nia", cost: 5 });
    expect(first).toMatchObject({ status: "ok", balance: 25 });
    const ledger = await readLedger(m.context, "nia");
    expect(ledger.history.map((e) => [e.type, e.amount])).toContainEqual(["refill", 30]);
  });

  it("grants exactly once when many first requests race", async () => {
    const clock = manualClock("2026-11-25T10:00:00Z");
    const m = meteringOn(target, { monthlyAllowance: 20, clock: clock.now });
    const outcomes = await Promise.all(Array.from({ length: 40 }, () => m.debit({ userId: "oli", cost: 1 })));
    await Promise.all(outcomes.map((o) => (o.status === "ok" ? o.settle() : undefined)));
    const paid = outcomes.filter((o) => o.status === "ok").length;
    expect(paid).toBeLessThanOrEqual(20);
    const ledger = await readLedger(m.context, "oli");
    expect(ledger.totals.credits).toBe(20);
    expect(ledger.balance).toBe(20 - paid);
    expect(ledger.history.filter((e) => e.type === "refill")).toHaveLength(1);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("tops up to the allowance at the month boundary, once per month, from requests and the cron", async () => {
    const clock = manualClock("2026-01-31T23:59:59.000Z");
    const m = meteringOn(target, { monthlyAllowance: 10, refillPolicy: "top-up", clock: clock.now });
    const january = await m.debit({ userId: "pat", cost: 4 });
    expect(january).toMatchObject({ status: "ok", balance: 6 });
    // Until it settles a debit counts as in flight, and a top-up leaves it out.
    if (january.status === "ok") await january.settle();
    clock.set("2026-02-01T00:00:00.000Z");
    expect(await m.runMonthlyGrants()).toMatchObject({ period: "2026-02", granted: 1 });
    const february = await m.debit({ userId: "pat", cost: 1 });
    expect(february).toMatchObject({ status: "ok", balance: 9 });
    if (february.status === "ok") await february.settle();
    expect(await m.runMonthlyGrants()).toMatchObject({ granted: 0, alreadyGranted: 1 });

    // March: the cron and a first request race; still one grant.
    clock.set("2026-03-01T00:00:00.000Z");
    const [, request] = await Promise.all([m.runMonthlyGrants(), m.debit({ userId: "pat", cost: 1 })]);
    if (request.status === "ok") await request.settle();
    await expect.poll(async () => (await readLedger(m.context, "pat")).history.filter((e) => e.type === "refill").length).toBe(3);
    const ledger = await readLedger(m.context, "pat");
    expect(ledger.history.filter((e) => e.type === "refill").map((e) => e.reason)).toEqual([
      "Monthly allowance 2026-03", "Monthly allowance 2026-02", "Monthly allowance 2026-01",
    ]);
    expect(ledger.openIds).toEqual([]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("adds the allowance on top of what is left with rollover (policy add), leap day included", async () => {
    const clock = manualClock("2028-02-29T23:00:00Z");
    const m = meteringOn(target, { monthlyAllowance: 10, refillPolicy: "add", clock: clock.now });
    expect(await m.debit({ userId: "quin", cost: 3 })).toMatchObject({ status: "ok", balance: 7 });
    clock.set("2028-03-01T00:00:00Z");
    expect(await m.debit({ userId: "quin", cost: 3 })).toMatchObject({ status: "ok" });
    // A paid first request of the month grants in the background: no extra latency.
    await expect.poll(async () => (await readLedger(m.context, "quin")).balance).toBe(7 + 10 - 3);
  });

  it("initialises the seeded test user with its seed, not seed + allowance", async () => {
    const m = meteringOn(target, { monthlyAllowance: 100, seedUsers: { "test-user-id": 1000 } });
    const stats = await m.stats("test-user-id");
    expect(stats.balance).toBe(1000);
    const result = await createSeedApi(m).recordArticleGeneration("test-user-id");
    expect(result).toMatchObject({ success: true, stats: { balance: 997, generations: 1, tokensUsed: 3 } });
    expect(result.message).toMatch(/3 tokens/);
  });

  it("uses a different seed per environment namespace", async () => {
    const dev = meteringOn(target, { seedUsers: { "test-user-id": 1000 } });
    const prod = meteringOn(target, { seedUsers: { "test-user-id": 50 } });
    expect((await dev.stats("test-user-id")).balance).toBe(1000);
    expect((await prod.stats("test-user-id")).balance).toBe(50);
  });
});
