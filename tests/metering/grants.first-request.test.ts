/**
 * A new user's first requests, which also grant the month's allowance. Regressions of
 * issue 9 ("Exact ledger"): the answered debit id was not the one settled (the history
 * showed another id, the healer later wrote a second debit), and a burst of first requests
 * was refused although the allowance covered it.
 */
import { describe, expect, it } from "vitest";
import { checkInvariants, type DebitOutcome, type DebitRequest, readLedger } from "../../lib/metering";
import { createDebitCoalescer } from "../../lib/metering/coalescer";
import { kvTargets, meteringOn } from "../support/kv";

const ALLOWANCE = 100;
const COST = 3;

describe.each(kvTargets())("first requests of a new user on the $engine engine", (target) => {
  for (const path of ["coalesced", "direct"] as const) {
    const setup = () => {
      const m = meteringOn(target, { monthlyAllowance: ALLOWANCE });
      const background: Promise<unknown>[] = [];
      const via: (r: DebitRequest) => Promise<DebitOutcome> = path === "coalesced" ? createDebitCoalescer(m, { settleDelayMs: 5 }).debit : m.debit;
      // What the platform's waitUntil keeps alive: each debit's own background work.
      const debit = async (r: DebitRequest) => {
        const outcome = await via(r);
        if (outcome.pending !== null) background.push(outcome.pending);
        return outcome;
      };
      return { m, debit, background };
    };

    it(`settles the debit it answered, and its id is refundable (${path})`, async () => {
      const { m, debit, background } = setup();
      const outcome = await debit({ userId: "newbie", cost: COST, route: "POST /api/generate/article" });
      expect(outcome).toMatchObject({ status: "ok", balance: ALLOWANCE - COST });
      if (outcome.status !== "ok") throw new Error("unreachable");
      await outcome.settle();
      await Promise.all(background);

      const ledger = await readLedger(m.context, "newbie");
      expect(ledger.openIds).toEqual([]);
      expect(ledger.history.map((e) => [e.type, e.amount])).toEqual([["debit", -COST], ["refill", ALLOWANCE]]);
      expect(ledger.history[0]!.id).toBe(outcome.debitId);
      expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);

      const refund = await m.refund("newbie", outcome.debitId, "Work failed");
      expect(refund).toMatchObject({ status: "refunded", balance: ALLOWANCE });
      const after = await readLedger(m.context, "newbie");
      expect(after.history.filter((e) => e.type === "debit")).toHaveLength(1);
      expect(checkInvariants(after, { historyComplete: true })).toEqual([]);
    });

    it(`serves a burst of 30 concurrent first requests from the allowance, with one refill (${path})`, async () => {
      const { m, debit, background } = setup();
      const outcomes = await Promise.all(Array.from({ length: 30 }, () => debit({ userId: "burst", cost: COST })));
      expect(outcomes.map((o) => o.status)).toEqual(Array(30).fill("ok"));
      await Promise.all(outcomes.map((o) => (o.status === "ok" ? o.settle() : undefined)));
      await Promise.all(background);

      const ledger = await readLedger(m.context, "burst");
      expect(ledger.balance).toBe(ALLOWANCE - 30 * COST);
      expect(ledger.openIds).toEqual([]);
      expect(ledger.history.filter((e) => e.type === "refill")).toHaveLength(1);
      const debitIds = ledger.history.filter((e) => e.type === "debit").map((e) => e.id).sort();
      expect(debitIds).toEqual(outcomes.map((o) => (o.status === "ok" ? o.debitId : "")).sort());
      expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    });
  }
});
