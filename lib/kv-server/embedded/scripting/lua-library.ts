import { lua, type LuaState } from "fengari";
import { toLua } from "./lua-strings";

/** How the script environment is assembled: tables of JavaScript functions, set as globals. */

export type LuaFunction = (L: LuaState) => number;

/** A JavaScript function under `name` in the table on top of the stack. */
export function setFunction(L: LuaState, name: string, fn: LuaFunction): void {
  lua.lua_pushjsfunction(L, fn);
  lua.lua_setfield(L, -2, toLua(name));
}

/**
 * A new table of `functions` as the global `name` (bit, cjson, cmsgpack,
 * redis). `fill` adds fields that are not functions, with the table on top
 * of the stack.
 */
export function installLibrary(
  L: LuaState,
  name: string,
  functions: Readonly<Record<string, LuaFunction>>,
  fill?: (L: LuaState) => void,
): void {
  lua.lua_createtable(L, 0, Object.keys(functions).length);
  for (const [field, fn] of Object.entries(functions)) setFunction(L, field, fn);
  fill?.(L);
  lua.lua_setglobal(L, toLua(name));
}

/** Removes `names` from the global table `table` (or from the globals themselves when undefined). */
export function removeNames(L: LuaState, table: string | undefined, names: readonly string[]): void {
  if (table === undefined) {
    for (const name of names) {
      lua.lua_pushnil(L);
      lua.lua_setglobal(L, toLua(name));
    }
    return;
  }
  lua.lua_getglobal(L, toLua(table));
  for (const name of names) {
    lua.lua_pushnil(L);
    lua.lua_setfield(L, -2, toLua(name));
  }
  lua.lua_pop(L, 1);
}
