import type { CommandSpec } from "../command-context";

/**
 * Table entries for the scripting commands: their arity (checked when
 * queued, so a bad EVAL in MULTI aborts it) and write flag. They never run
 * through `handler`: a script can outlive one synchronous call, so the
 * engine hands these to Scripting (scripting.ts) instead.
 */
const runByEngine = (): never => {
  throw new Error("scripting commands are run by the engine's Scripting, not the command table");
};

export const scriptCommands: CommandSpec[] = [
  { name: "eval", arity: -3, write: true, handler: runByEngine },
  { name: "eval_ro", arity: -3, write: false, handler: runByEngine },
  { name: "evalsha", arity: -3, write: true, handler: runByEngine },
  { name: "evalsha_ro", arity: -3, write: false, handler: runByEngine },
  { name: "script", arity: -2, write: false, handler: runByEngine },
];
