import { getNodeRuntime } from "@/lib/server/runtime";
import { authenticateUser } from "@/lib/server/authenticate";
import { apiRoute } from "@/lib/server/errors";
import { ownStats } from "@/lib/server/own-stats";

export const dynamic = "force-dynamic";

/** The caller's own stats and history (the seed's getUserStats). */
export const GET = apiRoute(async (request: Request) => {
  const caller = await authenticateUser(request);
  if (!caller.ok) return caller.response;
  const stats = await getNodeRuntime().metering.getUserStats(caller.userId!);
  return Response.json({ ...ownStats(stats), isAdmin: caller.isAdmin }, { headers: { "cache-control": "no-store" } });
});
