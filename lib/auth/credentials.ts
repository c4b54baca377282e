/** The session cookie set by the dev sign-in (and any first-party sign-in), over plain http. */
export const SESSION_COOKIE = "tollgate_session";

/**
 * Its name over https. A browser accepts a `__Host-` cookie only from a secure origin,
 * with `Secure`, `Path=/` and no `Domain` (RFC 6265bis §4.1.3.2), so a sibling subdomain
 * (`blog.example.com`) cannot set one for `app.example.com`. Over https the unprefixed
 * name is ignored: it is the one a sibling could plant.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/** The session cookie's name for a request over https (`secure`) or plain http. */
export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

export interface CredentialOptions {
  /**
   * The app's public origin when it is configured (TOLLGATE_PUBLIC_ORIGIN): its scheme
   * decides https, whatever the proxy in front says. @default null (the request decides)
   */
  publicOrigin?: string | null;
}

/**
 * Whether the browser talks to the app over https: the configured public origin says so,
 * or `https:` in the URL (Vercel), or a TLS-terminating proxy in front of `next start`
 * says so in `X-Forwarded-Proto`. Trusting the header costs nothing: a client that lies
 * gets a Secure cookie its own plain-HTTP connection then never sends.
 */
export function isSecureRequest(request: Request, options: CredentialOptions = {}): boolean {
  const publicOrigin = options.publicOrigin ?? null;
  if (publicOrigin !== null) return publicOrigin.startsWith("https:");
  if (new URL(request.url).protocol === "https:") return true;
  return request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}

export interface Credentials {
  readonly kind: "bearer" | "cookie";
  readonly token: string;
}

/**
 * RFC 6750 §2.1 `b64token`; JWTs are a subset. Anything else in the header is junk we
 * refuse rather than try to repair.
 */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Finds the credential a request presents. The Authorization header wins over the cookie,
 * and the two are never combined:
 * - `Authorization: Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1) → bearer.
 * - A Bearer header that is malformed (no token, two tokens, bad characters) → `null`,
 *   WITHOUT falling back to the cookie: the client chose the header, and quietly using a
 *   different credential would hide its bug and act as someone else.
 * - Another scheme (e.g. `Basic` from a password-protected preview) is not ours: ignored.
 * - Otherwise the session cookie: `__Host-tollgate_session` over https (the unprefixed
 *   name is then ignored), `tollgate_session` over http. If it appears more than once with
 *   different values (a sibling subdomain can set a same-named cookie over http), which
 *   one is "ours" is unknowable, so → `null`.
 * The kind tells the caller whether the credential is ambient: a cookie is sent by the
 * browser whoever built the request, so a write it authenticates must be checked for its
 * origin (lib/http/same-origin.ts); a Bearer header was put there by a script that holds
 * the token. When both are sent, the Bearer token is the credential and the cookie is not
 * looked at.
 */
export function extractCredentials(request: Request, options: CredentialOptions = {}): Credentials | null {
  const authorization = request.headers.get("authorization");
  if (authorization !== null) {
    // Anything that starts like Bearer is treated as a Bearer attempt, so `BearerXYZ` or
    // `Bearer: x` is refused as junk instead of slipping through as "another scheme".
    const match = /^[ \t]*bearer(.*)$/is.exec(authorization);
    if (match !== null) {
      const rest = match[1]!;
      const token = rest.trim();
      return /^[ \t]/.test(rest) && B64TOKEN.test(token) ? { kind: "bearer", token } : null;
    }
  }
  const token = sessionCookie(request.headers.get("cookie"), sessionCookieName(isSecureRequest(request, options)));
  return token === null ? null : { kind: "cookie", token };
}

function sessionCookie(header: string | null, name: string): string | null {
  if (header === null) return null;
  let found: string | null = null;
  // RFC 6265 §4.2.1: `name=value` pairs separated by "; " (browsers); be lenient on spaces.
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    // RFC 6265 allows a DQUOTE-wrapped cookie value.
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!B64TOKEN.test(value)) return null;
    if (found !== null && found !== value) return null;
    found = value;
  }
  return found;
}
