/**
 * Types for the part of fengari (Lua 5.3 in plain JavaScript, no types of
 * its own) that the scripting module uses. Lua strings are byte arrays.
 */
declare module "fengari" {
  export type LuaString = Uint8Array;
  /** A Lua thread (coroutine) or the main state. Compared by identity only. */
  export interface LuaState {
    readonly __luaState: unique symbol;
  }
  export type JsFunction = (L: LuaState) => number;
  export type Hook = (L: LuaState, ar: LuaDebug) => void;
  export interface LuaDebug {
    what: LuaString | null;
    source: LuaString | null;
    currentline: number;
    linedefined: number;
  }

  export const lua: {
    readonly LUA_OK: 0;
    readonly LUA_YIELD: 1;
    readonly LUA_ERRRUN: 2;
    readonly LUA_ERRSYNTAX: 3;
    readonly LUA_ERRMEM: 4;
    readonly LUA_TNIL: 0;
    readonly LUA_TBOOLEAN: 1;
    readonly LUA_TNUMBER: 3;
    readonly LUA_TSTRING: 4;
    readonly LUA_TTABLE: 5;
    readonly LUA_MASKCOUNT: number;
    readonly LUA_REGISTRYINDEX: number;
    readonly LUA_MULTRET: number;
    lua_Debug: new () => LuaDebug;
    lua_newthread(L: LuaState): LuaState;
    lua_atnativeerror(L: LuaState, handler: JsFunction): void;
    lua_resume(L: LuaState, from: LuaState | null, nargs: number): number;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_pcallk(
      L: LuaState,
      nargs: number,
      nresults: number,
      msgh: number,
      ctx: number,
      k: (L: LuaState, status: number, ctx: number) => number,
    ): number;
    lua_insert(L: LuaState, index: number): void;
    lua_remove(L: LuaState, index: number): void;
    lua_yield(L: LuaState, n: number): void;
    lua_isyieldable(L: LuaState): boolean;
    lua_sethook(L: LuaState, hook: Hook | null, mask: number, count: number): void;
    lua_getstack(L: LuaState, level: number, ar: LuaDebug): boolean;
    lua_getinfo(L: LuaState, what: LuaString, ar: LuaDebug): boolean;
    lua_error(L: LuaState): never;
    lua_gettop(L: LuaState): number;
    lua_settop(L: LuaState, index: number): void;
    lua_pop(L: LuaState, n: number): void;
    lua_pushvalue(L: LuaState, index: number): void;
    lua_xmove(from: LuaState, to: LuaState, n: number): void;
    lua_type(L: LuaState, index: number): number;
    lua_typename(L: LuaState, type: number): LuaString;
    lua_toboolean(L: LuaState, index: number): boolean;
    lua_tonumber(L: LuaState, index: number): number;
    lua_tolstring(L: LuaState, index: number): LuaString | null;
    lua_pushnil(L: LuaState): void;
    lua_pushlightuserdata(L: LuaState, value: object): void;
    lua_touserdata(L: LuaState, index: number): unknown;
    lua_pushboolean(L: LuaState, value: boolean): void;
    lua_pushnumber(L: LuaState, value: number): void;
    lua_pushinteger(L: LuaState, value: number): void;
    lua_pushstring(L: LuaState, value: LuaString): void;
    lua_pushliteral(L: LuaState, value: string): void;
    lua_pushjsfunction(L: LuaState, fn: JsFunction): void;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_newtable(L: LuaState): void;
    lua_rawget(L: LuaState, index: number): number;
    lua_rawgeti(L: LuaState, index: number, n: number): number;
    lua_rawseti(L: LuaState, index: number, n: number): void;
    lua_rawset(L: LuaState, index: number): void;
    lua_getfield(L: LuaState, index: number, key: LuaString): number;
    lua_setfield(L: LuaState, index: number, key: LuaString): void;
    lua_getglobal(L: LuaState, name: LuaString): number;
    lua_pushglobaltable(L: LuaState): void;
    lua_setglobal(L: LuaState, name: LuaString): void;
    lua_setmetatable(L: LuaState, index: number): void;
    lua_next(L: LuaState, index: number): boolean;
    lua_rawlen(L: LuaState, index: number): number;
    lua_rawequal(L: LuaState, a: number, b: number): boolean;
    lua_checkstack(L: LuaState, n: number): boolean;
  };

  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_loadbuffer(L: LuaState, buffer: LuaString, size: number | null, chunkname: LuaString): number;
    luaL_error(L: LuaState, format: LuaString, ...args: unknown[]): never;
    luaL_checkany(L: LuaState, arg: number): void;
    luaL_argerror(L: LuaState, arg: number, message: LuaString): never;
    luaL_checknumber(L: LuaState, arg: number): number;
    luaL_checkinteger(L: LuaState, arg: number): number;
    luaL_optinteger(L: LuaState, arg: number, def: number): number;
    luaL_checklstring(L: LuaState, arg: number): LuaString;
    luaL_checkstack(L: LuaState, n: number, message: LuaString | null): void;
    luaL_tolstring(L: LuaState, index: number): LuaString;
    luaL_ref(L: LuaState, t: number): number;
    luaL_unref(L: LuaState, t: number, ref: number): void;
  };

  export const lualib: {
    luaopen_base(L: LuaState): number;
    luaopen_table(L: LuaState): number;
    luaopen_string(L: LuaState): number;
    luaopen_math(L: LuaState): number;
    luaopen_coroutine(L: LuaState): number;
    luaL_openlibs(L: LuaState): void;
  };

  export function to_luastring(text: string): LuaString;
  export function to_jsstring(bytes: LuaString): string;
}

/** fengari's object module: its number <-> string conversions, which the Lua 5.1 shim replaces. */
declare module "fengari/src/lobject.js" {
  import type { LuaState } from "fengari";
  export interface TValue {
    type: number;
    value: number;
    ttisinteger(): boolean;
    setfltvalue(value: number): void;
    setsvalue(value: unknown): void;
  }
  const lobject: {
    luaO_str2num(text: Uint8Array, out: TValue): number;
    luaO_tostring(L: LuaState, value: TValue): void;
  };
  export default lobject;
}

declare module "fengari/src/lstring.js" {
  import type { LuaState } from "fengari";
  const lstring: {
    luaS_bless(L: LuaState, bytes: Uint8Array): unknown;
  };
  export default lstring;
}
