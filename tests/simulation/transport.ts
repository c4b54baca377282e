import { VercelKV } from "@vercel/kv";

/** What `@vercel/kv` (an `@upstash/redis` client) accepts in place of its fetch transport. */
type Requester = Extract<ConstructorParameters<typeof VercelKV>[0], { request: unknown }>;
type UpstashRequest = Parameters<Requester["request"]>[0];

/** Carries one Upstash REST request (path, JSON body) and resolves with the JSON answer. */
export type Send = (path: string, body: string) => Promise<unknown>;

/**
 * The real `@vercel/kv` client over an in-process transport, built the way
 * lib/server/kv-node-transport.ts builds its Node client: a custom requester. As with
 * lib/kv-client.ts, nothing is ever re-sent (the requester has no retry loop, and the
 * client's own retries only exist in its fetch transport, which a requester replaces) and
 * nothing is auto-pipelined (that only wraps clients built from a URL). Like the Node
 * transport's AbortSignal.timeout, every request gives up after `timeoutMs` (a fake timer
 * here), so a request whose answer is lost never hangs its caller, even outside execTx
 * (the monthly cron's SCAN).
 */
export function createInProcessKv(send: Send, timeoutMs: number, onUnknownOutcome?: (body: string) => void): VercelKV {
  const request = (req: UpstashRequest) => new Promise<unknown>((resolve, reject) => {
    const path = `/${(req.path ?? []).map(encodeURIComponent).join("/")}`;
    const body = JSON.stringify(req.body);
    // The caller learns nothing of a request that failed or timed out: it may have been applied.
    const fail = (error: unknown) => {
      onUnknownOutcome?.(body);
      reject(error);
    };
    const timer = setTimeout(() => fail(new DOMException("The operation was aborted due to timeout", "TimeoutError")), timeoutMs);
    send(path, body).then(resolve, fail).finally(() => clearTimeout(timer));
  });
  const requester: Requester = { request: request as Requester["request"] };
  return new VercelKV(requester);
}
