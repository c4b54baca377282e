/** The session cookie set by the dev sign-in (and any first-party sign-in). */
export const SESSION_COOKIE = "tollgate_session";

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
 * - Otherwise the `tollgate_session` cookie. If it appears more than once with different
 *   values (a sibling subdomain can set a same-named cookie), which one is "ours" is
 *   unknowable, so → `null`.
 */
export function extractCredentials(request: Request): Credentials | null {
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
  const token = sessionCookie(request.headers.get("cookie"));
  return token === null ? null : { kind: "cookie", token };
}

function sessionCookie(header: string | null): string | null {
  if (header === null) return null;
  let found: string | null = null;
  // RFC 6265 §4.2.1: `name=value` pairs separated by "; " (browsers); be lenient on spaces.
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    let value = pair.slice(eq + 1).trim();
    // RFC 6265 allows a DQUOTE-wrapped cookie value.
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!B64TOKEN.test(value)) return null;
    if (found !== null && found !== value) return null;
    found = value;
  }
  return found;
}
