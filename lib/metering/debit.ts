import { assertAmount } from "./amount";
import type { MeteringContext } from "./context";
import { appendSettle, type HistoryEntry } from "./history";
import {
  assertRequestFingerprint, compareFingerprint, encodeIdempotencyRecord, type FingerprintMatch, parseIdempotencyRecord,
  type RequestFingerprint,
} from "./idempotency-record";
import { type UserKeys, userKeys } from "./keys";
import { asArray, asInt, asStringOrNull, execTx, execTxItems, type Transaction } from "./kv";
import { newOperationId, openMember, type Operation, operationFields, parseOpenMember } from "./operation";
import { periodOf } from "./period";
import { assertIdempotencyKey, optionalText } from "./text";
import { retryUntilDone } from "./retry";
import { FenceClosedError, fenceUntil, ownerDeadline } from "./timing";
import { type ResultReader, spanError, TxSteps } from "./tx-steps";

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
 *   + reads: stale operations to heal, this month's grant, the Idempotency-Key (claimed
 *     with SET NX GET, whose answer is the holder's record: its debit and fingerprint)
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
  /**
   * The request the key came with (route and body hash): a second debit with the same key
   * and another request is refused (`idempotency_key_reused`), not replayed. Without it,
   * the key matches only other debits sent without one.
   */
  requestFingerprint?: RequestFingerprint | null;
}

export type DebitOutcome = (
  | { status: "ok"; debitId: string; balance: number; settle(): Promise<void> }
  | { status: "insufficient_tokens"; balance: number }
  | {
    status: "replay"; originalDebitId: string; storedResponse: string | null;
    /** How long ago the key was first used (from its remaining lifetime). */
    keyAgeMs: number;
  }
  | {
    /** The key was taken by another request (another route, or another body): nothing charged. */
    status: "idempotency_key_reused"; originalDebitId: string; mismatch: "target" | "body";
  }
  | {
    /**
     * The store did not answer (KvUnavailableError), or answered an error: nothing may be
     * served as paid. The debit may still have been applied; `pending` voids it.
     */
    status: "unavailable"; error: unknown;
  }
) & {
  userId: string;
  cost: number;
  /**
   * Work this debit started that must outlive the answer (voiding a debit whose answer was
   * lost, giving back a refused one, healing, granting): hand it to the platform's
   * `waitUntil`. Null when there is none. It rejects, after every task has run, when one
   * failed; whoever holds it decides what that means (lib/app.ts logs it). A healer
   * finishes whatever a failed task left open.
   */
  pending: Promise<void> | null;
};

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
  fingerprint: RequestFingerprint | null;
  /** Grant claims to look for in the same round trip (this month's; the seed for seeded users). */
  grantNames: string[];
}

/** What the store answered to one debit transaction. */
export interface DebitReading {
  /** Balance right after the DECRBY. */
  after: number;
  staleIds: string[];
  /** Grants nobody has claimed yet. */
  missingGrants: string[];
  /** Grants claimed but not yet in the balance (another request is applying them). */
  pendingGrants: string[];
  /** Set when the Idempotency-Key was already taken by another debit. */
  replayOf: string | null;
  /** With replayOf: how this request compares with the one the key was taken for. */
  keyMatch: FingerprintMatch | null;
  storedResponse: string | null;
  /** For a keyed debit: how long ago its Idempotency-Key was first taken. */
  keyAgeMs: number | null;
  /**
   * Set by a transport that batches debits (coalescer.ts) when this debit was refused only
   * because earlier debits of the same user in the same batch, themselves refused, had not
   * been given back yet: resolves once they have.
   */
  retryAfter?: Promise<unknown>;
  /** Called once this debit is decided (a refused one: after its compensation was tried). */
  onDecided?: () => void;
}

/**
 * How a debit transaction reaches the store: one transaction per debit (`directTransport`),
 * or shared with concurrent debits (coalescer.ts). Either way each debit is its own DECRBY,
 * read back by its own reader.
 */
