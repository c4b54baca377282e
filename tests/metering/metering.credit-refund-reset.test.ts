import { describe, expect, it } from "vitest";
import { checkInvariants, createMetering, readLedger } from "../../lib/metering";
import { faultyKv } from "../support/faulty-kv";
import { kvTargets, manualClock, meteringOn } from "../support/kv";
import { createSeedApi } from "../../lib/seed-api";

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

  it("refuses C0 and C1 control characters in reasons (a C1 CSI, U+009B, drives some terminals)", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "lex", amount: 5, reason: "Top-up" });
    const debit = await m.debit({ userId: "lex", cost: 1, route: "POST /api/chat" });
    if (debit.status !== "ok") throw new Error("debit refused");
    await debit.settle();
    for (const ch of ["\u0000", "\u0007", "\u001b", "\u001f", "\u007f", "\u0080", "\u0085", "\u009b", "\u009f"]) {
      const reason = `Invoice${ch}[2J 1042`;
      await expect(m.credit({ userId: "lex", amount: 1, reason })).rejects.toMatchObject({ code: "invalid_argument" });
      await expect(m.refund("lex", debit.debitId, reason)).rejects.toMatchObject({ code: "invalid_argument" });
    }
    // Printable neighbours are fine: U+00A0 (no-break space) and beyond.
    await m.credit({ userId: "lex", amount: 1, reason: "Facture\u00a0n° 1042 — ok" });
    const ledger = await readLedger(m.context, "lex");
    expect(ledger.balance).toBe(5);
    expect(ledger.history.map((e) => e.type)).toEqual(["credit", "debit", "credit"]);
  });

  it("resets to the starting balance with a single reset entry", async () => {
    const m = meteringOn(target, { seedUsers: { "test-user-id": 40 } });
    const seed = createSeedApi(m);
    await seed.recordArticleGeneration("test-user-id");
    await seed.addTokens("test-user-id", 7, "Gift");
    const stats = await seed.resetStats("test-user-id");
    expect(stats).toMatchObject({ balance: 40, generations: 0, tokensUsed: 0, tokensAdded: 40 });
    expect(stats.history.map((e) => e.type)).toEqual(["reset"]);
    expect(checkInvariants(await readLedger(m.context, "test-user-id"), { historyComplete: true })).toEqual([]);
  });
});

