import { describe, expect, it } from "vitest";
import { api, balanceOf, control, topUp, uniqueUser, userToken } from "./support/context";

/**
 * A priced route outside the middleware matcher (/api/bench/metered, the chat work at
 * 1 token) is gated by `metered()` inside its handler: the same answers, charges and
 * round trips as through the Edge middleware.
 */
describe("the gate run inside a route handler, through next start", () => {
  const chat = (token: string | undefined, headers: Record<string, string> = {}) =>
    api("/api/bench/metered", { method: "POST", token, json: { message: "hi" }, headers });

  it("charges once with the balance headers, and answers 401 and 402 without doing the work", async () => {
    const user = uniqueUser("inline");
    await topUp(user, 2);
    const token = await userToken(user);
    // A client's forged pass headers are not trusted: they do not verify.
    const forged = await chat(token, { "x-tollgate-user": "someone-else", "x-tollgate-signature": "AAAA" });
    expect(forged.status).toBe(403);
    // Identity headers without a signature are ignored: the token decides who pays.
    const first = await chat(token, { "x-tollgate-user": "someone-else" });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-tokens-cost")).toBe("1");
    expect(first.headers.get("x-tokens-remaining")).toBe("1");
    expect(first.headers.get("ratelimit")).toMatch(/^"tokens";r=1;t=\d+$/);
    expect(await first.json()).toMatchObject({ charged: 1 });
    expect((await chat(token)).status).toBe(200);
    const refused = await chat(token);
    expect(refused.status).toBe(402);
    expect(await refused.json()).toMatchObject({ code: "insufficient_tokens", balance: 0, cost: 1 });
    expect((await chat(undefined)).status).toBe(401);
    expect(await balanceOf(user)).toBe(0);
    await expect.poll(async () => ((await (await api("/api/me", { token })).json()) as { history: { type: string; route?: string }[] }).history
      .map((e) => `${e.type} ${e.route ?? ""}`.trim())).toEqual(["debit POST /api/bench/metered", "debit POST /api/bench/metered", "credit"]);
  });

  it("the benchmark's unmetered twin does the same work without a charge", async () => {
    const res = await api("/api/bench/plain", { method: "POST", json: { message: "hi" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tokens-cost")).toBeNull();
    expect(await res.json()).toMatchObject({ charged: 0 });
  });

  it("makes exactly one KV round trip per paid request", async () => {
    const user = uniqueUser("inline");
    await topUp(user, 100);
    const token = await userToken(user);
    await new Promise((r) => setTimeout(r, 100));
    await control("/counters/reset", {});
    const n = 20;
    for (let i = 0; i < n; i++) expect((await chat(token)).status).toBe(200);
    const during = (await control("/counters")) as { requests: number };
    expect(during.requests).toBeGreaterThanOrEqual(n);
    expect(during.requests).toBeLessThanOrEqual(n + 1);
  });
});
