import { describe, expect, it } from "vitest";
import { checkInvariants, readLedger, userKeys } from "../../lib/metering";
import { kvTargets, meteringOn } from "../support/kv";

describe.each(kvTargets())("debit on the $engine engine", (target) => {
  it("takes the cost once and reports the balance after it", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "alice", amount: 10, reason: "Top-up" });
    const outcome = await m.debit({ userId: "alice", cost: 3, route: "POST /api/generate/article" });
    expect(outcome).toMatchObject({ status: "ok", balance: 7, cost: 3 });
    if (outcome.status !== "ok") throw new Error("unreachable");
    expect(outcome.debitId).toMatch(/^deb_[0-9a-f]{32}$/);
    await outcome.settle();
    const stats = await m.stats("alice");
    expect(stats).toMatchObject({ balance: 7, generations: 1, tokensUsed: 3, tokensAdded: 10, pending: 0 });
    expect(stats.history.map((e) => [e.type, e.amount, e.balanceAfter])).toEqual([["debit", -3, 7], ["credit", 10, 10]]);
    expect(stats.history[0]!.route).toBe("POST /api/generate/article");
    expect(stats.lastGenerationAt).toBe(stats.history[0]!.at);
    expect(stats.usageByDay).toEqual([{ day: new Date().toISOString().slice(0, 10), route: "POST /api/generate/article", tokens: 3 }]);
  });

  it("refuses a debit the balance cannot cover and leaves no trace of it", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "bob", amount: 5, reason: "Top-up" });
    const before = await readLedger(m.context, "bob");
    const outcome = await m.debit({ userId: "bob", cost: 6 });
    expect(outcome).toEqual({ status: "insufficient_tokens", userId: "bob", cost: 6, balance: 5, pending: null });
    const after = await readLedger(m.context, "bob");
    expect(after.balance).toBe(5);
    expect(after.totals).toEqual(before.totals);
    expect(after.history).toEqual(before.history);
    expect(after.openIds).toEqual([]);
  });

  it("spends a balance to exactly zero, then refuses", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "carol", amount: 9, reason: "Top-up" });
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await m.debit({ userId: "carol", cost: 3 })).status);
    expect(results).toEqual(["ok", "ok", "ok", "insufficient_tokens"]);
    expect((await readLedger(m.context, "carol")).balance).toBe(0);
  });

  // Regression: a prototype pushed the debit's history line inside the debit transaction
  // (LPUSH + LTRIM) and removed it on refusal (LREM); a burst of refusals then trimmed
  // every real entry out of a full history.
  it("keeps every real history entry through a burst of refusals", async () => {
    const m = meteringOn(target, { historyLimit: 20 });
    await m.credit({ userId: "dave", amount: 19, reason: "Top-up" });
    for (let i = 0; i < 19; i++) {
      const o = await m.debit({ userId: "dave", cost: 1 });
      if (o.status === "ok") await o.settle();
    }
    const full = await readLedger(m.context, "dave");
    expect(full.history).toHaveLength(20);
    const refusals = await Promise.all(Array.from({ length: 60 }, () => m.debit({ userId: "dave", cost: 1 })));
    expect(refusals.every((o) => o.status === "insufficient_tokens")).toBe(true);
    const after = await readLedger(m.context, "dave");
    expect(after.history).toEqual(full.history);
    expect(checkInvariants(after, { historyComplete: true })).toEqual([]);
  });

  it("charges an Idempotency-Key once and answers the replay with the stored response", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "erin", amount: 10, reason: "Top-up" });
    const first = await m.debit({ userId: "erin", cost: 4, idempotencyKey: "order-1" });
    expect(first.status).toBe("ok");
    const second = await m.debit({ userId: "erin", cost: 4, idempotencyKey: "order-1" });
    expect(second).toMatchObject({ status: "replay", originalDebitId: first.status === "ok" ? first.debitId : "" });
    // The replay's own DECRBY is given back in the background; wait until it is.
    await expect.poll(async () => (await readLedger(m.context, "erin")).balance).toBe(6);
    const third = await m.debit({ userId: "erin", cost: 4, idempotencyKey: "order-2" });
    expect(third).toMatchObject({ status: "ok", balance: 2 });
  });

  it("scopes an Idempotency-Key to its request: another route or body is refused and charged nothing", async () => {
    const m = meteringOn(target);
    await m.credit({ userId: "eli", amount: 10, reason: "Top-up" });
    const article = { target: "POST /api/generate/article", bodySha256: "A".repeat(43) };
    const first = await m.debit({ userId: "eli", cost: 3, idempotencyKey: "k", requestFingerprint: article });
    if (first.status !== "ok") throw new Error("refused");
    await first.settle();
    expect(await m.debit({ userId: "eli", cost: 1, idempotencyKey: "k", requestFingerprint: { ...article, target: "POST /api/chat" } }))
      .toMatchObject({ status: "idempotency_key_reused", mismatch: "target", originalDebitId: first.debitId });
    expect(await m.debit({ userId: "eli", cost: 3, idempotencyKey: "k", requestFingerprint: { ...article, bodySha256: "B".repeat(43) } }))
      .toMatchObject({ status: "idempotency_key_reused", mismatch: "body" });
    expect(await m.debit({ userId: "eli", cost: 3, idempotencyKey: "k" })).toMatchObject({ status: "idempotency_key_reused", mismatch: "target" });
    expect(await m.debit({ userId: "eli", cost: 3, idempotencyKey: "k", requestFingerprint: article })).toMatchObject({ status: "replay" });
    await expect.poll(async () => (await readLedger(m.context, "eli")).balance).toBe(7);
    const ledger = await readLedger(m.context, "eli");
    expect(ledger.openIds).toEqual([]);
    expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    // The key still names the first debit, with its fingerprint (idempotency-record.ts).
    const [held] = await m.context.kv.multi().get(userKeys(m.context.config.namespace, "eli").idempotency("k")).exec();
    expect(held).toBe(`v2|${first.debitId}|${"A".repeat(43)}|POST /api/generate/article`);
    await expect(m.debit({ userId: "eli", cost: 1, idempotencyKey: "k2", requestFingerprint: { target: "POST /x", bodySha256: "short" } }))
      .rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("a refused debit frees its Idempotency-Key for a retry after a top-up", async () => {
    const m = meteringOn(target);
    const refused = await m.debit({ userId: "fay", cost: 4, idempotencyKey: "k1" });
    expect(refused.status).toBe("insufficient_tokens");
    await m.credit({ userId: "fay", amount: 4, reason: "Top-up" });
    expect(await m.debit({ userId: "fay", cost: 4, idempotencyKey: "k1" })).toMatchObject({ status: "ok", balance: 0 });
  });

  it("rejects hostile input before anything reaches the store", async () => {
    const m = meteringOn(target);
    for (const userId of ["", "{x}", "a*", "a b", "x".repeat(129), "é", "-lead"]) {
      await expect(m.debit({ userId, cost: 1 })).rejects.toMatchObject({ code: "invalid_user_id" });
    }
    for (const cost of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, 1e10, "3" as unknown as number]) {
      await expect(m.debit({ userId: "gus", cost })).rejects.toMatchObject({ code: "invalid_amount" });
    }
    await expect(m.debit({ userId: "gus", cost: 1, idempotencyKey: "bad key" })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(m.debit({ userId: "gus", cost: 1, route: "x\n" })).rejects.toMatchObject({ code: "invalid_argument" });
    const ledger = await readLedger(m.context, "gus");
    expect(ledger.totals).toMatchObject({ credits: 0, debits: 0 });
    expect(ledger.openIds).toEqual([]);
  });
});
