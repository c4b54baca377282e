import { lua, type LuaState } from "fengari";
import { ReplyError, type Reply } from "../../reply";
import { formatG, fromLua, toLua } from "./lua-strings";
import { normalizeErrorText } from "./script-errors";

/**
 * Redis 7.0's conversions between Lua values and RESP2 replies
 * (https://redis.io/docs/latest/develop/interact/programmability/lua-api/#data-type-conversion).
 */

const ERR = toLua("err");
const OK = toLua("ok");

/** Deeper tables are refused, as Redis does when lua_checkstack fails (a table containing itself). */
const MAX_DEPTH = 200;
const INT64_MIN = -9223372036854775808;

/**
 * A reply as the script sees it (redis.call's result): integer -> number,
 * bulk -> string, nil -> false, status -> {ok=...}, error -> {err=...},
 * array -> table (nil elements become false).
 */
export function pushReply(L: LuaState, reply: Reply, status: boolean): void {
  lua.lua_checkstack(L, 4);
  if (reply === null) lua.lua_pushboolean(L, false);
  else if (typeof reply === "number") lua.lua_pushnumber(L, reply);
  else if (typeof reply === "string") {
    if (status) pushField(L, OK, reply);
    else lua.lua_pushstring(L, toLua(reply));
  } else if (reply instanceof ReplyError) pushField(L, ERR, normalizeErrorText(reply.message));
  else {
    lua.lua_createtable(L, reply.length, 0);
    reply.forEach((item, index) => {
      pushReply(L, item, false);
      lua.lua_rawseti(L, -2, index + 1);
    });
  }
}

/** A one-field table, {ok=...} or {err=...}. */
export function pushField(L: LuaState, field: Uint8Array, text: string): void {
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushstring(L, toLua(text));
  lua.lua_setfield(L, -2, field);
}

/**
 * The value at `index` as the script's reply: number -> integer (truncated;
 * out of int64 range or NaN gives INT64_MIN, what the C cast does on
 * x86-64), true -> 1, false and nil -> nil, {err=...} -> error,
 * {ok=...} -> status, other tables -> arrays up to the first nil.
 */
export function toReply(L: LuaState, index: number, depth = 0): Reply {
  const at = index < 0 ? lua.lua_gettop(L) + index + 1 : index;
  switch (lua.lua_type(L, at)) {
    case lua.LUA_TSTRING:
      return fromLua(lua.lua_tolstring(L, at)!);
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, at) ? 1 : null;
    case lua.LUA_TNUMBER: {
      const value = Math.trunc(lua.lua_tonumber(L, at));
      return Math.abs(value) < 2 ** 63 ? value + 0 : INT64_MIN;
    }
    case lua.LUA_TTABLE:
      return tableToReply(L, at, depth);
    default:
      return null;
  }
}

function tableToReply(L: LuaState, at: number, depth: number): Reply {
  if (depth >= MAX_DEPTH || !lua.lua_checkstack(L, 4)) return new ReplyError("ERR reached lua stack limit");
  const err = rawString(L, at, ERR);
  if (err !== undefined) return new ReplyError(err.replace(/[\r\n]/g, " "));
  const ok = rawString(L, at, OK);
  if (ok !== undefined) return ok.replace(/[\r\n]/g, " ");
  const items: Reply[] = [];
  for (let i = 1; ; i++) {
    if (lua.lua_rawgeti(L, at, i) === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      return items;
    }
    items.push(toReply(L, -1, depth + 1));
    lua.lua_pop(L, 1);
  }
}

/** t[field] when it is a string (rawget: a metatable cannot fake an error). */
export function rawString(L: LuaState, at: number, field: Uint8Array): string | undefined {
  lua.lua_checkstack(L, 2);
  lua.lua_pushstring(L, field);
  const type = lua.lua_rawget(L, at);
  const value = type === lua.LUA_TSTRING ? fromLua(lua.lua_tolstring(L, -1)!) : undefined;
  lua.lua_pop(L, 1);
  return value;
}

/**
 * redis.call's arguments as command arguments: strings as they are,
 * numbers printed with "%.17g" (Redis 7.0 formats them so, not with Lua's
 * tostring), anything else refused. Undefined when one is not allowed.
 */
export function argumentsFrom(L: LuaState): string[] | undefined {
  const count = lua.lua_gettop(L);
  const args: string[] = [];
  for (let i = 1; i <= count; i++) {
    const type = lua.lua_type(L, i);
    if (type === lua.LUA_TNUMBER) args.push(formatG(lua.lua_tonumber(L, i), 17));
    else if (type === lua.LUA_TSTRING) args.push(fromLua(lua.lua_tolstring(L, i)!));
    else return undefined;
  }
  return args;
}
