import type { MeteringContext } from "./context";
import { MARK_TTL_SECONDS } from "./apply";
import { KvProtocolError } from "./errors";
import { decodeEntry, encodeEntry, type HistoryEntry } from "./history";
import { type UserKeys, userKeys } from "./keys";
import { asArray, asIntOrNull, asRecord, execTx, execTxItems } from "./kv";
import { newOperationId, openMember, type Operation, operationFields, parseOpenMember, parseOperation } from "./operation";
import { periodOf } from "./period";
import { type Fence, FenceClosedError, fenceUntil, ownerDeadline, ownerWaitMs, ownerWindowMs } from "./timing";
import { optionalText } from "./text";
import { TxSteps } from "./tx-steps";
import { retryUntilDone } from "./retry";

/**
 * Starts a user over: the balance becomes the user's starting amount (the seed for a
 * seeded user, else the monthly allowance), the money totals and the history are replaced
 * by a single `reset` entry, and this month counts as granted. Usage figures (this month's
 * use, the daily chart) record what happened and are kept.
 *
 * Requests in flight at the reset are carried over to the new ledger, and the reset's own
 * entry accounts for them: the reset's transaction captures the `open` set as it found it
 * (COPY, atomic with the reset), and once each of those debits is decided, the "carry" step
 * adds the paid ones to the reset entry (they were paid from the old balance) and takes
 * back what the refused ones gave back after the reset. At rest the balance is then the
 * starting amount plus whatever was refunded since, and the new history sums to it. The
 * carry step is an open operation like any other: done by the resetter inside its window
 * once the debits are decided, else by a healer (timing.ts), never by both.
 *
 * Refunds of debits settled before the reset are refused (refund.ts): they belong to the
 * old ledger. A carried paid debit stays refundable. A credit in flight at the reset is
 * accounted for on whichever side of it its tokens landed (its epoch, keys.ts).
 */
export async function reset(ctx: MeteringContext, userId: string, reason = "Reset by an administrator", actor?: string | null): Promise<HistoryEntry> {
  const keys = userKeys(ctx.config.namespace, userId);
  const by = optionalText(actor, "actor");
  const now = ctx.config.clock();
  const start = ctx.config.seedUsers[userId] ?? ctx.config.monthlyAllowance;
  const entry = resetEntry(newOperationId("rst"), start, reason, now, by);
  // The carry step keeps what it needs to rewrite the reset entry: its amount, reason and actor.
  const carry: Operation = {
    id: entry.id, kind: "carry", state: "claimed", amount: start, at: now, period: periodOf(now),
    route: null, reason, ref: null, claim: null, idempotencyKey: null, target: null, usage: null, actor: by,
  };
  const keep = ctx.config.refundWindowSeconds;
  const tx = ctx.kv.multi();
  tx.incr(keys.epoch);
  tx.copy(keys.open, keys.carry(entry.id));
  tx.expire(keys.carry(entry.id), keep);
  tx.set(keys.balance, start);
  tx.del(keys.history);
  tx.hset(keys.totals, { credits: start, debits: 0, refunds: 0, generations: 0 });
  tx.zadd(keys.history, { score: now, member: encodeEntry(entry) });
  tx.hset(keys.lastReset, { id: entry.id, at: now });
  tx.set(keys.grant(periodOf(now)), entry.id, { ex: 40 * 86_400 });
  tx.set(keys.grantApplied(periodOf(now)), entry.id, { ex: MARK_TTL_SECONDS });
  if (userId in ctx.config.seedUsers) {
    tx.set(keys.grant("seed"), entry.id);
    tx.set(keys.grantApplied("seed"), entry.id, { ex: MARK_TTL_SECONDS });
  }
  // The reset's epoch, for the carry step, in a key of its own (COPY: the value is only
  // known inside the transaction).
  tx.hset(keys.op(entry.id), operationFields(carry));
  tx.copy(keys.epoch, keys.appliedEpoch(entry.id));
  tx.expire(keys.appliedEpoch(entry.id), keep);
  tx.expire(keys.op(entry.id), keep);
  tx.zadd(keys.open, { score: now, member: openMember(entry.id, 0) });
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });

  // Carry now if the debits in flight are decided within a few round trips (they usually
  // are: a paid debit is settled right after its gate); otherwise a healer carries later.
  const fence = fenceUntil(ctx.config.clock, ownerDeadline(ctx.config, now));
  const give = Date.now() + ownerWaitMs(ctx.config);
  try {
    await retryUntilDone(async () => {
      if (!fence.isOpen()) return "left to a healer";
      return (await carryOver(ctx, keys, carry, fence)) === "carried" ? "carried" : undefined;
    }, { first: 10, max: 200 }, (pause) => Date.now() + pause <= give);
  } catch {
    // The reset stands; a healer carries the debits over (the step is in `open`).
  }
  return entry;
}

