/**
 * Next calls `register()` once when a server instance starts, in each runtime (Node for
 * the route handlers, Edge for the middleware). Every setting is checked here, so a
 * misconfigured deployment fails to start instead of charging requests it then cannot
 * serve (a bad setting used to surface as a 500 from the handler after the middleware had
 * taken the tokens). The error names the variable, never a secret's value.
 */
export async function register(): Promise<void> {
  try {
    // The app this runtime will serve with, built now: every setting validates before the
    // first request (building makes no request to the store).
    if (process.env.NEXT_RUNTIME === "nodejs") (await import("./lib/server/node-platform")).nodeApp();
    else (await import("./lib/app")).getApp();
  } catch (error) {
    console.error(JSON.stringify({ event: "tollgate.misconfigured", runtime: process.env.NEXT_RUNTIME ?? "unknown", error: String(error) }));
    // `next start` would otherwise stay up and answer 500 to everything; a process that
    // exits is what a supervisor (and a platform's health check) understands.
    if (process.env.NEXT_RUNTIME === "nodejs") (await import("./lib/server/exit")).exitProcess(1);
    throw error;
  }
}
