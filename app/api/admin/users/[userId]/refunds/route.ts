import { invalidRequest, problem, readJsonBody } from "@/lib/http";
import { nodeApp } from "@/lib/server/node-platform";
import { adminUserRoute } from "@/lib/server/admin-route";

/** Refund one debit of this user: `{ "debitId": "deb_…", "reason": "…" }`. */
export const POST = adminUserRoute(async (request, userId, { actor }) => {
  const body = await readJsonBody(request, { maxBytes: 1024, allowedKeys: ["debitId", "reason"] });
  if (body.status === "refused") return body.response;
  if (typeof body.value.debitId !== "string") return invalidRequest("missing_field", "debitId is required", { field: "debitId" });
  const outcome = await nodeApp().metering.refund(userId, body.value.debitId, (body.value.reason as string | undefined) ?? "Refund by an administrator", actor);
  if (outcome.status === "not_refundable") {
    return problem("debit_not_refundable", { detail: "no paid, unrefunded debit with this id for this user" });
  }
  return Response.json(outcome, { status: outcome.status === "refunded" ? 201 : 200 });
});
