import { lauxlib, lua, type LuaState } from "fengari";
import lobject, { type TValue } from "fengari/src/lobject.js";
import lstring from "fengari/src/lstring.js";
import { removeNames, setFunction } from "./lua-library";
import { formatG, toLua } from "./lua-strings";

/**
 * Makes fengari (Lua 5.3) behave like the Lua 5.1 Redis embeds, where the
 * scripts clients send were written and tested.
 *
 * Numbers. Lua 5.1 has one number type, the double. Lua 5.3 adds integers,
 * and fengari's are 32-bit: `100 * 86400000` would wrap to a negative
 * number (a token bucket with a one-day interval would break), and
 * `tostring(10/2)` would be "5.0" instead of "5". So every number parsed
 * from text (literals, tonumber, string arithmetic) is made a float, and
 * every number printed uses 5.1's "%.14g". Integers still come out of `#`,
 * string.len/byte/find and select('#'); arithmetic between two of them
 * wraps past 2^31, which needs lengths no script has.
 *
 * fengari reads both conversions through its module object at call time,
 * so replacing them there reaches the lexer, tonumber, the VM's string
 * coercions and tostring alike. The patch is process-wide: it runs once,
 * and nothing else in Tollgate uses fengari.
 */
let patched = false;

export function patchNumberModel(): void {
  if (patched) return;
  patched = true;
  const str2num = lobject.luaO_str2num;
  lobject.luaO_str2num = (text: Uint8Array, out: TValue): number => {
    const size = str2num(text, out);
    if (size !== 0 && out.ttisinteger()) out.setfltvalue(out.value);
    return size;
  };
  lobject.luaO_tostring = (L: LuaState, value: TValue): void => {
    value.setsvalue(lstring.luaS_bless(L, toLua(formatG(value.value, 14))));
  };
}

const ERR = toLua("err");

/**
 * Redis 7.0's pcall: an error that is a {err=...} table (what redis.call
 * raises) is handed to the script as its message string. Written with
 * lua_pcallk, as the stock pcall is, so a script can still be paused for
 * the event loop while inside it (see script-run.ts).
 */
function redisPcall(L: LuaState): number {
  lauxlib.luaL_checkany(L, 1);
  lua.lua_pushboolean(L, true);
  lua.lua_insert(L, 1);
  const status = lua.lua_pcallk(L, lua.lua_gettop(L) - 2, lua.LUA_MULTRET, 0, 0, finishPcall);
  return finishPcall(L, status, 0);
}

function finishPcall(L: LuaState, status: number, extra: number): number {
  if (status === lua.LUA_OK || status === lua.LUA_YIELD) return lua.lua_gettop(L) - extra;
  lua.lua_pushboolean(L, false);
  lua.lua_pushvalue(L, -2);
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, -1, ERR);
    if (lua.lua_type(L, -1) === lua.LUA_TSTRING || lua.lua_type(L, -1) === lua.LUA_TNUMBER) lua.lua_remove(L, -2);
    else lua.lua_pop(L, 1);
  }
  return 2;
}

/** Copies `table.field` (or a global) to another name, as 5.1 called it. Runs on an empty stack. */
function alias(L: LuaState, from: [string, string] | string, to: [string, string] | string): void {
  if (typeof from === "string") lua.lua_getglobal(L, toLua(from));
  else {
    lua.lua_getglobal(L, toLua(from[0]));
    lua.lua_getfield(L, -1, toLua(from[1]));
  }
  if (typeof to === "string") lua.lua_setglobal(L, toLua(to));
  else {
    lua.lua_getglobal(L, toLua(to[0]));
    lua.lua_pushvalue(L, -2);
    lua.lua_setfield(L, -2, toLua(to[1]));
  }
  lua.lua_settop(L, 0);
}

/**
 * The 5.1 names scripts use: `unpack` (5.3 moved it to table.unpack; Redis
 * scripts call it bare, e.g. `redis.call('del', unpack(KEYS))`),
 * `loadstring`, `table.getn`, `math.pow`, `math.mod`, `math.log10`. 5.3-only
 * functions are removed so a script that works here also works on Redis.
 */
export function installLua51Globals(L: LuaState): void {
  // tostring formats numbers itself, past the patched conversion (see patchNumberModel).
  lua.lua_pushjsfunction(L, (T) => {
    lauxlib.luaL_checkany(T, 1);
    if (lua.lua_type(T, 1) === lua.LUA_TNUMBER) lua.lua_pushstring(T, toLua(formatG(lua.lua_tonumber(T, 1), 14)));
    else lauxlib.luaL_tolstring(T, 1);
    return 1;
  });
  lua.lua_setglobal(L, toLua("tostring"));
  lua.lua_pushjsfunction(L, redisPcall);
  lua.lua_setglobal(L, toLua("pcall"));
  alias(L, ["table", "unpack"], "unpack");
  alias(L, "load", "loadstring");
  alias(L, ["math", "fmod"], ["math", "mod"]);
  lua.lua_getglobal(L, toLua("table"));
  setFunction(L, "getn", (T) => {
    lua.lua_pushnumber(T, lua.lua_rawlen(T, 1));
    return 1;
  });
  lua.lua_pop(L, 1);
  lua.lua_getglobal(L, toLua("math"));
  setFunction(L, "pow", (T) => {
    lua.lua_pushnumber(T, Math.pow(lauxlib.luaL_checknumber(T, 1), lauxlib.luaL_checknumber(T, 2)));
    return 1;
  });
  setFunction(L, "log10", (T) => {
    lua.lua_pushnumber(T, Math.log10(lauxlib.luaL_checknumber(T, 1)));
    return 1;
  });
  // 5.3's floor and ceil return integers, which are 32-bit here (see patchNumberModel).
  setFunction(L, "floor", (T) => {
    lua.lua_pushnumber(T, Math.floor(lauxlib.luaL_checknumber(T, 1)));
    return 1;
  });
  setFunction(L, "ceil", (T) => {
    lua.lua_pushnumber(T, Math.ceil(lauxlib.luaL_checknumber(T, 1)));
    return 1;
  });
  lua.lua_pop(L, 1);
  removeNames(L, "math", ["tointeger", "type", "ult", "maxinteger", "mininteger"]);
  removeNames(L, "table", ["unpack", "pack", "move"]);
  removeNames(L, "string", ["pack", "unpack", "packsize"]);
  removeNames(L, undefined, ["utf8", "package", "require", "os", "io", "debug", "dofile", "loadfile", "print", "rawlen"]);
}

/**
 * Lua 5.3 words type errors "attempt to index a nil value (local 't')";
 * 5.1, and so Redis, "attempt to index local 't' (a nil value)". Applied to
 * the error a script fails with (what the client sees); a message caught
 * by pcall inside the script keeps 5.3's wording.
 */
export function withLua51Wording(message: string): string {
  return message.replace(
    /attempt to (.+?) a (\w+) value \((local|global|field|upvalue|method) '([^']*)'\)/,
    "attempt to $1 $3 '$4' (a $2 value)",
  );
}
