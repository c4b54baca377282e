import type { ServerResponse } from "node:http";
import { EngineUnavailableError } from "../engine";

/**
 * Writes a JSON answer. Every response carries `upstash-sync-token`: the
 * client stores it and sends it back (read-your-writes); any value works
 * for a single-node store, so a counter is enough.
 */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  syncToken: string,
  extraHeaders: Record<string, string> = {},
): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    "upstash-sync-token": syncToken,
    ...extraHeaders,
  });
  response.end(text);
}

export function sendError(
  response: ServerResponse,
  status: number,
  error: string,
  syncToken: string,
  extraHeaders: Record<string, string> = {},
): void {
  sendJson(response, status, { error }, syncToken, extraHeaders);
}

/** An exception from the engine: 503 (retry later) when the store is down, 500 for a bug. */
export function sendFailure(response: ServerResponse, error: unknown, syncToken: string): void {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof EngineUnavailableError) {
    sendError(response, 503, `ERR KV backend unavailable: ${message}`, syncToken, { "retry-after": "1" });
  } else {
    sendError(response, 500, `ERR internal error: ${message}`, syncToken);
  }
}

/** Resolves after `ms`, or early when `signal` aborts (the server is closing). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
