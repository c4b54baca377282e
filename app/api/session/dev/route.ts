import { apiRoute } from "@/lib/server/api-route";
import { nodeApp } from "@/lib/server/node-platform";

export const dynamic = "force-dynamic";

/**
 * Development one-click sign-in: `{ "as": "user" | "admin" }`. A 404 wherever
 * `settings.devSignIn` is off (always in preview and production).
 */
export const POST = apiRoute((request: Request) => nodeApp().session.devSignIn(request));
