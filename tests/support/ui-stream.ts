import type { TollgateStreamMetadata } from "../../lib/generation";

/** One part of an AI SDK UI message stream, as much of it as the tests read. */
export interface UiChunk {
  type: string;
  delta?: string;
  messageMetadata?: TollgateStreamMetadata;
}

/**
 * Reads a UI message stream (server-sent events, `data: <json>` per event, `[DONE]` last)
 * until it ends, or until `stop` says so; the reader is returned so that a test can cancel
 * it (a client going away) or keep reading.
 */
export async function readUiStream(
  response: Response,
  stop: (chunks: UiChunk[]) => boolean = () => false,
): Promise<{ chunks: UiChunk[]; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const chunks: UiChunk[] = [];
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const data = buffer.slice(0, end).replace(/^data: ?/, "").trim();
      buffer = buffer.slice(end + 2);
      if (data !== "" && data !== "[DONE]") chunks.push(JSON.parse(data) as UiChunk);
    }
    if (stop(chunks)) break;
  }
  return { chunks, reader };
}

/** The answer's text: its text deltas, joined. */
export const textOf = (chunks: UiChunk[]): string => chunks.filter((c) => c.type === "text-delta").map((c) => c.delta ?? "").join("");

/** How many text deltas (one word each for the demo model). */
export const textDeltaCount = (chunks: UiChunk[]): number => chunks.filter((c) => c.type === "text-delta").length;

/** The Tollgate figures of the finish part, or undefined when the stream did not finish. */
export const finishOf = (chunks: UiChunk[]) => chunks.find((c) => c.type === "finish")?.messageMetadata?.tollgate;
