import { lauxlib, lua, type LuaString, type LuaState } from "fengari";
import { installLibrary } from "./lua-library";
import { formatG, toLua } from "./lua-strings";

/**
 * The `cjson` library Redis loads (lua-cjson 2.1 with its default settings):
 * `cjson.encode`, `cjson.decode`, `cjson.null`, with its number format
 * ("%.14g"), its escapes ("/" becomes "\/"), its array rules (sparse
 * arrays refused) and its error texts. Strings are handled as bytes, as in
 * C. The configuration functions (encode_max_depth...) are not provided.
 */

const MAX_DEPTH = 1000;
/** An array whose highest index is past both of these is "excessively sparse". */
const SPARSE_RATIO = 2;
const SPARSE_SAFE = 10;

/** cjson.null: a light userdata that is not a table, so it survives in arrays. */
const NULL = Object.freeze({ cjson: "null" });

const ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x2f: "\\/", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t" };

function fail(L: LuaState, message: string): never {
  return lauxlib.luaL_error(L, toLua("%s"), toLua(message));
}

function typeName(L: LuaState, index: number): string {
  return Buffer.from(lua.lua_typename(L, lua.lua_type(L, index))).toString("latin1");
}

// ---- encode ----

class Encoder {
  private readonly chunks: Uint8Array[] = [];

  constructor(private readonly L: LuaState) {}

  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  private text(text: string): void {
    this.chunks.push(Buffer.from(text, "latin1"));
  }

  private unsupported(index: number, reason: string): never {
    return fail(this.L, `Cannot serialise ${typeName(this.L, index)}: ${reason}`);
  }

  private number(index: number): void {
    const value = lua.lua_tonumber(this.L, index);
    if (!Number.isFinite(value)) fail(this.L, "Cannot serialise number: must not be NaN or Inf");
    this.text(formatG(value, 14));
  }

  private string(bytes: LuaString): void {
    let out = '"';
    for (const byte of bytes) {
      const escape = ESCAPES[byte];
      if (escape !== undefined) out += escape;
      else if (byte < 0x20 || byte === 0x7f) out += `\\u${byte.toString(16).padStart(4, "0")}`;
      else out += String.fromCharCode(byte);
    }
    this.text(`${out}"`);
  }

  /** The value on top of the stack. */
  value(depth: number): void {
    const L = this.L;
    switch (lua.lua_type(L, -1)) {
      case lua.LUA_TSTRING:
        return this.string(lua.lua_tolstring(L, -1)!);
      case lua.LUA_TNUMBER:
        return this.number(-1);
      case lua.LUA_TBOOLEAN:
        return this.text(lua.lua_toboolean(L, -1) ? "true" : "false");
      case lua.LUA_TNIL:
        return this.text("null");
      case LUA_TLIGHTUSERDATA:
        if (lua.lua_touserdata(L, -1) === NULL) return this.text("null");
        return this.unsupported(-1, "type not supported");
      case lua.LUA_TTABLE: {
        if (depth + 1 > MAX_DEPTH) fail(L, `Cannot serialise, excessive nesting (${depth + 1})`);
        lua.lua_checkstack(L, 4);
        const length = this.arrayLength();
        return length > 0 ? this.array(length, depth + 1) : this.object(depth + 1);
      }
      default:
        return this.unsupported(-1, "type not supported");
    }
  }

  /** The highest index if every key is an integer >= 1, else -1 (lua_array_length). */
  private arrayLength(): number {
    const L = this.L;
    let max = 0;
    let items = 0;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2)) {
      const key = lua.lua_type(L, -2) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -2) : 0;
      if (key >= 1 && Math.floor(key) === key) {
        max = Math.max(max, key);
        items++;
        lua.lua_pop(L, 1);
        continue;
      }
      lua.lua_pop(L, 2);
      return -1;
    }
    if (max > items * SPARSE_RATIO && max > SPARSE_SAFE) this.unsupported(-1, "excessively sparse array");
    return max;
  }

  private array(length: number, depth: number): void {
    this.text("[");
    for (let i = 1; i <= length; i++) {
      if (i > 1) this.text(",");
      lua.lua_rawgeti(this.L, -1, i);
      this.value(depth);
      lua.lua_pop(this.L, 1);
    }
    this.text("]");
  }

  private object(depth: number): void {
    const L = this.L;
    this.text("{");
    let first = true;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2)) {
      if (!first) this.text(",");
      first = false;
      const keyType = lua.lua_type(L, -2);
      if (keyType === lua.LUA_TSTRING) this.string(lua.lua_tolstring(L, -2)!);
      else if (keyType === lua.LUA_TNUMBER) {
        this.text('"');
        this.number(-2);
        this.text('"');
      } else this.unsupported(-2, "table key must be a number or string");
      this.text(":");
      this.value(depth);
      lua.lua_pop(L, 1);
    }
    this.text("}");
  }
}

