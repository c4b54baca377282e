import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, topUp, uniqueUser, userToken } from "../e2e/support/context";
import { expectAccessible, launchBrowser, newContext, signInWithCookie } from "./support/browser";

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

interface Entry {
  type: string;
  balanceAfter: number;
}

/** 6 top-ups and 15 one-token chats: 21 entries, newest first once every debit has settled. */
async function userWithHistory(): Promise<{ user: string; token: string; history: Entry[] }> {
  const user = uniqueUser("hist");
  const token = await userToken(user);
  for (let i = 0; i < 6; i++) await topUp(user, 10);
  for (let i = 0; i < 15; i++) {
    const res = await api("/api/chat", { method: "POST", token, json: { message: `hello ${i}` } });
    expect(res.status).toBe(200);
  }
  let history: Entry[] = [];
  await expect
    .poll(async () => {
      history = ((await (await api(`/api/admin/users/${user}`, { admin: true })).json()) as { history: Entry[] }).history;
      return history.length;
    }, { timeout: 10_000 })
    .toBe(21);
  return { user, token, history };
}

const rows = (page: Page) => page.locator("table.history tbody tr");
const range = (page: Page) => page.locator(".pager p").textContent();
const column = (page: Page, label: string) => page.locator(`table.history tbody td[data-label="${label}"]`).allTextContents();

describe("the history on the dashboard, in Chromium", () => {
  it("pages through the history ten at a time, newest first", async () => {
    const { token, history } = await userWithHistory();
    const { context, errors } = await newContext(browser);
    await signInWithCookie(context, token);
    const page = await context.newPage();
    await page.goto("/");
    await rows(page).first().waitFor();

    const previous = page.getByRole("button", { name: "Previous page" });
    const next = page.getByRole("button", { name: "Next page" });
    const seen: string[] = [];
    expect(await range(page)).toBe("Showing 1–10 of 21 · page 1 of 3");
    expect(await previous.isDisabled()).toBe(true);
    expect(await rows(page).count()).toBe(10);
    seen.push(...(await column(page, "Balance after")));

    await next.click();
    expect(await range(page)).toBe("Showing 11–20 of 21 · page 2 of 3");
    expect(await rows(page).count()).toBe(10);
    seen.push(...(await column(page, "Balance after")));

    await next.click();
    expect(await range(page)).toBe("Showing 21–21 of 21 · page 3 of 3");
    expect(await rows(page).count()).toBe(1);
    expect(await next.isDisabled()).toBe(true);
    seen.push(...(await column(page, "Balance after")));

    // Every entry exactly once, in the store's order (newest first).
    expect(seen).toEqual(history.map((e) => e.balanceAfter.toLocaleString("en-US")));

    await previous.click();
    expect(await range(page)).toBe("Showing 11–20 of 21 · page 2 of 3");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("filters the history by type, with the mouse and with the keyboard, and offers the chart as a table", async () => {
    const { token } = await userWithHistory();
    const { context, errors } = await newContext(browser);
    await signInWithCookie(context, token);
    const page = await context.newPage();
    await page.goto("/");
    await rows(page).first().waitFor();

    await page.getByRole("radio", { name: "Top-ups 6" }).check();
    expect(await range(page)).toBe("Showing 1–6 of 6 · page 1 of 1");
    expect(new Set(await rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-type"))))).toEqual(new Set(["credit"]));
    expect(await column(page, "Amount")).toEqual(Array(6).fill("+10"));

    await page.getByRole("radio", { name: "Generations 15" }).check();
    expect(await range(page)).toBe("Showing 1–10 of 15 · page 1 of 2");
    await page.getByRole("button", { name: "Next page" }).click();
    expect(await range(page)).toBe("Showing 11–15 of 15 · page 2 of 2");
    expect(new Set(await rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-type"))))).toEqual(new Set(["debit"]));
    expect(new Set(await column(page, "Details"))).toEqual(new Set(["Chat"]));

    // Keyboard: the filters are one radio group; arrows move between them. A new filter starts at page 1.
    await page.getByRole("radio", { name: "All 21" }).check();
    await page.getByRole("radio", { name: "All 21" }).focus();
    await page.keyboard.press("ArrowRight");
    expect(await page.getByRole("radio", { name: "Generations 15" }).isChecked()).toBe(true);
    expect(await range(page)).toBe("Showing 1–10 of 15 · page 1 of 2");

    // The chart's figures as a table: today, 15 tokens of chat.
    const chart = page.getByRole("region", { name: "Usage, last 30 days" });
    expect(await chart.locator(".recharts-bar-rectangle").count()).toBeGreaterThan(0);
    await chart.getByText("Show the figures as a table").click();
    const table = chart.getByRole("table");
    expect(await table.locator("thead th").allTextContents()).toEqual(["Day (UTC)", "Chat", "Total"]);
    const today = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" }).format(Date.now());
    expect(await table.locator("tbody tr").first().locator("th, td").allTextContents()).toEqual([today, "15", "15"]);

    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  });
});
