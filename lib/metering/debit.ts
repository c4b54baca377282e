import { assertAmount } from "./amount";
import type { MeteringContext } from "./context";
import { appendSettle, type HistoryEntry } from "./history";
import { type UserKeys, userKeys } from "./keys";
import { asArray, asInt, asStringOrNull, execTx, type Transaction } from "./kv";
import { newOperationId, openMember, type Operation, operationFields, parseOpenMember } from "./operation";
import { periodOf } from "./period";
import { assertIdempotencyKey, optionalText } from "./text";

/**
 * The debit: DECRBY / check / compensate, without Lua.
 *
 * One MULTI/EXEC takes the cost and records everything the success path needs, so a paid
 * request costs exactly one round trip before it is served:
 *   DECRBY bal cost           → r, the balance after
 *   COPY bal r:<id>           captures r in the store, so a healer can decide the debit's
 *                             fate if this caller never comes back
 *   HSET op:<id> …            what was debited, for settling, healing and refunds
 *   ZADD open <now> <id>      the debit is in flight until settled or compensated
 *   HINCRBY tot …             totals move in the same transaction as the balance
 *   + reads: stale operations to heal, this month's grant, the Idempotency-Key
 *
 * r ≥ 0: paid. The history entry is written afterwards by `settle` (off the critical path).
 * r < 0: refused. A second transaction gives the cost back and deletes every trace; the
 * history never saw it. Between the two, other debits see a balance lowered by a debit
 * that will not stand, and may be refused too ("false refusals": rare, counted by the
 * benchmark); they can never be accepted wrongly, so there is no overdraft.
 *
 * Invariants (asserted in tests/metering and the reliability suites):
 *   I1 at rest (no operation open) the balance is never negative;
 *   I2 at every instant balance = credits − debits + refunds (same transactions);
 *   I3 a complete history sums to the balance;
 *   I4 no debit is applied twice: transactions are never re-sent (client retries off), and
 *      a request whose round trip failed is voided so a healer compensates it instead of
 *      settling it.
 */
export interface DebitRequest {
  userId: string;
  cost: number;
  /** Label shown in the history, e.g. "POST /api/generate/article". */
  route?: string | null;
  reason?: string | null;
  /** A client's Idempotency-Key: a second debit with the same key is not charged. */
  idempotencyKey?: string | null;
}

export type DebitOutcome =
  | { status: "ok"; debitId: string; userId: string; cost: number; balance: number; settle(): Promise<void> }
  | { status: "insufficient_tokens"; userId: string; cost: number; balance: number }
  | { status: "replay"; userId: string; cost: number; originalDebitId: string; storedResponse: string | null };

/** Daily usage by route is kept this long (the dashboard shows 30 days). */
export const DAILY_KEEP_SECONDS = 40 * 86_400;

/** "2026-11-25|POST /api/chat": the day (UTC) and route of a debit, for the usage chart. */
export function dailyField(op: Pick<Operation, "at" | "route">): string {
  return `${new Date(op.at).toISOString().slice(0, 10)}|${op.route ?? "other"}`;
}

/** Idempotency records live this long (the IETF draft's usual 24 h). */
export const IDEMPOTENCY_TTL_SECONDS = 86_400;

export interface PreparedDebit {
  keys: UserKeys;
  op: Operation;
  idempotencyKey: string | null;
  /** Grant claims to look for in the same round trip (this month's; the seed for seeded users). */
  grantNames: string[];
}

export interface DebitReading {
  /** Balance right after the DECRBY. */
  after: number;
  staleIds: string[];
  missingGrants: string[];
  /** Set when the Idempotency-Key was already taken by another debit. */
  replayOf: string | null;
  storedResponse: string | null;
}

/** Validates the request and mints the debit's id; nothing is sent yet. */
export function prepareDebit(ctx: MeteringContext, request: DebitRequest): PreparedDebit {
  const keys = userKeys(ctx.config.namespace, request.userId);
  const cost = assertAmount(request.cost, "cost");
  const now = ctx.config.clock();
  const period = periodOf(now);
  const grantNames = grantNamesFor(ctx, request.userId, period);
  return {
    keys,
    idempotencyKey: request.idempotencyKey == null ? null : assertIdempotencyKey(request.idempotencyKey),
    grantNames,
    op: {
      id: newOperationId("deb"),
      kind: "debit",
      state: "open",
      amount: cost,
      at: now,
      period,
      route: optionalText(request.route, "route"),
      reason: optionalText(request.reason, "reason"),
      ref: null,
      claim: null,
      idempotencyKey: request.idempotencyKey ?? null,
      target: null,
      usage: null,
    },
  };
}

