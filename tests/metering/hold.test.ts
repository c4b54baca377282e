import { describe, expect, it } from "vitest";
import { createKvClient } from "../../lib/kv-client";
import {
  afterOfHold, checkInvariants, createMetering, decideHold, type Hold, type HoldOutcome, InvalidInputError, type Metering, readLedger,
} from "../../lib/metering";
import { faultyKv, type FaultPlan } from "../support/faulty-kv";
import { kvTargets, manualClock, uniqueNamespace } from "../support/kv";

function heldOf(outcome: HoldOutcome): Hold {
  if (outcome.status !== "held") throw new Error(`expected a hold, got ${outcome.status}`);
  return outcome.hold;
}

async function atRest(m: Metering, userId: string) {
  const ledger = await readLedger(m.context, userId);
  expect(ledger.openIds).toEqual([]);
  expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  return ledger;
}

describe("decideHold", () => {
  const reading = (after: number, grants: Partial<{ missingGrants: string[]; pendingGrants: string[] }> = {}) => ({
    after, missingGrants: [], pendingGrants: [], ...grants,
  });
  it("holds in full when the balance covered it", () => {
    expect(decideHold(reading(0), 8, 2, false)).toEqual({ status: "held", held: 8 });
  });
  it("holds what the balance had when it covers the minimum, giving back the shortfall", () => {
    expect(decideHold(reading(-6), 8, 2, false)).toEqual({ status: "partial", held: 2, giveBack: 6 });
  });
  it("refuses below the minimum, and never holds nothing", () => {
    expect(decideHold(reading(-7), 8, 2, false)).toEqual({ status: "refused", retry: null });
    expect(decideHold(reading(-8), 8, 8, false)).toEqual({ status: "refused", retry: null });
  });
  it("tries once more for the full hold when the month's grant is missing", () => {
    expect(decideHold(reading(-6, { missingGrants: ["2026-11"] }), 8, 2, false)).toEqual({ status: "refused", retry: "after_grants" });
    expect(decideHold(reading(-6, { pendingGrants: ["2026-11"] }), 8, 2, true)).toEqual({ status: "partial", held: 2, giveBack: 6 });
  });
});

