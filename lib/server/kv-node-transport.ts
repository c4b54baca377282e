import http from "node:http";
import https from "node:https";
import { VercelKV } from "@vercel/kv";
import type { KvClientOptions } from "../kv-client";
import { DEFAULT_KV_TIMEOUT_MS } from "../metering/config";

/** What `@vercel/kv` (an `@upstash/redis` client) accepts in place of its fetch transport. */
type Requester = Extract<ConstructorParameters<typeof VercelKV>[0], { request: unknown }>;
type UpstashRequest = Parameters<Requester["request"]>[0];

/** Bodies larger than this are refused: a KV answer for the metering core is a few KB. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * The KV client for Node route handlers: the same `@vercel/kv` client and the same
 * Upstash REST requests, sent with `node:http(s)` over a keep-alive agent instead of
 * Node 20's `fetch` (undici), which spends more CPU and time per round trip (README
 * Benchmarks: the added latency at one connection). The Edge middleware keeps `fetch`
 * (lib/kv-client.ts).
 *
 * Same contract as createKvClient: never retried (a lost answer must not apply a
 * transaction twice), bounded by timeoutMs, read-your-writes sync token kept and sent.
 * Answers arrive unencoded (no `Upstash-Encoding: base64`): every value the metering core
 * stores is UTF-8 text.
 */
export function createNodeKvClient({ url, token, timeoutMs = DEFAULT_KV_TIMEOUT_MS }: KvClientOptions): VercelKV {
  const base = new URL(url);
  if (base.protocol !== "http:" && base.protocol !== "https:") throw new TypeError("the KV URL must be http: or https:");
  const transport = base.protocol === "https:" ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  const basePath = base.pathname.replace(/\/$/, "");
  let syncToken = "";

  const request = (req: UpstashRequest) => new Promise<unknown>((resolve, reject) => {
    const body = JSON.stringify(req.body);
    const headers: http.OutgoingHttpHeaders = {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    };
    if (syncToken !== "") headers["upstash-sync-token"] = syncToken;
    const outgoing = transport.request({
      agent,
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      path: `${basePath}/${(req.path ?? []).map(encodeURIComponent).join("/")}`,
      method: "POST",
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    }, (incoming) => {
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          incoming.destroy(new Error(`KV answer larger than ${MAX_ANSWER_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      incoming.on("error", reject);
      incoming.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          reject(new Error(`KV answered HTTP ${incoming.statusCode} with a body that is not JSON`));
          return;
        }
        const next = incoming.headers["upstash-sync-token"];
        if (typeof next === "string") syncToken = next;
        if (incoming.statusCode !== 200) {
          const error = (parsed as { error?: unknown } | null)?.error;
          reject(new Error(typeof error === "string" ? error : `KV answered HTTP ${incoming.statusCode}`));
          return;
        }
        resolve(parsed);
      });
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });

  const requester: Requester = { request: request as Requester["request"] };
  return new VercelKV(requester);
}
