import type { MeteringContext } from "./context";
import {
  compensate, type DebitOutcome, type DebitReading, type DebitRequest, type DebitTransport, type PreparedDebit, prepareDebit,
  voidDebit,
} from "./debit";
import { ensureGrants } from "./grants";
import { heal } from "./heal";
import { asStringOrNull, execTxItems } from "./kv";
import { PendingWork } from "./pending-work";

/**
 * Sends a debit's (or a hold's) transaction. A failed round trip may still have been applied
 * (a lost answer, or one command that failed while EXEC ran the others), and the caller
 * answers an error: it is voided either way, so the healer gives it back instead of settling
 * it as paid. Stale operations the answer names are healed in the background.
 */
export async function sendOrVoid(
  ctx: MeteringContext, d: PreparedDebit, transport: DebitTransport, work: PendingWork,
): Promise<{ status: "sent"; reading: DebitReading } | { status: "failed"; error: unknown }> {
  let reading: DebitReading;
  try {
    reading = await transport.send(d);
  } catch (error) {
    work.add(voidDebit(ctx, d));
    return { status: "failed", error };
  }
  if (reading.staleIds.length > 0) work.add(heal(ctx, d.keys.userId));
  return { status: "sent", reading };
}

/**
 * What to do with one debit the store has answered. Pure: the flow below acts on it.
 *
 *   Idempotency-Key taken by the same request → replay (give this debit back, answer the
 *                                      stored one)
 *   … by another request (route or body)      → key_reused (give it back, answer 422)
 *   … by the previous version (no fingerprint) → replay if the holder's debit was for the
 *     same route, else key_reused ("legacy_route": one more read, replays of such keys only)
 *   balance ≥ 0 after the DECRBY    → paid (and grant what is missing, in the background)
 *   balance < 0                     → refused; tried once more when the refusal may be
 *     only because the month's grant had not landed yet (unclaimed, or claimed by another
 *     request and not yet applied: "after_grants") or because
 *     earlier refused debits of the same batch had not been given back yet ("after_batch")
 */
export type DebitDecision =
  | { status: "replay" }
  | { status: "key_reused"; mismatch: "target" | "body" }
  | { status: "legacy_route" }
  | { status: "paid"; grantInBackground: string[] }
  | { status: "refused"; retry: "after_grants" | "after_batch" | null };

export function decideDebit(reading: DebitReading, retried: boolean): DebitDecision {
  if (reading.replayOf !== null) {
    switch (reading.keyMatch) {
      case "other_target": return { status: "key_reused", mismatch: "target" };
      case "other_body": return { status: "key_reused", mismatch: "body" };
      case "unknown": return { status: "legacy_route" };
      default: return { status: "replay" };
    }
  }
  if (reading.after >= 0) return { status: "paid", grantInBackground: reading.missingGrants };
  if (retried) return { status: "refused", retry: null };
  if (reading.missingGrants.length > 0 || reading.pendingGrants.length > 0) return { status: "refused", retry: "after_grants" };
  if (reading.retryAfter !== undefined) return { status: "refused", retry: "after_batch" };
  return { status: "refused", retry: null };
}

/**
 * The one debit path, whatever the transport: send → decide → act. A paid outcome carries
 * the `settle` of the debit it actually decided (after a retry, the retry's), and retries
 * happen here only, at most once per request.
 */
export async function runDebit(ctx: MeteringContext, request: DebitRequest, transport: DebitTransport): Promise<DebitOutcome> {
  // Hostile input throws here, before anything is sent (MeteringError, a 400 upstream).
  const prepared = prepareDebit(ctx, request);
  const userId = prepared.keys.userId;
  const cost = prepared.op.amount;
  const work = new PendingWork();
  try {
    return await attempt(prepared, false);
  } catch (error) {
    // A read after the debit's answer failed (a legacy key's route, the grants before a
    // retry): nothing is served as paid; what was started is in `pending`.
    return { status: "unavailable", error, userId, cost, pending: work.settled() };
  }

  async function attempt(d: PreparedDebit, retried: boolean): Promise<DebitOutcome> {
    const background = (task: Promise<unknown>) => work.add(task);
    const sent = await sendOrVoid(ctx, d, transport, work);
    if (sent.status === "failed") return { status: "unavailable", error: sent.error, userId, cost, pending: work.settled() };
    const reading = sent.reading;

    const first = decideDebit(reading, retried);
    if (first.status === "replay" || first.status === "key_reused" || first.status === "legacy_route") {
      // Not charged either way: this debit is given back, the key stays with its holder.
      reading.onDecided?.();
      background(compensate(ctx, d, false));
    }
    const decision = first.status === "legacy_route" ? await decideLegacy(ctx, d, reading.replayOf!) : first;
    switch (decision.status) {
      case "replay":
        return {
          status: "replay", userId, cost, originalDebitId: reading.replayOf!, storedResponse: reading.storedResponse,
          keyAgeMs: reading.keyAgeMs ?? 0, pending: work.settled(),
        };
      case "key_reused":
        return {
          status: "idempotency_key_reused", userId, cost, originalDebitId: reading.replayOf!, mismatch: decision.mismatch,
          pending: work.settled(),
        };
      case "paid": {
        reading.onDecided?.();
        if (decision.grantInBackground.length > 0) background(ensureGrants(ctx, userId, decision.grantInBackground));
        const after = reading.after;
        return { status: "ok", debitId: d.op.id, userId, cost, balance: after, settle: () => transport.settle(d, after), pending: work.settled() };
      }
      case "refused": {
        // Give it back now; if that fails the debit stays open with r < 0 and the next
        // healer gives it back, so the tokens are late, never lost.
        try {
          await compensate(ctx, d, true);
        } catch {
          // left to the healer
        } finally {
          reading.onDecided?.();
        }
        // At most one retry per request, with a new debit (its own id).
        if (decision.retry === "after_grants") {
          await ensureGrants(ctx, userId, [...reading.missingGrants, ...reading.pendingGrants]);
          return attempt(prepareDebit(ctx, request), true);
        }
        if (decision.retry === "after_batch") {
          await reading.retryAfter;
          return attempt(prepareDebit(ctx, request), true);
        }
        return { status: "insufficient_tokens", userId, cost, balance: Math.max(0, reading.after + cost), pending: work.settled() };
      }
    }
  }
}

/**
 * A key taken by the previous version holds a bare debit id: no body hash was kept, so
 * only the route can be compared, from the holder's debit record (its `route` label is
 * the fingerprint's target). Such a key matches a request to the same route whatever its
 * body; one whose record is gone (its refund window ended) matches, as it did before.
 * Keys last 24 h, so this read ends a day after the upgrade.
 */
async function decideLegacy(ctx: MeteringContext, d: PreparedDebit, holderId: string): Promise<Extract<DebitDecision, { status: "replay" | "key_reused" }>> {
  const tx = ctx.kv.multi();
  tx.hget(d.keys.op(holderId), "route");
  const [item] = await execTxItems(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  const route = item === undefined || item.error ? null : asStringOrNull(item.result);
  const target = d.fingerprint?.target ?? d.op.route;
  return route === null || target === null || route === target ? { status: "replay" } : { status: "key_reused", mismatch: "target" };
}
