import { describe, expect, it } from "vitest";
import { api, uniqueUser, userToken } from "./support/context";

const path = (user: string, rest = "") => `/api/admin/users/${encodeURIComponent(user)}${rest}`;

describe("the admin API, through next start", () => {
  it("tops up, reads and resets a user", async () => {
    const user = uniqueUser("adm");
    const up = await api(path(user, "/tokens"), { method: "POST", admin: true, json: { amount: 1000, reason: "Recharge mensuelle" } });
    expect(up.status).toBe(201);
    expect(await up.json()).toMatchObject({ userId: user, balance: 1000, added: 1000, duplicate: false });

    const read = await api(path(user), { admin: true });
    expect(read.status).toBe(200);
    const stats = (await read.json()) as { balance: number; history: { type: string; reason: string }[] };
    expect(stats.balance).toBe(1000);
    expect(stats.history[0]).toMatchObject({ type: "credit", reason: "Recharge mensuelle" });

    const reset = await api(path(user, "/reset"), { method: "POST", admin: true });
    expect(reset.status).toBe(200);
    // A non-seeded user starts over at the monthly allowance (0 in these tests).
    expect(await reset.json()).toMatchObject({ balance: 0, tokensAdded: 0, history: [{ type: "reset" }] });
  });

  it("applies a top-up with an Idempotency-Key once", async () => {
    const user = uniqueUser("adm");
    const headers = { "idempotency-key": crypto.randomUUID() };
    const a = await api(path(user, "/tokens"), { method: "POST", admin: true, headers, json: { amount: 50, reason: "Invoice 7" } });
    const b = await api(path(user, "/tokens"), { method: "POST", admin: true, headers, json: { amount: 50, reason: "Invoice 7" } });
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(await b.json()).toMatchObject({ duplicate: true, balance: 50 });
  });

  it("records which admin made each top-up, refund and reset; the user's own view does not name them", async () => {
    const user = uniqueUser("adm");
    const ops = uniqueUser("ops");
    const jwt = await userToken(ops, { admin: true });
    type History = { history: { id: string; type: string; actor?: string }[] };
    const historyOf = async () => ((await (await api(path(user), { admin: true })).json()) as History).history;

    expect((await api(path(user, "/tokens"), { method: "POST", admin: true, json: { amount: 10, reason: "Invoice 1" } })).status).toBe(201);
    expect((await api(path(user, "/tokens"), { method: "POST", token: jwt, json: { amount: 5, reason: "Goodwill" } })).status).toBe(201);
    expect((await api("/api/chat", { method: "POST", token: await userToken(user), json: { message: "hi" } })).status).toBe(200);
    let debit: { id: string } | undefined;
    for (let i = 0; i < 50 && debit === undefined; i++) {
      debit = (await historyOf()).find((e) => e.type === "debit");
      if (debit === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect((await api(path(user, "/refunds"), { method: "POST", token: jwt, json: { debitId: debit!.id } })).status).toBe(201);
    expect((await historyOf()).map((e) => [e.type, e.actor])).toEqual([
      ["refund", ops], ["debit", undefined], ["credit", ops], ["credit", "admin token"],
    ]);

    const me = (await (await api("/api/me", { token: await userToken(user) })).json()) as History;
    expect(me.history).toHaveLength(4);
    expect(me.history.some((e) => "actor" in e)).toBe(false);

    expect((await api(path(user, "/reset"), { method: "POST", token: jwt, json: {} })).status).toBe(200);
    expect(await historyOf()).toMatchObject([{ type: "reset", actor: ops }]);
  });

  it("accepts an admin JWT as well as the admin token", async () => {
    const user = uniqueUser("adm");
    const res = await api(path(user, "/tokens"), { method: "POST", token: await userToken("ops-1", { admin: true }), json: { amount: 5, reason: "Goodwill" } });
    expect(res.status).toBe(201);
  });

  it.each([
    ["a negative amount", { amount: -5, reason: "x" }, "invalid_amount"],
    ["a zero amount", { amount: 0, reason: "x" }, "invalid_amount"],
    ["a fractional amount", { amount: 1.5, reason: "x" }, "invalid_amount"],
    ["a huge amount", { amount: 1e15, reason: "x" }, "invalid_amount"],
    ["a string amount", { amount: "100", reason: "x" }, "invalid_amount"],
    ["an unknown field", { amount: 5, reason: "x", balance: 1e9 }, "unknown_field"],
    ["a missing amount", { reason: "x" }, "missing_field"],
    ["an empty reason", { amount: 5, reason: "" }, "invalid_argument"],
  ])("refuses %s with 400 and changes nothing", async (_label, json, code) => {
    const user = uniqueUser("adm");
    await api(path(user, "/tokens"), { method: "POST", admin: true, json: { amount: 10, reason: "start" } });
    const res = await api(path(user, "/tokens"), { method: "POST", admin: true, json });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code });
    const stats = (await (await api(path(user), { admin: true })).json()) as { balance: number; history: unknown[] };
    expect(stats.balance).toBe(10);
    expect(stats.history).toHaveLength(1);
  });

  it("refuses bad ids, wrong content types, non-JSON and oversized bodies", async () => {
    expect((await api(path("bad{id}", "/tokens"), { method: "POST", admin: true, json: { amount: 1, reason: "x" } })).status).toBe(400);
    expect((await api(path("a".repeat(200)), { admin: true })).status).toBe(400);
    const user = uniqueUser("adm");
    const wrongType = await api(path(user, "/tokens"), { method: "POST", admin: true, headers: { "content-type": "text/plain" }, body: '{"amount":1,"reason":"x"}' });
    expect(wrongType.status).toBe(415);
    const notJson = await api(path(user, "/tokens"), { method: "POST", admin: true, headers: { "content-type": "application/json" }, body: "{amount:1" });
    expect(notJson.status).toBe(400);
    const huge = await api(path(user, "/tokens"), { method: "POST", admin: true, headers: { "content-type": "application/json" }, body: JSON.stringify({ amount: 1, reason: "x".repeat(100_000) }) });
    expect(huge.status).toBe(413);
    const stats = (await (await api(path(user), { admin: true })).json()) as { balance: number };
    expect(stats.balance).toBe(0);
  });

  it("answers 401 without credentials and 403 to a non-admin, revealing nothing", async () => {
    const user = uniqueUser("adm");
    await api(path(user, "/tokens"), { method: "POST", admin: true, json: { amount: 10, reason: "start" } });
    expect((await api(path(user))).status).toBe(401);
    const token = await userToken(uniqueUser("nosy"));
    for (const [p, method] of [[path(user), "GET"], [path(user, "/tokens"), "POST"], [path(user, "/reset"), "POST"], [path("bad{id}"), "GET"]] as const) {
      const res = await api(p, { method, token, json: method === "POST" ? { amount: 1e6, reason: "steal" } : undefined });
      expect(res.status).toBe(403);
      expect(JSON.stringify(await res.json())).not.toContain(user);
    }
    expect(((await (await api(path(user), { admin: true })).json()) as { balance: number }).balance).toBe(10);
    expect((await api(path(user), { headers: { authorization: "Bearer wrong-admin-token-000000000000" } })).status).toBe(401);
  });

  it("runs the monthly cron only with the cron secret", async () => {
    expect((await api("/api/cron/monthly")).status).toBe(401);
    const res = await api("/api/cron/monthly", { headers: { authorization: "Bearer e2e-cron-secret-0123456789abcdef" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ period: expect.stringMatching(/^\d{4}-\d{2}$/) });
  });
});
