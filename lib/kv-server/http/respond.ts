import type { IncomingMessage, ServerResponse } from "node:http";
import { EngineUnavailableError } from "../engine";
import { refusal, type Answer, type JsonAnswer } from "./answer";

/**
 * Writes a JSON answer. Every response carries `upstash-sync-token`: the
 * client stores it and sends it back (read-your-writes); any value works
 * for a single-node store, so a counter is enough.
 */
function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  syncToken: string,
  extraHeaders: Readonly<Record<string, string>> = {},
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

/** An exception from the engine: 503 (retry later) when the store is down, 500 for a bug. */
export function failureAnswer(error: unknown): JsonAnswer {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof EngineUnavailableError
    ? refusal(503, `ERR KV backend unavailable: ${message}`, { "retry-after": "1" })
    : refusal(500, `ERR internal error: ${message}`);
}

/** The one place an Answer becomes an effect on the connection. */
export function deliver(answer: Answer, request: IncomingMessage, response: ServerResponse, syncToken: string): void {
  switch (answer.kind) {
    case "json":
      sendJson(response, answer.status, answer.body, syncToken, answer.headers);
      return;
    case "drop":
      request.socket.destroy();
      return;
    case "silence":
      return;
  }
}
