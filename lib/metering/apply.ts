import type { MeteringContext } from "./context";
import { appendSettle, type EntryType, type HistoryEntry } from "./history";
import type { UserKeys } from "./keys";
import { asArray, asInt, asIntOrNull, asStringOrNull, execTx, type Transaction } from "./kv";
import { newOperationId, openMember, type Operation, type OperationKind, operationFields, parseOpenMember } from "./operation";
import { periodOf } from "./period";
import { type Fence, FenceClosedError, fenceUntil, ownerDeadline } from "./timing";

/**
 * Credits, refunds and refills add tokens, and each must happen at most once even when
 * callers race or retry. Without Lua a MULTI cannot make an INCRBY conditional, so the
 * right to apply is won first and the tokens are added second:
 *
 *   1. claim:  SET <guard> <opId> NX GET   (+ the op record, + ZADD open)
 *              the guard is the thing that must happen once: "the November grant",
 *              "the refund of debit X", "the credit with Idempotency-Key K"
 *   2. apply:  INCRBY bal amount; COPY bal r:<opId>; HINCRBY totals …
 *   3. settle: the history entry (idempotent; see history.ts)
 *
 * Only the claim's winner applies. If it dies between 1 and 2 (or 2 and 3), the operation
 * stays in `open`, and a healer — after healAfterMs, under a per-user lock — sees a claimed
 * op whose guard still names it and applies it, or an applied one and settles it. Adding
 * tokens never needs compensation, so the only hazard is doing it twice, which the guard
 * (decided by the store, atomically) and the healer's delay rule out.
 */
export interface ApplySpec {
  keys: UserKeys;
  kind: Exclude<OperationKind, "debit" | "hold" | "carry">;
  guardKey: string;
  guardTtlSeconds: number;
  /** Further claims set together with the guard (e.g. the month a seed grant stands for). */
  alsoMark?: string[];
  /** Keys set in the transaction that adds the tokens (a grant's "applied" markers). */
  markApplied?: string[];
  /** Fixed amount, or a top-up target: the amount is then max(0, target − balance). */
  amount: number | { topUpTo: number };
  reason: string | null;
  route?: string | null;
  ref?: string | null;
  /** For refunds: the period whose usage the refund gives back. */
  period?: string;
  /** For refunds: the daily-usage field of the debit. */
  usage?: string | null;
  /** The operator who asked for it, recorded in the history entry. */
  actor?: string | null;
}

export type ApplyOutcome =
  | { status: "applied"; opId: string; amount: number; balance: number }
  | { status: "duplicate"; opId: string };

/** "Applied" markers outlive the month they mark; a lost one is set again (grants.ts). */
export const MARK_TTL_SECONDS = 400 * 86_400;

export async function claimAndApply(ctx: MeteringContext, spec: ApplySpec): Promise<ApplyOutcome> {
  const outcome = await claimConfirmAndApply(ctx, spec, null);
  if (outcome.status === "abandoned") throw new TypeError("unreachable: nothing to confirm");
  return outcome;
}

/**
 * claimAndApply with a last check between winning the claim and adding the tokens: when
 * `confirm` answers false (what made the operation right has changed, e.g. a reset made
 * the debit to refund part of an old ledger), the claim is given up, inside the owner's
 * window, and nothing is added.
 */
export async function claimConfirmAndApply(
  ctx: MeteringContext,
  spec: ApplySpec,
  confirm: (() => Promise<boolean>) | null,
): Promise<ApplyOutcome | { status: "abandoned" }> {
  const now = ctx.config.clock();
  const target = typeof spec.amount === "number" ? null : spec.amount.topUpTo;
  const op: Operation = {
    id: newOperationId(spec.kind.slice(0, 3)),
    kind: spec.kind,
    state: "claimed",
    amount: typeof spec.amount === "number" ? spec.amount : 0,
    at: now,
    period: spec.period ?? periodOf(now),
    route: spec.route ?? null,
    reason: spec.reason,
    ref: spec.ref ?? null,
    claim: spec.guardKey,
    idempotencyKey: null,
    target,
    usage: spec.usage ?? null,
    marks: spec.markApplied ?? [],
    actor: spec.actor ?? null,
  };
  const { keys } = spec;
  const tx = ctx.kv.multi();
  tx.set(spec.guardKey, op.id, { nx: true, get: true, ex: spec.guardTtlSeconds });
  tx.hset(keys.op(op.id), operationFields(op));
  tx.expire(keys.op(op.id), ctx.config.refundWindowSeconds);
  tx.zadd(keys.open, { score: now, member: openMember(op.id, 0) });
  for (const mark of spec.alsoMark ?? []) tx.set(mark, op.id, { nx: true, ex: spec.guardTtlSeconds });
  const results = await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });

  const holder = asStringOrNull(results[0]);
  if (holder !== null && holder !== op.id) {
    // Lost the claim: our record is garbage; drop it (a healer would drop it too).
    const cleanup = ctx.kv.multi();
    cleanup.del(keys.op(op.id));
    cleanup.zrem(keys.open, openMember(op.id, 0));
    // Best effort: a record left behind is dropped by the next healer.
    await execTx(cleanup, { timeoutMs: ctx.config.kvTimeoutMs }).catch(() => undefined);
    return { status: "duplicate", opId: holder };
  }
  // The owner applies (or gives up) its own claim only inside its window (timing.ts); past
  // it, a healer applies it, so the tokens are never added by both.
  const fence = fenceUntil(ctx.config.clock, ownerDeadline(ctx.config, op.at));
  if (confirm !== null && !(await confirm())) {
    if (!fence.isOpen()) throw new FenceClosedError(`giving up ${op.id}`);
    const abandon = ctx.kv.multi();
    abandon.del(keys.op(op.id), spec.guardKey);
    abandon.zrem(keys.open, openMember(op.id, 0));
    await execTx(abandon, { timeoutMs: ctx.config.kvTimeoutMs });
    return { status: "abandoned" };
  }
  return applyClaimed(ctx, keys, op, fence);
}

