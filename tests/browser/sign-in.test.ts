import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { balanceOf, topUp, uniqueUser, userToken } from "../e2e/support/context";
import { ARTIFACTS, balanceText, expectAccessible, launchBrowser, newContext, signInWithCookie } from "./support/browser";

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});


describe("signing in and spending, in Chromium", () => {
  it("a visitor sees what Tollgate is, signs in with a token from the identity provider and sees the balance", async () => {
    const { context, errors } = await newContext(browser);
    const page = await context.newPage();
    await page.goto("/");
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Pay for AI generations with tokens");
    expect(await page.getByText("Article").first().isVisible()).toBe(true);
    await expectAccessible(page);
    await page.screenshot({ path: resolve(ARTIFACTS, "sign-in.png"), fullPage: true });

    // A production build: no one-click sign-in, the way in is a token (here the test
    // identity provider's, signed with the app's AUTH_JWT_SECRET).
    expect(await page.getByRole("button", { name: "Sign in as the test user" }).count()).toBe(0);
    await page.getByLabel("Token from your identity provider").fill(await userToken("test-user-id"));
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByTestId("balance").waitFor();
    const expected = (await balanceOf("test-user-id")).toLocaleString("en-US");
    expect(await balanceText(page)).toBe(expected);
    expect(await page.getByRole("banner").textContent()).toContain("test-user-id");
    // Not an admin: no way into the console is offered.
    expect(await page.getByRole("link", { name: "Admin" }).count()).toBe(0);

    // The session is an HttpOnly, SameSite=Strict cookie that page scripts cannot read.
    const [cookie] = (await context.cookies()).filter((c) => c.name === "tollgate_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(await page.evaluate(() => document.cookie)).not.toContain("tollgate_session");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("pasting a token signs in; generating until the balance runs out ends in a clear 402 message", async () => {
    const user = uniqueUser("web");
    await topUp(user, 7);
    const { context, errors } = await newContext(browser);
    const page = await context.newPage();
    await page.goto("/");

    const tokenField = page.getByLabel("Token from your identity provider");
    await tokenField.fill("not-a-token");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect.poll(() => page.getByTestId("sign-in-error").textContent()).toContain("does not look like a valid token");

    await tokenField.fill(await userToken(user));
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByTestId("balance").waitFor();
    expect(await balanceText(page)).toBe("7");

    const result = page.getByTestId("generation-result");
    await page.getByLabel("Topic").fill("Sourdough");
    await page.getByRole("button", { name: "Generate article" }).click();
    await expect.poll(() => result.textContent()).toContain("Charged 3 tokens · 4 left");
    expect(await result.getByRole("heading", { level: 3 }).textContent()).toBe("Sourdough: a short guide");
    await expect.poll(() => balanceText(page)).toBe("4");

    await page.getByRole("button", { name: "Generate article" }).click();
    await expect.poll(() => result.textContent()).toContain("Charged 3 tokens · 1 left");

    await page.getByRole("button", { name: "Generate article" }).click();
    const alert = result.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("Not enough tokens");
    expect(await alert.textContent()).toContain("An article costs 3 tokens and your balance is 1.");
    expect(await alert.textContent()).toContain("nothing was charged");
    await page.screenshot({ path: resolve(ARTIFACTS, "dashboard-402.png"), fullPage: true });
    // Refused before any work: the balance really is 1, on the page and in the store.
    expect(await balanceOf(user)).toBe(1);
    await expect.poll(() => balanceText(page)).toBe("1");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("notices within seconds when the session ends, and signs out cleanly", async () => {
    const user = uniqueUser("web");
    await topUp(user, 3);
    const { context, errors } = await newContext(browser);
    await signInWithCookie(context, await userToken(user));
    const page = await context.newPage();
    await page.goto("/");
    await page.getByTestId("balance").waitFor();

    // The cookie disappears (expiry, or a sign-out in another tab): the next poll gets 401.
    await context.clearCookies();
    await expect.poll(() => page.getByRole("status").filter({ hasText: "Your session has ended" }).count(), { timeout: 5_000 }).toBe(1);

    await signInWithCookie(context, await userToken(user));
    await page.goto("/");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
    expect((await context.cookies()).filter((c) => c.name === "tollgate_session")).toEqual([]);
    expect(await page.evaluate(async () => (await fetch("/api/me")).status)).toBe(401);
    expect(errors).toEqual([]);
    await context.close();
  });
});
