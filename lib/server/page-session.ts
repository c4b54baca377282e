import { headers } from "next/headers";
import { isSecureRequest, sessionCookieName } from "../auth";
import { nodeApp } from "./node-platform";

export type PageSession =
  | { status: "anonymous" }
  /** A cookie was sent but no longer verifies (expired, or signed with a retired key). */
  | { status: "expired" }
  /** The identity provider's keys could not be fetched: we cannot tell who this is. */
  | { status: "unavailable" }
  | { status: "signed-in"; userId: string; isAdmin: boolean; expiresAt: number };

/**
 * Who is looking at a page, from the session cookie, verified like any API request.
 * It reads the raw Cookie header rather than `cookies()`, because `cookies()` keeps one of
 * two same-named cookies silently, while `extractCredentials` refuses that ambiguity (a
 * sibling subdomain can plant a second `tollgate_session`): the pages and the API must
 * agree on who the caller is.
 */
export async function readPageSession(): Promise<PageSession> {
  const incoming = await headers();
  const cookie = incoming.get("cookie");
  if (cookie === null) return { status: "anonymous" };
  // The scheme decides which cookie name counts (`__Host-` over https): the page must read
  // the one the API reads.
  const proto = incoming.get("x-forwarded-proto");
  const request = new Request("http://page.invalid/", { headers: { cookie, ...(proto === null ? {} : { "x-forwarded-proto": proto }) } });
  const app = nodeApp();
  const caller = await app.authenticate(request);
  switch (caller.status) {
    case "user": return { status: "signed-in", userId: caller.userId, isAdmin: caller.isAdmin, expiresAt: caller.expiresAt };
    case "admin_token": return { status: "anonymous" }; // a page request carries no Authorization header
    case "refused":
      if (caller.failure.code === "token_jwks_unavailable") return { status: "unavailable" };
      if (caller.credential !== null) return { status: "expired" };
      // No usable cookie: one of ours that is there but ambiguous counts as ended.
      return cookie.includes(`${sessionCookieName(isSecureRequest(request, { publicOrigin: app.settings.publicOrigin }))}=`)
        ? { status: "expired" }
        : { status: "anonymous" };
  }
}
