import { applyClaimed, settleApplied } from "./apply";
import type { MeteringContext } from "./context";
import { appendCompensate, debitEntry } from "./debit";
import { KvUnavailableError } from "./errors";
import { appendSettle } from "./history";
import { finishHold, wasHeld } from "./hold";
import { parseIdempotencyRecord } from "./idempotency-record";
import { type UserKeys, userKeys } from "./keys";
import { asArray, asInt, asIntOrNull, asStringOrNull, execTx, execTxItems } from "./kv";
import { carryOver, inCurrentLedger } from "./reset";
import { newOperationId, openMember, type Operation, parseOpenMember, parseOperation } from "./operation";
import { type Fence, fenceUntil, healLockMs, healPassMs } from "./timing";
import { TxSteps } from "./tx-steps";

export interface HealReport {
  /** False when another healer held this user's lock; nothing was done. */
  locked: boolean;
  examined: number;
  settled: number;
  compensated: number;
  applied: number;
  dropped: number;
  /** True when the pass ran out of time before it had examined every operation it read. */
  stopped: boolean;
}

/** What the store captured about one open operation, read in the healer's transaction. */
export interface HealFacts {
  /** The operation record; null when it is gone (compensated, or expired). */
  op: Operation | null;
  /** `r:<id>`, the balance right after the operation was applied; null if never applied. */
  after: number | null;
  voided: boolean;
  /** The debit has been refunded (its refund claim exists). */
  refunded: boolean;
  /** Who holds the claim or Idempotency-Key the operation points at (null: nobody). */
  holder: string | null;
  /** The reset that carried this operation over, when the user's last reset did. */
  carriedBy: string | null;
}

export type HealDecision =
  | { status: "drop"; deleteRecord: boolean }
  | { status: "settle_debit" }
  | { status: "finish_hold" }
  | { status: "compensate"; releaseIdempotencyKey: boolean; carriedBy: string | null }
  | { status: "apply" }
  | { status: "carry" }
  | { status: "settle_applied" };

/**
 * The healer's decision for one operation older than healAfterMs, from what the store
 * captured in the operation's own transaction. Pure.
 *
 *   no record (compensated, or expired)                   → drop it from `open`
 *   debit never applied (no r:<id>)                        → drop
 *   debit refunded meanwhile                               → settle (the refund gave it back)
 *   debit, r ≥ 0, not voided, owns its Idempotency-Key     → settle (it was paid)
 *   debit otherwise (r < 0, voided, lost the key's race)   → compensate (give it back)
 *   hold never applied                                     → drop
 *   hold voided, or r < 0 and not made partial             → compensate (what it holds)
 *   hold otherwise (its deadline is healAfterMs past)      → finish: claim the expiry
 *     charge unless its owner claimed one, release the rest, write its entry (hold.ts)
 *   claimed credit/refill/refund still named by its guard  → apply, then settle
 *   claimed but the guard names another op                 → drop (it lost the claim)
 *   applied credit/refill/refund                           → settle
 *   a reset's carry step not yet done                      → carry the debits over
 */
export function decideHeal(id: string, facts: HealFacts): HealDecision {
  const { op, after, voided, refunded, holder } = facts;
  if (op === null) return { status: "drop", deleteRecord: false };
  if (op.kind === "debit") {
    if (after === null) return { status: "drop", deleteRecord: false };
    const lostIdempotencyRace = op.idempotencyKey !== null && holder !== id;
    if (refunded || (after >= 0 && !voided && !lostIdempotencyRace)) return { status: "settle_debit" };
    return { status: "compensate", releaseIdempotencyKey: op.idempotencyKey !== null && holder === id, carriedBy: facts.carriedBy };
  }
  if (op.kind === "hold") {
    if (after === null) return { status: "drop", deleteRecord: false };
    if (voided || !wasHeld(op, after)) return { status: "compensate", releaseIdempotencyKey: false, carriedBy: facts.carriedBy };
    return { status: "finish_hold" };
  }
  if (op.kind === "carry") return { status: "carry" };
  if (op.state === "claimed") return holder === id ? { status: "apply" } : { status: "drop", deleteRecord: true };
  if (after === null) return { status: "drop", deleteRecord: false };
  return { status: "settle_applied" };
}

