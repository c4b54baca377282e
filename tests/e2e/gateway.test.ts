import { describe, expect, it } from "vitest";
import { api, balanceOf, control, topUp, uniqueUser, userToken } from "./support/context";


describe("the metered routes, through next start", () => {
  it("serves a paid request with the balance headers, and 402 exactly when the balance runs out", async () => {
    const user = uniqueUser("e2e");
    await topUp(user, 10);
    const token = await userToken(user);
    const first = await api("/api/generate/article", { method: "POST", token, json: { topic: "tea" } });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-tokens-cost")).toBe("3");
    expect(first.headers.get("x-tokens-remaining")).toBe("7");
    expect(first.headers.get("ratelimit")).toMatch(/^"tokens";r=7;t=\d+$/);
    expect(first.headers.get("server-timing")).toMatch(/meter;dur=/);
    expect(await first.json()).toMatchObject({ result: { title: "tea: a short guide" }, charged: 3 });

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api("/api/generate/article", { method: "POST", token, json: { topic: "tea" } })).status);
    expect(statuses).toEqual([200, 200, 402]);
    const refused = await api("/api/generate/article", { method: "POST", token, json: { topic: "tea" } });
    expect(refused.status).toBe(402);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(await refused.json()).toMatchObject({ code: "insufficient_tokens", balance: 1, cost: 3 });
  });

  it.each([
    ["missing", async () => undefined, "token_missing"],
    ["expired", (u: string) => userToken(u, { ttlSeconds: 60, now: () => Date.now() - 7_200_000 }), "token_expired"],
    ["signed with another key", (u: string) => userToken(u, { secret: "some-other-secret-0123456789abcdef0123" }), "token_bad_signature"],
    ["for another audience", (u: string) => userToken(u, { audience: "someone-else" }), "token_wrong_audience"],
    ["malformed", async () => "not-a-jwt", "token_malformed"],
  ])("answers 401 for a %s token and does no work", async (_label, make, reason) => {
    const user = uniqueUser("e2e");
    await topUp(user, 5);
    const token = await make(user);
    const res = await api("/api/chat", { method: "POST", token, json: { message: "hi" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const body = (await res.json()) as { code: string; reason?: string };
    expect(body.code).toBe("unauthenticated");
    if (reason !== "token_missing") expect(body.reason).toBe(reason);
    expect(await balanceOf(user)).toBe(5);
  });

  it("refunds a failing handler exactly once", async () => {
    const user = uniqueUser("e2e");
    await topUp(user, 20);
    const token = await userToken(user);
    const res = await api("/api/generate/workout-plan", { method: "POST", token, json: { goal: "run", fail: true } });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: "generation_failed", refunded: true });
    expect(res.headers.get("x-tokens-refunded")).toBe("10");
    // The balance after the refund, not the one the gate saw (issue 9, 1c).
    expect(res.headers.get("x-tokens-remaining")).toBe("20");
    expect(res.headers.get("ratelimit")).toMatch(/^"tokens";r=20;t=\d+$/);
    expect(await balanceOf(user)).toBe(20);
    const stats = (await (await api("/api/me", { token })).json()) as { history: { type: string }[]; generations: number };
    await expect.poll(async () => ((await (await api("/api/me", { token })).json()) as { history: { type: string }[] }).history.map((e) => e.type))
      .toEqual(["refund", "debit", "credit"]);
    expect(stats.generations).toBe(0);
  });

  it("gives the tokens back when the handler refuses the input", async () => {
    const user = uniqueUser("e2e");
    await topUp(user, 5);
    const token = await userToken(user);
    const res = await api("/api/generate/nutrition-plan", { method: "POST", token, json: { goal: "", calories: 99 } });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-tokens-refunded")).toBe("5");
    expect(res.headers.get("x-tokens-remaining")).toBe("5");
    expect(await balanceOf(user)).toBe(5);
  });

  it("charges an Idempotency-Key once and replays the first answer", async () => {
    const user = uniqueUser("e2e");
    await topUp(user, 10);
    const token = await userToken(user);
    const headers = { "idempotency-key": `"${crypto.randomUUID()}"` };
    const first = await api("/api/generate/article", { method: "POST", token, headers, json: { topic: "bread" } });
    expect(first.status).toBe(200);
    const firstBody = await first.text();
    await expect.poll(async () => {
      const again = await api("/api/generate/article", { method: "POST", token, headers, json: { topic: "bread" } });
      return [again.status, again.headers.get("idempotent-replayed"), await again.text()];
    }).toEqual([200, "true", firstBody]);
    await expect.poll(() => balanceOf(user)).toBe(7);
  });

  it("refuses an Idempotency-Key reused for another route or body (422) and charges nothing", async () => {
    const user = uniqueUser("e2e");
    await topUp(user, 10);
    const token = await userToken(user);
    const headers = { "idempotency-key": `"${crypto.randomUUID()}"` };
    const first = await api("/api/generate/article", { method: "POST", token, headers, json: { topic: "bread" } });
    expect(first.status).toBe(200);
    // The gate read the body for the fingerprint; the handler still got it.
    expect(await first.json()).toMatchObject({ result: { title: "bread: a short guide" } });
    const otherBody = await api("/api/generate/article", { method: "POST", token, headers, json: { topic: "rye" } });
    const otherRoute = await api("/api/chat", { method: "POST", token, headers, json: { message: "bread" } });
    for (const res of [otherBody, otherRoute]) {
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ code: "idempotency_key_reused" });
    }
    await expect.poll(() => balanceOf(user)).toBe(7);
  });

  it("ignores identity headers sent by the client", async () => {
    const victim = uniqueUser("victim");
    const attacker = uniqueUser("attacker");
    await topUp(victim, 10);
    await topUp(attacker, 10);
    const res = await api("/api/chat", {
      method: "POST",
      token: await userToken(attacker),
      headers: { "x-tollgate-user": victim, "x-tollgate-cost": "0", "x-tollgate-debit": "deb_00000000000000000000000000000000" },
      json: { message: "who am i" },
    });
    expect(res.status).toBe(200);
    expect(await balanceOf(victim)).toBe(10);
    expect(await balanceOf(attacker)).toBe(9);
  });

  it("refuses routes outside the pricing table", async () => {
    const token = await userToken(uniqueUser("e2e"));
    expect((await api("/api/generate/poem", { method: "POST", token, json: {} })).status).toBe(404);
    expect((await api("/api/generate/article", { method: "GET", token })).status).toBe(405);
  });

  it("makes exactly one KV round trip per paid request (settlements ride on the next one)", async ({ skip }) => {
    const user = uniqueUser("e2e");
    await topUp(user, 100);
    const token = await userToken(user);
    await new Promise((r) => setTimeout(r, 100));
    await control("/counters/reset", {});
    const n = 20;
    // A request's settle waits up to 100 ms (the coalescer's settleDelayMs) for the next
    // debit. A next request that took longer than that end to end may have let it go alone:
    // on a loaded machine those are counted, not guessed (on an idle one there are none).
    let slow = 0;
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      expect((await api("/api/chat", { method: "POST", token, json: { message: `m${i}` } })).status).toBe(200);
      if (i > 0 && performance.now() - started >= 90) slow++;
    }
    const during = (await control("/counters")) as { requests: number; byPath: Record<string, number> };
    // With most requests slow the bound approaches 2n, and a settle per request would pass:
    // on such a machine the run proves nothing, and says so rather than passing.
    if (slow > n / 4) skip(`${slow} of ${n} requests took ≥ 90 ms: too loaded to tell a riding settle from a lone one`);
    // n debits, each one transaction; at most one settle batch has gone out alone (+ slow).
    expect(during.requests).toBeGreaterThanOrEqual(n);
    expect(during.requests).toBeLessThanOrEqual(n + 1 + slow);
    await new Promise((r) => setTimeout(r, 200));
    const after = (await control("/counters")) as { requests: number };
    expect(after.requests).toBeLessThanOrEqual(n + 2 + slow);
  });
});
