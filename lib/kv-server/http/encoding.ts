import { ReplyError, type Reply } from "../reply";

export type JsonReply = null | number | string | JsonReply[] | { error: string };

/**
 * A reply as JSON. With `Upstash-Encoding: base64` every string is
 * base64-encoded, nested ones and "OK" included: the client decodes any
 * string whose atob() succeeds, so leaving "PONG" or "QUEUED" raw would
 * corrupt them. Numbers and null stay as they are; errors are never encoded.
 */
export function encodeReply(reply: Reply, base64: boolean): JsonReply {
  if (reply === null || typeof reply === "number") return reply;
  if (typeof reply === "string") return base64 ? Buffer.from(reply, "utf8").toString("base64") : reply;
  if (reply instanceof ReplyError) return { error: reply.message };
  return reply.map((item) => encodeReply(item, base64));
}

/** One pipeline or transaction item: `{result}` or `{error}`. */
export function encodeItem(reply: Reply, base64: boolean): { result: JsonReply } | { error: string } {
  return reply instanceof ReplyError ? { error: reply.message } : { result: encodeReply(reply, base64) };
}
