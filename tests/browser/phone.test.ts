import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, topUp, uniqueUser, userToken } from "../e2e/support/context";
import { ARTIFACTS, expectAccessible, expectNoHorizontalScroll, launchBrowser, newContext, PHONE, signInWithCookie } from "./support/browser";

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const LONG_REASON = "Quarterly goodwill credit for the enterprise pilot programme, invoice 2025-11-0042 (approved by finance)";

describe("on a 375 px phone, in Chromium", () => {
  it("renders the sign-in, the dashboard and the admin console without horizontal scrolling", async () => {
    const user = uniqueUser("phone-user-with-a-rather-long-identifier");
    const token = await userToken(user);
    await api(`/api/admin/users/${user}/tokens`, { method: "POST", admin: true, json: { amount: 100_000, reason: LONG_REASON } });
    for (const [path, json] of [["/api/generate/article", { topic: "tea" }], ["/api/generate/workout-plan", { goal: "run" }], ["/api/chat", { message: "hi" }]] as const) {
      expect((await api(path, { method: "POST", token, json })).status).toBe(200);
    }

    const signedOut = await newContext(browser, PHONE);
    const welcome = await signedOut.context.newPage();
    await welcome.goto("/");
    await welcome.getByRole("button", { name: "Sign in", exact: true }).waitFor();
    await expectNoHorizontalScroll(welcome);
    await welcome.screenshot({ path: resolve(ARTIFACTS, "sign-in-phone.png"), fullPage: true });

    const signedIn = await newContext(browser, PHONE);
    await signInWithCookie(signedIn.context, token);
    const dashboard = await signedIn.context.newPage();
    await dashboard.goto("/");
    await dashboard.getByTestId("balance").waitFor();
    await expect.poll(() => dashboard.locator("table.history tbody tr").count()).toBe(4);
    await dashboard.getByLabel("Topic").fill("A rather long topic about fermentation, sourdough starters and patience");
    await dashboard.getByRole("button", { name: "Generate article" }).click();
    await dashboard.getByText(/Charged 3 tokens/).waitFor();
    await dashboard.locator(".recharts-bar-rectangle").first().waitFor();
    await expectNoHorizontalScroll(dashboard);
    await expectAccessible(dashboard);
    await dashboard.screenshot({ path: resolve(ARTIFACTS, "dashboard-phone.png"), fullPage: true });

    const admin = await newContext(browser, PHONE);
    await signInWithCookie(admin.context, await userToken(uniqueUser("ops"), { admin: true }));
    const console_ = await admin.context.newPage();
    await console_.goto(`/admin?user=${encodeURIComponent(user)}`);
    await console_.getByTestId("admin-balance").waitFor();
    await expectNoHorizontalScroll(console_);
    await console_.screenshot({ path: resolve(ARTIFACTS, "admin-console-phone.png"), fullPage: true });

    // The confirmation fits the screen too.
    await console_.getByLabel("Tokens to add").fill("1000000");
    await console_.getByLabel("Reason").fill(LONG_REASON);
    await console_.getByRole("button", { name: "Top up…" }).click();
    const box = await console_.getByRole("dialog").boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(375);
    await expectNoHorizontalScroll(console_);
    await console_.screenshot({ path: resolve(ARTIFACTS, "admin-dialog-phone.png") });

    for (const side of [signedOut, signedIn, admin]) {
      expect(side.errors).toEqual([]);
      await side.context.close();
    }
  });

  it("keeps the 403 page readable on a phone", async () => {
    const other = uniqueUser("phone");
    await topUp(other, 1);
    const { context, errors } = await newContext(browser, PHONE);
    await signInWithCookie(context, await userToken(uniqueUser("phone-nosy")));
    const page = await context.newPage();
    await page.goto("/admin");
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Administrators only");
    await expectNoHorizontalScroll(page);
    expect(errors).toEqual([]);
    await context.close();
  });
});
