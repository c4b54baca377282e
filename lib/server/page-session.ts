import { headers } from "next/headers";
import { extractCredentials } from "../auth";
import { getNodeRuntime } from "./runtime";

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
  const cookie = (await headers()).get("cookie");
  if (cookie === null) return { status: "anonymous" };
  const credentials = extractCredentials(new Request("http://page.invalid/", { headers: { cookie } }));
  if (credentials === null) return cookie.includes("tollgate_session=") ? { status: "expired" } : { status: "anonymous" };
  const verified = await getNodeRuntime().verify(credentials.token);
  if (verified.ok) return { status: "signed-in", userId: verified.userId, isAdmin: verified.isAdmin, expiresAt: verified.expiresAt };
  return verified.code === "token_jwks_unavailable" ? { status: "unavailable" } : { status: "expired" };
}
