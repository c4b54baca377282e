import { getRuntime } from "@/lib/runtime";
import { adminUserRoute } from "@/lib/server/admin-route";

export const dynamic = "force-dynamic";

export const GET = adminUserRoute(async (_request, userId) => {
  const stats = await getRuntime().metering.getUserStats(userId);
  return Response.json(stats, { headers: { "cache-control": "no-store" } });
});
