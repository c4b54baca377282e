import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoWordCount } from "../../lib/generation/demo-model";
import { PRICING, priceOfUsage, type UsagePricedRoute } from "../../lib/gateway/pricing";
import { balanceOf, topUp, uniqueUser, userToken } from "../e2e/support/context";
import { balanceText, expectAccessible, launchBrowser, newContext, signInWithCookie } from "./support/browser";

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Enough for the longest answer the demo model may be asked for, so every hold is a full one. */
const START = 100_000;
/** expect.poll gives up after 1 s by default; the dashboard polls /api/me once a second. */
const SOON = { timeout: 15_000 };

const RECEIPT = /Charged ([\d,]+) of ([\d,]+) reserved, ([\d,]+) released; balance ([\d,]+)/;
const RESERVED = /Answering… ([\d,]+) tokens reserved/;

const ROW = PRICING.find((r) => r.id === "chat-stream") as UsagePricedRoute;
/** What the route charges for `outputWords` words answered to `prompt` (the demo model counts words as tokens). */
const priceOf = (prompt: string, outputWords: number) => priceOfUsage(ROW, { inputTokens: demoWordCount(prompt), outputTokens: outputWords });

const fmt = (n: number) => n.toLocaleString("en-US");
const num = (text: string) => Number(text.replaceAll(",", ""));
const text = async (l: Locator) => (await l.textContent()) ?? "";
const words = async (l: Locator) => (await text(l)).split(/\s+/).filter(Boolean).length;

function receipt(status: string): { charged: number; reserved: number; released: number; balance: number } {
  const m = RECEIPT.exec(status);
  if (m === null) throw new Error(`no receipt in "${status}"`);
  return { charged: num(m[1]!), reserved: num(m[2]!), released: num(m[3]!), balance: num(m[4]!) };
}

async function openDashboard(label: string) {
  const user = uniqueUser(label);
  await topUp(user, START);
  const { context, errors } = await newContext(browser);
  await signInWithCookie(context, await userToken(user));
  const page = await context.newPage();
  await page.goto("/");
  const panel = page.getByRole("region", { name: "Chat" });
  await panel.waitFor();
  await expect.poll(() => balanceText(page), SOON).toBe(fmt(START));
  return {
    user, context, errors, page, panel,
    status: panel.getByRole("status"),
    answer: panel.locator('li[data-role="assistant"]').last(),
  };
}

async function send(panel: Locator, message: string): Promise<void> {
  await panel.getByLabel("Message").fill(message);
  await panel.getByRole("button", { name: "Send" }).click();
}

/** The newest history row's details: the hold this test's answer settled. */
const newestDetails = (page: Page) => text(page.locator('table.history tbody td[data-label="Details"]').first());

describe("the chat panel on the dashboard, in Chromium", () => {
  it("streams an answer, shows the reservation while it runs, and when stopped charges what was written and gives the rest back", async () => {
    const { user, context, errors, page, panel, status, answer } = await openDashboard("chat-stop");
    await send(panel, "Write 300 words");

    // The panel's figure comes from X-Tokens-Reserved; the balance card's from /api/me.
    await expect.poll(() => text(status), SOON).toMatch(RESERVED);
    const reserved = num(RESERVED.exec(await text(status))![1]!);
    expect(reserved).toBeGreaterThan(0);
    await expect.poll(() => text(page.getByTestId("reserved")), SOON).toContain(`${fmt(reserved)} tokens reserved`);
    await expect.poll(() => balanceText(page), SOON).toBe(fmt(START - reserved));
    // The hold is told of once: as tokens reserved, not also as a generation in progress.
    expect(await page.getByText(/in progress\./).count()).toBe(0);

    await expect.poll(() => words(answer), SOON).toBeGreaterThanOrEqual(3);
    await panel.getByRole("button", { name: "Stop" }).click();

    // The finish part is cut off by the stop: the charge is read from the history, a poll later.
    await expect.poll(() => text(status), SOON).toMatch(RECEIPT);
    expect(await text(status)).toMatch(/^Stopped\. /);
    const shown = await words(answer);
    expect(shown).toBeLessThan(300);
    const r = receipt(await text(status));
    expect(r.reserved).toBe(reserved);
    // What the browser received was streamed, so it was charged (with the prompt's tokens).
    expect(r.charged).toBeGreaterThanOrEqual(priceOf("Write 300 words", shown));
    expect(r.charged).toBeLessThan(r.reserved);
    expect(r.charged + r.released).toBe(r.reserved);
    expect(r.balance).toBe(START - r.charged);

    // The balance goes back up by what was released, and the reservation is gone.
    await expect.poll(() => balanceText(page), SOON).toBe(fmt(START - reserved + r.released));
    await expect.poll(() => page.getByTestId("reserved").count(), SOON).toBe(0);
    expect(await balanceOf(user)).toBe(START - r.charged);
    await expect.poll(() => newestDetails(page), SOON).toContain(`charged ${fmt(r.charged)} of ${fmt(r.reserved)} held`);
    expect(await panel.getByRole("button", { name: "Stop" }).isDisabled()).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("reads a short answer to the end and shows its charge from the finish metadata", async () => {
    const { user, context, errors, page, panel, status, answer } = await openDashboard("chat-full");
    await send(panel, "Write 5 words");

    await expect.poll(() => text(status), SOON).toMatch(RECEIPT);
    expect(await text(status)).not.toMatch(/^Stopped/);
    expect(await words(answer)).toBe(5);
    const r = receipt(await text(status));
    // Five words out, plus the prompt's words in, at the route's prices.
    expect(r.charged).toBe(priceOf("Write 5 words", 5));
    expect(r.charged).toBeLessThanOrEqual(r.reserved);
    expect(r.charged + r.released).toBe(r.reserved);
    expect(r.balance).toBe(START - r.charged);

    await expect.poll(() => balanceText(page), SOON).toBe(fmt(START - r.charged));
    expect(await balanceOf(user)).toBe(START - r.charged);
    await expect.poll(() => newestDetails(page), SOON).toContain(`charged ${fmt(r.charged)} of ${fmt(r.reserved)} held`);
    expect(await panel.getByLabel("Message").inputValue()).toBe("");

    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  });
});