function resetEntry(id: string, amount: number, reason: string | null, at: number, actor: string | null | undefined): HistoryEntry {
  const entry: HistoryEntry = { id, type: "reset", amount, balanceAfter: amount, reason, route: null, at };
  if (actor != null) entry.actor = actor;
  return entry;
}

/**
 * The carry step of reset `op`. Each operation the reset found open is, by now, decided:
 * - a debit settled (record kept, out of `open`): paid from the old balance, its entry (−a)
 *   is in the new history: the reset entry grows by a, and so do the credits and debits
 *   totals;
 * - a debit compensated (record gone) by its owner: it gave a back to the new balance,
 *   which never had it; taking it back could overdraw, so the reset entry grows by a and
 *   the totals are restored (the user keeps those tokens); one a healer gave back knew it
 *   was carried and touched nothing (heal.ts), so nothing is done;
 * - a credit, refill or refund applied before the reset (its epoch is older) and settled
 *   after it: its entry (+a) is in the new history but the reset wiped its tokens: the
 *   reset entry shrinks by a. One applied after the reset stands as it is (a refund of a
 *   debit the new ledger does not have is counted as a credit of the new ledger).
 * A step whose reset is no longer the latest closes without effect: the newer reset
 * carried over whatever was still open.
 * Anything still open or still claimed is not decided yet: nothing is done ("pending").
 * One transaction rewrites the reset entry, corrects balance and totals, and closes the
 * step. Unconditional, hence sent only while `fence` is open.
 */
