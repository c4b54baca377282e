import { invalidRequest, payloadTooLarge, unsupportedMediaType } from "./problem";

export interface ReadJsonBodyOptions {
  /** Largest accepted body in bytes, counted while streaming. */
  maxBytes: number;
  /** When set, any other top-level key is a 400 `unknown_field`. */
  allowedKeys?: readonly string[];
}

export type JsonObject = Record<string, unknown>;

export type ReadJsonBodyResult = { status: "read"; value: JsonObject } | { status: "refused"; response: Response };

/**
 * Reads a small JSON object body, or explains why not as a ready-to-send problem response:
 * 415 unless `Content-Type` is application/json (UTF-8), 413 past `maxBytes`, 400
 * `invalid_json` unless it is a JSON object, 400 `unknown_field` for keys outside
 * `allowedKeys`. Throws only on programmer error (a bad `maxBytes`, a body already read).
 */
export async function readJsonBody(request: Request, options: ReadJsonBodyOptions): Promise<ReadJsonBodyResult> {
  const { maxBytes, allowedKeys } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new TypeError("maxBytes must be a positive whole number");
  if (request.bodyUsed) throw new TypeError("the request body has already been read");

  if (!isJsonContentType(request.headers.get("content-type"))) {
    return { status: "refused", response: unsupportedMediaType("application/json") };
  }
  // A declared length over the cap is refused without reading. A smaller declared length
  // proves nothing (chunked bodies, lying clients), so the stream is counted regardless.
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > maxBytes) return { status: "refused", response: payloadTooLarge(maxBytes) };

  const bytes = await readCapped(request.body, maxBytes);
  if (bytes === null) return { status: "refused", response: payloadTooLarge(maxBytes) };

  let value: unknown;
  try {
    // fatal: invalid UTF-8 is an error, not U+FFFD smuggled into stored data.
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return { status: "refused", response: invalidRequest("invalid_json", "the request body is not valid JSON") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { status: "refused", response: invalidRequest("invalid_json", "the request body must be a JSON object") };
  }
  if (allowedKeys !== undefined) {
    const allowed = new Set(allowedKeys);
    const unknown = Object.keys(value).find((key) => !allowed.has(key));
    if (unknown !== undefined) {
      return {
        status: "refused",
        response: invalidRequest("unknown_field", `unknown field "${unknown}"`, { field: unknown, allowed: [...allowedKeys] }),
      };
    }
  }
  return { status: "read", value: value as JsonObject };
}

/** `application/json`, optionally with `charset=utf-8` (RFC 8259 §8.1: JSON is UTF-8). */
export function isJsonContentType(header: string | null): boolean {
  if (header === null) return false;
  const [type, ...params] = header.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") return false;
  return params.every((param) => !param.startsWith("charset=") || /^charset="?utf-8"?$/.test(param));
}

/**
 * Reads the stream, stopping (and cancelling it, so the sender is not left blocked) as
 * soon as the total exceeds `maxBytes`. Returns null when over the cap.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array | null> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      // Not awaited: on a clone (a tee branch) the cancel settles only once the other
      // branch is cancelled too, which the handler's copy never is.
      reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
