import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, balanceOf, topUp, uniqueUser, userToken } from "../e2e/support/context";
import { ARTIFACTS, balanceText, expectAccessible, launchBrowser, newContext, signInWithCookie } from "./support/browser";

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});


describe("the admin console, in Chromium", () => {
  it("an admin's top-up shows on the user's open dashboard within 2 s, without a reload", async () => {
    const user = uniqueUser("live");
    await topUp(user, 30);
    // Some spending first, so the dashboard (and its screenshot) has a chart and a history.
    const token = await userToken(user);
    for (const [path, json] of [["/api/generate/article", { topic: "tea" }], ["/api/generate/workout-plan", { goal: "run" }], ["/api/chat", { message: "hi" }]] as const) {
      expect((await api(path, { method: "POST", token, json })).status).toBe(200);
    }

    // The user's dashboard, open in one browser.
    const userSide = await newContext(browser);
    await signInWithCookie(userSide.context, token);
    const dashboard = await userSide.context.newPage();
    await dashboard.goto("/");
    await expect.poll(() => balanceText(dashboard)).toBe("16");
    await dashboard.evaluate(() => ((window as unknown as { marker: string }).marker = "same document"));

    // The admin, in another browser, signs in with a token from the identity provider.
    const adminSide = await newContext(browser);
    const console_ = await adminSide.context.newPage();
    await console_.goto("/admin");
    const admin = uniqueUser("ops");
    await console_.getByLabel("Token from your identity provider").fill(await userToken(admin, { admin: true }));
    await console_.getByRole("button", { name: "Sign in", exact: true }).click();
    await console_.getByLabel("User id").fill(user);
    await console_.getByRole("button", { name: "Look up" }).click();
    await expect.poll(() => console_.getByTestId("admin-balance").textContent()).toBe("16");
    expect(new URL(console_.url()).searchParams.get("user")).toBe(user);

    // Every change asks first; cancelling (Escape) changes nothing.
    await console_.getByLabel("Tokens to add").fill("500");
    await console_.getByLabel("Reason").fill("Goodwill credit");
    await console_.getByRole("button", { name: "Top up…" }).click();
    const dialog = console_.getByRole("dialog", { name: "Confirm top-up" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("Their balance goes from 16 to 516");
    expect(await console_.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await console_.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(await balanceOf(user)).toBe(16);

    await console_.getByRole("button", { name: "Top up…" }).click();
    await dialog.waitFor();
    const [answer] = await Promise.all([
      console_.waitForResponse((r) => r.url().endsWith("/tokens") && r.request().method() === "POST"),
      dialog.getByRole("button", { name: "Add 500 tokens" }).click(),
    ]);
    const appliedAt = Date.now();
    expect(answer.status()).toBe(201);
    await expect.poll(() => balanceText(dashboard), { timeout: 2_000, interval: 50 }).toBe("516");
    expect(Date.now() - appliedAt).toBeLessThan(2_000);
    expect(await dashboard.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe("same document");
    expect(await dashboard.getByRole("table").first().textContent()).toContain("Goodwill credit");

    await expect.poll(() => console_.getByTestId("admin-result").textContent()).toBe(`Added 500 tokens to ${user}. New balance: 516 tokens.`);
    await expect.poll(() => console_.getByTestId("admin-balance").textContent()).toBe("516");
    // The console says which admin made it (the admin token's subject); the user's own view does not.
    await expect.poll(() => console_.locator('tr[data-type="credit"] td[data-label="By"]').first().textContent()).toBe(admin);
    expect(await dashboard.getByRole("table").first().textContent()).not.toContain(admin);
    await expectAccessible(console_);
    await console_.screenshot({ path: resolve(ARTIFACTS, "admin-console.png"), fullPage: true });
    await dashboard.screenshot({ path: resolve(ARTIFACTS, "dashboard.png"), fullPage: true });

    // Reset, confirmed in its own dialog; the dashboard follows again.
    await console_.getByRole("button", { name: "Reset user…" }).click();
    const resetDialog = console_.getByRole("dialog", { name: "Reset this user?" });
    await resetDialog.getByRole("button", { name: "Reset user" }).click();
    await expect.poll(() => console_.getByTestId("admin-result").textContent()).toContain(`Reset ${user}. Balance is now 0 tokens`);
    await expect.poll(() => balanceText(dashboard), { timeout: 2_000, interval: 50 }).toBe("0");
    await expect.poll(() => console_.locator('tr[data-type="reset"] td[data-label="By"]').first().textContent()).toBe(admin);
    expect(userSide.errors).toEqual([]);
    expect(adminSide.errors).toEqual([]);
    await userSide.context.close();
    await adminSide.context.close();
  });

  it("checks input before asking, and shows the API's problem detail when it refuses", async () => {
    const user = uniqueUser("adm");
    await topUp(user, 5);
    const { context, errors } = await newContext(browser);
    await signInWithCookie(context, await userToken(uniqueUser("ops"), { admin: true }));
    const page = await context.newPage();
    await page.goto(`/admin?user=${encodeURIComponent(user)}`);
    await expect.poll(() => page.getByTestId("admin-balance").textContent()).toBe("5");

    await page.getByLabel("Tokens to add").fill("1.5");
    await page.getByLabel("Reason").fill("x");
    await page.getByRole("button", { name: "Top up…" }).click();
    expect(await page.getByRole("alert").filter({ hasText: "Enter a whole number" }).count()).toBe(1);
    expect(await page.getByLabel("Tokens to add").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByRole("dialog").count()).toBe(0);

    // A refusal the console cannot foresee: its `detail` and `code` are shown as they come.
    await page.route("**/api/admin/users/*/tokens", (route) =>
      route.fulfill({
        status: 409,
        contentType: "application/problem+json",
        body: JSON.stringify({ type: "urn:tollgate:problem:idempotency_key_in_use", title: "Conflict", status: 409, code: "idempotency_key_in_use", detail: "a request with this key is still in progress" }),
      }),
    );
    await page.getByLabel("Tokens to add").fill("20");
    await page.getByRole("button", { name: "Top up…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Add 20 tokens" }).click();
    await expect.poll(() => page.getByTestId("admin-result").textContent()).toBe("A request with this key is still in progress. (idempotency_key_in_use)");
    expect(await balanceOf(user)).toBe(5);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("refuses a non-admin: the console shows 403 and the admin API answers 403 to the browser", async () => {
    const target = uniqueUser("adm");
    await topUp(target, 50);
    const { context, errors } = await newContext(browser);
    const nosy = uniqueUser("nosy");
    await signInWithCookie(context, await userToken(nosy));
    const page = await context.newPage();
    await page.goto("/admin");
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Administrators only");
    expect(await page.getByText("403").isVisible()).toBe(true);
    expect(await page.getByLabel("User id").count()).toBe(0);
    await expectAccessible(page);

    const statuses = await page.evaluate(async (id) => {
      const path = `/api/admin/users/${encodeURIComponent(id)}`;
      const json = { "content-type": "application/json" };
      return [
        (await fetch(path, { credentials: "same-origin" })).status,
        (await fetch(`${path}/tokens`, { method: "POST", credentials: "same-origin", headers: json, body: JSON.stringify({ amount: 1000000, reason: "steal" }) })).status,
        (await fetch(`${path}/reset`, { method: "POST", credentials: "same-origin", headers: json, body: "{}" })).status,
      ];
    }, target);
    expect(statuses).toEqual([403, 403, 403]);
    expect(await balanceOf(target)).toBe(50);

    // Anonymous visitors are asked to sign in instead.
    const anonymous = await newContext(browser);
    const anonymousPage = await anonymous.context.newPage();
    await anonymousPage.goto("/admin");
    expect(await anonymousPage.getByText("Sign in with an administrator account").isVisible()).toBe(true);
    expect(await anonymousPage.getByLabel("User id").count()).toBe(0);
    expect(errors).toEqual([]);
    expect(anonymous.errors).toEqual([]);
    await anonymous.context.close();
    await context.close();
  });
});
