import type { MeteringContext } from "./context";
import { MARK_TTL_SECONDS } from "./apply";
import { KvProtocolError } from "./errors";
import { decodeEntry, encodeEntry, type HistoryEntry } from "./history";
import { type UserKeys, userKeys } from "./keys";
import { asArray, asInt, asRecord, execTx, execTxItems } from "./kv";
import { newOperationId, openMember, type Operation, operationFields, parseOpenMember } from "./operation";
import { periodOf } from "./period";
import { type Fence, FenceClosedError, fenceUntil, ownerDeadline, ownerWindowMs } from "./timing";
import { optionalText } from "./text";
import { TxSteps } from "./tx-steps";

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
 * old ledger. A carried paid debit stays refundable. Credits applied but not yet settled at
 * the instant of the reset (one round trip's window) are not carried: README "Limits".
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
  tx.hset(keys.op(entry.id), operationFields(carry));
  tx.expire(keys.op(entry.id), keep);
  tx.zadd(keys.open, { score: now, member: openMember(entry.id, 0) });
  await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });

  // Carry now if the debits in flight are decided within a few round trips (they usually
  // are: a paid debit is settled right after its gate); otherwise a healer carries later.
  const fence = fenceUntil(ctx.config.clock, ownerDeadline(ctx.config, now));
  const give = Date.now() + Math.min(ownerWindowMs(ctx.config), 4 * ctx.config.kvTimeoutMs);
  try {
    for (let pause = 10; fence.isOpen(); pause = Math.min(pause * 2, 200)) {
      if ((await carryOver(ctx, keys, carry, fence)) === "carried") break;
      if (Date.now() + pause > give) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
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
 * The carry step of reset `op`. Each debit the reset found open is, by now, either
 * - settled (record kept, `r:<id>` gone): paid from the old balance, its entry (−a) is in the
 *   new history: the reset entry grows by a, and so do the credits and debits totals;
 * - compensated (record gone): it gave a back to the new balance: taken back here, and its
 *   totals restored;
 * - still open: not decided yet, so nothing is done ("pending").
 * One transaction rewrites the reset entry, corrects balance and totals, and closes the
 * step. Unconditional, hence sent only while `fence` is open.
 */
export async function carryOver(ctx: MeteringContext, keys: UserKeys, op: Operation, fence: Fence): Promise<"carried" | "pending"> {
  if (op.kind !== "carry") throw new TypeError("carryOver is for a reset's carry step");
  const list = ctx.kv.multi();
  list.zrange(keys.carry(op.id), 0, -1);
  const [raw] = await execTx(list, { timeoutMs: ctx.config.kvTimeoutMs });
  const debits = asArray(raw).map(parseOpenMember).filter((m) => m.debited > 0 && m.id !== op.id);

  const read = new TxSteps(ctx.kv.multi());
  const states = debits.map((m) => ({
    debited: m.debited,
    record: read.read((tx) => tx.exists(keys.op(m.id)), (r) => asInt(r, "exists") > 0),
    open: read.read((tx) => tx.zscore(keys.open, openMember(m.id, m.debited)), (r) => r !== null),
  }));
  const items = read.begin() > 0 ? await execTxItems(read.tx, { timeoutMs: ctx.config.kvTimeoutMs }) : [];
  let paid = 0;
  let paidCount = 0;
  let given = 0;
  let givenCount = 0;
  for (const state of states) {
    if (state.open(items)) return "pending";
    if (state.record(items)) {
      paid += state.debited;
      paidCount++;
    } else {
      given += state.debited;
      givenCount++;
    }
  }
  if (!Number.isSafeInteger(paid + given + op.amount)) throw new KvProtocolError("carried amounts overflow");
  if (!fence.isOpen()) throw new FenceClosedError(`carrying ${op.id}`);

  const tx = ctx.kv.multi();
  if (given > 0) tx.decrby(keys.balance, given);
  if (paid + given > 0) {
    tx.hincrby(keys.totals, "credits", paid);
    tx.hincrby(keys.totals, "debits", paid + given);
    tx.hincrby(keys.totals, "generations", paidCount + givenCount);
    // Removed by value: it must encode exactly as reset() wrote it (history.ts), actor included.
    tx.zrem(keys.history, encodeEntry(resetEntry(op.id, op.amount, op.reason, op.at, op.actor)));
    tx.zadd(keys.history, { score: op.at, member: encodeEntry({ ...resetEntry(op.id, op.amount + paid, op.reason, op.at, op.actor), balanceAfter: op.amount }) });
  }
  tx.del(keys.op(op.id));
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
export async function inCurrentLedger(ctx: MeteringContext, keys: UserKeys, debit: Operation): Promise<boolean> {
  const read = ctx.kv.multi();
  read.hgetall(keys.lastReset);
  const [raw] = await execTx(read, { timeoutMs: ctx.config.kvTimeoutMs });
  const last = asRecord(raw);
  if (last.id === undefined || last.at === undefined) return true;
  if (debit.at > Number(last.at) + ctx.config.kvTimeoutMs) return true;
  // A debit is sent at most a window after it is stamped and lands at most a window after
  // that (timing.ts): one stamped earlier than that before the reset landed before it.
  if (debit.at < Number(last.at) - 2 * ownerWindowMs(ctx.config) - ctx.config.kvTimeoutMs) return false;
  const member = openMember(debit.id, debit.amount);
  const check = ctx.kv.multi();
  check.zscore(keys.carry(String(last.id)), member);
  check.zscore(keys.open, member);
  check.zrange(keys.history, 0, -1);
  const [carried, open, history] = await execTx(check, { timeoutMs: ctx.config.kvTimeoutMs });
  if (carried !== null || open !== null) return true;
  return asArray(history).some((e) => decodeEntry(e).id === debit.id);
}
