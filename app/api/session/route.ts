import { apiRoute } from "@/lib/server/errors";
import { sessionHandlers } from "@/lib/server/session-runtime";

export const dynamic = "force-dynamic";

/** Sign in with an identity provider's JWT: `{ "token": "…" }` → the session cookie. */
export const POST = apiRoute((request: Request) => sessionHandlers().signIn(request));

/** Sign out: the session cookie is cleared. */
export const DELETE = apiRoute((request: Request) => sessionHandlers().signOut(request));
