/** The debit decision, without a store, and what the debit path hands over (run-debit.ts). */
import { describe, expect, it } from "vitest";
import { checkInvariants, createMetering, readLedger, userKeys } from "../../lib/metering";
import type { DebitReading } from "../../lib/metering/debit";
import { decideDebit } from "../../lib/metering/run-debit";
import { faultyKv } from "../support/faulty-kv";
import { kvTargets, meteringOn } from "../support/kv";

const reading = (over: Partial<DebitReading>): DebitReading => ({
  after: 5, staleIds: [], missingGrants: [], pendingGrants: [], replayOf: null, keyMatch: null, storedResponse: null, keyAgeMs: null, ...over,
});

describe("decideDebit", () => {
  it("pays a debit that left the balance at or above zero, granting what is missing in the background", () => {
    expect(decideDebit(reading({ after: 0 }), false)).toEqual({ status: "paid", grantInBackground: [] });
    expect(decideDebit(reading({ after: 7, missingGrants: ["2026-12"] }), false)).toEqual({ status: "paid", grantInBackground: ["2026-12"] });
  });

  it("replays a taken Idempotency-Key whatever the balance says", () => {
    expect(decideDebit(reading({ after: -3, replayOf: "deb_x", keyMatch: "same" }), false)).toEqual({ status: "replay" });
  });

  it("refuses a key taken by another request (route or body), and checks a previous version's key by its route", () => {
    expect(decideDebit(reading({ after: 4, replayOf: "deb_x", keyMatch: "other_target" }), false)).toEqual({ status: "key_reused", mismatch: "target" });
    expect(decideDebit(reading({ after: 4, replayOf: "deb_x", keyMatch: "other_body" }), false)).toEqual({ status: "key_reused", mismatch: "body" });
    expect(decideDebit(reading({ after: 4, replayOf: "deb_x", keyMatch: "unknown" }), false)).toEqual({ status: "legacy_route" });
  });

  it("retries a refusal once: after the month's grant, or after the batch's earlier refusals", () => {
    expect(decideDebit(reading({ after: -3, missingGrants: ["2026-12"] }), false)).toEqual({ status: "refused", retry: "after_grants" });
    expect(decideDebit(reading({ after: -3, pendingGrants: ["2026-12"] }), false)).toEqual({ status: "refused", retry: "after_grants" });
    expect(decideDebit(reading({ after: -3, retryAfter: Promise.resolve() }), false)).toEqual({ status: "refused", retry: "after_batch" });
    expect(decideDebit(reading({ after: -3 }), false)).toEqual({ status: "refused", retry: null });
    expect(decideDebit(reading({ after: -3, missingGrants: ["2026-12"] }), true)).toEqual({ status: "refused", retry: null });
  });
});

describe.each(kvTargets())("runDebit hands over what it started, whatever ends it ($engine engine)", (target) => {
  // A keyed debit whose key a previous version took (a bare debit id): its give-back starts
  // in the background, then the read of the holder's route fails. The outcome is
  // "unavailable", and its `pending` must still carry that give-back: a caller that hands
  // `pending` to waitUntil is what keeps the user from paying for a 503.
  it("a read that fails after the answer still returns the compensation in pending", async () => {
    // T generous: only the injected fault may fail a round trip, not a slow machine.
    const T = 5000;
    const m = meteringOn(target, { kvTimeoutMs: T });
    const k = userKeys(m.context.config.namespace, "pia");
    await m.credit({ userId: "pia", amount: 10, reason: "Top-up" });
    await m.context.kv.multi().set(k.idempotency("old-1"), `deb_${"7".repeat(32)}`, { ex: 3600 }).exec();
    // Store calls: 1 the debit, 2 its give-back (background), 3 the holder's route: lost.
    const faulty = createMetering(faultyKv(m.context.kv, { 3: "before-send" }), { namespace: m.context.config.namespace, monthlyAllowance: 0, kvTimeoutMs: T });
    const outcome = await faulty.debit({ userId: "pia", cost: 4, idempotencyKey: "old-1", requestFingerprint: { target: "POST /api/chat", bodySha256: "Z".repeat(43) } });
    expect(outcome.status).toBe("unavailable");
    expect(outcome.pending).not.toBeNull();
    await outcome.pending;
    const ledger = await readLedger(m.context, "pia");
    expect([ledger.balance, ledger.openIds]).toEqual([10, []]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
  });
});
