import { lauxlib, lua, type LuaState } from "fengari";
import { installLibrary, type LuaFunction } from "./lua-library";
import { toLua } from "./lua-strings";

/**
 * The `cmsgpack` library Redis loads (lua-cmsgpack 0.4): `pack(...)`,
 * `unpack(s)`, `unpack_one(s[, offset])`, `unpack_limit(s, limit[, offset])`,
 * with its encodings (integral numbers as the smallest integer type, others
 * as float32 when exact, else float64; contiguous 1..n tables as arrays,
 * other tables as maps; nothing nested deeper than 16 levels) and error texts.
 */

const MAX_NESTING = 16;

class Packer {
  private readonly bytes: number[] = [];
  private readonly view = new DataView(new ArrayBuffer(8));

  constructor(private readonly L: LuaState) {}

  result(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  private push(...bytes: number[]): void {
    for (const byte of bytes) this.bytes.push(byte & 0xff);
  }

  private big(tag: number, value: bigint, size: 8): void {
    this.view.setBigUint64(0, BigInt.asUintN(64, value));
    this.push(tag);
    for (let i = 0; i < size; i++) this.push(this.view.getUint8(i));
  }

  private sized(tag: number, value: number, size: 1 | 2 | 4): void {
    this.push(tag);
    for (let i = size - 1; i >= 0; i--) this.push(Math.floor(value / 2 ** (8 * i)));
  }

  private length(length: number, small: number | undefined, smallLimit: number, tags: [number, number, number] | [number, number]): void {
    if (small !== undefined && length < smallLimit) return this.push(small | length);
    if (tags.length === 3 && length <= 0xff) return this.sized(tags[0], length, 1);
    const [tag16, tag32] = tags.length === 3 ? [tags[1], tags[2]] : tags;
    if (length <= 0xffff) this.sized(tag16, length, 2);
    else this.sized(tag32, length, 4);
  }

  private number(n: number): void {
    // lua-cmsgpack's IS_INT64_EQUIVALENT: the C cast gives INT64_MIN out of range, which then differs.
    if (Number.isFinite(n) && n >= -(2 ** 63) && n < 2 ** 63 && Math.trunc(n) === n) return this.integer(n);
    if (Math.fround(n) === n || Number.isNaN(n)) {
      if (!Number.isNaN(n)) {
        this.view.setFloat32(0, n);
        return this.push(0xca, ...[0, 1, 2, 3].map((i) => this.view.getUint8(i)));
      }
      // NaN != NaN in C, so it goes out as a double; 0/0 on x86-64 is the negative quiet NaN.
      return this.push(0xcb, 0xff, 0xf8, 0, 0, 0, 0, 0, 0);
    }
    this.view.setFloat64(0, n);
    this.push(0xcb, ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => this.view.getUint8(i)));
  }

  private integer(n: number): void {
    if (n >= 0) {
      if (n < 128) this.push(n);
      else if (n < 0x100) this.sized(0xcc, n, 1);
      else if (n < 0x10000) this.sized(0xcd, n, 2);
      else if (n < 0x100000000) this.sized(0xce, n, 4);
      else this.big(0xcf, BigInt(n), 8);
    } else if (n >= -32) this.push(0xe0 | (n + 32));
    else if (n >= -128) this.sized(0xd0, n + 0x100, 1);
    else if (n >= -32768) this.sized(0xd1, n + 0x10000, 2);
    else if (n >= -2147483648) this.sized(0xd2, n + 0x100000000, 4);
    else this.big(0xd3, BigInt(n), 8);
  }

  /** The value at the top of the stack. */
  value(level: number): void {
    const L = this.L;
    switch (lua.lua_type(L, -1)) {
      case lua.LUA_TSTRING: {
        const bytes = lua.lua_tolstring(L, -1)!;
        this.length(bytes.length, 0xa0, 32, [0xd9, 0xda, 0xdb]);
        return this.push(...bytes);
      }
      case lua.LUA_TBOOLEAN:
        return this.push(lua.lua_toboolean(L, -1) ? 0xc3 : 0xc2);
      case lua.LUA_TNUMBER:
        return this.number(lua.lua_tonumber(L, -1));
      case lua.LUA_TTABLE:
        if (level >= MAX_NESTING) return this.push(0xc0);
        lua.lua_checkstack(L, 4);
        return this.table(level + 1);
      default:
        return this.push(0xc0);
    }
  }

  /** A table is an array when its keys are exactly 1..n (table_is_an_array). */
  private table(level: number): void {
    const L = this.L;
    let count = 0;
    let max = 0;
    let array = true;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2)) {
      lua.lua_pop(L, 1);
      count++;
      const key = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : NaN;
      if (!(key > 0 && Math.floor(key) === key)) array = false;
      else max = Math.max(max, key);
    }
    if (array && max === count) {
      this.length(count, 0x90, 16, [0xdc, 0xdd]);
      for (let i = 1; i <= count; i++) {
        lua.lua_rawgeti(L, -1, i);
        this.value(level);
        lua.lua_pop(L, 1);
      }
      return;
    }
    this.length(count, 0x80, 16, [0xde, 0xdf]);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2)) {
      lua.lua_pushvalue(L, -2);
      this.value(level);
      lua.lua_pop(L, 1);
      this.value(level);
      lua.lua_pop(L, 1);
    }
  }
}

function pack(L: LuaState): number {
  const count = lua.lua_gettop(L);
  if (count === 0) lauxlib.luaL_argerror(L, 0, toLua("MessagePack pack needs input."));
  const packer = new Packer(L);
  for (let i = 1; i <= count; i++) {
    lua.lua_pushvalue(L, i);
    packer.value(0);
    lua.lua_pop(L, 1);
  }
  lua.lua_pushstring(L, packer.result());
  return 1;
}

