import { applyClaimed, settleApplied } from "./apply";
import type { MeteringContext } from "./context";
import { appendCompensate, debitEntry } from "./debit";
import { appendSettle } from "./history";
import { userKeys } from "./keys";
import { asArray, asInt, asIntOrNull, asStringOrNull, execTx } from "./kv";
import { openMember, type Operation, parseOpenMember, parseOperation } from "./operation";

export interface HealReport {
  /** False when another healer held this user's lock; nothing was done. */
  locked: boolean;
  examined: number;
  settled: number;
  compensated: number;
  applied: number;
  dropped: number;
}

const LOCK_MS = 15_000;

/**
 * Finishes operations whose caller never came back: a debit whose compensation was lost
 * with the KV, a caller that died after its DECRBY, a top-up claimed but not applied.
 *
 * Safety rests on two rules. Only operations older than healAfterMs are touched, which is
 * many times the bound on any caller's own round trip (config.ts enforces ≥ 5×), so the
 * caller has given up before the healer starts. And one healer per user at a time (a SET
 * NX lock), so two healers never compensate the same debit twice.
 *
 * Decisions, all from what the store captured in the operation's own transaction:
 *   debit, r < 0, voided, or a lost Idempotency-Key race  → compensate (give it back)
 *   debit, refunded meanwhile                              → settle (the refund gave it back)
 *   debit, r ≥ 0                                          → settle (it was paid)
 *   claimed credit/refill/refund still named by its guard  → apply, then settle
 *   claimed but the guard names another op                 → drop (it lost the claim)
 *   applied credit/refill/refund                           → settle
 */
export async function heal(ctx: MeteringContext, userId: string, options: { olderThanMs?: number; limit?: number } = {}): Promise<HealReport> {
  const keys = userKeys(ctx.config.namespace, userId);
  const report: HealReport = { locked: true, examined: 0, settled: 0, compensated: 0, applied: 0, dropped: 0 };
  const now = ctx.config.clock();
  const olderThan = Math.max(options.olderThanMs ?? ctx.config.healAfterMs, ctx.config.healAfterMs);

  const lock = ctx.kv.multi();
  lock.set(keys.healLock, now, { nx: true, px: LOCK_MS });
  lock.zrange(keys.open, "-inf", now - olderThan, { byScore: true, offset: 0, count: options.limit ?? 100 });
  const [acquired, rawIds] = await execTx(lock, { timeoutMs: ctx.config.kvTimeoutMs });
  if (acquired === null) return { ...report, locked: false };
  const started = Date.now();
  try {
    return await healLocked(ctx, keys, rawIds, report);
  } finally {
    // Release the lock for the next reader, unless this pass ran so long that the lock
    // may already have expired and been taken by another healer.
    if (Date.now() - started < LOCK_MS / 2) {
      const release = ctx.kv.multi();
      release.del(keys.healLock);
      await execTx(release, { timeoutMs: ctx.config.kvTimeoutMs }).catch(() => undefined);
    }
  }
}

async function healLocked(ctx: MeteringContext, keys: ReturnType<typeof userKeys>, rawIds: unknown, report: HealReport): Promise<HealReport> {
  const members = asArray(rawIds).map(parseOpenMember);
  const ids = members.map((m) => m.id);
  if (ids.length === 0) return report;

  const read = ctx.kv.multi();
  for (const id of ids) {
    read.hgetall(keys.op(id));
    read.get(keys.result(id));
    read.exists(keys.void(id));
    read.get(keys.refundClaim(id));
  }
  const rows = await execTx(read, { timeoutMs: ctx.config.kvTimeoutMs });

  const ops = ids.map((id, i) => ({
    id,
    op: parseOperation(id, rows[i * 4]),
    after: asIntOrNull(rows[i * 4 + 1], "operation result"),
    voided: asInt(rows[i * 4 + 2], "void") > 0,
    refunded: rows[i * 4 + 3] !== null,
  }));

  // The claims and idempotency keys operations point at: one more round trip, only when
  // some operation has one (a plain debit does not).
  const pointerKeys = ops.map(({ op }) => pointerKey(keys, op));
  const wanted = pointerKeys.filter((k): k is string => k !== null);
  const holders = new Map<string, string | null>();
  if (wanted.length > 0) {
    const pointers = ctx.kv.multi();
    for (const k of wanted) pointers.get(k);
    const values = await execTx(pointers, { timeoutMs: ctx.config.kvTimeoutMs });
    wanted.forEach((k, i) => holders.set(k, asStringOrNull(values[i])));
  }

  for (const [i, { id, op, after, voided, refunded }] of ops.entries()) {
    report.examined++;
    const member = openMember(id, members[i]!.debited);
    const pointer = pointerKeys[i];
    const holder = pointer == null ? null : (holders.get(pointer) ?? null);
    const tx = ctx.kv.multi();
    if (op === null) {
      tx.zrem(keys.open, member);
      tx.del(keys.result(id));
      report.dropped++;
    } else if (op.kind === "debit") {
      const lostIdempotencyRace = op.idempotencyKey !== null && holder !== id;
      if (after === null) {
        tx.zrem(keys.open, member);
        report.dropped++;
      } else if (refunded || (after >= 0 && !voided && !lostIdempotencyRace)) {
        appendSettle(tx, keys, debitEntry(op, after), ctx.config.historyLimit);
        report.settled++;
      } else {
        appendCompensate(tx, keys, op, holder === id);
        report.compensated++;
      }
    } else if (op.state === "claimed") {
      if (holder === id) {
        await applyClaimed(ctx, keys, op);
        report.applied++;
        continue;
      }
      tx.del(keys.op(id));
      tx.zrem(keys.open, member);
      report.dropped++;
    } else if (after === null) {
      tx.zrem(keys.open, member);
      report.dropped++;
    } else {
      await settleApplied(ctx, keys, op, after);
      report.settled++;
      continue;
    }
    await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  }
  return report;
}

function pointerKey(keys: ReturnType<typeof userKeys>, op: Operation | null): string | null {
  if (op === null) return null;
  if (op.kind === "debit") return op.idempotencyKey === null ? null : keys.idempotency(op.idempotencyKey);
  return op.state === "claimed" ? op.claim : null;
}