export async function carryOver(ctx: MeteringContext, keys: UserKeys, op: Operation, fence: Fence): Promise<"carried" | "pending"> {
  if (op.kind !== "carry") throw new TypeError("carryOver is for a reset's carry step");
  const list = new TxSteps(ctx.kv.multi());
  const latest = list.read((t) => t.hget(keys.lastReset, "id"), (raw) => (raw === null || raw === undefined ? null : String(raw)));
  const members = list.read((t) => t.zrange(keys.carry(op.id), 0, -1), (raw) => asArray(raw).map(parseOpenMember).filter((m) => m.id !== op.id));
  const epochOf = list.read((t) => t.get(keys.appliedEpoch(op.id)), (raw) => asIntOrNull(raw, "epoch") ?? 0);
  const listed = await execTxItems(list.tx, { timeoutMs: ctx.config.kvTimeoutMs });
  const carried = members(listed);
  const resetEpoch = epochOf(listed);
  if (latest(listed) !== op.id) {
    // A newer reset replaced this ledger: it carries over whatever is still open, and what
    // this step would have accounted for was wiped with the ledger it belonged to.
    if (!fence.isOpen()) throw new FenceClosedError(`closing ${op.id}`);
    await execTx(ctx.kv.multi().del(keys.op(op.id), keys.appliedEpoch(op.id)).zrem(keys.open, openMember(op.id, 0)), { timeoutMs: ctx.config.kvTimeoutMs });
    return "carried";
  }

  const read = new TxSteps(ctx.kv.multi());
  const states = carried.map((m) => ({
    debited: m.debited,
    record: read.read((t) => t.hgetall(keys.op(m.id)), (raw) => parseOperation(m.id, raw)),
    open: read.read((t) => t.zscore(keys.open, openMember(m.id, m.debited)), (r) => r !== null),
    epoch: read.read((t) => t.get(keys.appliedEpoch(m.id)), (raw) => asIntOrNull(raw, "epoch") ?? 0),
    toOldLedger: read.read((t) => t.exists(keys.givenToOldLedger(m.id)), (raw) => Number(raw) > 0),
    // For an older reset's carry step caught in flight by this reset: what it changed.
    effects: m.debited > 0 ? (): Record<string, unknown> => ({}) : (() => {
      const fx = read.read((t) => t.hgetall(keys.carryEffects(m.id)), asRecord);
      const at = read.read((t) => t.get(keys.carryEffectsEpoch(m.id)), (raw) => asIntOrNull(raw, "epoch"));
      return (rows: Parameters<typeof fx>[0]): Record<string, unknown> => {
        const record = fx(rows);
        const epoch = at(rows);
        return Object.keys(record).length === 0 ? {} : { ...record, epoch: epoch ?? 0 };
      };
    })(),
  }));
  const items = read.begin() > 0 ? await execTxItems(read.tx, { timeoutMs: ctx.config.kvTimeoutMs }) : [];
  let paid = 0;
  let paidCount = 0;
  let given = 0;
  let givenCount = 0;
  let wiped = 0;
  let reclassified = 0;
  let reclassifiedCount = 0;
  const undo: Record<string, unknown>[] = [];
  const carriedDebits = new Set(carried.filter((m) => m.debited > 0).map((m) => m.id));
  for (const state of states) {
    if (state.open(items)) return "pending";
    const record = state.record(items);
    if (state.debited > 0) {
      if (record !== null) {
        paid += state.debited;
        paidCount++;
      } else if (!state.toOldLedger(items)) {
        // Given back by its owner into the new balance (a healer gives a carried debit back
        // to the old ledger instead, touching nothing). Taking it back could overdraw (the
        // user may have spent it already), so the reset entry accounts for it instead: the
        // user keeps a refused request's tokens, which is what they had before the reset.
        given += state.debited;
        givenCount++;
      }
    } else if (record === null) {
      // An older reset's carry step, open when this reset landed and done since: if its
      // transaction landed after this reset (its epoch is this one's), its changes hit this
      // ledger and are undone here, exactly (it recorded them).
      const fx = state.effects(items);
      if (fx.epoch !== undefined && Number(fx.epoch) >= resetEpoch) undo.push(fx);
    } else if (record.kind !== "carry") {
      if (record.state === "claimed") return "pending";
      if (state.epoch(items) < resetEpoch) wiped += record.amount;
      else if (record.kind === "refund" && record.ref !== null && !carriedDebits.has(record.ref)) {
        // A refund under way at the reset, of a debit the new ledger does not have: its
        // tokens stand, but as a credit of the new ledger, whose totals never saw the debit.
        reclassified += record.amount;
        reclassifiedCount++;
      }
    }
  }
  if (!Number.isSafeInteger(paid + given + wiped + op.amount)) throw new KvProtocolError("carried amounts overflow");
  if (!fence.isOpen()) throw new FenceClosedError(`carrying ${op.id}`);

  const tx = ctx.kv.multi();
  for (const fx of undo) {
    const n = (field: string) => Number(fx[field] ?? 0);
    tx.hincrby(keys.totals, "credits", -(n("paid") + n("given") + n("reclassified")));
    tx.hincrby(keys.totals, "debits", -(n("paid") + n("given")));
    tx.hincrby(keys.totals, "refunds", n("reclassified"));
    tx.hincrby(keys.totals, "generations", -(n("paidCount") + n("givenCount") + n("reclassifiedCount")));
    // (The client may hand the stored JSON back parsed: re-encode it, canonically.)
    const entry = typeof fx.entry === "string" ? fx.entry : fx.entry ? encodeEntry(decodeEntry(fx.entry)) : "";
    if (entry !== "") tx.zrem(keys.history, entry);
  }
  // The newest-reset check above is a read: a newer reset may land before this
  // transaction. Then what it changes is recorded (`cx:`), with the epoch it landed in, and
  // that reset's own carry step undoes it.
  if (reclassified > 0) {
    tx.hincrby(keys.totals, "refunds", -reclassified);
    tx.hincrby(keys.totals, "credits", reclassified);
    tx.hincrby(keys.totals, "generations", reclassifiedCount);
  }
  if (paid + given > 0) {
    tx.hincrby(keys.totals, "credits", paid + given);
    tx.hincrby(keys.totals, "debits", paid + given);
    tx.hincrby(keys.totals, "generations", paidCount + givenCount);
  }
  let rewritten = "";
  if (paid + given - wiped !== 0) {
    // Removed by value: it must encode exactly as reset() wrote it (history.ts), actor included.
    rewritten = encodeEntry({ ...resetEntry(op.id, op.amount + paid + given - wiped, op.reason, op.at, op.actor), balanceAfter: op.amount });
    tx.zrem(keys.history, encodeEntry(resetEntry(op.id, op.amount, op.reason, op.at, op.actor)));
    tx.zadd(keys.history, { score: op.at, member: rewritten });
  }
  tx.hset(keys.carryEffects(op.id), {
    given, paid, reclassified, paidCount, givenCount, reclassifiedCount, entry: rewritten,
  });
  // The epoch this transaction lands in (COPY into the hash is not possible: a key of its
  // own, folded into the record by the reader below).
  tx.copy(keys.epoch, keys.carryEffectsEpoch(op.id));
  tx.expire(keys.carryEffects(op.id), ctx.config.refundWindowSeconds);
  tx.expire(keys.carryEffectsEpoch(op.id), ctx.config.refundWindowSeconds);
  tx.del(keys.op(op.id), keys.appliedEpoch(op.id));
  tx.zrem(keys.open, openMember(op.id, 0));
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  return "carried";
}

