import { createHash } from "node:crypto";
import { lauxlib, lua, lualib, type LuaState } from "fengari";
import { REDIS_COMMANDS } from "../../command-policy";
import { ReplyError, type Reply } from "../../reply";
import { installBitLibrary } from "./bit-library";
import { installCjsonLibrary } from "./cjson-library";
import { installCmsgpackLibrary } from "./cmsgpack-library";
import { argumentsFrom, pushField, pushReply } from "./conversions";
import { installLibrary, type LuaFunction } from "./lua-library";
import { installLua51Globals, patchNumberModel } from "./lua51-compat";
import { fromLua, toLua } from "./lua-strings";
import { compileError, normalizeErrorText, ScriptErrorText } from "./script-errors";

/** What redis.call and redis.pcall reach: the engine, for the script in progress. */
export interface ScriptHost {
  /** Runs one command; `status` says whether a string reply is a status reply ({ok=...} in Lua). */
  call(args: string[]): { reply: Reply; status: boolean };
}

/** The chunk name Redis 7.0 gives scripts: errors read "user_script:1: ...". */
export const SCRIPT_SOURCE = "@user_script";
const ERR = toLua("err");

/** Redis 7.0 makes the globals table read-only and reading an undefined global an error. */
const PROTECT_GLOBALS = `
local error, tostring = error, tostring
setmetatable(_G, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __metatable = false,
})
`;

/**
 * One Lua interpreter with Redis's script environment: the 5.1 base,
 * table, string, math and coroutine libraries, bit, cjson and cmsgpack, the
 * `redis` table, KEYS and ARGV, protected globals. Scripts are compiled into it once and kept by
 * reference, as Redis keeps f_<sha> functions.
 */
export class LuaSandbox {
  readonly L: LuaState;

