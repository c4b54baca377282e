import { createHash } from "node:crypto";
import { ReplyError, type Reply } from "../reply";
import { withoutUpstashFlags } from "../script-flags";

/** A command as forwarded to Redis, and how to turn Redis's reply into the client's. */
export interface ForwardedCommand {
  readonly args: string[];
  readonly reply: (reply: Reply) => Reply;
}

const unchanged = (reply: Reply): Reply => reply;

/** Scripts whose SHA mapping is kept; older ones are forgotten, which only costs a NOSCRIPT and an EVAL. */
const MAX_MAPPED_SCRIPTS = 10_000;

export function sha1hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/**
 * Lets clients use Upstash's script flags against a real Redis 7.0.
 *
 * A script whose shebang carries an Upstash-only flag is forwarded without
 * it, so Redis caches it under another SHA. The client only knows the SHA
 * of what it wrote, so this keeps client SHA -> Redis SHA: SCRIPT LOAD
 * answers the client's SHA, EVALSHA and SCRIPT EXISTS are translated, and
 * Redis's error texts name the client's SHA. A SHA Redis no longer has
 * (SCRIPT FLUSH, a Redis restart) still answers NOSCRIPT, so the client
 * falls back to EVAL as it would against Upstash.
 */
export class ScriptShaMap {
  private readonly redisShaOf = new Map<string, string>();

  /** The command to forward in place of `args` (scripting commands only; others pass through). */
  forward(args: readonly string[]): ForwardedCommand {
    const name = (args[0] ?? "").toLowerCase();
    if ((name === "eval" || name === "eval_ro") && args.length >= 2) {
      const rewritten = this.rewrite(args[1]!);
      if (rewritten === undefined) return { args: [...args], reply: unchanged };
      return { args: [args[0]!, rewritten.body, ...args.slice(2)], reply: rewritten.restoreError };
    }
    if ((name === "evalsha" || name === "evalsha_ro") && args.length >= 2) {
      const clientSha = args[1]!.toLowerCase();
      const redisSha = this.redisShaOf.get(clientSha);
      if (redisSha === undefined) return { args: [...args], reply: unchanged };
      return { args: [args[0]!, redisSha, ...args.slice(2)], reply: (reply) => renameInError(reply, redisSha, clientSha) };
    }
    if (name === "script" && args.length >= 2) return this.forwardScript(args);
    return { args: [...args], reply: unchanged };
  }

  private forwardScript(args: readonly string[]): ForwardedCommand {
    const sub = args[1]!.toLowerCase();
    if (sub === "load" && args.length === 3) {
      const rewritten = this.rewrite(args[2]!);
      if (rewritten === undefined) return { args: [...args], reply: unchanged };
      return {
        args: [args[0]!, args[1]!, rewritten.body],
        reply: (reply) => (reply === rewritten.redisSha ? rewritten.clientSha : rewritten.restoreError(reply)),
      };
    }
    if (sub === "exists") {
      const shas = args.slice(2).map((sha) => this.redisShaOf.get(sha.toLowerCase()) ?? sha);
      return { args: [args[0]!, args[1]!, ...shas], reply: unchanged };
    }
    if (sub === "flush") {
      return {
        args: [...args],
        reply: (reply) => {
          if (reply === "OK") this.redisShaOf.clear();
          return reply;
        },
      };
    }
    return { args: [...args], reply: unchanged };
  }

  /** Undefined when Redis can take the body as it is. */
  private rewrite(
    body: string,
  ): { body: string; clientSha: string; redisSha: string; restoreError: (reply: Reply) => Reply } | undefined {
    const forwarded = withoutUpstashFlags(body);
    if (forwarded === body) return undefined;
    const clientSha = sha1hex(body);
    const redisSha = sha1hex(forwarded);
    // Recorded before Redis answers: if it fails to compile, the mapped SHA is
    // simply unknown to Redis and EVALSHA answers NOSCRIPT, as it should.
    this.redisShaOf.delete(clientSha);
    this.redisShaOf.set(clientSha, redisSha);
    if (this.redisShaOf.size > MAX_MAPPED_SCRIPTS) {
      const oldest = this.redisShaOf.keys().next().value;
      if (oldest !== undefined) this.redisShaOf.delete(oldest);
    }
    return { body: forwarded, clientSha, redisSha, restoreError: (reply) => renameInError(reply, redisSha, clientSha) };
  }
}

/** Redis's error texts ("script: <sha>, on @user_script:1.") name the client's SHA. */
function renameInError(reply: Reply, redisSha: string, clientSha: string): Reply {
  if (reply instanceof ReplyError && reply.message.includes(redisSha)) {
    return new ReplyError(reply.message.split(redisSha).join(clientSha));
  }
  return reply;
}
