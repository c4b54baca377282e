import { inject } from "vitest";
import { createKvClient } from "../../lib/kv-client";
import { createMetering, type Metering, type MeteringOptions } from "../../lib/metering";

export interface KvTarget {
  /** "embedded" or "redis": the local KV server's engine. */
  engine: string;
  url: string;
  token: string;
}

/** The local KV servers the global setup started (one per engine). */
export function kvTargets(): KvTarget[] {
  return inject("kvServers");
}

export function uniqueNamespace(label = "t"): string {
  return `test:${label}-${crypto.randomUUID().slice(0, 12)}`;
}

/**
 * The round-trip bound (kvTimeoutMs, and the client's own timeout) of a test that does not
 * choose one: generous, so a slow or loaded machine (the local KV server is JavaScript, and
 * answers a burst of concurrent requests slowly there) never fails a test that is not about
 * timing. The default healAfterMs (30 s) leaves room for it (≥ 5 × T).
 */
export const TEST_KV_TIMEOUT_MS = 3000;

/**
 * A metering instance on a fresh namespace, so tests never see each other's keys. The
 * client's fetch timeout is the metering's kvTimeoutMs: never shorter than it.
 */
export function meteringOn(target: KvTarget, options: Partial<MeteringOptions> = {}): Metering {
  const kvTimeoutMs = options.kvTimeoutMs ?? TEST_KV_TIMEOUT_MS;
  const kv = createKvClient({ url: target.url, token: target.token, timeoutMs: kvTimeoutMs });
  return createMetering(kv, { namespace: uniqueNamespace(), monthlyAllowance: 0, ...options, kvTimeoutMs });
}

/** A clock tests move by hand. */
export function manualClock(start: string | number): { now: () => number; set(t: string | number): void; advance(ms: number): void } {
  let t = typeof start === "string" ? Date.parse(start) : start;
  return {
    now: () => t,
    set(next) { t = typeof next === "string" ? Date.parse(next) : next; },
    advance(ms) { t += ms; },
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    kvServers: KvTarget[];
  }
}
