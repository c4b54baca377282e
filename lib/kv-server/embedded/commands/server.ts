import type { Reply } from "../../reply";
import { arg, fail, type CommandContext, type CommandSpec } from "../command-context";

function ping(_ctx: CommandContext, args: readonly string[]): Reply {
  if (args.length > 2) fail("ERR wrong number of arguments for 'ping' command");
  return args.length === 2 ? arg(args, 1) : "PONG";
}

function time(ctx: CommandContext): Reply {
  const seconds = Math.floor(ctx.now / 1000);
  return [String(seconds), String((ctx.now - seconds * 1000) * 1000)];
}

export const serverCommands: CommandSpec[] = [
  { name: "ping", arity: -1, write: false, handler: ping },
  { name: "echo", arity: 2, write: false, handler: (_ctx, args) => arg(args, 1) },
  { name: "time", arity: 1, write: false, handler: time },
];
