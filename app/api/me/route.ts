import { nodeApp } from "@/lib/server/node-platform";
import { authenticateUser } from "@/lib/server/authenticate";
import { apiRoute } from "@/lib/server/api-route";
import { ownStats } from "@/lib/server/own-stats";

export const dynamic = "force-dynamic";

/** The caller's own stats and history (the seed's getUserStats). */
export const GET = apiRoute(async (request: Request) => {
  const caller = await authenticateUser(request);
  if (caller.status === "refused") return caller.response;
  const stats = await nodeApp().seed.getUserStats(caller.userId!);
  return Response.json({ ...ownStats(stats), isAdmin: caller.isAdmin }, { headers: { "cache-control": "no-store" } });
});
