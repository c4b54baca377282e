import { ErrorText, type Reply } from "../../reply";
import { arg, fail, type CommandContext, type CommandSpec } from "../command-context";

function ping(_ctx: CommandContext, args: readonly string[]): Reply {
  if (args.length > 2) fail("ERR wrong number of arguments for 'ping' command");
  return args.length === 2 ? arg(args, 1) : "PONG";
}

function time(ctx: CommandContext): Reply {
  const seconds = Math.floor(ctx.now / 1000);
  return [String(seconds), String((ctx.now - seconds * 1000) * 1000)];
}

/**
 * Tollgate is Lua-free, so the embedded engine has no interpreter. EVALSHA
 * answers NOSCRIPT, which makes @upstash/redis fall back to EVAL, and EVAL
 * explains what to do instead.
 */
const noScripting = (): Reply => fail("ERR scripting is not available in the embedded KV engine; start it with --redis");
const noScript = (): Reply => fail(ErrorText.noScript);

export const serverCommands: CommandSpec[] = [
  { name: "ping", arity: -1, write: false, handler: ping },
  { name: "echo", arity: 2, write: false, handler: (_ctx, args) => arg(args, 1) },
  { name: "time", arity: 1, write: false, handler: time },
  { name: "eval", arity: -3, write: true, handler: noScripting },
  { name: "eval_ro", arity: -3, write: false, handler: noScripting },
  { name: "evalsha", arity: -3, write: true, handler: noScript },
  { name: "evalsha_ro", arity: -3, write: false, handler: noScript },
];
