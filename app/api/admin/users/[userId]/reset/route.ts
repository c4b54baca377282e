import { readJsonBody } from "@/lib/http";
import { getNodeRuntime } from "@/lib/server/runtime";
import { adminUserRoute } from "@/lib/server/admin-route";

export const POST = adminUserRoute(async (request, userId) => {
  // An empty body is fine; a body, if sent, must be JSON with nothing but a reason.
  if (request.headers.get("content-length") !== "0" && request.body !== null) {
    const body = await readJsonBody(request, { maxBytes: 1024, allowedKeys: ["reason"] });
    if (!body.ok) return body.response;
  }
  const stats = await getNodeRuntime().metering.resetStats(userId);
  return Response.json(stats, { headers: { "cache-control": "no-store" } });
});
