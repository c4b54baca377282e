import { createClient, type VercelKV } from "@vercel/kv";
import { DEFAULT_KV_TIMEOUT_MS } from "./metering/config";

export interface KvClientOptions {
  url: string;
  token: string;
  /**
   * Bound on one round trip. The client's own retry loop totals over 4 s and would re-send
   * a transaction whose answer was lost, so Tollgate turns retries off and sets this.
   * @default DEFAULT_KV_TIMEOUT_MS (1500)
   */
  timeoutMs?: number;
}

/**
 * The one place Tollgate builds an Upstash-REST client from explicit settings.
 * - retries off: a MULTI/EXEC is never sent twice (a replay could apply a debit twice);
 * - a per-request AbortSignal: a slow store becomes a 503 within the bound, not a hang;
 * - auto-pipelining off: the metering core batches on purpose (coalescer), and a read
 *   must never be reordered around a write by the client.
 */
export function createKvClient({ url, token, timeoutMs = DEFAULT_KV_TIMEOUT_MS }: KvClientOptions): VercelKV {
  return createClient({
    url,
    token,
    retry: { retries: 0, backoff: () => 0 },
    signal: () => AbortSignal.timeout(timeoutMs),
    enableAutoPipelining: false,
    cache: "no-store",
  });
}
