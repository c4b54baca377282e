import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { e2e } from "../../e2e/support/context";

/** Screenshots land here (gitignored) for people to look at; nothing compares them. */
export const ARTIFACTS = resolve(import.meta.dirname, "../../../test-artifacts");

/** Debian's Chromium, never a downloaded browser. */
export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 } };
export const PHONE: BrowserContextOptions = { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** A context whose pages fail the test on any uncaught page error. */
export async function newContext(browser: Browser, options: BrowserContextOptions = DESKTOP): Promise<{ context: BrowserContext; errors: string[] }> {
  const context = await browser.newContext({ ...options, baseURL: e2e().appUrl });
  const errors: string[] = [];
  context.on("page", (page) => page.on("pageerror", (error) => errors.push(error.message)));
  return { context, errors };
}

/** Signs a context in by setting the session cookie, as `POST /api/session` would. */
export async function signInWithCookie(context: BrowserContext, token: string): Promise<void> {
  await context.addCookies([{ name: "tollgate_session", value: token, url: e2e().appUrl, httpOnly: true, sameSite: "Strict" }]);
}

export async function balanceText(page: Page): Promise<string | null> {
  return page.getByTestId("balance").textContent();
}

/** The page is no wider than the viewport: nothing to scroll sideways. */
export async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const { scrollWidth, viewportWidth } = await page.evaluate(() => ({
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    viewportWidth: window.innerWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(viewportWidth);
}

const AXE_SOURCE: string = (createRequire(import.meta.url)("axe-core") as { source: string }).source;

/**
 * Runs axe-core's WCAG 2.x A/AA rules (contrast, labels, names, landmarks…) on the page
 * as it is now, and fails with the list of violations.
 */
export async function expectAccessible(page: Page): Promise<void> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  expect(violations).toEqual([]);
}
