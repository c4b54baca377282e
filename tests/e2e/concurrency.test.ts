import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { api, e2e, topUp, uniqueUser, userToken } from "./support/context";

const run = promisify(execFile);

describe("hundreds of parallel requests from several processes on one user", () => {
  it("never serves more than the balance paid for, and the ledger reconciles", async () => {
    const user = uniqueUser("burst");
    const start = 150;
    await topUp(user, start);
    const token = await userToken(user);
    const worker = new URL("./support/load-worker.mjs", import.meta.url).pathname;
    const processes = 4;
    const perProcess = 100;
    const outputs = await Promise.all(Array.from({ length: processes }, () =>
      run(process.execPath, [worker, `${e2e().appUrl}/api/chat`, token, String(perProcess), "25", JSON.stringify({ message: "hi" })])));
    const tally: Record<string, number> = {};
    for (const { stdout } of outputs) {
      for (const [status, n] of Object.entries(JSON.parse(stdout) as Record<string, number>)) tally[status] = (tally[status] ?? 0) + n;
    }
    const ok = tally["200"] ?? 0;
    expect(ok * 1).toBeLessThanOrEqual(start);
    expect(ok + (tally["402"] ?? 0)).toBe(processes * perProcess);
    // False refusals (402 while a pending compensation held tokens) are possible, but rare.
    expect(ok).toBeGreaterThanOrEqual(start - 5);

    await new Promise((r) => setTimeout(r, 300));
    const stats = (await (await api(`/api/admin/users/${user}`, { admin: true })).json()) as {
      balance: number; generations: number; tokensUsed: number; pending: number; history: { amount: number }[];
    };
    expect(stats.balance).toBe(start - ok);
    expect(stats.generations).toBe(ok);
    expect(stats.tokensUsed).toBe(ok);
    expect(stats.pending).toBe(0);
    // The complete history (limit 1000 in these tests) sums to the balance.
    expect(stats.history).toHaveLength(ok + 1);
    expect(stats.history.reduce((sum, e) => sum + e.amount, 0)).toBe(stats.balance);
  });
});
