import { createMetering, type Metering, readLedger, userKeys } from "../../lib/metering";
import type { ActorContext } from "./actor-context";
import { type OperationKind, OPERATIONS, startOperation } from "./actors";
import { finalChecks, holdChecks, iso, stepChecks, type Violation } from "./checks";
import { type FaultOptions, Network, Weather } from "./faults";
import { Model } from "./model";
import { Prng } from "./prng";
import { SimStore } from "./store";
import { Trace } from "./trace";
import { createInProcessKv } from "./transport";
import { deterministicIds, installVirtualTime, type VirtualTime } from "./virtual-time";
import { Background, buildInstance, type Instance, MAX_SIM_HOLD_DEADLINE_MS, METERING, NAMESPACE } from "./world";

export interface SimOptions {
  seed: number;
  steps: number;
  /** See FaultOptions.breakTiming. */
  breakTiming?: boolean;
  /** Keep running after a violation, collecting the first of each kind (for exploration). */
  keepGoing?: boolean;
  /** Return the whole trace, not only the lines before the first violation. */
  fullTrace?: boolean;
}

export interface StepViolation extends Violation {
  step: number;
  at: string;
}

export interface SimResult {
  seed: number;
  /** Steps asked for: the jump schedule depends on it, so a replay must ask for as many. */
  configuredSteps: number;
  /** Steps run (fewer when a check failed). */
  steps: number;
  violations: StepViolation[];
  /** The trace around the first violation (or the end of the run). */
  trace: string[];
  /** Hash of the whole trace: two runs of one seed must agree. */
  digest: string;
  /** What the run did, for the summary line. */
  counts: Record<string, number>;
}

/**
 * The virtual world starts just before a year ends, so the first minutes cross Dec → Jan.
 * Three quiet jumps later move it to the last half-minute of Jan 31, Feb 28 2028 (a leap
 * year: Feb 29 follows) and Feb 29.
 */
const START = Date.parse("2027-12-31T23:59:00Z");
const JUMPS = ["2028-01-31T23:59:30Z", "2028-02-28T23:59:30Z", "2028-02-29T23:59:30Z"].map(Date.parse);
const JUMP_AT = [0.3, 0.55, 0.8];
const MAX_IN_FLIGHT = 80;
/**
 * A debit in the history that no caller was answered about is only a violation once its
 * caller must have had the answer: every caller's chain of round trips (a refusal, a
 * grant, a retry) ends well within this, and a healer only settles after healAfterMs.
 */
const ANSWER_GRACE_MS = 60_000;

export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const { seed, steps } = options;
  // Separate streams: the scheduler's choices, the network's fates and the minted ids do
  // not shift each other when one part of the code makes one more draw.
  const prng = new Prng(seed);
  const time = installVirtualTime(START);
  const ids = deterministicIds(new Prng(seed ^ 0x1d5));
  const trace = new Trace(options.fullTrace ?? false);
  const store = await SimStore.create(NAMESPACE, () => Date.now());
  try {
    if (options.fullTrace) store.onApplied = (a) => trace.note(`store #${a.seq} from ${a.from}: ${a.summary}`);
    return await new Simulation(options, prng, time, trace, store).run(steps);
  } finally {
    await store.close();
    ids.restore();
    time.restore();
  }
}

class Simulation {
  private readonly model = new Model();
  private readonly weather = new Weather();
  private readonly faults: FaultOptions;
  private readonly network: Network;
  private readonly background = new Background();
  private readonly instances: Instance[];
  /** Reads the ledger straight from the store (no faults): the checks' eyes. */
  private readonly oracle: Metering;
  private readonly carried = new Map<string, Set<string>>();
  /** Operations whose caller has not had its answer yet, with what they are. */
  private readonly pending = new Map<Promise<unknown>, string>();
  private readonly violations: StepViolation[] = [];
  private readonly seen = new Set<string>();
  private readonly openCount = new Map<string, number>();
  private readonly counts: Record<string, number> = {};
  private jumps = 0;
  /**
   * Swarm testing: each seed runs its own mix (operation weights, fault rates, a hot
   * user), so some seeds dwell on what others barely touch.
   */
  private readonly swarm: { weights: Record<OperationKind, number>; faultRate: number; hotUserChance: number };
  private firstTrace: string[] | null = null;

