import { describe, expect, it } from "vitest";
import { createKvClient } from "../../lib/kv-client";
import {
  checkInvariants, createMetering, type DebitOutcome, KvUnavailableError, type MeteringKv, readLedger, userKeys,
} from "../../lib/metering";
import { createDebitCoalescer, type CoalescerOptions, refusalsInBatch } from "../../lib/metering/coalescer";
import { kvTargets, manualClock, uniqueNamespace } from "../support/kv";

/**
 * The coalescer's failure-isolation promise (lib/metering/coalescer.ts), proven against the
 * real client and the real KV server on both engines:
 *
 *   - a batch that hangs or fails fails only its own debits, within kvTimeoutMs, and the
 *     debits queued behind it leave as soon as it is given up, not when the hang ends;
 *   - nobody pays for a debit that was answered with an error (voided, then given back by
 *     the healer), whether its transaction never arrived, arrived at once, or arrived late;
 *   - one user's backlog does not hold another user's debit for more than a batch or two.
 *
 * Faults are injected around the real client (see `probedKv` below): the store is real,
 * only the answer to one chosen transaction is withheld or replaced by a network error.
 *
 * Nothing here compares elapsed milliseconds with a budget, so a slow or loaded machine
 * cannot fail it: a hang lasts until the test ends it, "within kvTimeoutMs" is the
 * coalescer's own timeout answering (its message) while the hang still lasts, an injected
 * failure is answered with that failure (not a timeout), and "within two batches" is counted
 * in batches.
 */

/** Bound on one round trip: generous, so only the injected faults fail a round trip. */
const KV_TIMEOUT_MS = 5000;
/** The shortest heal delay the config accepts (≥ 5 × kvTimeoutMs); the clock is manual. */
const HEAL_AFTER_MS = 5 * KV_TIMEOUT_MS;
/**
 * A hang ends when the test releases it; this only stops a broken coalescer from hanging
 * the test. Far above kvTimeoutMs on any machine.
 */
const HANG_MS = 45_000;

type Fault =
  | { kind: "fail"; when: "before-send" | "after-send" }
  | { kind: "hang"; applied: "at-once" | "late" };

interface DebitBatch {
  /** 1-based, counting only transactions that carry debits (the coalescer's batches). */
  index: number;
  /** Balance key of each debit in the batch, in order. */
  balanceKeys: string[];
}

interface Hang {
  /** Resolves when the hung batch reached exec. */
  entered: Promise<void>;
  /** True once the hang is over (released, or HANG_MS passed). */
  readonly ended: boolean;
  /** Ends the hang now (a late write lands now). */
  release(): void;
  /** Resolves when the hung exec has finished, late write included. */
  done: Promise<void>;
}