/**
 * Finishes operations whose caller never came back: a debit whose compensation was lost
 * with the KV, a caller that died after its DECRBY, a top-up claimed but not applied.
 *
 * Compensating and applying are unconditional increments, so two actors must never decide
 * on the same operation at once. That rests on the timing rules of timing.ts, never on a
 * lock alone: the healer touches only operations older than healAfterMs (their owners are
 * done), holds the user's heal lock for healLockMs, and sends no step after healPassMs into
 * its pass, so whatever it sent has landed before the lock can pass to the next healer,
 * which reads afresh. Each step marks itself done in its own transaction (the record leaves
 * `open` or "claimed" together with the tokens). A step whose answer is lost ends the pass
 * and keeps the lock until it expires, so nobody decides from a read taken before it.
 */
export async function heal(ctx: MeteringContext, userId: string, options: { olderThanMs?: number; limit?: number } = {}): Promise<HealReport> {
  const keys = userKeys(ctx.config.namespace, userId);
  const report: HealReport = { locked: true, examined: 0, settled: 0, compensated: 0, applied: 0, dropped: 0, stopped: false };
  // Counted from before the lock request: the store starts the lock's lifetime later.
  const now = ctx.config.clock();
  const fence = fenceUntil(ctx.config.clock, now + healPassMs(ctx.config));
  const releaseBy = fenceUntil(ctx.config.clock, now + healPassMs(ctx.config) + ctx.config.kvTimeoutMs);
  const olderThan = Math.max(options.olderThanMs ?? ctx.config.healAfterMs, ctx.config.healAfterMs);

  const lock = new TxSteps(ctx.kv.multi());
  const acquired = lock.read((tx) => tx.set(keys.healLock, newOperationId("heal"), { nx: true, px: healLockMs(ctx.config) }), (raw) => raw !== null);
  const lastReset = lock.read((tx) => tx.hget(keys.lastReset, "id"), (raw) => (raw === null || raw === undefined ? null : String(raw)));
  const stale = lock.read((tx) => tx.zrange(keys.open, "-inf", now - olderThan, { byScore: true, offset: 0, count: options.limit ?? 100 }), asArray);
  const answer = await execTxItems(lock.tx, { timeoutMs: ctx.config.kvTimeoutMs });
  if (!acquired(answer)) return { ...report, locked: false };
  let lost = false;
  try {
    return await healLocked(ctx, keys, stale(answer), report, fence, lastReset(answer));
  } catch (error) {
    // The answer of a step (or of a read) was lost: the step may still land, so keep the
    // lock until it expires; the next healer reads afresh after that.
    if (error instanceof KvUnavailableError) lost = true;
    throw error;
  } finally {
    // Released early only when every step was answered and the release itself cannot land
    // after the lock's expiry (it is sent inside the window the lock was sized for).
    if (!lost && releaseBy.isOpen()) {
      const release = ctx.kv.multi();
      release.del(keys.healLock);
      // Best effort: a lock not released expires by itself.
      await execTx(release, { timeoutMs: ctx.config.kvTimeoutMs }).catch(() => undefined);
    }
  }
}

async function healLocked(
  ctx: MeteringContext, keys: UserKeys, rawIds: unknown[], report: HealReport, fence: Fence, lastReset: string | null,
): Promise<HealReport> {
  const members = rawIds.map(parseOpenMember);
  if (members.length === 0) return report;
  const ops = await readFacts(ctx, keys, members, lastReset);

  for (const [i, { id, facts }] of ops.entries()) {
    if (!fence.isOpen()) {
      report.stopped = true;
      break;
    }
    report.examined++;
    const member = openMember(id, members[i]!.debited);
    const decision = decideHeal(id, facts);
    const op = facts.op;
    const tx = ctx.kv.multi();
    switch (decision.status) {
      case "drop":
        if (decision.deleteRecord) tx.del(keys.op(id));
        tx.zrem(keys.open, member);
        tx.del(keys.result(id));
        report.dropped++;
        break;
      case "settle_debit":
        appendSettle(tx, keys, debitEntry(op!, facts.after!), ctx.config.historyLimit);
        report.settled++;
        break;
      case "finish_hold":
        await finishHold(ctx, keys, op!, facts.after!, fence);
        report.settled++;
        continue;
      case "compensate":
        appendCompensate(tx, keys, op!, decision.releaseIdempotencyKey, decision.carriedBy);
        report.compensated++;
        break;
      case "apply":
        if (op!.kind === "refund" && !(await refundStillBelongs(ctx, keys, op!))) {
          // Claimed before a reset and landed after it: the debit belongs to the old ledger.
          tx.del(keys.op(id));
          if (op!.claim !== null) tx.del(op!.claim);
          tx.zrem(keys.open, member);
          report.dropped++;
          break;
        }
        await applyClaimed(ctx, keys, op!, fence);
        report.applied++;
        continue;
      case "carry":
        // "pending" while a debit it carries is still open: a later pass finishes it.
        if ((await carryOver(ctx, keys, op!, fence)) === "carried") report.applied++;
        continue;
      case "settle_applied":
        await settleApplied(ctx, keys, op!, facts.after!);
        report.settled++;
        continue;
    }
    // The reads above (a refund's ledger check) may have taken the pass past its budget:
    // no step is sent after it (timing.ts), the next healer decides afresh.
    if (!fence.isOpen()) {
      report.stopped = true;
      break;
    }
    await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  }
  return report;
}