class Unpacker {
  private readonly view: DataView;

  constructor(
    private readonly L: LuaState,
    private readonly data: Uint8Array,
    public at: number,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private need(bytes: number): void {
    if (this.at + bytes > this.data.length) lauxlib.luaL_error(this.L, toLua("Missing bytes in input."));
  }

  private uint(size: 1 | 2 | 4 | 8): number {
    this.need(size);
    const at = this.at;
    this.at += size;
    if (size === 1) return this.view.getUint8(at);
    if (size === 2) return this.view.getUint16(at);
    if (size === 4) return this.view.getUint32(at);
    return Number(this.view.getBigUint64(at));
  }

  private int(size: 1 | 2 | 4 | 8): number {
    this.need(size);
    const at = this.at;
    this.at += size;
    if (size === 1) return this.view.getInt8(at);
    if (size === 2) return this.view.getInt16(at);
    if (size === 4) return this.view.getInt32(at);
    return Number(this.view.getBigInt64(at));
  }

  private string(length: number): void {
    this.need(length);
    lua.lua_pushstring(this.L, this.data.slice(this.at, this.at + length));
    this.at += length;
  }

  private array(length: number): void {
    lua.lua_createtable(this.L, length, 0);
    for (let i = 1; i <= length; i++) {
      this.value();
      lua.lua_rawseti(this.L, -2, i);
    }
  }

  private map(length: number): void {
    lua.lua_createtable(this.L, 0, length);
    for (let i = 0; i < length; i++) {
      this.value();
      this.value();
      lua.lua_rawset(this.L, -3);
    }
  }

  /** Pushes the next value. */
  value(): void {
    const L = this.L;
    lua.lua_checkstack(L, 4);
    const tag = this.uint(1);
    if (tag <= 0x7f) return lua.lua_pushnumber(L, tag);
    if (tag >= 0xe0) return lua.lua_pushnumber(L, tag - 0x100);
    if (tag >= 0xa0 && tag <= 0xbf) return this.string(tag & 0x1f);
    if (tag >= 0x90 && tag <= 0x9f) return this.array(tag & 0x0f);
    if (tag >= 0x80 && tag <= 0x8f) return this.map(tag & 0x0f);
    switch (tag) {
      case 0xc0:
        return lua.lua_pushnil(L);
      case 0xc2:
      case 0xc3:
        return lua.lua_pushboolean(L, tag === 0xc3);
      case 0xcc:
        return lua.lua_pushnumber(L, this.uint(1));
      case 0xcd:
        return lua.lua_pushnumber(L, this.uint(2));
      case 0xce:
        return lua.lua_pushnumber(L, this.uint(4));
      case 0xcf:
        return lua.lua_pushnumber(L, this.uint(8));
      case 0xd0:
        return lua.lua_pushnumber(L, this.int(1));
      case 0xd1:
        return lua.lua_pushnumber(L, this.int(2));
      case 0xd2:
        return lua.lua_pushnumber(L, this.int(4));
      case 0xd3:
        return lua.lua_pushnumber(L, this.int(8));
      case 0xca: {
        this.need(4);
        const value = this.view.getFloat32(this.at);
        this.at += 4;
        return lua.lua_pushnumber(L, value);
      }
      case 0xcb: {
        this.need(8);
        const value = this.view.getFloat64(this.at);
        this.at += 8;
        return lua.lua_pushnumber(L, value);
      }
      case 0xc4:
      case 0xd9:
        return this.string(this.uint(1));
      case 0xc5:
      case 0xda:
        return this.string(this.uint(2));
      case 0xc6:
      case 0xdb:
        return this.string(this.uint(4));
      case 0xdc:
        return this.array(this.uint(2));
      case 0xdd:
        return this.array(this.uint(4));
      case 0xde:
        return this.map(this.uint(2));
      case 0xdf:
        return this.map(this.uint(4));
      default:
        return lauxlib.luaL_error(L, toLua("Bad data format in input."));
    }
  }
}

/**
 * mp_unpack_full: up to `limit` values (0: all) from `offset`. With a limit
 * or an offset, the first result is where to continue, or -1 at the end.
 */
function unpackFull(L: LuaState, limit: number, offset: number): number {
  const data = lauxlib.luaL_checklstring(L, 1);
  // The text says "limit" but prints the input's length, as lua-cmsgpack does.
  if (offset < 0 || limit < 0) return lauxlib.luaL_error(L, toLua("Invalid request to unpack with offset of %d and limit of %d."), offset, data.length);
  if (offset > data.length) return lauxlib.luaL_error(L, toLua("Start offset %d greater than input length %d."), offset, data.length);
  const unpacker = new Unpacker(L, data, offset);
  let count = 0;
  while (unpacker.at < data.length && (limit === 0 || count < limit)) {
    unpacker.value();
    count++;
  }
  if (limit === 0 && offset === 0) return count;
  lua.lua_pushnumber(L, unpacker.at < data.length ? unpacker.at : -1);
  lua.lua_insert(L, -(count + 1));
  return count + 1;
}

const FUNCTIONS: Record<string, LuaFunction> = {
  pack,
  unpack: (L) => unpackFull(L, 0, 0),
  unpack_one: (L) => unpackFull(L, 1, lauxlib.luaL_optinteger(L, 2, 0)),
  unpack_limit: (L) => unpackFull(L, lauxlib.luaL_checkinteger(L, 2), lauxlib.luaL_optinteger(L, 3, 0)),
};

/** Sets the global `cmsgpack`. */
export function installCmsgpackLibrary(L: LuaState): void {
  installLibrary(L, "cmsgpack", FUNCTIONS);
}