  constructor(
    private readonly options: SimOptions,
    private readonly prng: Prng,
    private readonly time: VirtualTime,
    private readonly trace: Trace,
    private readonly store: SimStore,
  ) {
    this.swarm = {
      weights: Object.fromEntries(Object.entries(OPERATIONS).map(([k, w]) => [k, w * (0.25 + prng.next() * 2.75)])) as Record<OperationKind, number>,
      faultRate: 0.5 + prng.next() * 2.5,
      hotUserChance: prng.chance(0.5) ? prng.next() * 0.6 : 0,
    };
    this.faults = { enabled: true, breakTiming: options.breakTiming ?? false, kvTimeoutMs: METERING.kvTimeoutMs!, healAfterMs: METERING.healAfterMs! };
    this.network = new Network(store, this.weather, new Prng(options.seed ^ 0x7e7), this.faults, trace);
    // Three instances, each with its own clock skew, up to the assumption's edge (any two
    // agree within kvTimeoutMs); the gate of i0 and i2 debits through the coalescer, the
    // gate of i1 through plain metering.debit.
    this.model.voidLanded = this.store.voided;
    const unknown = (ids: string[]) => ids.forEach((id) => this.model.unknownOutcome.add(id));
    this.instances = [0, 1, 2].map((i) => buildInstance(`i${i}`, prng.int(-(METERING.kvTimeoutMs! / 2 - 50), METERING.kvTimeoutMs! / 2 - 50), this.network, this.background, i !== 1, unknown));
    const oracleKv = createInProcessKv(async (path, body) => {
      const answer = await store.answer("oracle", path, body);
      if (answer.status !== 200) throw new Error(`oracle read failed: ${JSON.stringify(answer.body)}`);
      return answer.body;
    }, 60_000);
    this.oracle = createMetering(oracleKv, { ...METERING, clock: () => Date.now() });
  }

  private readonly counters = { ops: 0, credits: 0 };

