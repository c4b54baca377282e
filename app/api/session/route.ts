import { apiRoute } from "@/lib/server/api-route";
import { nodeApp } from "@/lib/server/node-platform";

export const dynamic = "force-dynamic";

/** Sign in with an identity provider's JWT: `{ "token": "…" }` → the session cookie. */
export const POST = apiRoute((request: Request) => nodeApp().session.signIn(request));

/** Sign out: the session cookie is cleared. */
export const DELETE = apiRoute((request: Request) => nodeApp().session.signOut(request));