const LUA_TLIGHTUSERDATA = 2;

function encode(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) lauxlib.luaL_argerror(L, 1, toLua("expected 1 argument"));
  const encoder = new Encoder(L);
  encoder.value(0);
  lua.lua_pushstring(L, encoder.bytes());
  return 1;
}

// ---- decode ----

type Token =
  | { kind: "T_OBJ_BEGIN" | "T_OBJ_END" | "T_ARR_BEGIN" | "T_ARR_END" | "T_COLON" | "T_COMMA" | "T_END" | "T_NULL"; at: number }
  | { kind: "T_STRING"; at: number; value: Uint8Array }
  | { kind: "T_NUMBER"; at: number; value: number }
  | { kind: "T_BOOLEAN"; at: number; value: boolean }
  | { kind: "T_ERROR"; at: number; message: string };

const PUNCTUATION: Record<number, Token["kind"]> = {
  0x7b: "T_OBJ_BEGIN",
  0x7d: "T_OBJ_END",
  0x5b: "T_ARR_BEGIN",
  0x5d: "T_ARR_END",
  0x3a: "T_COLON",
  0x2c: "T_COMMA",
  0x00: "T_END",
};
const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };
/** What strtod (and so lua-cjson, which accepts inf, nan and hex by default) reads as a number. */
const NUMBER = /^[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)/i;

class Decoder {
  private at = 0;

  constructor(
    private readonly L: LuaState,
    private readonly json: Uint8Array,
  ) {}

  private next(): Token {
    const json = this.json;
    while (this.at < json.length && (json[this.at] === 0x20 || json[this.at] === 0x09 || json[this.at] === 0x0a || json[this.at] === 0x0d)) {
      this.at++;
    }
    const at = this.at;
    if (at >= json.length) return { kind: "T_END", at };
    const byte = json[at]!;
    const punctuation = PUNCTUATION[byte];
    if (punctuation !== undefined) {
      this.at++;
      return { kind: punctuation, at } as Token;
    }
    if (byte === 0x22) return this.string();
    if (byte === 0x2d || byte === 0x2b || (byte >= 0x30 && byte <= 0x39) || byte === 0x69 || byte === 0x49 || byte === 0x6e || byte === 0x4e) {
      const match = NUMBER.exec(Buffer.from(json.subarray(at, at + 400)).toString("latin1"));
      if (match !== null) {
        this.at += match[0].length;
        return { kind: "T_NUMBER", at, value: parseNumber(match[0]) };
      }
      if (byte !== 0x6e) return { kind: "T_ERROR", at, message: "invalid number" };
    }
    for (const [word, token] of [["true", { kind: "T_BOOLEAN", at, value: true }], ["false", { kind: "T_BOOLEAN", at, value: false }], ["null", { kind: "T_NULL", at }]] as const) {
      if (Buffer.from(json.subarray(at, at + word.length)).toString("latin1") === word) {
        this.at += word.length;
        return token;
      }
    }
    return { kind: "T_ERROR", at, message: "invalid token" };
  }

  private string(): Token {
    const json = this.json;
    const at = this.at;
    const out: number[] = [];
    this.at++;
    for (;;) {
      if (this.at >= json.length) return { kind: "T_ERROR", at: this.at, message: "unexpected end of string" };
      const byte = json[this.at]!;
      if (byte === 0x22) {
        this.at++;
        return { kind: "T_STRING", at, value: Uint8Array.from(out) };
      }
      if (byte !== 0x5c) {
        out.push(byte);
        this.at++;
        continue;
      }
      const escaped = json[this.at + 1];
      const simple = escaped === undefined ? undefined : SIMPLE_ESCAPES[escaped];
      if (simple !== undefined) {
        out.push(simple);
        this.at += 2;
      } else if (escaped === 0x75) {
        const codePoint = this.unicodeEscape();
        if (codePoint === undefined) return { kind: "T_ERROR", at: this.at, message: "invalid unicode escape code" };
        out.push(...Buffer.from(String.fromCodePoint(codePoint), "utf8"));
      } else return { kind: "T_ERROR", at: this.at, message: "invalid escape code" };
    }
  }

