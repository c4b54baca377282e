import { invalidRequest, readJsonBody } from "@/lib/http";
import { assertIdempotencyKey, InvalidInputError } from "@/lib/metering";
import { nodeApp } from "@/lib/server/node-platform";
import { adminUserRoute } from "@/lib/server/admin-route";

/**
 * Top-up: `{ "amount": 1000, "reason": "Recharge mensuelle" }` → the new balance. With an
 * Idempotency-Key header a retried top-up is applied once (409-free: the retry answers
 * with `duplicate: true`).
 */
export const POST = adminUserRoute(async (request, userId, { actor }) => {
  const body = await readJsonBody(request, { maxBytes: 4096, allowedKeys: ["amount", "reason"] });
  if (body.status === "refused") return body.response;
  const { amount, reason } = body.value;
  if (amount === undefined) return invalidRequest("missing_field", "amount is required", { field: "amount" });
  const rawKey = request.headers.get("idempotency-key");
  let idempotencyKey: string | null = null;
  try {
    idempotencyKey = rawKey === null ? null : assertIdempotencyKey(rawKey);
  } catch (error) {
    if (error instanceof InvalidInputError) return invalidRequest("invalid_idempotency_key", error.message);
    throw error;
  }
  const metering = nodeApp().metering;
  const outcome = await metering.credit({ userId, amount: amount as number, reason: (reason ?? "Top-up by an administrator") as string, idempotencyKey, actor });
  const stats = await metering.stats(userId);
  return Response.json(
    { userId, balance: stats.balance, added: outcome.status === "applied" ? outcome.amount : 0, duplicate: outcome.status === "duplicate", operationId: outcome.opId },
    { status: outcome.status === "applied" ? 201 : 200, headers: { "cache-control": "no-store" } },
  );
});
