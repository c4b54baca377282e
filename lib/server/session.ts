import { AUTH_FAILURE_MESSAGES, SESSION_COOKIE, type TokenVerifier } from "../auth";
import { authFailureResponse, forbidden, invalidRequest, notFound, readJsonBody } from "../http";

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

  async function establish(request: Request, token: string): Promise<Response> {
    const verified = await options.verify(token);
    if (!verified.ok) return authFailureResponse(verified);
    // The cookie dies with the token: a browser never presents a credential we would refuse.
    const maxAgeSeconds = verified.expiresAt - Math.floor(now() / 1000);
    // Accepted only thanks to the clock tolerance: a cookie with Max-Age ≤ 0 is a deletion.
    if (maxAgeSeconds <= 0) return authFailureResponse({ code: "token_expired", message: AUTH_FAILURE_MESSAGES.token_expired });
    return Response.json(
      { userId: verified.userId, isAdmin: verified.isAdmin, expiresAt: verified.expiresAt },
      { headers: { "set-cookie": sessionCookie(token, { maxAgeSeconds, secure: isHttps(request) }), "cache-control": "no-store" } },
    );
  }

  return {
    async signIn(request) {
      if (isCrossSite(request)) return crossSiteRefused();
      const body = await readJsonBody(request, { maxBytes: MAX_SESSION_BODY_BYTES, allowedKeys: ["token"] });
      if (!body.ok) return body.response;
      const { token } = body.value;
      if (token === undefined) return invalidRequest("missing_field", "token is required", { field: "token" });
      if (typeof token !== "string" || token.trim() === "") {
        return invalidRequest("invalid_field", "token must be a non-empty string", { field: "token" });
      }
      return establish(request, token.trim());
    },

    async signOut(request) {
      if (isCrossSite(request)) return crossSiteRefused();
      return new Response(null, {
        status: 204,
        headers: { "set-cookie": clearedSessionCookie({ secure: isHttps(request) }), "cache-control": "no-store" },
      });
    },

    async devSignIn(request) {
      // Off means absent, not forbidden: a production deployment does not advertise it.
      if (options.devMint === null) return notFound();
      if (isCrossSite(request)) return crossSiteRefused();
      const body = await readJsonBody(request, { maxBytes: 1024, allowedKeys: ["as"] });
      if (!body.ok) return body.response;
      const as = body.value.as;
      if (as === undefined) return invalidRequest("missing_field", 'as is required ("user" or "admin")', { field: "as" });
      if (as !== "user" && as !== "admin") return invalidRequest("invalid_field", 'as must be "user" or "admin"', { field: "as" });
      return establish(request, await options.devMint(as));
    },
  };
}

/**
 * `SameSite=Strict`: a request started by another site never carries the session, so a
 * cross-site form post cannot spend the user's tokens or act as an admin. `HttpOnly`: page
 * scripts (and an XSS) cannot read the token.
 */
export function sessionCookie(token: string, { maxAgeSeconds, secure }: { maxAgeSeconds: number; secure: boolean }): string {
  if (!Number.isSafeInteger(maxAgeSeconds) || maxAgeSeconds <= 0) throw new TypeError("maxAgeSeconds must be a positive whole number");
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/** Same name, path and attributes as the session cookie, so the browser replaces and drops it. */
export function clearedSessionCookie({ secure }: { secure: boolean }): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/**
 * `https:` in the URL (Vercel), or a TLS-terminating proxy in front of `next start` saying
 * so. Trusting the header costs nothing: a client that lies gets a Secure cookie its own
 * plain-HTTP connection then never sends.
 */
function isHttps(request: Request): boolean {
  if (new URL(request.url).protocol === "https:") return true;
  return request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}

/**
 * Browsers label every request with `Sec-Fetch-Site`. A JSON body already needs a CORS
 * preflight that we never grant, so this is defence in depth against login CSRF (signing a
 * victim in as the attacker) should that ever change. Non-browser clients send no header.
 */
function isCrossSite(request: Request): boolean {
  return request.headers.get("sec-fetch-site") === "cross-site";
}

function crossSiteRefused(): Response {
  return forbidden("session requests from another site are refused");
}
