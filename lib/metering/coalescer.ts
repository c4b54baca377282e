import {
  appendDebit, debitEntry, type DebitOutcome, type DebitReading, type DebitRequest, type DebitTransport, type PreparedDebit,
} from "./debit";
import { appendSettle } from "./history";
import { execTxItems, type TxItem } from "./kv";
import type { Metering } from "./metering";
import { runDebit } from "./run-debit";
import { FenceClosedError, ownerDeadline } from "./timing";
import { spanError, TxSteps } from "./tx-steps";

export interface CoalescerOptions {
  /** Debits in one transaction at most (each is ~12 commands). @default 100 */
  maxBatch?: number;
  /** A settle with no debit to ride along is sent on its own after this long. @default 100 */
  settleDelayMs?: number;
}

interface Waiting {
  prepared: PreparedDebit;
  resolve(reading: DebitReading): void;
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
 * previous batch). Each debit inside is still its own DECRBY, read back by its own reader
 * and decided by the one debit path (run-debit.ts): coalescing changes how debits travel,
 * never what anyone is charged.
 *
 * Failure isolation: a batch that fails or exceeds the timeout fails only its own debits
 * (each is voided, and answered 503 by the gate) within kvTimeoutMs, and the next batch
 * leaves as soon as it is settled either way, so a debit queued behind a hung batch has
 * its answer within about 2 × kvTimeoutMs. A command that fails inside EXEC (a corrupt
 * key) fails only the debit it belongs to. Each user has a queue of their own and a batch
 * takes one debit from each waiting user in turn, so a user with a backlog shares every
 * batch instead of filling it (tests/metering/coalescer.isolation.node.test.ts).
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

  const transport: DebitTransport = {
    send: (prepared) => new Promise<DebitReading>((resolve, reject) => {
      const user = prepared.keys.userId;
      const own = queues.get(user);
      const waiting = { prepared, resolve, reject };
      if (own === undefined) queues.set(user, [waiting]);
      else own.push(waiting);
      // Requests arriving in the same tick travel together; nothing waits on a timer.
      if (!inFlight) queueMicrotask(flush);
    }),
    settle: (prepared, after) => new Promise<void>((resolve, reject) => {
      settles.push({ prepared, after, resolve, reject });
      if (!inFlight) scheduleSettleFlush();
    }),
  };

  function debit(request: DebitRequest): Promise<DebitOutcome> {
    return runDebit(ctx, request, transport);
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
      const waiting = own.shift()!;
      queues.delete(user);
      if (own.length > 0) queues.set(user, own); // to the back of the rotation
      // A debit that waited past its owner's window (timing.ts) is not sent at all: its
      // outcome could no longer be decided by this caller alone. Nothing was charged.
      if (ctx.config.clock() > ownerDeadline(ctx.config, waiting.prepared.op.at)) {
        waiting.reject(new FenceClosedError("a debit that waited too long for the KV (nothing was charged)"));
        continue;
      }
      batch.push(waiting);
    }
    return batch;
  }

  async function send(batch: Waiting[], riding: PendingSettle[]): Promise<void> {
    const steps = new TxSteps(ctx.kv.multi());
    const settleSpans = riding.map((s) => {
      const start = steps.begin();
      steps.write((tx) => appendSettle(tx, s.prepared.keys, debitEntry(s.prepared.op, s.after), ctx.config.historyLimit));
      return steps.end(start);
    });
    const debits = batch.map((w) => {
      const start = steps.begin();
      const read = appendDebit(steps, ctx, w.prepared);
      return { read, span: steps.end(start) };
    });
    if (steps.begin() === 0) return;
    stats.batches++;
    stats.debits += batch.length;
    stats.settles += riding.length;
    let items: TxItem[];
    try {
      items = await execTxItems(steps.tx, { timeoutMs: ctx.config.kvTimeoutMs });
    } catch (error) {
      // The batch may have been applied: every debit in it fails (the debit path voids it).
      for (const s of riding) s.reject(error);
      for (const w of batch) w.reject(error);
      return;
    }
    // A command that failed belongs to one user's debit (or settle): only that one fails.
    // EXEC ran every other command, so the rest of the batch is decided as usual.
    for (const [i, s] of riding.entries()) {
      const failed = spanError(items, settleSpans[i]!);
      if (failed === null) s.resolve();
      else s.reject(failed);
    }
    const read: { waiting: Waiting; reading: DebitReading }[] = [];
    for (const [i, w] of batch.entries()) {
      const { read: readDebit, span } = debits[i]!;
      try {
        const failed = spanError(items, span);
        if (failed !== null) throw failed;
        read.push({ waiting: w, reading: readDebit(items) });
      } catch (error) {
        w.reject(error);
      }
    }
    const verdicts = refusalsInBatch(read.map(({ waiting, reading }) => ({
      user: waiting.prepared.keys.userId, amount: waiting.prepared.op.amount, after: reading.after, replay: reading.replayOf !== null,
    })));
    // A refused debit is decided when its compensation is done (the debit path says so).
    const decided = verdicts.map((v) => (v.refused ? signal() : null));
    for (const [i, { waiting, reading }] of read.entries()) {
      const verdict = verdicts[i]!;
      if (decided[i] !== null) reading.onDecided = decided[i]!.resolve;
      if (verdict.refused && verdict.retryAfter !== null) {
        reading.retryAfter = Promise.allSettled(verdict.retryAfter.map((j) => decided[j]!.promise));
      }
      waiting.resolve(reading);
    }
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

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

/** One debit of a batch, as the store answered it. */
export interface BatchDebit {
  user: string;
  amount: number;
  /** The balance right after its DECRBY. */
  after: number;
  /** An Idempotency-Key replay: never charged, never refused. */
  replay: boolean;
}

/**
 * Which debits of one batch were refused, and which refusals were false: a DECRBY that
 * went below zero only because earlier refused debits of the same user in this batch had
 * not been given back yet. Once those are, the balance at rest covers it, so the debit path
 * tries it once more after them (`retryAfter`: their indices). Pure; refusals caused by
 * other batches are not detected.
 */
export function refusalsInBatch(debits: readonly BatchDebit[]): { refused: boolean; retryAfter: number[] | null }[] {
  const refusedBefore = new Map<string, { tokens: number; indices: number[] }>();
  return debits.map((debit, i) => {
    const refused = !debit.replay && debit.after < 0;
    if (!refused) return { refused, retryAfter: null };
    const earlier = refusedBefore.get(debit.user);
    const retryAfter = earlier !== undefined && debit.after + earlier.tokens >= 0 ? [...earlier.indices] : null;
    const entry = earlier ?? { tokens: 0, indices: [] };
    entry.tokens += debit.amount;
    entry.indices.push(i);
    refusedBefore.set(debit.user, entry);
    return { refused, retryAfter };
  });
}
