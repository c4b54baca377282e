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
 * choose one: generous, so a slow or loaded machine never fails a test that is not about
 * timing (the local KV server is JavaScript in the vitest main process: a burst of 60
 * concurrent requests took over 3 s per answer on a slow CI machine). Its heal delay, unless
 * the test chooses one, is the shortest the config accepts (5 × T, timing.ts); only a test
 * that waits for something still in flight pays for them in real time.
 */
export const TEST_KV_TIMEOUT_MS = 10_000;

/**
 * A metering instance on a fresh namespace, so tests never see each other's keys. The
 * client's fetch timeout is the metering's kvTimeoutMs: never shorter than it.
 */
export function meteringOn(target: KvTarget, options: Partial<MeteringOptions> = {}): Metering {
  const kvTimeoutMs = options.kvTimeoutMs ?? TEST_KV_TIMEOUT_MS;
  const healAfterMs = options.healAfterMs ?? Math.max(30_000, 5 * kvTimeoutMs);
  const kv = createKvClient({ url: target.url, token: target.token, timeoutMs: kvTimeoutMs });
  return createMetering(kv, { namespace: uniqueNamespace(), monthlyAllowance: 0, ...options, kvTimeoutMs, healAfterMs });
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