  /** \uXXXX, or a surrogate pair of them; the escape's length is consumed on success. */
  private unicodeEscape(): number | undefined {
    const hex = (from: number) => {
      const text = Buffer.from(this.json.subarray(from, from + 4)).toString("latin1");
      return /^[0-9a-fA-F]{4}$/.test(text) ? parseInt(text, 16) : undefined;
    };
    const high = hex(this.at + 2);
    if (high === undefined || (high >= 0xdc00 && high <= 0xdfff)) return undefined;
    if (high < 0xd800 || high > 0xdbff) {
      this.at += 6;
      return high;
    }
    if (this.json[this.at + 6] !== 0x5c || this.json[this.at + 7] !== 0x75) return undefined;
    const low = hex(this.at + 8);
    if (low === undefined || low < 0xdc00 || low > 0xdfff) return undefined;
    this.at += 12;
    return 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
  }

  private unexpected(expected: string, token: Token): never {
    const found = token.kind === "T_ERROR" ? token.message : token.kind;
    return fail(this.L, `Expected ${expected} but found ${found} at character ${token.at + 1}`);
  }

  document(): void {
    this.value(this.next(), 0);
    const end = this.next();
    if (end.kind !== "T_END") this.unexpected("the end", end);
  }

  /** Pushes the value that starts with `token`. */
  private value(token: Token, depth: number): void {
    const L = this.L;
    switch (token.kind) {
      case "T_STRING":
        return lua.lua_pushstring(L, token.value);
      case "T_NUMBER":
        return lua.lua_pushnumber(L, token.value);
      case "T_BOOLEAN":
        return lua.lua_pushboolean(L, token.value);
      case "T_NULL":
        return lua.lua_pushlightuserdata(L, NULL);
      case "T_OBJ_BEGIN":
      case "T_ARR_BEGIN":
        if (depth + 1 > MAX_DEPTH) fail(L, `Found too many nested data structures (${depth + 1}) at character ${token.at + 1}`);
        lauxlib.luaL_checkstack(L, 2, toLua("too many nested data structures"));
        return token.kind === "T_OBJ_BEGIN" ? this.object(depth + 1) : this.array(depth + 1);
      default:
        return this.unexpected("value", token);
    }
  }

  private object(depth: number): void {
    const L = this.L;
    lua.lua_newtable(L);
    let token = this.next();
    if (token.kind === "T_OBJ_END") return;
    for (;;) {
      if (token.kind !== "T_STRING") this.unexpected("object key string", token);
      lua.lua_pushstring(L, token.value);
      const colon = this.next();
      if (colon.kind !== "T_COLON") this.unexpected("colon", colon);
      this.value(this.next(), depth);
      lua.lua_rawset(L, -3);
      const after = this.next();
      if (after.kind === "T_OBJ_END") return;
      if (after.kind !== "T_COMMA") this.unexpected("comma or object end", after);
      token = this.next();
    }
  }

  private array(depth: number): void {
    const L = this.L;
    lua.lua_newtable(L);
    let token = this.next();
    if (token.kind === "T_ARR_END") return;
    for (let i = 1; ; i++) {
      this.value(token, depth);
      lua.lua_rawseti(L, -2, i);
      const after = this.next();
      if (after.kind === "T_ARR_END") return;
      if (after.kind !== "T_COMMA") this.unexpected("comma or array end", after);
      token = this.next();
    }
  }
}

function parseNumber(text: string): number {
  const sign = text.startsWith("-") ? -1 : 1;
  const unsigned = text.replace(/^[-+]/, "");
  if (/^0x/i.test(unsigned)) return sign * parseInt(unsigned.slice(2), 16);
  if (/^inf/i.test(unsigned)) return sign * Infinity;
  if (/^nan/i.test(unsigned)) return NaN;
  return sign * Number(unsigned.endsWith(".") ? unsigned.slice(0, -1) : unsigned);
}

function decode(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) lauxlib.luaL_argerror(L, 1, toLua("expected 1 argument"));
  new Decoder(L, lauxlib.luaL_checklstring(L, 1)).document();
  return 1;
}

/** Sets the global `cjson`. */
export function installCjsonLibrary(L: LuaState): void {
  installLibrary(L, "cjson", { encode, decode }, (T) => {
    lua.lua_pushlightuserdata(T, NULL);
    lua.lua_setfield(T, -2, toLua("null"));
  });
}
