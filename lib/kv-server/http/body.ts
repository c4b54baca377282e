import type { IncomingMessage } from "node:http";
import { refusal, SILENCE, type Answer } from "./answer";

export type BodyResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly reason: "too-large" | "aborted" };

/**
 * Reads the request body, giving up as soon as it passes `limit` bytes so
 * an oversized request cannot make the server buffer it.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(request.headers["content-length"] ?? 0);
    if (declared > limit) {
      resolve({ ok: false, reason: "too-large" });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    request.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settle({ ok: false, reason: "too-large" });
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => settle({ ok: true, body: Buffer.concat(chunks) }));
    request.on("error", () => settle({ ok: false, reason: "aborted" }));
    request.on("aborted", () => settle({ ok: false, reason: "aborted" }));
  });
}

/** What a body that could not be read gets: nothing for a client that has gone, 413 for one too large. */
export function unreadBodyAnswer(reason: "too-large" | "aborted", limit: number): Answer {
  if (reason === "aborted") return SILENCE;
  // Close the connection: the rest of the oversized body is never read.
  return refusal(413, `ERR request body exceeds ${limit} bytes`, { connection: "close" });
}
