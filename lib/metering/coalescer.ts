import {
  appendDebit, debitEntry, decideDebit, type DebitHooks, type DebitOutcome, type DebitReading, type DebitRequest,
  type PreparedDebit, prepareDebit, readDebit, voidDebit,
} from "./debit";
import { KvProtocolError } from "./errors";
import { ensureGrants } from "./grants";
import { heal } from "./heal";
import { appendSettle, SETTLE_COMMANDS } from "./history";
import { execTxItems, type TxItem } from "./kv";
import type { Metering } from "./metering";

export interface CoalescerOptions {
  /** Debits in one transaction at most (each is ~12 commands). @default 100 */
  maxBatch?: number;
  /** A settle with no debit to ride along is sent on its own after this long. @default 100 */
  settleDelayMs?: number;
  /** Keeps work that outlives a request alive (voids, compensations, healing). */
  background?: (task: Promise<unknown>) => void;
}

interface Waiting {
  prepared: PreparedDebit;
  request: DebitRequest;
  /** A second attempt after a suspected false refusal (never a third). */
  retry: boolean;
  resolve(outcome: DebitOutcome): void;
  reject(error: unknown): void;
}

interface PendingSettle {
  prepared: PreparedDebit;
  after: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Debits of concurrent requests share one MULTI/EXEC. A batch leaves at once when nothing
 * is in flight, otherwise when the in-flight one returns, so a lone request waits for no
 * timer, and under load one round trip carries many debits (and the settlements of the
 * previous batch). Each debit inside is still its own DECRBY, checked and compensated on
 * its own (debit.ts): coalescing changes how debits travel, never what anyone is charged.
 *
 * Failure isolation: a batch that fails or exceeds the timeout fails only its own debits
 * (each is voided, and answered 503 by the gate) within kvTimeoutMs, and the next batch
 * leaves as soon as it is settled either way, so a debit queued behind a hung batch has
 * its answer within about 2 × kvTimeoutMs. A command that fails inside EXEC (a corrupt
 * key) fails only the debit it belongs to. Each user has a queue of their own and a batch
 * takes one debit from each waiting user in turn, so a user with a backlog shares every
 * batch instead of filling it (tests/metering/coalescer-isolation.node.test.ts).
 *
 * A batch holds several users' keys. That is fine for Upstash and a single Redis; on a
 * Redis Cluster, where MULTI must stay in one slot, turn coalescing off (TOLLGATE_COALESCE=0).
 */
export function createDebitCoalescer(metering: Metering, options: CoalescerOptions = {}) {
  const ctx = metering.context;
  const maxBatch = options.maxBatch ?? 100;
  const settleDelayMs = options.settleDelayMs ?? 100;
  // One FIFO per user, served in rotation: a batch takes one debit from each waiting user
  // in turn, so a user with a backlog shares every batch instead of filling it, and a
  // newcomer leaves in the next batch (while fewer than maxBatch users are waiting).
  const queues = new Map<string, Waiting[]>();
  let settles: PendingSettle[] = [];
  let inFlight = false;
  let settleTimer: ReturnType<typeof setTimeout> | null = null;
  const stats = { batches: 0, debits: 0, settles: 0 };

  const hooks: DebitHooks = {
    ensureGrants: (userId, missing) => ensureGrants(ctx, userId, missing),
    heal: (userId) => heal(ctx, userId),
    background: (task) => {
      const guarded = task.catch(() => undefined);
      options.background?.(guarded);
    },
  };

  function debit(request: DebitRequest): Promise<DebitOutcome> {
    return submit(request, false);
  }

  function submit(request: DebitRequest, retry: boolean): Promise<DebitOutcome> {
    let prepared: PreparedDebit;
    try {
      prepared = prepareDebit(ctx, request);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<DebitOutcome>((resolve, reject) => {
      const user = prepared.keys.userId;
      const own = queues.get(user);
      const waiting = { prepared, request, retry, resolve, reject };
      if (own === undefined) queues.set(user, [waiting]);
      else own.push(waiting);
      // Requests arriving in the same tick travel together; nothing waits on a timer.
      if (!inFlight) queueMicrotask(flush);
    });
  }

  function flush(): void {
    if (inFlight || (queues.size === 0 && settles.length === 0)) return;
    inFlight = true;
    if (settleTimer !== null) {
      clearTimeout(settleTimer);
      settleTimer = null;
    }
    const batch = takeBatch();
    const riding = settles;
    settles = [];
    void send(batch, riding).finally(() => {
      if (queues.size > 0) {
        // Under load, the next batch leaves on the next turn of the event loop rather than
        // at once, so it also carries the requests whose I/O is already waiting: fewer,
        // fuller transactions for at most a millisecond. A lone request never waits here.
        setTimeout(() => {
          inFlight = false;
          flush();
        }, 0);
        return;
      }
      inFlight = false;
      if (settles.length > 0) scheduleSettleFlush();
    });
  }

  function takeBatch(): Waiting[] {
    const batch: Waiting[] = [];
    while (batch.length < maxBatch && queues.size > 0) {
      const [user, own] = queues.entries().next().value!;
      batch.push(own.shift()!);
      queues.delete(user);
      if (own.length > 0) queues.set(user, own); // to the back of the rotation
    }
    return batch;
  }

  async function send(batch: Waiting[], riding: PendingSettle[]): Promise<void> {
    const tx = ctx.kv.multi();
    for (const s of riding) {
      appendSettle(tx, s.prepared.keys, debitEntry(s.prepared.op, s.after), ctx.config.historyLimit);
    }
    const counts = batch.map((w) => appendDebit(tx, ctx, w.prepared));
    stats.batches++;
    stats.debits += batch.length;
    stats.settles += riding.length;
    let items: TxItem[];
    try {
      items = await execTxItems(tx, { timeoutMs: ctx.config.kvTimeoutMs });
    } catch (error) {
      for (const s of riding) s.reject(error);
      for (const w of batch) {
        // Whatever failed, the batch may have been applied and every caller answers an
        // error: void them all, so the healer gives them back instead of settling them.
        hooks.background(voidDebit(ctx, w.prepared));
        w.reject(error);
      }
      return;
    }
    // A command that failed belongs to one user's debit (or settle): only that one fails.
    // EXEC ran every other command, so the rest of the batch is decided as usual.
    let offset = 0;
    for (const s of riding) {
      const failed = commandError(items.slice(offset, offset + SETTLE_COMMANDS));
      offset += SETTLE_COMMANDS;
      if (failed === null) s.resolve();
      else s.reject(failed);
    }
    // Per user, the debits this batch refuses: their compensations are still to come.
    const refusedBefore = new Map<string, { tokens: number; decided: Promise<void>[] }>();
    for (const [i, w] of batch.entries()) {
      const own = items.slice(offset, offset + counts[i]!);
      offset += counts[i]!;
      let reading: DebitReading;
      try {
        const failed = commandError(own);
        if (failed !== null) throw failed;
        reading = readDebit(own.map((item) => item.result), w.prepared);
      } catch (error) {
        hooks.background(voidDebit(ctx, w.prepared));
        w.reject(error);
        continue;
      }
      // A false refusal: this DECRBY went below zero only because earlier debits of the
      // same user in this batch, themselves refused, have not been given back yet. Once
      // they are, the balance at rest covers it, so it is tried once more (a new debit,
      // checked like any other). Refusals caused by other batches are not detected.
      const user = w.prepared.keys.userId;
      const earlier = refusedBefore.get(user);
      const refused = reading.replayOf === null && reading.after < 0;
      const retryAfter = refused && earlier !== undefined && reading.after + earlier.tokens >= 0 ? Promise.allSettled(earlier.decided) : null;
      // Deciding may take more round trips (a compensation, a grant); it must not hold the
      // next batch back, so it runs outside the in-flight window.
      const decided = decide(w, reading, retryAfter);
      if (refused) {
        const entry = earlier ?? { tokens: 0, decided: [] };
        entry.tokens += w.prepared.op.amount;
        entry.decided.push(decided);
        refusedBefore.set(user, entry);
      }
    }
  }

  function commandError(items: TxItem[]): KvProtocolError | null {
    const bad = items.find((item) => item.error);
    return bad === undefined ? null : new KvProtocolError(`KV command failed: ${bad.error}`);
  }

  async function decide(w: Waiting, reading: DebitReading, retryAfter: Promise<unknown> | null): Promise<void> {
    try {
      const outcome = await decideDebit(ctx, w.prepared, reading, hooks, false, w.request);
      if (outcome.status === "insufficient_tokens" && retryAfter !== null && !w.retry) {
        await retryAfter;
        w.resolve(await submit(w.request, true));
        return;
      }
      if (outcome.status === "ok") {
        const after = outcome.balance;
        w.resolve({ ...outcome, settle: () => enqueueSettle(w.prepared, after) });
      } else {
        w.resolve(outcome);
      }
    } catch (error) {
      w.reject(error);
    }
  }

  function enqueueSettle(prepared: PreparedDebit, after: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      settles.push({ prepared, after, resolve, reject });
      if (!inFlight) scheduleSettleFlush();
    });
  }

  function scheduleSettleFlush(): void {
    // A settle rides with the next debit batch when one comes soon; otherwise it goes alone.
    settleTimer ??= setTimeout(() => {
      settleTimer = null;
      flush();
    }, settleDelayMs);
  }

  return { debit, stats };
}

export type DebitCoalescer = ReturnType<typeof createDebitCoalescer>;
