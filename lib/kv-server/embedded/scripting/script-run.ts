import { performance } from "node:perf_hooks";
import { lauxlib, lua, type LuaState } from "fengari";
import { ReplyError, type Reply } from "../../reply";
import { rawString, toReply } from "./conversions";
import { raiseError, SCRIPT_SOURCE } from "./lua-sandbox";
import { withLua51Wording } from "./lua51-compat";
import { fromLua, toLua } from "./lua-strings";
import { normalizeErrorText, scriptFailure, ScriptErrorText } from "./script-errors";

export interface SliceOptions {
  /** After this long a script makes other callers get BUSY (Redis's busy-reply-threshold). */
  readonly busyMs: number;
  /** How long the interpreter runs before letting the event loop in. */
  readonly sliceMs: number;
}

/** Lua instructions between two looks at the clock. */
const HOOK_EVERY = 1000;
const ERR = toLua("err");

/**
 * One script invocation, run in slices so a runaway script cannot freeze
 * the server. The script runs in a Lua coroutine; a count hook yields it
 * when its slice is used up, and the next slice resumes it after the event
 * loop has run. Between slices the engine refuses or queues everyone else
 * (see embedded-engine.ts), so the script stays atomic. Yielding is only
 * possible where Lua allows it: inside a table.sort comparator, a gsub
 * callback or a coroutine of the script's own, the slice runs on until
 * control is back in the script's main body.
 */
export class RunningScript {
  private readonly thread: LuaState;
  private readonly threadRef: number;
  private readonly startedAt = performance.now();
  private stopReason: string | undefined;
  private busyTimer: NodeJS.Timeout | undefined;
  /** When the slice in progress is used up (performance.now() time). */
  private sliceEnd = 0;
  private overLimit = false;
  private reachedLimit!: () => void;
  private settle!: (reply: Reply) => void;
  /** Set by the engine when the script runs a write command: it can no longer be killed. */
  wrote = false;
  /** Resolves once the script has run past the busy limit. */
  readonly pastBusyLimit = new Promise<void>((resolve) => (this.reachedLimit = resolve));
  /** The script's reply, once it has finished. */
  readonly finished = new Promise<Reply>((resolve) => (this.settle = resolve));
  private outcome: { reply: Reply } | undefined;

  constructor(
    private readonly L: LuaState,
    functionRef: number,
    private readonly sha: string,
    private readonly options: SliceOptions,
    /** Called before every slice, so redis.call works on this invocation's context. */
    private readonly enter: () => void,
  ) {
    this.thread = lua.lua_newthread(L);
    this.threadRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_rawgeti(this.thread, lua.LUA_REGISTRYINDEX, functionRef);
    lua.lua_sethook(this.thread, this.hook, lua.LUA_MASKCOUNT, HOOK_EVERY);
  }

  /** Runs the first slice now; the reply if the script finished within it. */
  start(): { reply: Reply } | undefined {
    this.slice();
    if (this.outcome === undefined) {
      this.busyTimer = setTimeout(() => {
        this.overLimit = true;
        this.reachedLimit();
      }, Math.max(0, this.options.busyMs - this.elapsed()));
      setImmediate(() => this.continue());
    }
    return this.outcome;
  }

  get isPastBusyLimit(): boolean {
    return this.overLimit;
  }

  /** SCRIPT KILL: refused once the script has written, since its writes cannot be undone. */
  kill(): Reply {
    if (this.wrote) return new ReplyError(ScriptErrorText.unkillable);
    this.stop(ScriptErrorText.killed);
    return "OK";
  }

  /** Ends the script at its next pause whatever it did (SCRIPT KILL goes through kill). */
  stop(reason: string): void {
    this.stopReason ??= reason;
    // Where it cannot pause (a table.sort comparator), the hook raises on every instruction instead.
    if (this.outcome === undefined) lua.lua_sethook(this.thread, this.hook, lua.LUA_MASKCOUNT, 1);
  }