export function grantNamesFor(ctx: MeteringContext, userId: string, period: string): string[] {
  const names: string[] = [];
  if (userId in ctx.config.seedUsers) names.push("seed");
  if (ctx.config.monthlyAllowance > 0) names.push(period);
  return names;
}

/** Appends the debit transaction's commands; returns how many results they produce. */
export function appendDebit(tx: Transaction, ctx: MeteringContext, d: PreparedDebit): number {
  const { keys, op } = d;
  const keepSeconds = ctx.config.refundWindowSeconds;
  tx.decrby(keys.balance, op.amount);
  tx.copy(keys.balance, keys.result(op.id));
  tx.expire(keys.result(op.id), keepSeconds);
  tx.hset(keys.op(op.id), operationFields(op));
  tx.expire(keys.op(op.id), keepSeconds);
  tx.zadd(keys.open, { score: op.at, member: openMember(op.id, op.amount) });
  tx.hincrby(keys.totals, "debits", op.amount);
  tx.hincrby(keys.totals, "generations", 1);
  tx.hincrby(keys.totals, `used:${op.period}`, op.amount);
  tx.hincrby(keys.daily, dailyField(op), op.amount);
  tx.expire(keys.daily, DAILY_KEEP_SECONDS);
  tx.zrange(keys.open, "-inf", op.at - ctx.config.healAfterMs, { byScore: true, offset: 0, count: 8 });
  for (const name of d.grantNames) tx.exists(keys.grant(name));
  let count = STALE_INDEX + 1 + d.grantNames.length;
  if (d.idempotencyKey !== null) {
    tx.set(keys.idempotency(d.idempotencyKey), op.id, { nx: true, get: true, ex: IDEMPOTENCY_TTL_SECONDS });
    tx.get(keys.idempotentResponse(d.idempotencyKey));
    count += 2;
  }
  return count;
}

/** Position of the stale-operations read in the debit transaction (see appendDebit). */
const STALE_INDEX = 11;

export function readDebit(results: unknown[], d: PreparedDebit): DebitReading {
  const after = asInt(results[0], "debit balance");
  const staleIds = asArray(results[STALE_INDEX]).map((m) => parseOpenMember(m).id).filter((id) => id !== d.op.id);
  const missingGrants = d.grantNames.filter((_, i) => asInt(results[STALE_INDEX + 1 + i], "grant exists") === 0);
  let replayOf: string | null = null;
  let storedResponse: string | null = null;
  if (d.idempotencyKey !== null) {
    const base = STALE_INDEX + 1 + d.grantNames.length;
    const previous = asStringOrNull(results[base]);
    if (previous !== null && previous !== d.op.id) replayOf = previous;
    storedResponse = asStringOrNull(results[base + 1]);
  }
  return { after, staleIds, missingGrants, replayOf, storedResponse };
}

/** Gives a refused (or replayed, or voided) debit back and removes every trace of it. */
export function appendCompensate(tx: Transaction, keys: UserKeys, op: Operation, releaseIdempotencyKey: boolean): void {
  tx.incrby(keys.balance, op.amount);
  tx.hincrby(keys.totals, "debits", -op.amount);
  tx.hincrby(keys.totals, "generations", -1);
  tx.hincrby(keys.totals, `used:${op.period}`, -op.amount);
  tx.hincrby(keys.daily, dailyField(op), -op.amount);
  tx.del(keys.result(op.id), keys.op(op.id));
  tx.zrem(keys.open, openMember(op.id, op.amount));
  if (releaseIdempotencyKey && op.idempotencyKey !== null) tx.del(keys.idempotency(op.idempotencyKey));
}

export function debitEntry(op: Operation, balanceAfter: number): HistoryEntry {
  return {
    id: op.id, type: "debit", amount: -op.amount, balanceAfter,
    reason: op.reason, route: op.route, at: op.at,
  };
}

export async function compensate(ctx: MeteringContext, d: PreparedDebit, releaseIdempotencyKey: boolean): Promise<void> {
  const tx = ctx.kv.multi();
  appendCompensate(tx, d.keys, d.op, releaseIdempotencyKey);
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
}

export async function settleDebit(ctx: MeteringContext, d: PreparedDebit, after: number): Promise<void> {
  const tx = ctx.kv.multi();
  appendSettle(tx, d.keys, debitEntry(d.op, after), ctx.config.historyLimit);
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
}

