import { extractCredentials, isAdminApiToken } from "../auth";
import { authFailureResponse, forbidden } from "../http";
import { getNodeRuntime } from "./runtime";

export type Caller =
  | { ok: true; userId: string | null; isAdmin: boolean; via: "jwt" | "admin-token" }
  | { ok: false; response: Response };

/** A signed-in user (Bearer JWT or session cookie). */
export async function authenticateUser(request: Request): Promise<Caller> {
  const credentials = extractCredentials(request, { publicOrigin: getNodeRuntime().settings.publicOrigin });
  if (credentials === null) {
    return { ok: false, response: authFailureResponse({ code: "token_missing", message: "no bearer token or session cookie was sent" }) };
  }
  const verified = await getNodeRuntime().verify(credentials.token);
  if (!verified.ok) return { ok: false, response: authFailureResponse(verified) };
  return { ok: true, userId: verified.userId, isAdmin: verified.isAdmin, via: "jwt" };
}

/**
 * An operator: `ADMIN_API_TOKEN` as a Bearer token (compared in constant time), or a JWT
 * with the admin role. A valid non-admin gets 403 and learns nothing about other users.
 */
export async function authenticateAdmin(request: Request): Promise<Caller> {
  const credentials = extractCredentials(request, { publicOrigin: getNodeRuntime().settings.publicOrigin });
  if (credentials?.kind === "bearer" && (await isAdminApiToken(credentials.token, getNodeRuntime().settings.adminApiToken))) {
    return { ok: true, userId: null, isAdmin: true, via: "admin-token" };
  }
  const caller = await authenticateUser(request);
  if (!caller.ok) return caller;
  if (!caller.isAdmin) return { ok: false, response: forbidden("administrator role required") };
  return caller;
}
