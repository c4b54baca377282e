import { isSecureRequest, SESSION_COOKIE, sessionCookieName } from "./credentials";
import { AUTH_FAILURE_MESSAGES } from "./errors";
import type { TokenVerifier } from "./verify";
import { authFailureResponse, invalidRequest, notFound, readJsonBody, refuseCrossOrigin, refuseNonJsonBody } from "../http";

/**
 * Browser sessions: the session cookie carries the IdP's JWT itself, so every request is
 * verified exactly like a Bearer token (same verifier, same cache, same expiry) and there
 * is no server-side session store to keep in sync with the token's lifetime.
 */

/** The identities the development sign-in can mint. Fixed: the dev route takes no user id. */
export const DEV_IDENTITIES = {
  user: { sub: "test-user-id", admin: false },
  admin: { sub: "dev-admin", admin: true },
} as const;

export type DevIdentity = keyof typeof DEV_IDENTITIES;

/** Lifetime of a development session token. */
export const DEV_SESSION_TTL_SECONDS = 12 * 3_600;

/** A JWT is at most 4096 bytes (MAX_TOKEN_BYTES); the rest is JSON framing. */
const MAX_SESSION_BODY_BYTES = 8 * 1024;

export interface SessionHandlerOptions {
  verify: TokenVerifier;
  /** Signs a development token; `null` when the development sign-in is off (its route is then a 404). */
  devMint: ((identity: DevIdentity) => Promise<string>) | null;
  /** Current time, epoch milliseconds. @default Date.now */
  now?: () => number;
  /**
   * The app's public origin (TOLLGATE_PUBLIC_ORIGIN): session requests must come from it,
   * and its scheme decides the cookie's name. @default null (each request's own origin)
   */
  publicOrigin?: string | null;
}

export interface SessionHandlers {
  /** `POST /api/session` `{ "token": "<JWT>" }`. */
  signIn(request: Request): Promise<Response>;
  /** `DELETE /api/session`. */
  signOut(request: Request): Promise<Response>;
  /** `POST /api/session/dev` `{ "as": "user" | "admin" }`. */
  devSignIn(request: Request): Promise<Response>;
}

export function createSessionHandlers(options: SessionHandlerOptions): SessionHandlers {
  const now = options.now ?? Date.now;
  const publicOrigin = options.publicOrigin ?? null;
  const secure = (request: Request) => isSecureRequest(request, { publicOrigin });

  async function establish(request: Request, token: string): Promise<Response> {
    const verified = await options.verify(token);
    if (verified.status === "refused") return authFailureResponse(verified);
    // The cookie dies with the token: a browser never presents a credential we would refuse.
    const maxAgeSeconds = verified.expiresAt - Math.floor(now() / 1000);
    // Accepted only thanks to the clock tolerance: a cookie with Max-Age ≤ 0 is a deletion.
    if (maxAgeSeconds <= 0) return authFailureResponse({ code: "token_expired", message: AUTH_FAILURE_MESSAGES.token_expired });
    return Response.json(
      { userId: verified.userId, isAdmin: verified.isAdmin, expiresAt: verified.expiresAt },
      { headers: { "set-cookie": sessionCookie(token, { maxAgeSeconds, secure: secure(request) }), "cache-control": "no-store" } },
    );
  }

  return {
    async signIn(request) {
      // Login CSRF: another page must not sign the browser in as someone else (the
      // attacker), whose account would then receive what the victim types.
      const forged = refuseCrossOrigin(request, { publicOrigin });
      if (forged !== null) return forged;
      const body = await readJsonBody(request, { maxBytes: MAX_SESSION_BODY_BYTES, allowedKeys: ["token"] });
      if (body.status === "refused") return body.response;
      const { token } = body.value;
      if (token === undefined) return invalidRequest("missing_field", "token is required", { field: "token" });
      if (typeof token !== "string" || token.trim() === "") {
        return invalidRequest("invalid_field", "token must be a non-empty string", { field: "token" });
      }
      return establish(request, token.trim());
    },

    async signOut(request) {
      // DELETE never leaves another origin without a CORS preflight, which is never
      // granted; checked all the same, so the rule holds whatever the method.
      const forged = refuseCrossOrigin(request, { publicOrigin }) ?? refuseNonJsonBody(request);
      if (forged !== null) return forged;
      const headers = new Headers({ "cache-control": "no-store" });
      headers.append("set-cookie", clearedSessionCookie({ secure: secure(request) }));
      // A session set over https before the `__Host-` name existed: ignored now, dropped here.
      if (secure(request)) headers.append("set-cookie", `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure`);
      return new Response(null, { status: 204, headers });
    },

    async devSignIn(request) {
      // Off means absent, not forbidden: a production deployment does not advertise it.
      if (options.devMint === null) return notFound();
      const forged = refuseCrossOrigin(request, { publicOrigin });
      if (forged !== null) return forged;
      const body = await readJsonBody(request, { maxBytes: 1024, allowedKeys: ["as"] });
      if (body.status === "refused") return body.response;
      const as = body.value.as;
      if (as === undefined) return invalidRequest("missing_field", 'as is required ("user" or "admin")', { field: "as" });
      if (as !== "user" && as !== "admin") return invalidRequest("invalid_field", 'as must be "user" or "admin"', { field: "as" });
      return establish(request, await options.devMint(as));
    },
  };
}

/**
 * `SameSite=Strict`: a request started by another site never carries the session, so a
 * cross-site form post cannot spend the user's tokens or act as an admin (a sibling
 * subdomain is the same site: lib/http/same-origin.ts covers it). `HttpOnly`: page scripts
 * (and an XSS) cannot read the token. Over https the name is `__Host-tollgate_session`,
 * which only this origin can set (lib/auth/credentials.ts).
 */
export function sessionCookie(token: string, { maxAgeSeconds, secure }: { maxAgeSeconds: number; secure: boolean }): string {
  if (!Number.isSafeInteger(maxAgeSeconds) || maxAgeSeconds <= 0) throw new TypeError("maxAgeSeconds must be a positive whole number");
  return `${sessionCookieName(secure)}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/** Same name, path and attributes as the session cookie, so the browser replaces and drops it. */
export function clearedSessionCookie({ secure }: { secure: boolean }): string {
  return `${sessionCookieName(secure)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}
