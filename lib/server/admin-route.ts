import { invalidRequest, refuseCookieWrite } from "../http";
import { isValidUserId, USER_ID_RULE } from "../user-id";
import { authenticateAdmin } from "./authenticate";
import { apiRoute } from "./api-route";
import { nodeApp } from "./node-platform";

type Params = { params: Promise<{ userId: string }> };

/** What an admin route knows of its caller. */
export interface AdminCaller {
  /** Recorded in the history of the changes it makes: the admin JWT's subject, or "admin token". */
  actor: string;
}

/** The actor ADMIN_API_TOKEN's changes are recorded under: the token names no person. */
export const ADMIN_TOKEN_ACTOR = "admin token";

/**
 * An admin route on one user: the caller is authenticated as an operator first (401/403
 * before anything else, so a non-admin learns nothing, not even whether the id is valid),
 * then the id from the URL is validated. Before either, a write the session cookie
 * authenticates must come from the app's own origin with a JSON body (403/415,
 * lib/http/same-origin.ts): a sibling subdomain's form must not act as a signed-in admin.
 */
export function adminUserRoute(handler: (request: Request, userId: string, caller: AdminCaller) => Promise<Response>) {
  return apiRoute(async (request: Request, { params }: Params) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      const app = nodeApp();
      const forged = refuseCookieWrite(request, app.authenticate.credentialsOf(request), { publicOrigin: app.settings.publicOrigin });
      if (forged !== null) return forged;
    }
    const caller = await authenticateAdmin(request);
    if (caller.status === "refused") return caller.response;
    const { userId } = await params;
    if (!isValidUserId(userId)) {
      return invalidRequest("invalid_user_id", `user id must be ${USER_ID_RULE}`);
    }
    const actor = caller.via === "admin-token" || caller.userId === null ? ADMIN_TOKEN_ACTOR : caller.userId;
    return handler(request, userId, { actor });
  });
}