async function readFacts(
  ctx: MeteringContext, keys: UserKeys, members: { id: string; debited: number }[], lastReset: string | null,
): Promise<{ id: string; facts: HealFacts }[]> {
  const read = new TxSteps(ctx.kv.multi());
  const readers = members.map(({ id, debited }) => ({
    id,
    carried: lastReset === null || debited === 0
      ? () => false
      : read.read((tx) => tx.zscore(keys.carry(lastReset), openMember(id, debited)), (raw) => raw !== null),
    op: read.read((tx) => tx.hgetall(keys.op(id)), (raw) => parseOperation(id, raw)),
    after: read.read((tx) => tx.get(keys.result(id)), (raw) => asIntOrNull(raw, "operation result")),
    voided: read.read((tx) => tx.exists(keys.void(id)), (raw) => asInt(raw, "void") > 0),
    refunded: read.read((tx) => tx.get(keys.refundClaim(id)), (raw) => raw !== null),
  }));
  const rows = await execTxItems(read.tx, { timeoutMs: ctx.config.kvTimeoutMs });
  const partial = readers.map((r) => ({
    id: r.id, op: r.op(rows), after: r.after(rows), voided: r.voided(rows), refunded: r.refunded(rows),
    carriedBy: r.carried(rows) ? lastReset : null,
  }));

  // The claims and idempotency keys operations point at: one more round trip, only when
  // some operation has one (a plain debit does not).
  const pointers = new TxSteps(ctx.kv.multi());
  const holders = partial.map(({ op }) => {
    const key = pointerKey(keys, op);
    if (key === null) return null;
    // An Idempotency-Key names its debit inside a record (idempotency-record.ts); a claim is the bare id.
    const holderId = (raw: unknown) => {
      const value = asStringOrNull(raw);
      return value === null || op!.kind !== "debit" ? value : parseIdempotencyRecord(value).debitId;
    };
    return pointers.read((tx) => tx.get(key), holderId);
  });
  const values = pointers.begin() > 0 ? await execTxItems(pointers.tx, { timeoutMs: ctx.config.kvTimeoutMs }) : [];
  return partial.map(({ id, ...rest }, i) => ({ id, facts: { ...rest, holder: holders[i]?.(values) ?? null } }));
}

/** A claimed refund is applied only if its debit is still part of the current ledger. */
async function refundStillBelongs(ctx: MeteringContext, keys: UserKeys, refundOp: Operation): Promise<boolean> {
  if (refundOp.ref === null) return true;
  const read = ctx.kv.multi();
  read.hgetall(keys.op(refundOp.ref));
  const [raw] = await execTx(read, { timeoutMs: ctx.config.kvTimeoutMs });
  const debit = parseOperation(refundOp.ref, raw);
  return debit === null || (await inCurrentLedger(ctx, keys, debit));
}

function pointerKey(keys: UserKeys, op: Operation | null): string | null {
  if (op === null) return null;
  if (op.kind === "debit") return op.idempotencyKey === null ? null : keys.idempotency(op.idempotencyKey);
  return op.state === "claimed" ? op.claim : null;
}
