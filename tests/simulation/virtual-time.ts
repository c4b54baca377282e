import { createHash } from "node:crypto";
import { vi } from "vitest";
import type { Prng } from "./prng";

/**
 * Virtual time. Date, the timers and performance are faked, so every timeout, backoff,
 * heal delay and network delay in the run is a fake timer that fires only when the
 * scheduler advances the clock. Microtasks and process.nextTick stay real: they are
 * deterministic on their own (no I/O anywhere in a run), and faking them would stall
 * promise chains the scheduler does not know about. setImmediate stays real too: the
 * fake clock yields through it between timers.
 */
export interface VirtualTime {
  now(): number;
  /** Fires every timer due in the next `ms`, in order, letting promises run between them. */
  advance(ms: number): Promise<void>;
  /**
   * Moves the wall clock forward without firing anything (pending timers keep their
   * delays). Only for a quiet system: a request in flight across a jump would be applied
   * "months" after it was sent, which the design's timing assumption rules out.
   */
  jumpTo(epochMs: number): void;
  /** A clock for one instance whose system clock is `skewMs` off. */
  skewed(skewMs: number): () => number;
  restore(): void;
}

export function installVirtualTime(startMs: number): VirtualTime {
  vi.useFakeTimers({
    now: startMs,
    toFake: ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval", "performance"],
  });
  return {
    now: () => Date.now(),
    advance: async (ms) => {
      await vi.advanceTimersByTimeAsync(ms);
    },
    jumpTo: (epochMs) => {
      if (epochMs < Date.now()) throw new Error("virtual time only moves forward");
      vi.setSystemTime(epochMs);
    },
    skewed: (skewMs) => () => Date.now() + skewMs,
    restore: () => vi.useRealTimers(),
  };
}

/**
 * Operation ids come from crypto.randomUUID (lib/metering/operation.ts); drawing them from
 * the run's PRNG makes them, and everything keyed by them, the same on every replay.
 */
export function deterministicIds(prng: Prng): { restore(): void } {
  const spy = vi.spyOn(globalThis.crypto, "randomUUID").mockImplementation(() => prng.uuid());
  // SHA-256 of request bodies (the Idempotency-Key fingerprint): WebCrypto answers from a
  // thread pool, at a moment no fake clock controls. The same digest, computed at once,
  // keeps the interleaving a function of the seed.
  const digest = vi.spyOn(globalThis.crypto.subtle, "digest").mockImplementation(async (algorithm, data) => {
    if (algorithm !== "SHA-256") throw new TypeError(`the simulation only computes SHA-256, not ${String(algorithm)}`);
    const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data as ArrayBuffer);
    return new Uint8Array(createHash("sha256").update(bytes).digest()).buffer;
  });
  return {
    restore: () => {
      spy.mockRestore();
      digest.mockRestore();
    },
  };
}
