import { getNodeRuntime } from "@/lib/server/runtime";
import { adminUserRoute } from "@/lib/server/admin-route";

export const dynamic = "force-dynamic";

export const GET = adminUserRoute(async (_request, userId) => {
  const stats = await getNodeRuntime().metering.getUserStats(userId);
  return Response.json(stats, { headers: { "cache-control": "no-store" } });
});
