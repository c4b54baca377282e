import { describe, expect, it } from "vitest";
import { atRest, countHistory } from "../reliability/support/ledger";
import { PRICED_ROUTES, runLoad } from "../reliability/support/load";
import { api, e2e, topUp, uniqueUser, userToken } from "./support/context";

interface Books {
  start: number;
  credited: number;
  /** Credit entries expected in the history (the starting top-up and each applied one). */
  creditEntries: number;
  /** Paid requests the test process made itself (outside the load workers). */
  paid: number;
  paidTokens: number;
  refunds: number;
  refundedTokens: number;
  debitIds: Set<string>;
}

/**
 * Thousands of requests from several processes on a few users, while an operator tops
 * them up (some top-ups retried with the same Idempotency-Key) and refunds paid requests
 * (some refunds sent twice). Afterwards every ledger must reconcile exactly with what the
 * clients were answered: no overdraft, balance = credits − debits + refunds, one debit
 * per 200 and none without one, and a complete history that says the same.
 */
describe("reliability: concurrent load, top-ups and refunds (next start, real Redis)", () => {
  it("never overdraws, never serves a 200 without a debit, and every ledger reconciles", async () => {
    const starts = [4000, 400, 60, 0];
    const users = await Promise.all(starts.map(async (start) => {
      const id = uniqueUser("rel");
      if (start > 0) await topUp(id, start);
      return { id, token: await userToken(id) };
    }));
    const books = new Map<string, Books>(users.map((u, i) => [u.id, {
      start: starts[i]!, credited: starts[i]!, creditEntries: starts[i]! > 0 ? 1 : 0, paid: 0, paidTokens: 0, refunds: 0, refundedTokens: 0, debitIds: new Set(),
    }]));

    const load = runLoad(4, {
      baseUrl: e2e().appUrl, users, routes: PRICED_ROUTES, count: 600, concurrency: 12, timeoutMs: 20_000, keepDebitIds: 50,
    });
    let loading = true;
    void load.finally(() => (loading = false));

    // The operator, meanwhile: top-ups (a third of them retried with the same key) and
    // refunds of requests it made itself (half of them sent twice).
    const operatorErrors: string[] = [];
    let step = 0;
    while (loading) {
      step++;
      const user = users[step % users.length]!;
      const b = books.get(user.id)!;
      if (step % 3 === 0) {
        const amount = 1 + (step % 50);
        const key = `k-${crypto.randomUUID()}`;
        const send = () => api(`/api/admin/users/${user.id}/tokens`, {
          method: "POST", admin: true, headers: { "idempotency-key": key }, json: { amount, reason: "operator" },
        });
        const first = await send();
        if (first.status !== 201) operatorErrors.push(`top-up ${first.status}`);
        else {
          b.credited += amount;
          b.creditEntries++;
        }
        if (step % 9 === 0) {
          const again = await send();
          const body = (await again.json()) as { duplicate?: boolean };
          if (again.status !== 200 || body.duplicate !== true) operatorErrors.push(`retried top-up ${again.status}`);
        }
      } else {
        const route = PRICED_ROUTES[step % PRICED_ROUTES.length]!;
        const res = await api(route.path, { method: "POST", token: user.token, headers: { "content-type": "application/json" }, body: route.body });
        if (res.status === 200) {
          const { debitId } = (await res.json()) as { debitId: string };
          b.paid++;
          b.paidTokens += route.cost;
          b.debitIds.add(debitId);
          if (step % 2 === 0) {
            const refund = () => api(`/api/admin/users/${user.id}/refunds`, { method: "POST", admin: true, json: { debitId } });
            const r1 = await refund();
            if (r1.status !== 201) operatorErrors.push(`refund ${r1.status} ${await r1.text()}`);
            else {
              b.refunds++;
              b.refundedTokens += route.cost;
            }
            if (step % 4 === 0) {
              const r2 = await refund();
              if (r2.status !== 200 || ((await r2.json()) as { status: string }).status !== "already_refunded") operatorErrors.push(`second refund ${r2.status}`);
            }
          }
        } else if (res.status !== 402) {
          operatorErrors.push(`operator's own request ${res.status}`);
        }
      }
    }
    const result = await load;
    if (process.env.RELIABILITY_DEBUG) {
      console.log(`load: ${JSON.stringify(result.statuses)}; operator: ${step} steps, ${[...books.values()].reduce((a, b) => a + b.creditEntries, 0)} credits, ${[...books.values()].reduce((a, b) => a + b.refunds, 0)} refunds`);
    }
    expect(operatorErrors).toEqual([]);
    expect(result.unexpected).toEqual([]);
    // Without faults every request is paid or refused; a 503 would mean a KV round trip
    // slower than the 1 s bound, which this load should never cause.
    expect(Object.keys(result.statuses).sort()).toEqual(expect.arrayContaining(["200"]));
    expect(Object.keys(result.statuses).filter((s) => s !== "200" && s !== "402")).toEqual([]);
    const total = Object.values(result.statuses).reduce((a, n) => a + n, 0);
    expect(total).toBe(4 * 600);

    for (const user of users) {
      const b = books.get(user.id)!;
      const t = result.users[user.id]!;
      const view = await atRest(user.id);
      const { ledger } = view;
      const paid = t.paid + b.paid;
      const paidTokens = t.paidTokens + b.paidTokens;
      expect(view.problems, user.id).toEqual([]);
      expect(ledger.balance).toBeGreaterThanOrEqual(0);
      expect(ledger.totals.credits).toBe(b.credited);
      expect(ledger.totals.debits).toBe(paidTokens);
      expect(ledger.totals.refunds).toBe(b.refundedTokens);
      expect(ledger.totals.generations).toBe(paid - b.refunds);
      expect(ledger.balance).toBe(b.credited - paidTokens + b.refundedTokens);
      // No 200 without a debit, no debit without a 200: the history agrees entry by entry.
      expect(view.historyComplete).toBe(true);
      expect(countHistory(view, "debit")).toBe(paid);
      expect(countHistory(view, "refund")).toBe(b.refunds);
      expect(countHistory(view, "credit")).toBe(b.creditEntries);
      const debitIds = new Set(ledger.history.filter((e) => e.type === "debit").map((e) => e.id));
      for (const { debitId } of t.paidIds) expect(debitIds.has(debitId)).toBe(true);
      for (const debitId of b.debitIds) expect(debitIds.has(debitId)).toBe(true);
      // Users who ran dry were refused, never overdrawn: the balance covered every 200.
      if (b.start < 100) expect(t.refused).toBeGreaterThan(0);
    }
  });
});
