import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { api, control, topUp, uniqueUser, userToken } from "../e2e/support/context";
import { balanceText, launchBrowser, newContext, signInWithCookie } from "./support/browser";

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
// Started again only if a failed test left it stopped: starting a running server would fail
// on its port and leave the new engine's Redis connection open.
let kvStopped = false;
afterEach(async () => {
  if (kvStopped) await control("/kv/start", {});
  kvStopped = false;
});

describe("the dashboard while the KV store is down, in Chromium", () => {
  it("says the figures may be stale, explains a 503 from a generation, and recovers by itself", async () => {
    const user = uniqueUser("down");
    await topUp(user, 9);
    const { context, errors } = await newContext(browser);
    await signInWithCookie(context, await userToken(user));
    const page = await context.newPage();
    await page.goto("/");
    await expect.poll(() => balanceText(page)).toBe("9");

    await control("/kv/stop", {});
    kvStopped = true;
    const stale = page.getByRole("status").filter({ hasText: "Tollgate is not answering right now" });
    await expect.poll(() => stale.count(), { timeout: 10_000 }).toBe(1);
    // The last known balance stays on screen rather than a blank page.
    expect(await balanceText(page)).toBe("9");

    await page.getByRole("button", { name: "Generate article" }).click();
    const alert = page.getByTestId("generation-result").getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/temporarily unavailable, so nothing was done and nothing was charged\. Try again in \d+ s\./);

    await control("/kv/start", {});
    kvStopped = false;
    // Polling backs off while the store is down (at most 15 s between tries).
    await expect.poll(() => stale.count(), { timeout: 20_000 }).toBe(0);
    expect(await balanceText(page)).toBe("9");
    expect(((await (await api(`/api/admin/users/${user}`, { admin: true })).json()) as { balance: number }).balance).toBe(9);
    expect(errors).toEqual([]);
    await context.close();
  });
});
