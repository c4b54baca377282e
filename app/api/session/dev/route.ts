import { apiRoute } from "@/lib/server/errors";
import { sessionHandlers } from "@/lib/server/session-runtime";

export const dynamic = "force-dynamic";

/**
 * Development one-click sign-in: `{ "as": "user" | "admin" }`. A 404 wherever
 * `settings.devSignIn` is off (always in preview and production).
 */
export const POST = apiRoute((request: Request) => sessionHandlers().devSignIn(request));
