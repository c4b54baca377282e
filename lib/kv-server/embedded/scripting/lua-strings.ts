import { to_luastring, type LuaString } from "fengari";
import { formatGeneral, fromDouble } from "../numbers/binary-float";

/**
 * Lua strings are bytes; the keyspace holds JavaScript strings. Bytes are
 * read as UTF-8 the way replies from a real Redis are (invalid sequences
 * become U+FFFD), so both engines hand clients the same text.
 */
export function toLua(text: string): LuaString {
  return to_luastring(text);
}

export function fromLua(bytes: LuaString): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** printf("%.{precision}g") of a double, exactly as glibc rounds it; "nan" for NaN. */
export function formatG(value: number, precision: number): string {
  if (Number.isNaN(value)) return "nan";
  // Integers below 10^precision print as themselves in %g: the common case, kept cheap.
  if (Number.isInteger(value) && Math.abs(value) < 10 ** precision && !Object.is(value, -0)) return String(value);
  return formatGeneral(fromDouble(value), precision);
}
