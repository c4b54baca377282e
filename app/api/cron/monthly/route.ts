import { isAdminApiToken } from "@/lib/auth";
import { problem } from "@/lib/http";
import { nodeApp } from "@/lib/server/node-platform";
import { apiRoute } from "@/lib/server/api-route";

export const dynamic = "force-dynamic";

/**
 * Vercel Cron calls this with `Authorization: Bearer $CRON_SECRET` (schedule in
 * vercel.json). Grants are claimed per user and month, so extra runs grant nothing twice.
 */
export const GET = apiRoute(async (request: Request) => {
  const header = request.headers.get("authorization") ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
  if (!(await isAdminApiToken(presented, nodeApp().settings.cronSecret))) {
    return problem("unauthenticated", { detail: "the cron secret is required", headers: { "www-authenticate": 'Bearer realm="tollgate-cron"' } });
  }
  const report = await nodeApp().metering.runMonthlyGrants();
  return Response.json(report, { headers: { "cache-control": "no-store" } });
});
