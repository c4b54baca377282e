import { claimConfirmAndApply } from "./apply";
import type { MeteringContext } from "./context";
import { userKeys } from "./keys";
import { asIntOrNull, asStringOrNull, execTx } from "./kv";
import { dailyField } from "./debit";
import { parseOperation } from "./operation";
import { inCurrentLedger } from "./reset";
import { assertOperationId, optionalText } from "./text";

export type RefundOutcome =
  | { status: "refunded"; refundId: string; debitId: string; amount: number; balance: number }
  | { status: "already_refunded"; debitId: string; refundId: string }
  /** Unknown id, another user's debit, a refused or voided debit, or past the refund window. */
  | { status: "not_refundable"; debitId: string };

/**
 * Gives a paid debit back, at most once. Ownership is structural: the debit is looked up
 * under the caller's own hash tag, so another user's debit id is simply unknown here.
 */
export async function refund(
  ctx: MeteringContext, userId: string, debitId: string, reason?: string | null, actor?: string | null,
): Promise<RefundOutcome> {
  const keys = userKeys(ctx.config.namespace, userId);
  assertOperationId(debitId);
  const why = optionalText(reason, "reason") ?? "Refund of failed work";
  const by = optionalText(actor, "actor");
  const read = ctx.kv.multi();
  read.hgetall(keys.op(debitId));
  read.get(keys.result(debitId));
  read.exists(keys.void(debitId));
  read.get(keys.refundClaim(debitId));
  read.hgetall(keys.lastReset);
  const [rawOp, rawResult, voided, claim, lastReset] = await execTx(read, { timeoutMs: ctx.config.kvTimeoutMs });
  const existing = asStringOrNull(claim);
  if (existing !== null) return { status: "already_refunded", debitId, refundId: existing };
  const op = parseOperation(debitId, rawOp);
  const after = asIntOrNull(rawResult, "debit result");
  // A settled debit has no r:<id> any more; an open one must have been paid (r ≥ 0). A hold
  // is refundable once settled (its charge is known), and only when it charged something.
  const paid = op !== null && voided === 0 && (
    (op.kind === "debit" && (after === null || after >= 0)) || (op.kind === "hold" && after === null && op.amount > 0)
  );
  if (!paid || op === null) return { status: "not_refundable", debitId };
  // A debit settled before the user's last reset belongs to the old ledger.
  if (!(await inCurrentLedger(ctx, keys, op, lastReset ?? null))) return { status: "not_refundable", debitId };

  // Checked again once the refund is claimed: a reset landing between the first check and
  // the claim would otherwise let an old-ledger debit be refunded into the new one (a reset
  // landing after this second check finds the refund in flight and accounts for it).
  const outcome = await claimConfirmAndApply(ctx, {
    keys, kind: "refund", guardKey: keys.refundClaim(debitId), guardTtlSeconds: ctx.config.refundWindowSeconds,
    amount: op.amount, reason: why, route: op.route, ref: debitId, period: op.period, usage: dailyField(op), actor: by,
  }, () => inCurrentLedger(ctx, keys, op));
  if (outcome.status === "abandoned") return { status: "not_refundable", debitId };
  if (outcome.status === "duplicate") return { status: "already_refunded", debitId, refundId: outcome.opId };
  if (op.idempotencyKey !== null) {
    // The work failed and was given back: a retry with the same key must be served (and paid) anew.
    const release = ctx.kv.multi();
    release.del(keys.idempotency(op.idempotencyKey));
    // Best effort, after the refund landed: if it is lost, a retry with this key is told the
    // request is in progress, then that its answer was not kept (409), never charged twice.
    await execTx(release, { timeoutMs: ctx.config.kvTimeoutMs }).catch(() => undefined);
  }
  return { status: "refunded", refundId: outcome.opId, debitId, amount: outcome.amount, balance: outcome.balance };
}
