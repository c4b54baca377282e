import type { Prng } from "./prng";
import type { SimStore } from "./store";
import type { Trace } from "./trace";

export interface FaultOptions {
  /** Off for the quiet phases (settling before a clock jump, the final check). */
  enabled: boolean;
  /**
   * SIM_BREAK_TIMING=1: now and then a request reaches the store long after healAfterMs,
   * which the design assumes never happens. Off by default: findings in this mode are
   * the price of the assumption, not bugs.
   */
  breakTiming: boolean;
  kvTimeoutMs: number;
  healAfterMs: number;
}

/** Windows of trouble, started by the scheduler and ended by the clock. */
export class Weather {
  storeDownUntil = 0;
  /** Instance → until when answers to it are lost (after the store applied the request). */
  readonly partitionedUntil = new Map<string, number>();
  /** Instance → until when its requests crawl (just under kvTimeoutMs each way). */
  readonly slowUntil = new Map<string, number>();

  storeDown(now: number): boolean {
    return now < this.storeDownUntil;
  }

  partitioned(instance: string, now: number): boolean {
    return now < (this.partitionedUntil.get(instance) ?? 0);
  }

  slow(instance: string, now: number): boolean {
    return now < (this.slowUntil.get(instance) ?? 0);
  }

  /**
   * Called once per scheduler step: now and then trouble starts (`rate` scales how often,
   * per seed); it ends on its own. Bounds (README "Limits"): an outage never lasts so long
   * that a failed debit's void cannot land before a healer acts (voidDebit retries until its
   * owner's deadline, op.at + healAfterMs / 2 − kvTimeoutMs). A partition may last longer: requests still arrive (and voids
   * land), only answers are lost.
   */
  evolve(p: Prng, rate: number, instances: string[], trace: Trace): void {
    const now = Date.now();
    const roll = p.next() / rate;
    const until = (t: number) => new Date(t).toISOString();
    if (roll < 0.002) {
      this.storeDownUntil = now + p.int(1_000, 8_000);
      trace.note(`weather: store down until ${until(this.storeDownUntil)}`);
    } else if (roll < 0.005) {
      const inst = p.pick(instances);
      this.partitionedUntil.set(inst, now + p.int(1_000, 20_000));
      trace.note(`weather: answers to ${inst} lost until ${until(this.partitionedUntil.get(inst)!)}`);
    } else if (roll < 0.008) {
      const inst = p.pick(instances);
      this.slowUntil.set(inst, now + p.int(15_000, 40_000));
      trace.note(`weather: ${inst} slow (round trips just under the KV timeout) until ${until(this.slowUntil.get(inst)!)}`);
    }
  }

  clear(): void {
    this.storeDownUntil = 0;
    this.partitionedUntil.clear();
    this.slowUntil.clear();
  }
}

/**
 * The network between each instance's client and the store. Every request gets a seeded
 * fate when it is sent: a delay to the store, a delay back (so answers are reordered
 * across instances), and rarely a failure before the store (not applied) or a lost answer
 * after it (applied; the client sees a network error, or nothing until its own timeout).
 *
 * The one timing assumption of the design is kept, up to its edge: a request reaches the
 * store within healAfterMs / 2 of being sent (most within 3 × kvTimeoutMs; now and then
 * just inside the bound), or never. Outages are bounded
 * the same way the design bounds them (README "Limits"): an instance is never cut off for
 * so long that its void of a failed debit cannot land before a healer acts.
 */
export class Network {
  inFlight = 0;
  /** Requests that failed or whose answer was lost, all instances together. */
  failures = 0;

  constructor(
    private readonly store: SimStore,
    readonly weather: Weather,
    private readonly prng: Prng,
    readonly options: FaultOptions,
    private readonly trace: Trace,
  ) {}

  send(instance: string, path: string, body: string): Promise<unknown> {
    const fate = this.fate(instance);
    // The trace names a request by who sent it and when: a late one stands out.
    const from = `${instance} (sent ${new Date(Date.now()).toISOString().slice(11, 23)})`;
    this.inFlight++;
    return new Promise<unknown>((resolve, reject) => {
      const fail = (why: string) => setTimeout(() => {
        this.failures++;
        this.inFlight--;
        reject(new TypeError(`fetch failed (sim: ${why})`));
      }, fate.back);
      setTimeout(() => {
        const now = Date.now();
        if (fate.kind === "fail-before") {
          fail("connection refused");
          return;
        }
        if (this.weather.storeDown(now)) {
          setTimeout(() => {
            this.failures++;
            this.inFlight--;
            reject(new Error("ERR KV backend unavailable: sim outage"));
          }, fate.back);
          return;
        }
        void this.store.answer(from, path, body).then((answer) => {
          const lost = fate.kind === "lost" || this.weather.partitioned(instance, Date.now());
          if (lost) {
            this.trace.note(`net: answer to ${instance} lost after apply (seq ${this.store.lastSeq})`);
            if (fate.hang) {
              this.failures++;
              this.inFlight--; // the client's own timeout ends it
              return;
            }
            fail("connection reset after write");
            return;
          }
          setTimeout(() => {
            this.inFlight--;
            if (answer.status === 200) resolve(JSON.parse(JSON.stringify(answer.body)));
            else reject(new Error((answer.body as { error?: string }).error ?? `KV answered HTTP ${answer.status}`));
          }, fate.back);
        });
      }, fate.toStore);
    });
  }

  private fate(instance: string): { toStore: number; back: number; kind: "ok" | "fail-before" | "lost"; hang: boolean } {
    const p = this.prng;
    const o = this.options;
    // Drawn even when faults are off, so turning them off does not shift the PRNG stream
    // differently depending on how many requests a phase makes.
    const roll = p.next();
    const slowRoll = p.next();
    const hang = p.chance(0.5);
    let toStore = p.int(0, 20);
    let back = p.int(0, 20);
    if (!o.enabled) return { toStore, back, kind: "ok", hang: false };
    const now = Date.now();
    if (this.weather.slow(instance, now)) {
      // Just under the KV timeout: every round trip succeeds, and a pass of many of them
      // outlives the heal lock (15 s).
      toStore = p.int(1_300, o.kvTimeoutMs - 60);
      back = p.int(0, 40);
    } else if (slowRoll < 0.03) {
      toStore = p.int(o.kvTimeoutMs / 2, o.kvTimeoutMs * 3);
    } else if (slowRoll < 0.06) {
      back = p.int(o.kvTimeoutMs / 4, o.kvTimeoutMs * 2);
    } else if (slowRoll < 0.068) {
      // The edge of the timing assumption: applied just inside healAfterMs / 2 of being
      // sent, long after its caller gave up (timing.ts). Legal, and the hardest case for
      // every fence.
      toStore = p.int(o.healAfterMs / 2 - 2 * o.kvTimeoutMs, o.healAfterMs / 2 - 100);
    }
    if (o.breakTiming && slowRoll > 0.997) {
      toStore = o.healAfterMs + p.int(1_000, 30_000);
      this.trace.note(`net: BREAK_TIMING request from ${instance} will reach the store in ${toStore} ms`);
    }
    const kind = roll < 0.012 ? "fail-before" : roll < 0.024 ? "lost" : "ok";
    return { toStore, back, kind, hang };
  }
}