  private elapsed(): number {
    return performance.now() - this.startedAt;
  }

  private readonly hook = (T: LuaState): void => {
    // Only the script's own main coroutine yields to us; a coroutine the script made yields to the script.
    const canPause = T === this.thread && lua.lua_isyieldable(T);
    if (this.stopReason !== undefined) {
      // Paused, the script is simply never resumed: nothing inside it (a pcall) can catch that.
      if (canPause) lua.lua_yield(T, 0);
      else raiseError(T, this.stopReason);
    } else if (canPause && performance.now() >= this.sliceEnd) lua.lua_yield(T, 0);
  };

  private continue(): void {
    if (this.outcome !== undefined) return;
    this.slice();
    if (this.outcome === undefined) setImmediate(() => this.continue());
  }

  private slice(): void {
    if (this.stopReason === undefined) {
      this.enter();
      this.sliceEnd = performance.now() + this.options.sliceMs;
      let status: number;
      try {
        status = lua.lua_resume(this.thread, this.L, 0);
      } catch (error) {
        // Never expected (JavaScript errors become Lua errors), but a throw between slices
        // would otherwise leave the engine held for ever.
        return this.finish(new ReplyError(`ERR internal error while running the script: ${String(error)}`));
      }
      if (status !== lua.LUA_YIELD) return this.finishWith(status);
    }
    // Stopped while paused (SCRIPT KILL between slices), or paused by the hook after it.
    if (this.stopReason !== undefined) {
      this.finish(new ReplyError(scriptFailure(normalizeErrorText(this.stopReason), this.sha, this.where())));
    }
  }

  private finishWith(status: number): void {
    const reply: Reply =
      status === lua.LUA_OK
        ? lua.lua_gettop(this.thread) >= 1
          ? toReply(this.thread, 1)
          : null
        : new ReplyError(scriptFailure(this.errorMessage(), this.sha, this.where()));
    this.finish(reply);
  }

  private finish(reply: Reply): void {
    this.outcome = { reply };
    clearTimeout(this.busyTimer);
    lua.lua_sethook(this.thread, null, 0, 0);
    lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, this.threadRef);
    this.settle(reply);
  }

  /** What Redis's error handler makes of the error value: {err=...} as is, anything else "ERR " .. tostring(e). */
  private errorMessage(): string {
    const T = this.thread;
    switch (lua.lua_type(T, -1)) {
      case lua.LUA_TTABLE:
        return rawString(T, lua.lua_gettop(T), ERR) ?? "ERR unknown error";
      case lua.LUA_TSTRING:
      case lua.LUA_TNUMBER:
        return `ERR ${withLua51Wording(fromLua(lua.lua_tolstring(T, -1)!))}`;
      case lua.LUA_TNIL:
        return "ERR nil";
      case lua.LUA_TBOOLEAN:
        return `ERR ${lua.lua_toboolean(T, -1) ? "true" : "false"}`;
      default:
        return `ERR ${fromLua(lua.lua_typename(T, lua.lua_type(T, -1)))}`;
    }
  }

  /**
   * Where the error happened: the innermost frame of the script itself.
   * A failed coroutine keeps its stack, so it can be read after the fact;
   * Redis reads the same frame from its error handler.
   */
  private where(): { source: string; line: number } | undefined {
    const ar = new lua.lua_Debug();
    for (let level = 0; lua.lua_getstack(this.thread, level, ar); level++) {
      lua.lua_getinfo(this.thread, toLua("Sl"), ar);
      const source = ar.source === null ? "" : fromLua(ar.source);
      // Paused on a function's first instruction, fengari (like Lua 5.3) reports no current line.
      if (source === SCRIPT_SOURCE) return { source, line: ar.currentline >= 0 ? ar.currentline : Math.max(1, ar.linedefined) };
    }
    return undefined;
  }
}