/**
 * After a failed round trip nobody knows whether the DECRBY ran. Marking the debit void
 * (an idempotent SET, safe to retry) tells the healer to give it back rather than settle
 * it: the caller answered 503 and did no work, so the user must not pay.
 *
 * The void must land before a healer may act on the debit (healAfterMs after it), so it
 * is retried for most of that time (80 %, leaving room for clocks and the last attempt's
 * own timeout): a KV that is slow or away for seconds still gets it. Only a KV unreachable
 * from this instance for longer than that (or the instance dying first) leaves the debit
 * to be settled as paid — README "Limits".
 */
export async function voidDebit(ctx: MeteringContext, d: PreparedDebit): Promise<boolean> {
  // Measured on this machine's own clock from the failure, which came at most one timeout
  // after the debit (the metering clock may be injected).
  const deadline = Date.now() + ctx.config.healAfterMs * 0.8 - ctx.config.kvTimeoutMs;
  const maxPause = Math.min(2_000, ctx.config.healAfterMs / 10);
  for (let attempt = 0; ; attempt++) {
    try {
      const tx = ctx.kv.multi();
      tx.set(d.keys.void(d.op.id), 1, { ex: ctx.config.refundWindowSeconds });
      await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
      return true;
    } catch {
      const pause = Math.min(100 * 2 ** attempt, maxPause);
      if (Date.now() + pause + ctx.config.kvTimeoutMs > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

export interface DebitHooks {
  /** Grants a missing monthly/seed allowance; returns true when the user got tokens. */
  ensureGrants(userId: string, missing: string[]): Promise<boolean>;
  /** Heals a user's stale operations, in the background. */
  heal(userId: string): Promise<unknown>;
  /** Called with work that must finish but must not delay the answer. */
  background(task: Promise<unknown>): void;
}

/** Runs one debit end to end: one round trip when paid, more only when refused or first of the month. */
export async function runDebit(ctx: MeteringContext, request: DebitRequest, hooks: DebitHooks, retried = false): Promise<DebitOutcome> {
  const d = prepareDebit(ctx, request);
  const tx = ctx.kv.multi();
  appendDebit(tx, ctx, d);
  let reading: DebitReading;
  try {
    reading = readDebit(await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs }), d);
  } catch (error) {
    // The transaction may have been applied (a lost answer, or one command that failed
    // while EXEC ran the others), and the caller answers an error: void it either way, so
    // the healer gives it back instead of settling it as paid.
    hooks.background(voidDebit(ctx, d));
    throw error;
  }
  return decideDebit(ctx, d, reading, hooks, retried, request);
}

export async function decideDebit(
  ctx: MeteringContext,
  d: PreparedDebit,
  reading: DebitReading,
  hooks: DebitHooks,
  retried: boolean,
  request: DebitRequest,
): Promise<DebitOutcome> {
  const userId = d.keys.userId;
  const cost = d.op.amount;
  if (reading.staleIds.length > 0) hooks.background(hooks.heal(userId));

  if (reading.replayOf !== null) {
    hooks.background(compensate(ctx, d, false));
    return { status: "replay", userId, cost, originalDebitId: reading.replayOf, storedResponse: reading.storedResponse };
  }

  if (reading.after < 0) {
    // Refused. Give it back now; if that fails the debit stays open with r < 0 and the
    // next healer gives it back, so the tokens are late, never lost.
    await compensate(ctx, d, true).catch(() => undefined);
    if (!retried && reading.missingGrants.length > 0 && (await hooks.ensureGrants(userId, reading.missingGrants))) {
      return runDebit(ctx, request, hooks, true);
    }
    return { status: "insufficient_tokens", userId, cost, balance: Math.max(0, reading.after + cost) };
  }

  if (reading.missingGrants.length > 0) hooks.background(hooks.ensureGrants(userId, reading.missingGrants));
  return {
    status: "ok",
    debitId: d.op.id,
    userId,
    cost,
    balance: reading.after,
    settle: () => settleDebit(ctx, d, reading.after),
  };
}

/**
 * Keeps the answer of a paid request that carried an Idempotency-Key, for the same time
 * as the key itself, so a replay inside that window gets it back (read in the debit tx).
 */
export async function storeIdempotentResponse(ctx: MeteringContext, userId: string, idempotencyKey: string, encoded: string): Promise<void> {
  const keys = userKeys(ctx.config.namespace, userId);
  const tx = ctx.kv.multi();
  tx.set(keys.idempotentResponse(assertIdempotencyKey(idempotencyKey)), encoded, { ex: IDEMPOTENCY_TTL_SECONDS });
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
}
