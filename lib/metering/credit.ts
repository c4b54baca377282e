import { assertAmount } from "./amount";
import { claimAndApply, type ApplyOutcome } from "./apply";
import type { MeteringContext } from "./context";
import { userKeys } from "./keys";
import { newOperationId } from "./operation";
import { assertIdempotencyKey, assertText, optionalText } from "./text";

export interface CreditRequest {
  userId: string;
  amount: number;
  reason: string;
  /** With a key, a retried top-up is applied once; the second call answers "duplicate". */
  idempotencyKey?: string | null;
  /** The operator who made it, recorded in the history entry (1-200 printable characters). */
  actor?: string | null;
}

/** Adds tokens (a top-up bought or granted by an operator). */
export async function credit(ctx: MeteringContext, request: CreditRequest): Promise<ApplyOutcome> {
  const keys = userKeys(ctx.config.namespace, request.userId);
  const amount = assertAmount(request.amount);
  const reason = assertText(request.reason, "reason");
  const key = request.idempotencyKey == null ? newOperationId("key") : assertIdempotencyKey(request.idempotencyKey);
  const actor = optionalText(request.actor, "actor");
  return claimAndApply(ctx, {
    keys, kind: "credit", guardKey: keys.creditClaim(key), guardTtlSeconds: 86_400,
    amount, reason, actor,
  });
}