/** The exec wrapper's side of a hang. */
interface HangControl extends Hang {
  enter(): void;
  wait(): Promise<void>;
  finish(): void;
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

/**
 * The real client, with one difference: the next transaction that carries debits (one
 * with a DECRBY, i.e. a coalescer batch) gets the armed fault. Every other transaction
 * (voids, compensations, settles sent alone, reads) goes through untouched. Batches are
 * recorded with the users they carry, so a test can tell which batch a debit rode in.
 */
function probedKv(kv: MeteringKv) {
  const batches: DebitBatch[] = [];
  let armed: Fault | null = null;
  let hang: HangControl | null = null;
  const batchSent: (() => void)[] = [];

  function makeHang(): HangControl {
    const entered = deferred();
    const released = deferred();
    const done = deferred();
    let ended = false;
    const timer = setTimeout(released.resolve, HANG_MS);
    void released.promise.then(() => {
      clearTimeout(timer);
      ended = true;
    });
    return {
      entered: entered.promise,
      get ended() { return ended; },
      release: released.resolve,
      done: done.promise,
      enter: entered.resolve,
      wait: () => released.promise,
      finish: done.resolve,
    };
  }

  const probed: MeteringKv = {
    scan: kv.scan.bind(kv),
    multi() {
      const tx = kv.multi();
      const balanceKeys: string[] = [];
      const realDecrby = tx.decrby.bind(tx);
      const realExec = tx.exec.bind(tx);
      return Object.assign(tx, {
        decrby: ((key: string, amount: number) => {
          balanceKeys.push(key);
          return realDecrby(key, amount);
        }) as typeof tx.decrby,
        exec: (async (options?: { keepErrors: true }) => {
          const send = () => realExec(options as { keepErrors: true });
          if (balanceKeys.length === 0) return send();
          batches.push({ index: batches.length + 1, balanceKeys });
          for (const notify of batchSent.splice(0)) notify();
          const fault = armed;
          armed = null;
          if (fault === null) return send();
          if (fault.kind === "fail") {
            if (fault.when === "before-send") throw new TypeError("fetch failed (injected: connection refused)");
            await send();
            throw new TypeError("fetch failed (injected: connection reset after write)");
          }
          const h = hang!;
          h.enter();
          try {
            // "at-once": the store applied the batch, its answer is stuck on the way back.
            // "late": the request is stuck on the way there and lands when the hang ends.
            if (fault.applied === "at-once") {
              const result = await send();
              await h.wait();
              return result;
            }
            await h.wait();
            return await send();
          } finally {
            h.finish();
          }
        }) as typeof tx.exec,
      });
    },
  };

  return {
    kv: probed,
    batches,
    /** The next debit batch fails with a network error. */
    failNext(when: "before-send" | "after-send"): void {
      armed = { kind: "fail", when };
    },
    /** The next debit batch hangs for HANG_MS (or until released). */
    hangNext(applied: "at-once" | "late"): Hang {
      armed = { kind: "hang", applied };
      hang = makeHang();
      return hang;
    },
    /** Resolves when the next debit batch is sent. */
    nextBatch(): Promise<void> {
      return new Promise((resolve) => batchSent.push(resolve));
    },
  };
}

interface Tracked {
  userId: string;
  cost: number;
  outcome: DebitOutcome | null;
  error: unknown;
}

describe.each(kvTargets())("debit coalescer: failure isolation ($engine engine)", (target) => {
  function setup(coalescerOptions: CoalescerOptions = {}, historyLimit = 100) {
    const clock = manualClock("2026-11-25T12:00:00Z");
    const real = createKvClient({ url: target.url, token: target.token, timeoutMs: KV_TIMEOUT_MS });
    const probe = probedKv(real);
    const options = {
      namespace: uniqueNamespace("coal"), monthlyAllowance: 0, clock: clock.now,
      kvTimeoutMs: KV_TIMEOUT_MS, healAfterMs: HEAL_AFTER_MS, historyLimit,
    };
    const background: Promise<unknown>[] = [];
    const keep = (task: Promise<unknown>) => void background.push(task);
    const metering = createMetering(probe.kv, options);
    // Credits, heals and reads go around the probe: only debits meet the faults.
    const healthy = createMetering(real, options);
    const coalescer = createDebitCoalescer(metering, coalescerOptions);

    function debit(userId: string, cost: number, onAnswer?: (t: Tracked) => void): Promise<Tracked> {
      const done = (outcome: DebitOutcome | null, error: unknown): Tracked => {
        const t = { userId, cost, outcome, error };
        onAnswer?.(t);
        return t;
      };
      return coalescer.debit({ userId, cost, route: "POST /api/test" }).then((o) => {
        // What the platform's waitUntil keeps alive: this debit's own background work.
        if (o.pending !== null) keep(o.pending);
        return o.status === "unavailable" ? done(null, o.error) : done(o, null);
      }, (e: unknown) => done(null, e));
    }

    /** What the gate does after serving a paid request, then what waitUntil keeps alive. */
    async function settleAndDrain(tracked: Tracked[]): Promise<void> {
      await Promise.all(tracked.map((t) => (t.outcome?.status === "ok" ? t.outcome.settle().catch(() => undefined) : undefined)));
      while (background.length > 0) await Promise.allSettled(background.splice(0));
    }

    /** Past the heal delay, heal every user once; their ledgers, and what each heal gave back. */
    async function healAndRead(userIds: string[]) {
      clock.advance(HEAL_AFTER_MS + 1000);
      const compensated: Record<string, number> = {};
      for (const userId of userIds) compensated[userId] = (await healthy.heal(userId)).compensated;
      const ledgers = Object.fromEntries(await Promise.all(userIds.map(async (u) => [u, await readLedger(healthy.context, u, historyLimit)] as const)));
      return { ledgers, compensated };
    }

    return { real, probe, healthy, coalescer, debit, settleAndDrain, healAndRead, namespace: options.namespace };
  }

  const paidBy = (tracked: Tracked[], userId: string) =>
    tracked.filter((t) => t.userId === userId && t.outcome?.status === "ok").reduce((sum, t) => sum + t.cost, 0);

  it.each(["at-once", "late"] as const)(
    "a batch that hangs (applied %s) fails only its own debits within kvTimeoutMs; the next batch does not wait for the hang",
    async (applied) => {
      const { probe, healthy, debit, settleAndDrain, healAndRead } = setup({ settleDelayMs: 5 });
      await healthy.credit({ userId: "ana", amount: 100, reason: "Top-up" });
      await healthy.credit({ userId: "ben", amount: 100, reason: "Top-up" });

      const hang = probe.hangNext(applied);
      let stuckAnsweredAfterHang = false;
      const onStuckAnswer = () => { stuckAnsweredAfterHang ||= hang.ended; };
      const stuck = [debit("ana", 3, onStuckAnswer), debit("ana", 3, onStuckAnswer), debit("ana", 3, onStuckAnswer), debit("ben", 3, onStuckAnswer), debit("ben", 3, onStuckAnswer)];
      await hang.entered;
      // Queued while the hung batch is in flight.
      let hangOverWhenAnswered = false;
      const onAnswer = () => { hangOverWhenAnswered ||= hang.ended; };
      const behind = [debit("ana", 2, onAnswer), debit("ana", 2, onAnswer), debit("ben", 2, onAnswer), debit("ben", 2, onAnswer)];

      // The hang lasts until released below: whatever is answered now was not waiting for it.
      const failed = await Promise.all(stuck);
      for (const t of failed) {
        expect(t.error, "the hung batch's debits are answered 503").toBeInstanceOf(KvUnavailableError);
        // By the coalescer's own kvTimeoutMs timer, not by the hang ending.
        expect((t.error as Error).message).toMatch(`within ${KV_TIMEOUT_MS} ms`);
      }
      expect(stuckAnsweredAfterHang, "the hung batch's debits were answered while it still hung").toBe(false);
      const served = await Promise.all(behind);
      for (const t of served) {
        expect(t.error).toBeNull();
        expect(t.outcome?.status).toBe("ok");
      }
      // They left when the hung batch was given up, not when the hang ended.
      expect(hangOverWhenAnswered, "answered while the hung batch was still hanging").toBe(false);
      expect(probe.batches.map((b) => b.balanceKeys.length)).toEqual([5, 4]);

      await settleAndDrain(served);
      hang.release();
      await hang.done; // "late": the hung batch's DECRBYs land only now, after their voids.
      await settleAndDrain(failed);

      const { ledgers, compensated } = await healAndRead(["ana", "ben"]);
      for (const user of ["ana", "ben"]) {
        const ledger = ledgers[user]!;
        expect(ledger.openIds, "nothing left open after healing").toEqual([]);
        expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
        expect(ledger.totals.debits, `${user} paid exactly the debits answered ok`).toBe(paidBy(served, user));
        expect(ledger.balance).toBe(100 - paidBy(served, user));
        expect(ledger.history.filter((e) => e.type === "debit")).toHaveLength(2);
      }
      // The hung batch did land (at once or late), and the healer gave every debit of it back.
      expect(compensated).toEqual({ ana: 3, ben: 2 });
    },
  );

  it.each(["before-send", "after-send"] as const)(
    "a batch whose transaction fails (%s) fails only its own debits; the next batch succeeds and nothing is charged for the failed ones",
    async (when) => {
      const { probe, healthy, debit, settleAndDrain, healAndRead } = setup({ maxBatch: 5, settleDelayMs: 5 });
      await healthy.credit({ userId: "ana", amount: 100, reason: "Top-up" });
      await healthy.credit({ userId: "ben", amount: 100, reason: "Top-up" });
      const before = await debit("ana", 4);
      expect(before.outcome?.status).toBe("ok");
      // Its settle waits for a batch to ride with: the failing one, which leaves in this
      // tick's microtasks, always before the settle's own timer.
      const riding = before.outcome?.status === "ok" ? before.outcome.settle().then(() => null, (e: unknown) => e) : null;

      probe.failNext(when);
      // Same tick, maxBatch 5: the first five form the failing batch, the next five the one after it.
      const all = await Promise.all([
        debit("ana", 5), debit("ben", 5), debit("ana", 5), debit("ben", 5), debit("ana", 5),
        debit("ben", 2), debit("ana", 2), debit("ben", 2), debit("ana", 2), debit("ben", 2),
      ]);
      expect(await riding, "the settle rode the failed batch").toBeInstanceOf(KvUnavailableError);
      const [failed, next] = [all.slice(0, 5), all.slice(5)];
      for (const t of failed) {
        expect(t.error, "the failed batch's debits are answered 503").toBeInstanceOf(KvUnavailableError);
        // With the injected failure itself, at once: not after waiting out kvTimeoutMs.
        expect((t.error as Error).message).toMatch("injected");
      }
      for (const t of next) {
        expect(t.error).toBeNull();
        expect(t.outcome?.status, "the batch after the failed one is served").toBe("ok");
      }
      expect(probe.batches.map((b) => b.balanceKeys.length)).toEqual([1, 5, 5]);

      await settleAndDrain([before, ...all]);
      const { ledgers, compensated } = await healAndRead(["ana", "ben"]);
      const paid = [before, ...next];
      for (const user of ["ana", "ben"]) {
        const ledger = ledgers[user]!;
        expect(ledger.openIds, "nothing left open after healing").toEqual([]);
        expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
        expect(ledger.totals.debits, `${user} paid exactly the debits answered ok`).toBe(paidBy(paid, user));
        expect(ledger.balance).toBe(100 - paidBy(paid, user));
      }
      // after-send: the failed batch was applied, and the healer gave it back (it was voided).
      expect(compensated).toEqual(when === "after-send" ? { ana: 3, ben: 2 } : { ana: 0, ben: 0 });
      // The paid debit whose settle rode the failed batch is charged once: settled by the
      // batch (after-send) or by the healer (before-send), never twice, never given back.
      const ana = ledgers.ana!.history.filter((e) => e.type === "debit");
      expect(ana.filter((e) => before.outcome?.status === "ok" && e.id === before.outcome.debitId)).toHaveLength(1);
      expect(ana).toHaveLength(3);
    },
  );

  it("one busy user cannot starve another: a debit queued behind a 1000-debit backlog leaves within two batches", async () => {
    const { probe, healthy, debit, settleAndDrain, healAndRead, namespace } = setup({ maxBatch: 50 }, 2000);
    const budget = 600;
    await healthy.credit({ userId: "busy", amount: budget, reason: "Top-up" });
    await healthy.credit({ userId: "quiet", amount: 10, reason: "Top-up" });

    let busyAnswered = 0;
    const firstSent = probe.nextBatch();
    const busy = Array.from({ length: 1000 }, () => debit("busy", 1, () => { busyAnswered++; }));
    await firstSent;
    // The quiet user arrives while the busy user's first batch is in flight and 950 wait.
    const batchesBefore = probe.batches.length;
    let busyAnsweredBeforeQuiet = -1;
    const quiet = await debit("quiet", 1, () => { busyAnsweredBeforeQuiet = busyAnswered; });
    const quietKey = userKeys(namespace, "quiet").balance;
    const quietBatch = probe.batches.find((b) => b.balanceKeys.includes(quietKey))!;
    const all = [...(await Promise.all(busy)), quiet];

    expect(quiet.outcome?.status).toBe("ok");
    expect(quietBatch.index - batchesBefore, `quiet's debit rode batch ${quietBatch.index}; ${batchesBefore} had left when it was queued`)
      .toBeLessThanOrEqual(2);
    expect(busyAnsweredBeforeQuiet, "answered before most of the busy user's debits").toBeLessThan(500);

    // The busy user is never overdrawn: what was answered ok fits the budget, exactly.
    for (const t of all) expect(t.error).toBeNull();
    const busyPaid = paidBy(all, "busy");
    expect(busyPaid).toBeGreaterThan(0);
    expect(busyPaid).toBeLessThanOrEqual(budget);
    for (const t of all) if (t.outcome?.status === "ok") expect(t.outcome.balance).toBeGreaterThanOrEqual(0);

    await settleAndDrain(all);
    const { ledgers } = await healAndRead(["busy", "quiet"]);
    for (const [user, start] of [["busy", budget], ["quiet", 10]] as const) {
      const ledger = ledgers[user]!;
      expect(ledger.openIds).toEqual([]);
      expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
      expect(ledger.balance).toBe(start - paidBy(all, user));
      expect(ledger.balance).toBeGreaterThanOrEqual(0);
    }
  });

  // Found while writing this suite: execTx throws KvProtocolError for the whole transaction
  // when any one command in it failed, and the coalescer then fails every debit of the
  // batch without voiding them. The other users' DECRBYs were applied (EXEC runs every
  // command), their requests got a 500, and the healer later settles them as paid.
  it("a store error on one user's key fails only that user's debit, and charges no one else for an error", async () => {
    const { real, healthy, debit, settleAndDrain, healAndRead, namespace } = setup();
    await healthy.credit({ userId: "ana", amount: 100, reason: "Top-up" });
    await healthy.credit({ userId: "ben", amount: 100, reason: "Top-up" });
    // A key Tollgate did not write: DECRBY on it fails inside the shared MULTI/EXEC.
    await real.set(userKeys(namespace, "eve").balance, "not-a-number");

    const all = await Promise.all([debit("ana", 2), debit("eve", 2), debit("ben", 2)]);
    await settleAndDrain(all);
    const { ledgers } = await healAndRead(["ana", "ben"]);
    for (const user of ["ana", "ben"]) {
      const ledger = ledgers[user]!;
      expect(ledger.totals.debits, `${user} paid exactly the debits answered ok`).toBe(paidBy(all, user));
      expect(ledger.balance).toBe(100 - paidBy(all, user));
      expect(checkInvariants(ledger, { historyComplete: true })).toEqual([]);
    }
    // As without coalescing: only eve's own request fails.
    expect(all.map((t) => t.outcome?.status ?? (t.error as Error).name)).toEqual(["ok", "KvProtocolError", "ok"]);
  });
});

describe("refusalsInBatch: false refusals inside one batch", () => {
  const d = (user: string, amount: number, after: number, replay = false) => ({ user, amount, after, replay });

  it("a refusal the earlier refusals of the same user explain waits for them and is retried", () => {
    // Balance 5: a (4) leaves 1; b (4) is refused at -3; c (3) at -6 would still be at -2
    // once b is given back: both are true refusals.
    expect(refusalsInBatch([d("u", 4, 1), d("u", 4, -3), d("u", 3, -6)])).toEqual([
      { refused: false, retryAfter: null }, { refused: true, retryAfter: null }, { refused: true, retryAfter: null },
    ]);
    // Balance 5: a (6) -1 refused, b (2) -3 refused: without a, b leaves 3 → retried after a.
    expect(refusalsInBatch([d("u", 6, -1), d("u", 2, -3)])).toEqual([
      { refused: true, retryAfter: null }, { refused: true, retryAfter: [0] },
    ]);
  });

  it("other users' refusals and replays never count", () => {
    expect(refusalsInBatch([d("v", 6, -1), d("u", 2, -3)])).toEqual([
      { refused: true, retryAfter: null }, { refused: true, retryAfter: null },
    ]);
    expect(refusalsInBatch([d("u", 6, -1, true), d("u", 2, 4)])).toEqual([
      { refused: false, retryAfter: null }, { refused: false, retryAfter: null },
    ]);
  });
});