// Issue 9, bug 4: a reset used to leave in-flight debits on the old ledger (a refused one
// given back afterwards created tokens and drove the debits total negative) and kept every
// earlier debit refundable on the new ledger.
describe.each(kvTargets())("a reset while requests are in flight, on the $engine engine", (target) => {
  const REFUSED = "deb_refused0000000000000000000000000";
  // Round-trip bound and heal delay (timing.ts: H ≥ 5 × T): T is generous, so a slow or
  // loaded machine never turns a round trip into a KvUnavailableError. The clocks are
  // manual; the real-time cost is a resetter that waits for debits still open, which it
  // does for its window (H/2 − T), then leaves the carry step to a healer.
  const T = 5000;
  const H = 25_000;

  it("carries open debits over: the reset entry accounts for the paid ones, and the new history sums to the balance", async () => {
    const clock = manualClock("2026-11-25T12:00:00Z");
    const m = meteringOn(target, { clock: clock.now, kvTimeoutMs: T, healAfterMs: H });
    await m.credit({ userId: "rae", amount: 10, reason: "Top-up" });
    const settledEarlier = await m.debit({ userId: "rae", cost: 1 });
    if (settledEarlier.status !== "ok") throw new Error("refused");
    await settledEarlier.settle();
    // In flight at the reset: two paid debits not yet settled, and a refused one whose
    // compensation is still to come (written by hand: a refusal is normally given back at once).
    const paid = await m.debit({ userId: "rae", cost: 2 });
    const later = await m.debit({ userId: "rae", cost: 3 });
    if (paid.status !== "ok" || later.status !== "ok") throw new Error("refused");
    const keys = (await readLedger(m.context, "rae")).keys;
    await m.context.kv.multi()
      .decrby(keys.balance, 50).hincrby(keys.totals, "debits", 50).hincrby(keys.totals, "generations", 1)
      .hset(keys.op(REFUSED), { kind: "debit", state: "open", amount: 50, at: clock.now(), period: "2026-11" })
      .set(keys.result(REFUSED), -46)
      .zadd(keys.open, { score: clock.now(), member: `${REFUSED}:50` })
      .exec();

    await m.reset("rae");
    const right = await readLedger(m.context, "rae");
    expect(right.balance).toBe(0);
    expect(right.openIds).toHaveLength(4); // the three debits and the carry step
    expect(checkInvariants(right, { historyComplete: true })).toEqual([]);

    // After the reset: one paid debit settles, the other is refunded, the refused one is given back.
    await paid.settle();
    expect(await m.refund("rae", later.debitId)).toMatchObject({ status: "refunded" });
    await later.settle();
    await m.context.kv.multi()
      .incrby(keys.balance, 50).hincrby(keys.totals, "debits", -50).hincrby(keys.totals, "generations", -1)
      .del(keys.op(REFUSED), keys.result(REFUSED))
      .zrem(keys.open, `${REFUSED}:50`)
      .exec();
    clock.advance(H + 1000);
    expect(await m.heal("rae")).toMatchObject({ applied: 1 });

    const after = await readLedger(m.context, "rae");
    expect(after.openIds).toEqual([]);
    // The starting 0, plus the refund, plus the refused debit given back into the new ledger
    // by its owner (the reset entry accounts for it: taking it back could overdraw).
    expect(after.balance).toBe(53);
    // (All stamped at the same instant of the manual clock: compare as a set.)
    expect(after.history.map((e) => `${e.type} ${e.amount}`).sort()).toEqual(["debit -2", "debit -3", "refund 3", "reset 55"]);
    expect(after.totals).toMatchObject({ credits: 55, debits: 5, refunds: 3, generations: 1 });
    expect(checkInvariants(after, { historyComplete: true })).toEqual([]);
    // The debit settled before the reset belongs to the old ledger.
    expect(await m.refund("rae", settledEarlier.debitId)).toMatchObject({ status: "not_refundable" });
  });

  it("carries at once when nothing is in flight, and lets a healer carry when the resetter could not", async () => {
    const clock = manualClock("2026-11-25T12:00:00Z");
    const m = meteringOn(target, { clock: clock.now, kvTimeoutMs: T, healAfterMs: H });
    await m.credit({ userId: "sol", amount: 10, reason: "Top-up" });
    await m.reset("sol");
    expect((await readLedger(m.context, "sol")).openIds).toEqual([]);
    await m.credit({ userId: "sol", amount: 10, reason: "Top-up" });

    const open = await m.debit({ userId: "sol", cost: 4 });
    if (open.status !== "ok") throw new Error("refused");
    // This resetter (its clock 10 s ahead) finds the debit in flight, which is settled only
    // after the resetter's window (H/2 − T, counted on its clock and in real time) is over:
    // the carry step is left to a healer.
    const late = meteringOn(target, { clock: () => clock.now() + 10_000, kvTimeoutMs: T, healAfterMs: H, namespace: m.context.config.namespace });
    await late.reset("sol");
    await open.settle();
    expect((await readLedger(m.context, "sol")).openIds).toHaveLength(1);
    clock.advance(10_000 + H + 1000); // the carry step, stamped by the late clock, is older than H
    expect(await m.heal("sol")).toMatchObject({ applied: 1 });
    const ledger = await readLedger(m.context, "sol");
    expect(ledger.balance).toBe(0);
    expect(ledger.history.map((e) => `${e.type} ${e.amount}`).sort()).toEqual(["debit -4", "reset 4"]);
    expect(ledger.openIds).toEqual([]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("records which admin made a top-up, a refund or a reset; other entries name no one", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "ada", amount: 10, reason: "Invoice 1", actor: "ops@example.com" });
    await m.credit({ userId: "ada", amount: 5, reason: "Grant" });
    const debit = await m.debit({ userId: "ada", cost: 3, route: "POST /api/chat" });
    if (debit.status !== "ok") throw new Error("refused");
    await debit.settle();
    expect(await m.refund("ada", debit.debitId, "Bad answer", "admin token")).toMatchObject({ status: "refunded" });
    const ledger = await readLedger(m.context, "ada");
    // Newest first.
    expect(ledger.history.map((e) => [e.type, e.actor])).toEqual([
      ["refund", "admin token"], ["debit", undefined], ["credit", undefined], ["credit", "ops@example.com"],
    ]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    await m.reset("ada", undefined, "ops@example.com");
    expect((await readLedger(m.context, "ada")).history).toMatchObject([{ type: "reset", actor: "ops@example.com" }]);
    // The actor is outside input too: bounded, printable.
    await expect(m.credit({ userId: "ada", amount: 1, reason: "x", actor: "ops\u009b2J" })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(m.reset("ada", undefined, "")).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("keeps a reset's actor when a healer carries its debits over (the entry is replaced by value)", async () => {
    const clock = manualClock("2026-11-25T12:00:00Z");
    const m = meteringOn(target, { clock: clock.now, kvTimeoutMs: T, healAfterMs: H });
    await m.credit({ userId: "uma", amount: 10, reason: "Top-up" });
    const open = await m.debit({ userId: "uma", cost: 4 });
    if (open.status !== "ok") throw new Error("refused");
    const late = meteringOn(target, { clock: () => clock.now() + 10_000, kvTimeoutMs: T, healAfterMs: H, namespace: m.context.config.namespace });
    await late.reset("uma", undefined, "ops@example.com");
    await open.settle();
    clock.advance(10_000 + H + 1000); // the carry step, stamped by the late clock, is older than H
    expect(await m.heal("uma")).toMatchObject({ applied: 1 });
    const ledger = await readLedger(m.context, "uma");
    // One reset entry, rewritten with the carried debit, still naming its admin.
    expect(ledger.history.filter((e) => e.type === "reset")).toMatchObject([{ amount: 4, actor: "ops@example.com" }]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });
});

describe.each(kvTargets())("a reset that lands late, on the $engine engine", (target) => {
  // Found by the simulator at the edge of the timing assumption: a reset sent at t0 lands
  // seconds later (legal: within healAfterMs / 2), and a debit stamped after t0 + T but
  // settled before the reset landed belongs to the old ledger. Refunding it would credit
  // the new one for a debit it never had (refunds > debits).
  it("refuses to refund a debit that was settled into the old ledger after the reset was sent", async () => {
    const clock = manualClock("2026-11-25T12:00:00Z");
    // T generous (a slow machine must not fail the debit or its settle); H/2 far above it.
    const T = 5000;
    const options = { clock: clock.now, kvTimeoutMs: T, healAfterMs: 30_000, monthlyAllowance: 0 };
    const m = meteringOn(target, options);
    await m.credit({ userId: "lia", amount: 10, reason: "Top-up" });
    // The reset's first transaction reaches the store late, when the test lets it (after the
    // debit below settled, whatever the machine's speed): its caller gives up after T, the
    // store applies it anyway (legal: within healAfterMs / 2 of being sent).
    let land!: () => void;
    const landing = new Promise<void>((resolve) => { land = resolve; });
    const late = createMetering(faultyKv(m.context.kv, { 1: { until: landing } }), { ...options, namespace: m.context.config.namespace });
    const resetting = late.reset("lia").then(() => "answered", () => "gave up");
    clock.advance(T + 1000); // the debit is stamped more than T after the reset
    const debit = await m.debit({ userId: "lia", cost: 4 });
    if (debit.status !== "ok") throw new Error("refused");
    await debit.settle(); // into the old ledger: the reset has not landed yet
    expect(await resetting).toBe("gave up");
    land(); // the reset lands
    await expect.poll(async () => (await readLedger(m.context, "lia")).history.some((e) => e.type === "reset"), { timeout: 20_000 }).toBe(true);
    expect(await m.refund("lia", debit.debitId)).toEqual({ status: "not_refundable", debitId: debit.debitId });
    const ledger = await readLedger(m.context, "lia");
    expect(ledger.totals.refunds).toBe(0);
  });
});
