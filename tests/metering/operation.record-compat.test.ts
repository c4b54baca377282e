/**
 * Records written by the version before this one (commit 54ac759), still in flight when a
 * new version deploys, are finished correctly by the new code. The fixtures are the raw
 * keys that version wrote, in its exact format; do not "update" them when formats change:
 * add a fixture for the new format instead.
 */
import { describe, expect, it } from "vitest";
import { checkInvariants, readLedger, userKeys } from "../../lib/metering";
import { decodeStoredResponse } from "../../lib/gateway/stored-response";
import { kvTargets, manualClock, meteringOn } from "../support/kv";

const T0 = Date.parse("2026-11-25T12:00:00Z");
// Round-trip bound and heal delay (timing.ts: H ≥ 5 × T). T is generous so a slow or loaded
// machine never turns a round trip into a KvUnavailableError; the clocks are manual, so a
// large H costs no real time.
const T = 5000;
const H = 25_000;
const id = (n: number) => `deb_${String(n).padStart(32, "0")}`;

describe.each(kvTargets())("records in the previous version's format, on the $engine engine", (target) => {
  it("heals every in-flight state the previous version could leave", async () => {
    const clock = manualClock(T0);
    const m = meteringOn(target, { clock: clock.now, kvTimeoutMs: T, healAfterMs: H });
    const k = userKeys(m.context.config.namespace, "old");
    const op = (amount: number, extra: Record<string, string | number> = {}) =>
      ({ kind: "debit", state: "open", amount, at: T0, period: "2026-11", route: "POST /api/generate/article", ...extra });
    // A credit of 100 settled; then: a paid debit (3) not settled, a refused debit (200) not
    // given back, a voided debit (5), and a claimed top-up (40) never applied.
    const credit = '{"id":"cre_0","type":"credit","amount":100,"balanceAfter":100,"reason":"Top-up","route":null,"at":' + T0 + "}";
    await m.context.kv.multi()
      .set(k.balance, 100 - 3 - 200 - 5)
      .hset(k.totals, { credits: 100, debits: 208, refunds: 0, generations: 3, "used:2026-11": 208 })
      .zadd(k.history, { score: T0, member: credit })
      .hset(k.op(id(1)), op(3)).set(k.result(id(1)), 97).zadd(k.open, { score: T0, member: `${id(1)}:3` })
      .hset(k.op(id(2)), op(200)).set(k.result(id(2)), -103).zadd(k.open, { score: T0, member: `${id(2)}:200` })
      .hset(k.op(id(3)), op(5)).set(k.result(id(3)), -108).set(k.void(id(3)), 1).zadd(k.open, { score: T0, member: `${id(3)}:5` })
      .set(k.creditClaim("pay-1"), "cre_1")
      .hset(k.op("cre_1"), { kind: "credit", state: "claimed", amount: 40, at: T0, period: "2026-11", reason: "Invoice", claim: k.creditClaim("pay-1") })
      .zadd(k.open, { score: T0, member: "cre_1:0" })
      .exec();
    clock.advance(H + 5000); // every operation is now older than healAfterMs
    expect(await m.heal("old")).toMatchObject({ settled: 1, compensated: 2, applied: 1 });
    const ledger = await readLedger(m.context, "old");
    expect(ledger.balance).toBe(100 - 3 + 40);
    expect(ledger.openIds).toEqual([]);
    expect(ledger.history.map((e) => `${e.type} ${e.amount}`).sort()).toEqual(["credit 100", "credit 40", "debit -3"]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    // The paid debit stays refundable.
    expect(await m.refund("old", id(1))).toMatchObject({ status: "refunded", balance: 140 });
  });

  it("takes a monthly grant applied by the previous version (no 'applied' marker) as applied", async () => {
    const clock = manualClock(T0);
    const m = meteringOn(target, { clock: clock.now, kvTimeoutMs: T, healAfterMs: H, monthlyAllowance: 100 });
    const k = userKeys(m.context.config.namespace, "veteran");
    const refill = '{"id":"ref_0","type":"refill","amount":100,"balanceAfter":100,"reason":"Monthly allowance 2026-11","route":null,"at":' + T0 + "}";
    await m.context.kv.multi()
      .set(k.balance, 2).hset(k.totals, { credits: 100, debits: 98, refunds: 0, generations: 40 })
      .zadd(k.history, { score: T0, member: refill })
      .set(k.grant("2026-11"), "ref_0")
      .hset(k.op("ref_0"), { kind: "refill", state: "open", amount: 100, at: T0, period: "2026-11", reason: "Monthly allowance 2026-11", target: 100 })
      .exec();
    expect(await m.debit({ userId: "veteran", cost: 3 })).toMatchObject({ status: "insufficient_tokens", balance: 2 });
    expect(await m.context.kv.multi().exists(k.grantApplied("2026-11")).exec()).toEqual([1]);
    const paid = await m.debit({ userId: "veteran", cost: 2 });
    expect(paid).toMatchObject({ status: "ok", balance: 0 });
    if (paid.status === "ok") await paid.settle();
    const ledger = await readLedger(m.context, "veteran");
    expect(ledger.history.filter((e) => e.type === "refill")).toHaveLength(1);
  });

  // An Idempotency-Key taken by the version before fingerprints (commit 61e6a60): the value
  // of idem:<key> is the bare debit id. No body hash was kept, so such a key matches any
  // request to the route its debit was for, and refuses (422) one to another route.
  it("scopes an Idempotency-Key taken by the previous version (a bare debit id) to its debit's route", async () => {
    const m = meteringOn(target, { kvTimeoutMs: T });
    const k = userKeys(m.context.config.namespace, "legacy");
    const answer = '{"v":1,"status":200,"contentType":"application/json","body":"{\\"answer\\":42}"}';
    await m.context.kv.multi()
      .set(k.balance, 10).hset(k.totals, { credits: 10, debits: 0, refunds: 0, generations: 0 })
      .set(k.idempotency("old-1"), id(7), { ex: 3600 }).set(k.idempotentResponse("old-1"), answer, { ex: 3600 })
      .hset(k.op(id(7)), { kind: "debit", state: "open", amount: 3, at: T0, period: "2026-11", route: "POST /api/generate/article", idem: "old-1" })
      .set(k.idempotency("old-2"), id(8), { ex: 3600 })
      .exec();
    const fp = (target: string) => ({ target, bodySha256: "Z".repeat(43) });
    const sameRoute = await m.debit({ userId: "legacy", cost: 3, idempotencyKey: "old-1", requestFingerprint: fp("POST /api/generate/article") });
    expect(sameRoute).toMatchObject({ status: "replay", originalDebitId: id(7), storedResponse: answer });
    expect(await m.debit({ userId: "legacy", cost: 1, idempotencyKey: "old-1", requestFingerprint: fp("POST /api/chat") }))
      .toMatchObject({ status: "idempotency_key_reused", mismatch: "target", originalDebitId: id(7) });
    // Its debit's record is gone (the refund window ended): matched, as before.
    expect(await m.debit({ userId: "legacy", cost: 1, idempotencyKey: "old-2", requestFingerprint: fp("POST /api/chat") }))
      .toMatchObject({ status: "replay", originalDebitId: id(8) });
    await expect.poll(async () => (await readLedger(m.context, "legacy")).balance).toBe(10);
    expect((await m.context.kv.multi().get(k.idempotency("old-1")).exec())[0]).toBe(id(7));
  });

  it("replays an answer stored in the previous format", () => {
    const stored = decodeStoredResponse('{"v":1,"status":200,"contentType":"application/json","body":"{\\"answer\\":42}"}');
    expect(stored.status).toBe("response");
  });
});
