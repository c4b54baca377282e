import { nodeApp } from "@/lib/server/node-platform";
import { adminUserRoute } from "@/lib/server/admin-route";

export const dynamic = "force-dynamic";

export const GET = adminUserRoute(async (_request, userId) => {
  const stats = await nodeApp().seed.getUserStats(userId);
  return Response.json(stats, { headers: { "cache-control": "no-store" } });
});