/**
 * Whether a debit belongs to the ledger as it stands: made after the last reset, or in
 * flight at it (carried). Clocks may disagree by up to kvTimeoutMs (timing.ts), so for a
 * debit stamped that close to the reset the store decides: carried by the reset, still
 * open (it landed after it), or settled into the new history.
 */
export async function inCurrentLedger(ctx: MeteringContext, keys: UserKeys, debit: Operation, lastReset?: unknown): Promise<boolean> {
  // The last reset's record, unless the caller read it in its own transaction already.
  let raw = lastReset;
  if (raw === undefined) [raw] = await execTx(ctx.kv.multi().hgetall(keys.lastReset), { timeoutMs: ctx.config.kvTimeoutMs });
  const last = asRecord(raw);
  if (last.id === undefined || last.at === undefined) return true;
  // The reset itself lands up to a window after its stamp (timing.ts): only a debit stamped
  // after that, and a clock skew, was certainly taken from the new ledger.
  if (debit.at > Number(last.at) + ownerWindowMs(ctx.config) + ctx.config.kvTimeoutMs) return true;
  // A debit is sent at most a window after it is stamped and lands at most a window after
  // that (timing.ts): one stamped earlier than that before the reset landed before it.
  // (A hold stays open until it is settled, however long ago it started: the store decides.)
  if (debit.kind !== "hold" && debit.at < Number(last.at) - 2 * ownerWindowMs(ctx.config) - ctx.config.kvTimeoutMs) return false;
  // The `open` member carries the amount taken: for a hold, what it asked for, or what it
  // held once the shortfall was given back (a reset may have found either).
  const amounts = new Set([debit.amount, debit.hold?.requested ?? debit.amount, debit.hold?.held ?? debit.amount]);
  const check = new TxSteps(ctx.kv.multi());
  const found = [...amounts].flatMap((amount) => [
    check.read((t) => t.zscore(keys.carry(String(last.id)), openMember(debit.id, amount)), (raw) => raw !== null),
    check.read((t) => t.zscore(keys.open, openMember(debit.id, amount)), (raw) => raw !== null),
  ]);
  const history = check.read((t) => t.zrange(keys.history, 0, -1), asArray);
  const items = await execTxItems(check.tx, { timeoutMs: ctx.config.kvTimeoutMs });
  if (found.some((read) => read(items))) return true;
  return history(items).some((e) => decodeEntry(e).id === debit.id);
}