export interface DebitTransport {
  /** Sends one debit; rejects when the outcome is unknown (the flow then voids it). */
  send(d: PreparedDebit): Promise<DebitReading>;
  /** Writes a paid debit's history entry and closes it. */
  settle(d: PreparedDebit, after: number): Promise<void>;
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
    fingerprint: request.requestFingerprint == null ? null : assertRequestFingerprint(request.requestFingerprint),
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

/** Appends the debit transaction's commands; returns the reader of its results. */
export function appendDebit(steps: TxSteps, ctx: MeteringContext, d: PreparedDebit): ResultReader<DebitReading> {
  const { keys, op } = d;
  const keepSeconds = ctx.config.refundWindowSeconds;
  const after = steps.read((tx) => tx.decrby(keys.balance, op.amount), (raw) => asInt(raw, "debit balance"));
  steps.write((tx) => tx.copy(keys.balance, keys.result(op.id)));
  steps.write((tx) => tx.expire(keys.result(op.id), keepSeconds));
  steps.write((tx) => tx.hset(keys.op(op.id), operationFields(op)));
  steps.write((tx) => tx.expire(keys.op(op.id), keepSeconds));
  // A hold is in flight until its deadline: the healer's delay counts from there (hold.ts).
  steps.write((tx) => tx.zadd(keys.open, { score: op.hold?.deadline ?? op.at, member: openMember(op.id, op.amount) }));
  steps.write((tx) => tx.hincrby(keys.totals, "debits", op.amount));
  steps.write((tx) => tx.hincrby(keys.totals, "generations", 1));
  steps.write((tx) => tx.hincrby(keys.totals, `used:${op.period}`, op.amount));
  steps.write((tx) => tx.hincrby(keys.daily, dailyField(op), op.amount));
  steps.write((tx) => tx.expire(keys.daily, DAILY_KEEP_SECONDS));
  const stale = steps.read(
    (tx) => tx.zrange(keys.open, "-inf", op.at - ctx.config.healAfterMs, { byScore: true, offset: 0, count: 8 }),
    (raw) => asArray(raw).map((m) => parseOpenMember(m).id).filter((id) => id !== op.id),
  );
  // One EXISTS per grant counts its claim and its "applied" marker: 0 nobody claimed it,
  // 1 claimed and being applied, 2 in the balance.
  const grants = d.grantNames.map((name) => ({
    name,
    found: steps.read((tx) => tx.exists(keys.grant(name), keys.grantApplied(name)), (raw) => asInt(raw, "grant exists")),
  }));
  const idempotency = d.idempotencyKey === null ? null : {
    holder: steps.read(
      (tx) => tx.set(keys.idempotency(d.idempotencyKey!), encodeIdempotencyRecord(op.id, d.fingerprint), { nx: true, get: true, ex: IDEMPOTENCY_TTL_SECONDS }),
      (raw) => {
        const value = asStringOrNull(raw);
        return value === null ? null : parseIdempotencyRecord(value);
      },
    ),
    stored: steps.read((tx) => tx.get(keys.idempotentResponse(d.idempotencyKey!)), asStringOrNull),
    // The key's age, from its remaining lifetime (it was set with IDEMPOTENCY_TTL_SECONDS).
    age: steps.read((tx) => tx.pttl(keys.idempotency(d.idempotencyKey!)), (raw) => {
      const left = asInt(raw, "idempotency key ttl");
      return left < 0 ? 0 : Math.max(0, IDEMPOTENCY_TTL_SECONDS * 1000 - left);
    }),
  };
  return (items) => {
    const holder = idempotency?.holder(items) ?? null;
    return {
      after: after(items),
      staleIds: stale(items),
      missingGrants: grants.filter((g) => g.found(items) === 0).map((g) => g.name),
      pendingGrants: grants.filter((g) => g.found(items) === 1).map((g) => g.name),
      replayOf: holder !== null && holder.debitId !== op.id ? holder.debitId : null,
      keyMatch: holder !== null && holder.debitId !== op.id ? compareFingerprint(holder, d.fingerprint) : null,
      storedResponse: idempotency?.stored(items) ?? null,
      keyAgeMs: idempotency?.age(items) ?? null,
    };
  };
}

/** Gives a refused (or replayed, or voided) debit back and removes every trace of it. */
export function appendCompensate(
  tx: Transaction, keys: UserKeys, op: Operation, releaseIdempotencyKey: boolean, carriedBy: string | null = null,
): void {
  if (carriedBy === null) {
    tx.incrby(keys.balance, op.amount);
    tx.hincrby(keys.totals, "debits", -op.amount);
    tx.hincrby(keys.totals, "generations", -1);
  } else {
    // A debit a reset carried over was taken from the ledger the reset replaced: the new
    // balance and totals never had it, so nothing goes back into them. The marker tells the
    // reset's carry step (reset.ts) that this give-back added nothing.
    tx.set(keys.givenToOldLedger(op.id), carriedBy, { ex: 86_400 });
  }
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

/**
 * The owner gives its refused debit back, unless its window has passed (timing.ts): then
 * the healer does it, so two actors never give the same tokens back.
 */
export async function compensate(ctx: MeteringContext, d: PreparedDebit, releaseIdempotencyKey: boolean): Promise<void> {
  if (ctx.config.clock() > ownerDeadline(ctx.config, d.op.at)) throw new FenceClosedError("compensation");
  const tx = ctx.kv.multi();
  appendCompensate(tx, d.keys, d.op, releaseIdempotencyKey);
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
}

/** One transaction per debit: the transport without coalescing. */
export function directTransport(ctx: MeteringContext): DebitTransport {
  return {
    async send(d) {
      const steps = new TxSteps(ctx.kv.multi());
      const start = steps.begin();
      const read = appendDebit(steps, ctx, d);
      const span = steps.end(start);
      const items = await execTxItems(steps.tx, { timeoutMs: ctx.config.kvTimeoutMs });
      // Any failed command fails the debit, read or not: EXEC ran the others, so the
      // outcome is unknown and the debit path voids it.
      const failed = spanError(items, span);
      if (failed !== null) throw failed;
      return read(items);
    },
    async settle(d, after) {
      const tx = ctx.kv.multi();
      appendSettle(tx, d.keys, debitEntry(d.op, after), ctx.config.historyLimit);
      await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
    },
  };
}

/**
 * After a failed round trip nobody knows whether the DECRBY ran. Marking the debit void
 * (an idempotent SET, safe to retry) tells the healer to give it back rather than settle
 * it: the caller answered 503 and did no work, so the user must not pay.
 *
 * Retried, with short pauses, until the owner's deadline (timing.ts): a KV that is slow or
 * away for seconds still gets it, and no void can land after a healer has decided. A KV
 * unreachable from this instance for longer than that (or the instance dying first) leaves
 * the debit to be settled as paid — README "Limits".
 */
export async function voidDebit(ctx: MeteringContext, d: PreparedDebit): Promise<boolean> {
  const fence = fenceUntil(ctx.config.clock, ownerDeadline(ctx.config, d.op.at));
  const voided = await retryUntilDone(async () => {
    if (!fence.isOpen()) return false;
    try {
      const tx = ctx.kv.multi();
      tx.set(d.keys.void(d.op.id), 1, { ex: ctx.config.refundWindowSeconds });
      await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
      return true;
    } catch {
      return undefined;
    }
  }, { first: 100, max: Math.min(2_000, ctx.config.healAfterMs / 10) }, () => true);
  return voided ?? false;
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
