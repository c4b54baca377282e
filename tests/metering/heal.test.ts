import { describe, expect, it } from "vitest";
import { createKvClient } from "../../lib/kv-client";
import { checkInvariants, createMetering, KvProtocolError, KvUnavailableError, readLedger, userKeys } from "../../lib/metering";
import { decideHeal, type HealFacts } from "../../lib/metering/heal";
import type { Operation } from "../../lib/metering/operation";
import { healLockMs } from "../../lib/metering/timing";
import { faultyKv, type FaultPlan } from "../support/faulty-kv";
import { kvTargets, manualClock, uniqueNamespace } from "../support/kv";

describe.each(kvTargets())("healing after faults on the $engine engine", (target) => {
  // Round-trip bound and heal delay (timing.ts: H ≥ 5 × T). T is generous, so only the
  // injected faults fail a round trip, never a slow machine; the clock is manual, so a large
  // H costs no real time. AGED: a clock advance that makes every operation so far healable.
  const T = 5000;
  const H = 25_000;
  const AGED = H + 1000;

  function setup(plan: FaultPlan) {
    const clock = manualClock("2026-11-25T12:00:00Z");
    const real = createKvClient({ url: target.url, token: target.token, timeoutMs: T });
    const namespace = uniqueNamespace("heal");
    const options = { namespace, monthlyAllowance: 0, clock: clock.now, kvTimeoutMs: T, healAfterMs: H };
    const faulty = createMetering(faultyKv(real, plan), options);
    const healthy = createMetering(real, options);
    return { clock, faulty, healthy };
  }

  it("gives back a refused debit whose compensation was lost with the KV", async () => {
    // 1: credit claim, 2: apply, 3: settle, 4: debit, 5: compensation → lost.
    const { clock, faulty, healthy } = setup({ 5: "before-send" });
    await faulty.credit({ userId: "uma", amount: 2, reason: "Top-up" });
    expect(await faulty.debit({ userId: "uma", cost: 3 })).toMatchObject({ status: "insufficient_tokens", balance: 2 });
    const stuck = await readLedger(healthy.context, "uma");
    expect(stuck.balance).toBe(-1);
    expect(stuck.openIds).toHaveLength(1);

    clock.advance(AGED);
    const stats = await healthy.stats("uma");
    expect(stats.balance).toBe(2);
    expect(stats.history.map((e) => e.type)).toEqual(["credit"]);
    const ledger = await readLedger(healthy.context, "uma");
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    expect(ledger.openIds).toEqual([]);
  });

  it("settles a paid keyed debit whose caller vanished: its Idempotency-Key record names it", async () => {
    const { clock, healthy } = setup({});
    await healthy.credit({ userId: "kai", amount: 10, reason: "Top-up" });
    const fingerprint = { target: "POST /api/chat", bodySha256: "K".repeat(43) };
    const paid = await healthy.debit({ userId: "kai", cost: 3, idempotencyKey: "kk", requestFingerprint: fingerprint });
    expect(paid.status).toBe("ok");
    clock.advance(AGED);
    expect(await healthy.heal("kai")).toMatchObject({ settled: 1, compensated: 0 });
    const ledger = await readLedger(healthy.context, "kai");
    expect(ledger.balance).toBe(7);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("voids a debit whose answer was lost, so the unserved request is not paid", async () => {
    const { clock, faulty, healthy } = setup({ 4: "after-send" });
    await faulty.credit({ userId: "vic", amount: 10, reason: "Top-up" });
    const lost = await faulty.debit({ userId: "vic", cost: 3 });
    expect(lost).toMatchObject({ status: "unavailable", error: expect.any(KvUnavailableError), pending: expect.any(Promise) });
    await lost.pending;
    expect((await readLedger(healthy.context, "vic")).balance).toBe(7);
    clock.advance(AGED);
    const report = await healthy.heal("vic");
    expect(report).toMatchObject({ compensated: 1, settled: 0 });
    const ledger = await readLedger(healthy.context, "vic");
    expect(ledger.balance).toBe(10);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("voids a debit whose transaction failed on one command, so the failed request is not paid", async () => {
    const { clock, faulty, healthy } = setup({});
    await faulty.credit({ userId: "vik", amount: 10, reason: "Top-up" });
    // A corrupt usage key: EXEC runs the DECRBY, then HINCRBY on this key fails.
    await healthy.context.kv.multi().set(userKeys(healthy.context.config.namespace, "vik").daily, "corrupt").exec();
    const failed = await faulty.debit({ userId: "vik", cost: 3 });
    expect(failed).toMatchObject({ status: "unavailable", error: expect.any(KvProtocolError) });
    await failed.pending;
    clock.advance(AGED);
    await healthy.context.kv.multi().del(userKeys(healthy.context.config.namespace, "vik").daily).exec();
    expect(await healthy.heal("vik")).toMatchObject({ compensated: 1, settled: 0 });
    const ledger = await readLedger(healthy.context, "vik");
    expect(ledger.balance).toBe(10);
  });

  it("settles a paid debit whose caller never settled it", async () => {
    const { clock, faulty, healthy } = setup({});
    await faulty.credit({ userId: "wes", amount: 10, reason: "Top-up" });
    const paid = await faulty.debit({ userId: "wes", cost: 4, route: "plan" });
    expect(paid.status).toBe("ok");
    clock.advance(AGED);
    expect(await healthy.heal("wes")).toMatchObject({ settled: 1 });
    const ledger = await readLedger(healthy.context, "wes");
    expect(ledger.history.map((e) => [e.type, e.amount, e.balanceAfter, e.route])).toContainEqual(["debit", -4, 6, "plan"]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("applies a claimed top-up exactly once after the caller lost the KV between claim and apply", async () => {
    const { clock, faulty, healthy } = setup({ 2: "before-send" });
    await expect(faulty.credit({ userId: "xan", amount: 25, reason: "Paid", idempotencyKey: "pay-1" })).rejects.toBeInstanceOf(KvUnavailableError);
    expect((await readLedger(healthy.context, "xan")).balance).toBe(0);
    // The operator retries with the same key: the claim is taken, so it is not applied twice.
    expect(await healthy.credit({ userId: "xan", amount: 25, reason: "Paid", idempotencyKey: "pay-1" })).toMatchObject({ status: "duplicate" });
    clock.advance(AGED);
    const [a, b] = await Promise.all([healthy.heal("xan"), healthy.heal("xan")]);
    expect(a.applied + b.applied).toBe(1);
    const ledger = await readLedger(healthy.context, "xan");
    expect(ledger.balance).toBe(25);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });

  it("leaves young operations to their own callers", async () => {
    const { faulty, healthy } = setup({ 5: "before-send" });
    await faulty.credit({ userId: "yul", amount: 2, reason: "Top-up" });
    await faulty.debit({ userId: "yul", cost: 3 });
    expect(await healthy.heal("yul")).toMatchObject({ examined: 0 });
    expect((await readLedger(healthy.context, "yul")).balance).toBe(-1);
  });

  it("releases the per-user lock after a pass, so the next reader can heal at once", async () => {
    const { clock, faulty, healthy } = setup({ 5: "before-send", 7: "before-send" });
    await faulty.credit({ userId: "zed", amount: 2, reason: "Top-up" });
    await faulty.debit({ userId: "zed", cost: 3 });
    clock.advance(AGED);
    expect(await healthy.heal("zed")).toMatchObject({ locked: true, compensated: 1 });
    await faulty.debit({ userId: "zed", cost: 3 });
    clock.advance(AGED);
    expect(await healthy.heal("zed")).toMatchObject({ locked: true, compensated: 1 });
    expect((await readLedger(healthy.context, "zed")).balance).toBe(2);
  });

  // Issue 9, bug 2: a heal lock that expired while its holder still acted let a second
  // healer give the same tokens back. The lock now outlives every step of its pass.
  // Its own T and H: the test waits out the lock in real time (healLockMs = 5T + H/2), so
  // they are as small as a slow machine allows; the order of events is set by the test
  // (a gated step), not by timers racing the machine's speed.
  it("keeps the lock while a step of its pass may still land, so a second healer never decides from an old read", async () => {
    const clock = manualClock("2026-11-25T12:00:00Z");
    const real = createKvClient({ url: target.url, token: target.token, timeoutMs: 2000 });
    const options = { namespace: uniqueNamespace("fence"), monthlyAllowance: 0, clock: clock.now, kvTimeoutMs: 2000, healAfterMs: 10_000 };
    const healthy = createMetering(real, options);
    // A voided debit to give back: its transaction applied, its answer lost.
    const owner = createMetering(faultyKv(real, { 4: "after-send" }), options);
    await owner.credit({ userId: "yul", amount: 10, reason: "Top-up" });
    expect(await owner.debit({ userId: "yul", cost: 3 })).toMatchObject({ status: "unavailable", error: expect.any(KvUnavailableError) });
    await real.multi().set(userKeys(options.namespace, "yul").void(
      (await readLedger(healthy.context, "yul")).openIds[0]!), 1).exec();
    clock.advance(options.healAfterMs + 1000);

    // Healer A: lock (1), read (2), compensation (3) held on the way to the store until the
    // test lets it land, after A's own timeout: A stops, not knowing whether it landed.
    let land!: () => void;
    const landing = new Promise<void>((resolve) => { land = resolve; });
    const slow = createMetering(faultyKv(real, { 3: { until: landing } }), options);
    expect(await slow.heal("yul").then(() => null, (error: unknown) => error)).toBeInstanceOf(KvUnavailableError);
    // A's step may still land: A kept the lock.
    expect(await healthy.heal("yul")).toMatchObject({ locked: false });
    land();
    await expect.poll(async () => (await readLedger(healthy.context, "yul")).balance, { timeout: 10_000 }).toBe(10); // A's step has now landed
    expect(await healthy.heal("yul")).toMatchObject({ locked: false });

    await new Promise((resolve) => setTimeout(resolve, healLockMs(options)));
    expect(await healthy.heal("yul")).toMatchObject({ locked: true, compensated: 0 });
    const ledger = await readLedger(healthy.context, "yul");
    expect(ledger.balance).toBe(10);
    expect(ledger.openIds).toEqual([]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });
});

describe("decideHeal", () => {
  const op = (over: Partial<Operation>): Operation => ({
    id: "deb_1", kind: "debit", state: "open", amount: 3, at: 0, period: "2026-11", route: null, reason: null,
    ref: null, claim: null, idempotencyKey: null, target: null, usage: null, ...over,
  });
  const facts = (over: Partial<HealFacts>): HealFacts => ({ op: op({}), after: 5, voided: false, refunded: false, holder: null, carriedBy: null, ...over });

  it("settles a paid debit and gives back a refused, voided or out-raced one", () => {
    expect(decideHeal("deb_1", facts({}))).toEqual({ status: "settle_debit" });
    expect(decideHeal("deb_1", facts({ after: -1 }))).toEqual({ status: "compensate", releaseIdempotencyKey: false, carriedBy: null });
    expect(decideHeal("deb_1", facts({ voided: true }))).toEqual({ status: "compensate", releaseIdempotencyKey: false, carriedBy: null });
    expect(decideHeal("deb_1", facts({ voided: true, refunded: true }))).toEqual({ status: "settle_debit" });
    const keyed = op({ idempotencyKey: "k" });
    expect(decideHeal("deb_1", facts({ op: keyed, holder: "deb_2" }))).toEqual({ status: "compensate", releaseIdempotencyKey: false, carriedBy: null });
    expect(decideHeal("deb_1", facts({ op: keyed, holder: "deb_1", after: -2 }))).toEqual({ status: "compensate", releaseIdempotencyKey: true, carriedBy: null });
    expect(decideHeal("deb_1", facts({ op: null }))).toEqual({ status: "drop", deleteRecord: false });
    expect(decideHeal("deb_1", facts({ after: null }))).toEqual({ status: "drop", deleteRecord: false });
  });

  it("applies a claimed credit only while its guard names it, and settles an applied one", () => {
    const claimed = op({ id: "cre_1", kind: "credit", state: "claimed", claim: "g" });
    expect(decideHeal("cre_1", facts({ op: claimed, after: null, holder: "cre_1" }))).toEqual({ status: "apply" });
    expect(decideHeal("cre_1", facts({ op: claimed, after: null, holder: "cre_9" }))).toEqual({ status: "drop", deleteRecord: true });
    expect(decideHeal("cre_1", facts({ op: op({ kind: "refill" }), after: 100 }))).toEqual({ status: "settle_applied" });
    expect(decideHeal("cre_1", facts({ op: op({ kind: "refill" }), after: null }))).toEqual({ status: "drop", deleteRecord: false });
  });
});