  constructor(host: ScriptHost) {
    patchNumberModel();
    this.L = lauxlib.luaL_newstate();
    const L = this.L;
    lualib.luaL_openlibs(L);
    // A JavaScript exception inside the interpreter (a bug in a command or a library) becomes
    // the script's error, instead of leaving the script unfinished with the engine held.
    lua.lua_atnativeerror(L, (T) => {
      const error = lua.lua_touserdata(T, 1);
      pushField(T, ERR, `ERR internal error: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    });
    installLua51Globals(L);
    installRedisTable(L, host);
    installBitLibrary(L);
    installCjsonLibrary(L);
    installCmsgpackLibrary(L);
    this.runTrusted(PROTECT_GLOBALS);
  }

  private runTrusted(source: string): void {
    const L = this.L;
    if (lauxlib.luaL_loadbuffer(L, toLua(source), null, toLua("=sandbox")) !== lua.LUA_OK || lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) {
      throw new Error(`Lua sandbox set-up failed: ${fromLua(lua.lua_tolstring(L, -1) ?? toLua("?"))}`);
    }
    lua.lua_settop(L, 0);
  }

  /** Compiles a script body (shebang line already blanked); a registry reference, or Redis's error text. */
  compile(body: string): { ok: true; ref: number } | { ok: false; error: string } {
    const L = this.L;
    if (lauxlib.luaL_loadbuffer(L, toLua(body), null, toLua(SCRIPT_SOURCE)) !== lua.LUA_OK) {
      const detail = fromLua(lua.lua_tolstring(L, -1) ?? toLua("?"));
      lua.lua_settop(L, 0);
      return { ok: false, error: compileError(detail) };
    }
    return { ok: true, ref: lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX) };
  }

  /** Sets KEYS and ARGV (bypassing the read-only globals, as Redis does). */
  setArguments(keys: readonly string[], argv: readonly string[]): void {
    const L = this.L;
    lua.lua_pushglobaltable(L);
    for (const [name, values] of [["KEYS", keys], ["ARGV", argv]] as const) {
      lua.lua_pushstring(L, toLua(name));
      lua.lua_createtable(L, values.length, 0);
      values.forEach((value, index) => {
        lua.lua_pushstring(L, toLua(value));
        lua.lua_rawseti(L, -2, index + 1);
      });
      lua.lua_rawset(L, -3);
    }
    lua.lua_pop(L, 1);
  }
}

/** Raises {err=text} as redis.call does (the error handler adds where it happened). */
export function raiseError(L: LuaState, text: string): never {
  pushField(L, ERR, normalizeErrorText(text));
  return lua.lua_error(L);
}

function installRedisTable(L: LuaState, host: ScriptHost): void {
  const call = (raise: boolean) => (T: LuaState): number => {
    if (lua.lua_gettop(T) === 0) return fail(T, ScriptErrorText.noArguments, raise);
    const args = argumentsFrom(T);
    if (args === undefined) return fail(T, ScriptErrorText.badArgument, raise);
    const { reply, status } = host.call(args);
    if (reply instanceof ReplyError && raise) raiseError(T, reply.message);
    pushReply(T, reply, status);
    return 1;
  };
  const functions: Record<string, LuaFunction> = {
    call: call(true),
    pcall: call(false),
    error_reply: (T) => {
      if (lua.lua_gettop(T) !== 1 || lua.lua_type(T, 1) !== lua.LUA_TSTRING) return fail(T, ScriptErrorText.wrongArgsOrTypes, false);
      pushField(T, ERR, normalizeErrorText(fromLua(lua.lua_tolstring(T, 1)!)));
      return 1;
    },
    status_reply: (T) => {
      if (lua.lua_gettop(T) !== 1 || lua.lua_type(T, 1) !== lua.LUA_TSTRING) return fail(T, ScriptErrorText.wrongArgsOrTypes, false);
      pushField(T, toLua("ok"), fromLua(lua.lua_tolstring(T, 1)!));
      return 1;
    },
    sha1hex: (T) => {
      if (lua.lua_gettop(T) !== 1) return fail(T, ScriptErrorText.wrongArgs, true);
      const bytes = lua.lua_tolstring(T, 1) ?? new Uint8Array();
      lua.lua_pushstring(T, toLua(createHash("sha1").update(bytes).digest("hex")));
      return 1;
    },
    // The server log is not the client's business: logging is accepted and dropped.
    log: (T) => {
      if (lua.lua_gettop(T) < 2) return fail(T, "ERR redis.log() requires two arguments or more.", true);
      return 0;
    },
    setresp: (T) => {
      if (lua.lua_tonumber(T, 1) !== 2) return fail(T, "ERR RESP3 is not supported by the embedded KV engine", true);
      return 0;
    },
    // Redis 7 always replicates effects; these remain for old scripts.
    replicate_commands: (T) => {
      lua.lua_pushboolean(T, true);
      return 1;
    },
    set_repl: () => 0,
    breakpoint: (T) => {
      lua.lua_pushboolean(T, false);
      return 1;
    },
    debug: () => 0,
    // The REST token grants every command it lets through, so the only question is whether it exists.
    acl_check_cmd: (T) => {
      const name = lua.lua_type(T, 1) === lua.LUA_TSTRING ? fromLua(lua.lua_tolstring(T, 1)!).toLowerCase() : "";
      if (!REDIS_COMMANDS.has(name)) return fail(T, "ERR Invalid command passed to redis.acl_check_cmd()", true);
      lua.lua_pushboolean(T, true);
      return 1;
    },
  };
  installLibrary(L, "redis", functions, (T) => {
    for (const [name, value] of Object.entries(REDIS_CONSTANTS)) {
      if (typeof value === "string") lua.lua_pushstring(T, toLua(value));
      else lua.lua_pushnumber(T, value);
      lua.lua_setfield(T, -2, toLua(name));
    }
  });
}

const REDIS_CONSTANTS: Readonly<Record<string, number | string>> = {
  LOG_DEBUG: 0,
  LOG_VERBOSE: 1,
  LOG_NOTICE: 2,
  LOG_WARNING: 3,
  REPL_NONE: 0,
  REPL_AOF: 1,
  REPL_SLAVE: 2,
  REPL_REPLICA: 2,
  REPL_ALL: 3,
  REDIS_VERSION: "7.0.15",
  REDIS_VERSION_NUM: 0x07000f,
};

/** An error from the redis library: raised, or returned as {err=...} where Redis returns it. */
function fail(L: LuaState, text: string, raise: boolean): number {
  if (raise) raiseError(L, text);
  pushField(L, ERR, normalizeErrorText(text));
  return 1;
}
