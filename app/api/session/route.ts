import { withErrors } from "@/lib/server/errors";
import { sessionHandlers } from "@/lib/server/session-runtime";

export const dynamic = "force-dynamic";

/** Sign in with an identity provider's JWT: `{ "token": "…" }` → the session cookie. */
export const POST = withErrors((request: Request) => sessionHandlers().signIn(request));

/** Sign out: the session cookie is cleared. */
export const DELETE = withErrors((request: Request) => sessionHandlers().signOut(request));
