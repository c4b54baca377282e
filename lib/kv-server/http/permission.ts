import { isReadOnlyCommand } from "../command-policy";
import { refusal, type JsonAnswer } from "./answer";
import type { Access } from "./auth";

/**
 * What the read-only token may run: commands Redis flags read-only, and
 * nothing else. Checked before anything runs, so a pipeline or transaction
 * with one write in it is refused whole, with Upstash's 403 NOPERM.
 * Undefined when every command is allowed.
 */
export function decidePermission(access: Access, commands: readonly (readonly string[])[]): JsonAnswer | undefined {
  if (access === "full") return undefined;
  const write = commands.find((command) => !isReadOnlyCommand(command[0] ?? ""));
  if (write === undefined) return undefined;
  const name = (write[0] ?? "").toLowerCase();
  return refusal(403, `NOPERM this user has no permissions to run the '${name}' command`);
}
