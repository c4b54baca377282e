import { lauxlib, lua, type LuaState } from "fengari";
import { installLibrary, type LuaFunction } from "./lua-library";
import { toLua } from "./lua-strings";

/**
 * The `bit` library Redis loads (LuaBitOp 1.0): 32-bit operations on Lua
 * numbers, results as signed 32-bit numbers. Lua 5.1 has no bit operators,
 * so scripts written for Redis use these.
 */

const scratch = new DataView(new ArrayBuffer(8));

/**
 * LuaBitOp's argument conversion: add 2^52 + 2^51 so the FPU rounds the
 * number to an integer (half to even) in the low bits of the mantissa, and
 * take those 32 bits. Reproduced bit for bit, non-finite inputs included.
 */
function bitArg(L: LuaState, index: number): number {
  scratch.setFloat64(0, lauxlib.luaL_checknumber(L, index) + 6755399441055744);
  return scratch.getUint32(4);
}

function push(L: LuaState, bits: number): number {
  lua.lua_pushnumber(L, bits | 0);
  return 1;
}

function variadic(op: (a: number, b: number) => number) {
  return (L: LuaState): number => {
    let bits = bitArg(L, 1);
    for (let i = lua.lua_gettop(L); i > 1; i--) bits = op(bits, bitArg(L, i));
    return push(L, bits);
  };
}

function shift(op: (bits: number, count: number) => number) {
  return (L: LuaState): number => push(L, op(bitArg(L, 1), bitArg(L, 2) & 31));
}

const FUNCTIONS: Record<string, LuaFunction> = {
  tobit: (L) => push(L, bitArg(L, 1)),
  bnot: (L) => push(L, ~bitArg(L, 1)),
  band: variadic((a, b) => a & b),
  bor: variadic((a, b) => a | b),
  bxor: variadic((a, b) => a ^ b),
  lshift: shift((bits, count) => bits << count),
  rshift: shift((bits, count) => bits >>> count),
  arshift: shift((bits, count) => (bits | 0) >> count),
  rol: shift((bits, count) => (bits << count) | (bits >>> (32 - count))),
  ror: shift((bits, count) => (bits >>> count) | (bits << (32 - count))),
  bswap: (L) => {
    const b = bitArg(L, 1);
    return push(L, ((b >>> 24) & 0xff) | ((b >>> 8) & 0xff00) | ((b & 0xff00) << 8) | (b << 24));
  },
  tohex: (L) => {
    let bits = bitArg(L, 1);
    let digits = lua.lua_gettop(L) < 2 ? 8 : bitArg(L, 2) | 0;
    let alphabet = "0123456789abcdef";
    if (digits < 0) {
      digits = -digits;
      alphabet = "0123456789ABCDEF";
    }
    if (digits > 8) digits = 8;
    let text = "";
    for (let i = 0; i < digits; i++) {
      text = alphabet[bits & 15] + text;
      bits >>>= 4;
    }
    lua.lua_pushstring(L, toLua(text));
    return 1;
  },
};

/** Sets the global `bit`. */
export function installBitLibrary(L: LuaState): void {
  installLibrary(L, "bit", FUNCTIONS);
}
