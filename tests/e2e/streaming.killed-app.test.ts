import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { freePort } from "../support/ports";
import { ledgerOf } from "../reliability/support/ledger";
import { api, e2e, topUp, uniqueUser, userToken } from "./support/context";
import { nextBin, waitUntilUp } from "./support/next-app";
import { waitUntil } from "./support/poll";

/**
 * An instance that dies mid-stream leaves its hold open; after the hold's deadline (and the
 * heal delay) the next reader of that user finishes it: charged in full by default, as a
 * fixed-price debit whose instance died stays charged. A second app on the same build and
 * store, with a short hold deadline, is killed with SIGKILL while it streams.
 */
describe("a killed app's holds", () => {
  it("are finished by the next reader after the deadline, charged in full", async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...e2e().appEnv, NODE_ENV: "production", TOLLGATE_HOLD_DEADLINE_MS: "3000", TOLLGATE_DEMO_STREAM_DELAY_MS: "200" };
    const doomed = spawn(process.execPath, [nextBin(), "start", "-p", String(port), "-H", "127.0.0.1"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    doomed.stdout?.on("data", (d) => (log += d));
    doomed.stderr?.on("data", (d) => (log += d));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilUp(async () => (await fetch(`${url}/api/me`)).status === 401, 60_000, () => log);
      const user = uniqueUser("stream-killed");
      await topUp(user, 50);
      const token = await userToken(user);
      const askedAt = Date.now();
      const response = await fetch(`${url}/api/chat/stream`, {
        method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ message: "Write 400 words" }),
      });
      expect(response.status).toBe(200);
      const reserved = Number(response.headers.get("x-tokens-reserved"));
      const reader = response.body!.getReader();
      await reader.read();
      doomed.kill("SIGKILL");
      await reader.cancel().catch(() => undefined);

      // Open, and shown as reserved, until the deadline plus the heal delay; /api/me reads
      // heal, so it is polled until then (and a while longer: a loaded machine is slow).
      const killedAt = Date.now();
      const me = async () => (await (await api("/api/me", { token })).json()) as { reserved: number; balance: number };
      expect(await me()).toMatchObject({ reserved, balance: 50 - reserved });
      const healAfterMs = Number(e2e().appEnv.TOLLGATE_HEAL_AFTER_MS);
      const after = await waitUntil(me, (m) => m.reserved === 0, 3000 + healAfterMs + 30_000 - (Date.now() - killedAt), 250);
      expect(after).toMatchObject({ reserved: 0, balance: 50 - reserved });
      // Not before its deadline and the heal delay (the hold was taken after askedAt): the
      // healer never finishes a hold whose owner may still settle it.
      expect(Date.now() - askedAt).toBeGreaterThanOrEqual(3000 + healAfterMs);
      const { ledger, problems } = await ledgerOf(user);
      expect(problems).toEqual([]);
      expect(ledger.openIds).toEqual([]);
      expect(ledger.history.filter((e) => e.held !== undefined)).toMatchObject([{ amount: -reserved, held: reserved, ended: "expired" }]);
    } finally {
      doomed.kill("SIGKILL");
    }
  }, 120_000);
});
