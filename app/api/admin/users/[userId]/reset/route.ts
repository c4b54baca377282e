import { readJsonBody } from "@/lib/http";
import { nodeApp } from "@/lib/server/node-platform";
import { adminUserRoute } from "@/lib/server/admin-route";

export const POST = adminUserRoute(async (request, userId, { actor }) => {
  // A body, if sent or announced, must be a JSON object with nothing but a reason (`{}` is
  // fine). Only a Bearer caller may send none: with the session cookie a bodiless POST is
  // what another page can forge, and adminUserRoute has already refused it (415).
  if (request.headers.has("content-type") || (request.headers.get("content-length") !== "0" && request.body !== null)) {
    const body = await readJsonBody(request, { maxBytes: 1024, allowedKeys: ["reason"] });
    if (body.status === "refused") return body.response;
  }
  const stats = await nodeApp().seed.resetStats(userId, actor);
  return Response.json(stats, { headers: { "cache-control": "no-store" } });
});