/**
 * The balance as if no debit were in flight: the stored balance plus every open debit's
 * amount, read in one transaction (open members carry their amounts). A top-up computed
 * from the raw balance would count a burst of refusals waiting for their compensation as
 * spent, and grant those tokens on top. With this, the user ends at the allowance minus
 * whatever in-flight requests turn out to be paid.
 */
export async function balanceAtRest(ctx: MeteringContext, keys: UserKeys): Promise<number> {
  const tx = ctx.kv.multi();
  tx.get(keys.balance);
  tx.zrange(keys.open, 0, -1);
  const [rawBalance, members] = await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  const inFlight = asArray(members).reduce<number>((sum, m) => sum + parseOpenMember(m).debited, 0);
  return (asIntOrNull(rawBalance, "balance") ?? 0) + inFlight;
}

/**
 * Step 2 and 3 for a claim this caller (or a healer) owns. The INCRBY is not conditional,
 * so it is sent only while `fence` is open: the owner's window, or the healer's pass. The
 * same transaction moves the record out of "claimed", which is what every later reader
 * goes by.
 */
export async function applyClaimed(
  ctx: MeteringContext,
  keys: UserKeys,
  op: Operation,
  fence: Fence,
): Promise<ApplyOutcome> {
  if (op.kind === "debit" || op.kind === "hold" || op.kind === "carry") throw new TypeError("applyClaimed is for operations that add tokens");
  const amount = op.target === null ? op.amount : Math.max(0, op.target - (await balanceAtRest(ctx, keys)));
  if (!fence.isOpen()) throw new FenceClosedError(`applying ${op.id}`);
  const tx = ctx.kv.multi();
  tx.incrby(keys.balance, amount);
  tx.copy(keys.balance, keys.result(op.id));
  tx.expire(keys.result(op.id), ctx.config.refundWindowSeconds);
  tx.hset(keys.op(op.id), { state: "open", amount });
  for (const mark of op.marks ?? []) tx.set(mark, op.id, { ex: MARK_TTL_SECONDS });
  // Which side of a reset the tokens landed on (reset.ts): no epoch key yet means epoch 0.
  tx.copy(keys.epoch, keys.appliedEpoch(op.id));
  tx.expire(keys.appliedEpoch(op.id), ctx.config.refundWindowSeconds);
  appendTotals(tx, keys, op, amount);
  const results = await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  const balance = asInt(results[0], "balance");
  await settleApplied(ctx, keys, { ...op, amount }, balance);
  return { status: "applied", opId: op.id, amount, balance };
}

export function appendTotals(tx: Transaction, keys: UserKeys, op: Operation, amount: number): void {
  if (op.kind === "refund") {
    tx.hincrby(keys.totals, "refunds", amount);
    tx.hincrby(keys.totals, "generations", -1);
    tx.hincrby(keys.totals, `used:${op.period}`, -amount);
    if (op.usage !== null) tx.hincrby(keys.daily, op.usage, -amount);
  } else {
    tx.hincrby(keys.totals, "credits", amount);
  }
}

export async function settleApplied(ctx: MeteringContext, keys: UserKeys, op: Operation, balanceAfter: number): Promise<void> {
  const tx = ctx.kv.multi();
  appendSettle(tx, keys, appliedEntry(op, balanceAfter), ctx.config.historyLimit);
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
}

const ENTRY_TYPE: Record<Exclude<OperationKind, "debit" | "hold" | "carry">, EntryType> = {
  credit: "credit",
  refund: "refund",
  refill: "refill",
};

export function appliedEntry(op: Operation, balanceAfter: number): HistoryEntry {
  const entry: HistoryEntry = {
    id: op.id,
    type: ENTRY_TYPE[op.kind as Exclude<OperationKind, "debit" | "hold" | "carry">],
    amount: op.amount,
    balanceAfter,
    reason: op.reason,
    route: op.route,
    at: op.at,
  };
  if (op.kind === "refund" && op.ref !== null) entry.ref = op.ref;
  if (op.actor != null) entry.actor = op.actor;
  return entry;
}