describe.each(kvTargets())("holds on the $engine engine", (target) => {
  // Round-trip bound and heal delay (timing.ts: H ≥ 5 × T). T is generous, so only the
  // injected faults fail a round trip, never a slow or loaded machine; the clock is manual,
  // so a large H costs no real time.
  const T = 5000;
  const H = 25_000;
  function setup(plan: FaultPlan = {}) {
    const clock = manualClock("2026-11-25T12:00:00Z");
    const real = createKvClient({ url: target.url, token: target.token, timeoutMs: T });
    const options = { namespace: uniqueNamespace("hold"), monthlyAllowance: 0, clock: clock.now, kvTimeoutMs: T, healAfterMs: H };
    return { clock, m: createMetering(real, options), faulty: createMetering(faultyKv(real, plan), options) };
  }
  const request = { amount: 10, minimum: 2, deadlineMs: 60_000, route: "POST /api/chat/stream", reason: "Chat" };
  /** A clock advance past a hold's deadline + healAfterMs: a reader's healer finishes it. */
  const EXPIRED = request.deadlineMs + H + 1000;

  it("holds the most a request may cost, then charges what it used and gives the rest back in one entry", async () => {
    const { m } = setup();
    await m.credit({ userId: "ann", amount: 25, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "ann", ...request }));
    expect(hold).toMatchObject({ requested: 10, held: 10, balance: 15 });
    expect(hold.id).toMatch(/^hld_[0-9a-f]{32}$/);
    const during = await m.stats("ann");
    expect(during).toMatchObject({ balance: 15, reserved: 10, pending: 1 });
    expect(during.holds).toEqual([{ id: hold.id, route: "POST /api/chat/stream", amount: 10, since: hold.deadline - 60_000, deadline: hold.deadline }]);

    const settled = await hold.settle(4);
    expect(settled).toEqual({ status: "settled", charged: 4, released: 6, balance: 21, ended: "settled", pending: null });
    // Once: a second settle answers the first one, whatever it asks.
    expect(await hold.settle(9)).toBe(settled);

    const stats = await m.stats("ann");
    expect(stats).toMatchObject({ balance: 21, reserved: 0, holds: [], tokensUsed: 4, generations: 1 });
    expect(stats.history[0]).toMatchObject({ id: hold.id, type: "debit", amount: -4, held: 10, ended: "settled", balanceAfter: 21, route: "POST /api/chat/stream" });
    expect(stats.history).toHaveLength(2);
    await atRest(m, "ann");
  });

  it("charges at most what it held, and nothing for a request that produced nothing", async () => {
    const { m } = setup();
    await m.credit({ userId: "ben", amount: 30, reason: "Top-up" });
    const big = heldOf(await m.hold({ userId: "ben", ...request }));
    expect(await big.settle(50)).toMatchObject({ charged: 10, released: 0, balance: 20 });
    const none = heldOf(await m.hold({ userId: "ben", ...request }));
    expect(await none.settle(0)).toMatchObject({ charged: 0, released: 10, balance: 20 });
    const stats = await m.stats("ben");
    const entry = (id: string) => stats.history.find((e) => e.id === id);
    expect([entry(big.id)?.amount, entry(none.id)?.amount]).toEqual([-10, 0]);
    // A settled hold is refunded by its charge; one that charged nothing has nothing to refund.
    expect(await m.refund("ben", none.id)).toMatchObject({ status: "not_refundable" });
    expect(await m.refund("ben", big.id)).toMatchObject({ status: "refunded", amount: 10, balance: 30 });
    await atRest(m, "ben");
  });

  it("is not refundable while it runs", async () => {
    const { m } = setup();
    await m.credit({ userId: "bea", amount: 30, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "bea", ...request }));
    expect(await m.refund("bea", hold.id)).toMatchObject({ status: "not_refundable" });
    await hold.settle(3);
    await atRest(m, "bea");
  });

  it("holds what the balance covers when it covers the minimum, and refuses below it", async () => {
    const { m } = setup();
    await m.credit({ userId: "cy", amount: 6, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "cy", ...request }));
    expect(hold).toMatchObject({ requested: 10, held: 6, balance: 0 });
    expect(await m.hold({ userId: "cy", ...request })).toMatchObject({ status: "insufficient_tokens", balance: 0, minimum: 2 });
    expect(await hold.settle(5)).toMatchObject({ charged: 5, released: 1, balance: 1 });
    expect(await m.hold({ userId: "cy", ...request })).toMatchObject({ status: "insufficient_tokens", balance: 1 });
    const stats = await m.stats("cy");
    expect(stats.history[0]).toMatchObject({ amount: -5, held: 6, balanceAfter: 1 });
    await atRest(m, "cy");
  });

  it("never overdraws when many holds race for one balance, and ends exact", async () => {
    const { clock, m } = setup();
    await m.credit({ userId: "dot", amount: 100, reason: "Top-up" });
    const outcomes = await Promise.all(Array.from({ length: 40 }, () => m.hold({ userId: "dot", ...request, amount: 8, minimum: 1 })));
    const holds = outcomes.filter((o) => o.status === "held").map(heldOf);
    const held = holds.reduce((sum, h) => sum + h.held, 0);
    expect(held).toBeLessThanOrEqual(100);
    const mid = await readLedger(m.context, "dot");
    // What is not held is back in the balance, or (a give-back that timed out on a loaded
    // machine) still open, for the healer after the deadline.
    const ours = new Set(holds.map((h) => h.id));
    const stuck = mid.openHolds.filter((h) => !ours.has(h.id)).reduce((sum, h) => sum + h.held, 0);
    expect(mid.balance + stuck).toBe(100 - held);
    expect(mid.balance + stuck).toBeGreaterThanOrEqual(0);
    const charges = holds.map((_, i) => i % 3);
    await Promise.all(holds.map((h, i) => h.settle(charges[i]!)));
    const charged = holds.reduce((sum, h, i) => sum + Math.min(charges[i]!, h.held), 0);
    clock.advance(EXPIRED);
    await m.stats("dot");
    const ledger = await atRest(m, "dot");
    expect(ledger.balance).toBe(100 - charged);
    expect(ledger.history.filter((e) => e.held !== undefined)).toHaveLength(holds.length);
  });

  it("a hold nobody settled is charged in full after its deadline, by the next reader", async () => {
    const { clock, m } = setup();
    await m.credit({ userId: "eve", amount: 20, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "eve", ...request }));
    // Past healAfterMs but not past the deadline: nothing happens.
    clock.advance(H + 1000);
    expect(await m.stats("eve")).toMatchObject({ balance: 10, reserved: 10 });
    clock.advance(EXPIRED - (H + 1000));
    const stats = await m.stats("eve");
    expect(stats).toMatchObject({ balance: 10, reserved: 0, holds: [] });
    expect(stats.history[0]).toMatchObject({ id: hold.id, amount: -10, held: 10, ended: "expired" });
    // The request comes back after all: the healer's charge stands, and it is told so.
    expect(await hold.settle(2)).toMatchObject({ status: "pending", charged: 10, released: 0, ended: "expired" });
    await atRest(m, "eve");
  });

  it("a partial hold nobody settled is charged what it held, not given back as a refusal", async () => {
    const { clock, m } = setup();
    await m.credit({ userId: "eli", amount: 6, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "eli", ...request }));
    expect(hold.held).toBe(6);
    clock.advance(EXPIRED);
    const stats = await m.stats("eli");
    expect(stats.balance).toBe(0);
    expect(stats.history[0]).toMatchObject({ id: hold.id, amount: -6, held: 6, ended: "expired", balanceAfter: 0 });
    await atRest(m, "eli");
  });

  it("a route may release an expired hold instead", async () => {
    const { clock, m } = setup();
    await m.credit({ userId: "fay", amount: 20, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "fay", ...request, onExpiry: "release" }));
    clock.advance(EXPIRED);
    const stats = await m.stats("fay");
    expect(stats.balance).toBe(20);
    expect(stats.history[0]).toMatchObject({ id: hold.id, amount: 0, held: 10, ended: "expired" });
    await atRest(m, "fay");
  });

  it("a request that settles after its deadline but before a healer keeps its own charge", async () => {
    const { clock, m } = setup();
    await m.credit({ userId: "gus", amount: 20, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "gus", ...request }));
    clock.advance(61_000); // past the deadline, inside the owner's window after it (healAfterMs / 2 − kvTimeoutMs)
    expect(await hold.settle(3)).toMatchObject({ status: "settled", charged: 3, balance: 17, ended: "settled" });
    await atRest(m, "gus");
  });

  it("KV down at hold time: 503, and nothing stays held", async () => {
    // 1-3 the credit, 4 the hold (applied, answer lost), 5 its void.
    const { clock, m, faulty } = setup({ 4: "after-send" });
    await faulty.credit({ userId: "hal", amount: 20, reason: "Top-up" });
    const outcome = await faulty.hold({ userId: "hal", ...request });
    expect(outcome.status).toBe("unavailable");
    await outcome.pending;
    clock.advance(EXPIRED);
    const stats = await m.stats("hal");
    expect(stats).toMatchObject({ balance: 20, reserved: 0 });
    expect(stats.history.map((e) => e.type)).toEqual(["credit"]);
    await atRest(m, "hal");
  });

  it("KV down at settle time: the charge measured is claimed later and settled exactly once", async () => {
    // 4 the hold, 5 the claim (never sent), 6 the claim again (from the background), 7 the release.
    const { m, faulty } = setup({ 5: "before-send" });
    await faulty.credit({ userId: "ida", amount: 20, reason: "Top-up" });
    const hold = heldOf(await faulty.hold({ userId: "ida", ...request }));
    const settlement = await hold.settle(4);
    expect(settlement).toMatchObject({ status: "pending", charged: 4, released: 6, balance: null });
    await settlement.pending;
    const stats = await m.stats("ida");
    expect(stats).toMatchObject({ balance: 16, reserved: 0 });
    expect(stats.history.filter((e) => e.id === hold.id)).toMatchObject([{ amount: -4, held: 10, ended: "settled" }]);
    await atRest(m, "ida");
  });

  it("a release whose answer was lost is not sent again: the healer finishes it with the owner's charge", async () => {
    // 4 the hold, 5 the claim, 6 the release (applied, answer lost).
    const { clock, m, faulty } = setup({ 6: "after-send" });
    await faulty.credit({ userId: "jo", amount: 20, reason: "Top-up" });
    const hold = heldOf(await faulty.hold({ userId: "jo", ...request }));
    expect(await hold.settle(4)).toMatchObject({ status: "pending", charged: 4 });
    clock.advance(EXPIRED);
    expect((await m.stats("jo")).balance).toBe(16);
    await atRest(m, "jo");
  });

  it("a release that never left is done by the healer after the deadline, with the owner's charge", async () => {
    const { clock, m, faulty } = setup({ 6: "before-send" });
    await faulty.credit({ userId: "kim", amount: 20, reason: "Top-up" });
    const hold = heldOf(await faulty.hold({ userId: "kim", ...request }));
    expect(await hold.settle(4)).toMatchObject({ status: "pending", charged: 4 });
    expect((await m.stats("kim")).reserved).toBe(10);
    clock.advance(EXPIRED);
    const stats = await m.stats("kim");
    expect(stats.balance).toBe(16);
    expect(stats.history[0]).toMatchObject({ amount: -4, held: 10, ended: "settled" });
    await atRest(m, "kim");
  });

  it("a partial hold whose give-back was lost is voided and given back whole by the healer", async () => {
    // 4 the hold, 5 the shortfall's give-back (applied, answer lost), 6 the void.
    const { clock, m, faulty } = setup({ 5: "after-send" });
    await faulty.credit({ userId: "lou", amount: 6, reason: "Top-up" });
    const outcome = await faulty.hold({ userId: "lou", ...request });
    expect(outcome.status).toBe("unavailable");
    await outcome.pending;
    clock.advance(EXPIRED);
    expect((await m.stats("lou")).balance).toBe(6);
    await atRest(m, "lou");
  });

  it("a reset while a hold runs: the hold settles into the new ledger, which still sums", async () => {
    const { clock, m } = setup();
    await m.credit({ userId: "max", amount: 20, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "max", ...request }));
    const resetting = m.reset("max");
    // The reset's transaction lands first (it then waits for the hold to be decided).
    while (!(await readLedger(m.context, "max")).history.some((e) => e.type === "reset")) await new Promise((resolve) => setTimeout(resolve, 10));
    await hold.settle(3);
    await resetting;
    clock.advance(EXPIRED);
    await m.stats("max");
    const ledger = await atRest(m, "max");
    expect(ledger.balance).toBe(7); // the allowance is 0: the released 7 came back
    expect(await m.refund("max", hold.id)).toMatchObject({ status: "refunded", amount: 3, balance: 10 });
    await atRest(m, "max");
  });

  it("is settled from its ticket on another instance (the middleware held it, the handler settles), once", async () => {
    const { m, faulty: other } = setup();
    await m.credit({ userId: "ola", amount: 30, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "ola", ...request }));
    const [a, b] = await Promise.all([other.settleHold(hold.ticket, 3), m.settleHold(hold.ticket, 7)]);
    // Both learn the one charge that was claimed; only its claimant released.
    expect(a.charged).toBe(b.charged);
    const charged = a.charged;
    expect([3, 7]).toContain(charged);
    expect([a.status, b.status].sort()).toEqual(["pending", "settled"]);
    const again = await other.settleHold(hold.ticket, 1);
    expect(again).toMatchObject({ status: "pending", charged, released: 10 - charged });
    const ledger = await atRest(m, "ola");
    expect(ledger.balance).toBe(30 - charged);
    expect(ledger.history.filter((e) => e.id === hold.id)).toMatchObject([{ amount: -charged, held: 10 }]);
    await expect(m.settleHold({ ...hold.ticket, id: "not an id" }, 1)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("a partial hold's ticket carries the balance its DECRBY left, so its entry shows the balance as if it had cost its charge", async () => {
    const { m, faulty: other } = setup();
    await m.credit({ userId: "pia", amount: 6, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "pia", ...request }));
    expect(hold.ticket).toMatchObject({ requested: 10, held: 6, after: -4 });
    expect(afterOfHold(hold.ticket, hold.balance)).toBe(-4);
    expect(await other.settleHold(hold.ticket, 2)).toMatchObject({ status: "settled", charged: 2, released: 4, balance: 4 });
    const ledger = await atRest(m, "pia");
    expect(ledger.history[0]).toMatchObject({ amount: -2, held: 6, balanceAfter: 4 });
  });

  it("refuses bad terms before anything is sent", async () => {
    const { m } = setup();
    const bad = [
      { ...request, minimum: 11 },
      { ...request, amount: 0 },
      { ...request, deadlineMs: 0 },
      { ...request, deadlineMs: 86_400_001 },
      { ...request, onExpiry: "refund" as never },
    ];
    for (const terms of bad) await expect(m.hold({ userId: "ned", ...terms })).rejects.toBeInstanceOf(InvalidInputError);
    await m.credit({ userId: "ned", amount: 20, reason: "Top-up" });
    const hold = heldOf(await m.hold({ userId: "ned", ...request }));
    for (const charge of [-1, 1.5, Number.NaN]) await expect(hold.settle(charge)).rejects.toBeInstanceOf(InvalidInputError);
    // A refused charge does not use up the one settle.
    expect(await hold.settle(1)).toMatchObject({ status: "settled", charged: 1 });
    await atRest(m, "ned");
  });
});