  private get actors(): ActorContext {
    return {
      counters: this.counters,
      prng: this.prng,
      model: this.model,
      trace: this.trace,
      store: this.store,
      instances: this.instances,
      openUsers: () => [...this.openCount].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([u]) => u),
      hotUserChance: this.swarm.hotUserChance,
      networkFailures: () => this.network.failures,
      slowDown: (instance, ms) => {
        this.weather.slowUntil.set(instance, this.time.now() + ms);
        this.trace.note(`weather: ${instance} slow until ${iso(this.time.now() + ms)}`);
      },
      keyEpoch: () => `j${this.jumps}d${Math.floor(this.time.now() / 86_400_000)}`,
      violate: (v) => this.violate(v),
    };
  }

  async run(steps: number): Promise<SimResult> {
    const jumpSteps = JUMP_AT.map((f) => Math.max(1, Math.floor(steps * f)));
    const actors = this.actors;
    let step = 0;
    for (step = 1; step <= steps && !this.stopped; step++) {
      this.trace.step = step;
      const jump = jumpSteps.indexOf(step);
      if (jump !== -1) {
        await this.settleEverything(`before the jump to ${new Date(JUMPS[jump]!).toISOString()}`);
        if (JUMPS[jump]! > this.time.now()) {
          this.time.jumpTo(JUMPS[jump]!);
          this.jumps++;
          this.trace.note(`clock jumps to ${new Date(JUMPS[jump]!).toISOString()}`);
        }
        continue;
      }
      if (this.faults.enabled) this.weather.evolve(this.prng, this.swarm.faultRate, this.instances.map((i) => i.name), this.trace);
      const starts = this.prng.chance(0.15) ? this.prng.int(2, 5) : 1;
      for (let i = 0; i < starts && this.pending.size < MAX_IN_FLIGHT; i++) {
        const kind = this.prng.weighted<OperationKind>(this.swarm.weights);
        this.counts[kind] = (this.counts[kind] ?? 0) + 1;
        this.track(startOperation(actors, kind), `${kind} started at step ${step}`);
      }
      await this.time.advance(this.pickDelay());
      await this.checkTouched();
    }
    if (!this.stopped) await this.settleEverything("at the end");
    return {
      seed: this.options.seed,
      configuredSteps: this.options.steps,
      steps: step - 1,
      violations: this.violations,
      trace: this.options.fullTrace ? this.trace.lines_() : (this.firstTrace ?? this.trace.last(80)),
      digest: this.trace.digest,
      counts: { ...this.counts, users: this.model.users.size, storeRequests: this.store.lastSeq },
    };
  }

  private get stopped(): boolean {
    return this.violations.length > 0 && !this.options.keepGoing;
  }

  private track(task: Promise<unknown>, what: string): void {
    this.pending.set(task, what);
    void task.finally(() => this.pending.delete(task));
  }

  /** How far virtual time moves after a step: often not at all (true concurrency). */
  private pickDelay(): number {
    const p = this.prng;
    switch (p.weighted({ none: 25, short: 55, medium: 15, long: 5 })) {
      case "none": return 0;
      case "short": return p.int(1, 150);
      case "medium": return p.int(150, 2_500);
      case "long": return p.int(2_500, 12_000);
    }
  }

  /**
   * Awaits work that goes over the simulated network: its answers are fake timers, so
   * virtual time has to move (in small steps) for it to finish.
   */
  private async drive<T>(task: Promise<T>): Promise<T> {
    let done = false;
    const watched = task.finally(() => {
      done = true;
    });
    while (!done) await this.time.advance(10);
    return watched;
  }

  private readonly claimedBeforeReset = (grantId: string, resetId: string) => this.store.claimedBeforeReset(grantId, resetId);

  private violate(v: Violation): void {
    const key = `${v.check}|${v.userId}|${v.detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    // Exploration mode keeps one of each kind, so a report is not a thousand lines.
    if (this.options.keepGoing && this.violations.some((x) => x.check === v.check)) return;
    this.violations.push({ ...v, step: this.trace.step, at: iso(this.time.now()) });
    this.trace.note(`VIOLATION ${v.check} (${v.userId}): ${v.detail}`);
    this.firstTrace ??= this.trace.last(80);
  }

  /** Store-level: no debit given back twice, no claimed top-up, grant or refund applied twice. */
  /** The debits a reset (by default the user's last) carried over: the `open` set it captured. */
  private async carriedBy(userId: string, resetId?: string): Promise<Set<string>> {
    const keys = userKeys(this.oracle.context.config.namespace, userId);
    const [last] = (await this.oracle.context.kv.multi().hgetall(keys.lastReset).exec()) as [Record<string, unknown> | null];
    const id = resetId ?? (last?.id === undefined ? undefined : String(last.id));
    if (id === undefined || id === "") return new Set();
    // The captured set never changes, and its key expires with the refund window (which
    // the clock's month jumps pass): remembered from the first read, right after the reset.
    const known = this.carried.get(id);
    if (known !== undefined) return known;
    const [members] = (await this.oracle.context.kv.multi().zrange(keys.carry(id), 0, -1).exec()) as [unknown[]];
    const set = new Set(members.map((m) => String(m).slice(0, String(m).lastIndexOf(":"))));
    this.carried.set(id, set);
    return set;
  }

  private async checkOnce(): Promise<void> {
    for (const [id, { userId, by }] of this.store.compensations) {
      if (by.length > 1) this.violate({ check: "debit-given-back-at-most-once", userId, detail: `debit ${id} was given back (INCRBY) ${by.length} times: ${by.join("; ")}` });
    }
    // Each give-back is judged once, right after it landed (the carry set it is judged
    // against expires with the refund window, which the clock's month jumps pass).
    for (const { debitId, userId, amount, resetId } of this.store.givenBackAcrossReset.splice(0)) {
      // A debit the reset carried over may be given back after it: the carry step accounts for it.
      if ((await this.carriedBy(userId, resetId)).has(debitId)) continue;
      this.violate({ check: "reset-isolates-old-ledger/give-back", userId, detail: `debit ${debitId}, taken before a reset, was given back into the new ledger (+${amount})` });
    }
    for (const [id, { userId, by }] of this.store.applications) {
      if (by.length > 1) this.violate({ check: "claim-applied-at-most-once", userId, detail: `${id} added its tokens (INCRBY) ${by.length} times: ${by.join("; ")}` });
    }
  }

  private async checkTouched(): Promise<void> {
    await this.checkOnce();
    for (const userId of this.store.takeTouched()) {
      const ledger = await readLedger(this.oracle.context, userId);
      this.openCount.set(userId, ledger.openIds.length);
      const carried = await this.carriedBy(userId);
      for (const v of stepChecks(ledger, this.model.user(userId), this.model, this.time.now() - ANSWER_GRACE_MS, carried, this.claimedBeforeReset)) this.violate(v);
    }
  }

  /**
   * Quiet the world and settle it: no new operations, faults off, every caller and every
   * background task finished, time past healAfterMs, then every user healed until nothing
   * is open. The ledger is then at rest and must agree with everything callers were told.
   */
  private async settleEverything(why: string): Promise<void> {
    this.trace.note(`settling everything ${why}`);
    this.faults.enabled = false;
    for (let waited = 0; (this.pending.size > 0 || this.background.size > 0 || this.network.inFlight > 0) && waited < 300_000; waited += 1_000) {
      await this.time.advance(1_000);
      await this.checkTouched();
    }
    if (this.pending.size > 0 || this.background.size > 0) {
      this.violate({ check: "work-finishes", userId: "-", detail: `${this.pending.size} operations (${[...this.pending.values()].join(", ")}) and ${this.background.size} background tasks still running after 300 s` });
    }
    // Past every hold's deadline too: a hold whose caller died is a healer's after it.
    await this.time.advance(MAX_SIM_HOLD_DEADLINE_MS + METERING.healAfterMs! + 5_000);
    const healer = this.instances[0]!;
    for (const userId of this.model.users.keys()) {
      for (let pass = 0; pass < 6; pass++) {
        const report = await this.drive(healer.metering.heal(userId).catch(() => null));
        if (report !== null && report.locked && report.examined === 0) break;
        // Locked by a healer whose long pass left the lock to expire (15 s), or more to do.
        if (report === null || !report.locked) await this.time.advance(16_000);
      }
    }
    for (let waited = 0; this.background.size > 0 && waited < 120_000; waited += 1_000) await this.time.advance(1_000);
    await this.checkTouched();
    const givenUp = new Set(this.instances.flatMap((i) => [...i.refundsGivenUp]));
    for (const user of this.model.users.values()) {
      if (user.fresh) continue;
      for (const owed of user.owedRefunds.values()) if (givenUp.has(owed.debitId)) owed.optional = true;
      const ledger = await readLedger(this.oracle.context, user.id);
      this.openCount.set(user.id, ledger.openIds.length);
      const carried = await this.carriedBy(user.id);
      for (const v of [
        ...stepChecks(ledger, user, this.model, Infinity, carried, this.claimedBeforeReset), ...finalChecks(ledger, user, carried), ...holdChecks(ledger, user, this.model),
      ]) this.violate(v);
    }
    this.trace.note(`settled ${why}: ${this.model.users.size} users checked`);
    this.faults.enabled = true;
    this.weather.clear();
  }
}


/** The failure report: seed, check, trace, and how to replay it. */
export function formatReport(result: SimResult, options: { breakTiming?: boolean } = {}): string {
  const replay = `${options.breakTiming ? "SIM_BREAK_TIMING=1 " : ""}SIM_SEED=${result.seed} SIM_STEPS=${result.configuredSteps} npm test -- --project node tests/simulation`;
  const lines = [
    `simulation seed ${result.seed} failed ${result.violations.length} check(s) within ${result.steps} steps:`,
    ...result.violations.map((v) => `  [step ${v.step} ${v.at}] ${v.check} (user ${v.userId}): ${v.detail}`),
    `replay: ${replay}`,
    `every request the store applied, with its send time: SIM_TRACE_FILE=/tmp/sim-${result.seed}.trace ${replay}`,
    `trace before the first violation (last ${result.trace.length} events):`,
    ...result.trace.map((l) => `  ${l}`),
  ];
  return lines.join("\n");
}
