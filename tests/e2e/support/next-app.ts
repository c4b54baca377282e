/** Starting the built app with `next start`, for the e2e setup and the tests that start a second one. */

/** The `next` command of the project's own install (run with the current Node). */
export function nextBin(): string {
  return new URL("../../../node_modules/next/dist/bin/next", import.meta.url).pathname;
}

/** Polls `check` (errors count as "not yet") until it holds; throws with the app's log after `timeoutMs`. */
export async function waitUntilUp(check: () => Promise<boolean>, timeoutMs: number, log: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the app did not start:\n${log()}`);
}
