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
 * nothing is auto-pipelined (that only wraps clients built from a URL). The request's
 * bound is the metering core's own (execTx races kvTimeoutMs on a fake timer).
 */
export function createInProcessKv(send: Send): VercelKV {
  const request = async (req: UpstashRequest) => {
    const path = `/${(req.path ?? []).map(encodeURIComponent).join("/")}`;
    return send(path, JSON.stringify(req.body));
  };
  const requester: Requester = { request: request as Requester["request"] };
  return new VercelKV(requester);
}
