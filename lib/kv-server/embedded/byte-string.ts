/**
 * A Redis string value. Clients send text (JSON strings), and a text value
 * stands for its UTF-8 bytes, as STRLEN and APPEND already count them.
 * Bit and range commands (SETBIT, SETRANGE, BITOP, BITFIELD) can produce
 * bytes that are not valid UTF-8, so such results are kept as a Buffer:
 * converting them to text would replace each invalid byte with U+FFFD and
 * change every later BITCOUNT, GETBIT and STRLEN.
 *
 * Replies carry text: a Buffer is decoded as UTF-8, which is exactly what
 * the Redis engine does with the same bytes coming from Redis.
 */
export type StringValue = string | Buffer;

export function bytesOf(value: StringValue): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}

export function textOf(value: StringValue): string {
  return typeof value === "string" ? value : value.toString("utf8");
}

export function byteLengthOf(value: StringValue): number {
  return typeof value === "string" ? Buffer.byteLength(value) : value.length;
}

export function concatValues(a: StringValue, b: StringValue): StringValue {
  return typeof a === "string" && typeof b === "string" ? a + b : Buffer.concat([bytesOf(a), bytesOf(b)]);
}

/**
 * Buffers this module allocated with spare room at the end. Only those may
 * be lengthened in place: a Buffer made by Buffer.from(text) can be a slice
 * of Node's shared pool, and the bytes after it belong to someone else.
 */
const roomy = new WeakSet<ArrayBufferLike>();

/**
 * Bytes of `value`, zero-padded to at least `length`, that the caller may
 * change in place and store back. Capacity doubles, so a bitmap grown one
 * SETBIT at a time costs amortized O(1) per bit rather than a copy each.
 */
export function writableBytes(value: StringValue | undefined, length: number): Buffer {
  const current = value === undefined ? Buffer.alloc(0) : bytesOf(value);
  const owned = typeof value !== "string" && value !== undefined && roomy.has(current.buffer) && current.byteOffset === 0;
  if (owned && length <= current.length) return current;
  if (owned && length <= current.buffer.byteLength) {
    // The spare room is still zero: views only ever grow over it.
    return Buffer.from(current.buffer, 0, length);
  }
  const size = Math.max(length, current.length);
  const capacity = size <= 64 ? size : Math.min(2 * size, size + 64 * 1024 * 1024);
  const grown = Buffer.alloc(capacity);
  current.copy(grown);
  roomy.add(grown.buffer);
  return grown.subarray(0, size);
}
