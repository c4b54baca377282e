import type { Credentials } from "../auth/credentials";
import { isJsonContentType } from "./json-body";
import { problem, unsupportedMediaType } from "./problem";

/**
 * Cross-site request forgery, for the requests the session cookie authenticates. The
 * cookie is ambient: the browser attaches it to a request whoever built it. `SameSite=Strict`
 * keeps it off requests started by another *site*, but `blog.example.com` and
 * `app.example.com` are the same site, so a form or a `fetch(…, {mode: "no-cors"})` on a
 * sibling subdomain would still carry it. Two checks close that:
 *
 * 1. Origin (`refuseCrossOrigin`): browsers label every request with `Sec-Fetch-Site` and
 *    send `Origin` on every POST, PUT, PATCH and DELETE. `cross-site` and `same-site` are
 *    refused, and so is an `Origin` other than the app's own. Clients that are not browsers
 *    send neither and are not affected (they hold their credential themselves).
 * 2. Body type (`refuseNonJsonBody`): a write's body must be `application/json`. Without a
 *    CORS preflight (which Tollgate never grants) a page elsewhere can send only
 *    form-encoded, multipart or text bodies, or none, so this stops a forged write even in
 *    a browser too old to send `Origin` on it.
 *
 * Framework-free: the gate (Edge and Node), the admin routes and the session routes share it.
 */
export interface SameOriginOptions {
  /**
   * The origin browsers reach the app at (TOLLGATE_PUBLIC_ORIGIN), for a deployment behind
   * a proxy that changes the Host or the scheme. Null: the origin each request was
   * addressed to (its `Host`, or `X-Forwarded-Host` from a proxy, and `X-Forwarded-Proto`'s
   * scheme when a TLS-terminating proxy sets it). @default null
   */
  publicOrigin?: string | null;
}

/** 403 `cross_origin_request` when a browser says the request came from elsewhere; null otherwise. */
export function refuseCrossOrigin(request: Request, options: SameOriginOptions = {}): Response | null {
  // Fetch Metadata (W3C): `same-origin`, `same-site`, `cross-site`, or `none` (the user
  // typed the URL or used a bookmark, which cannot be a forged write).
  const site = request.headers.get("sec-fetch-site")?.trim().toLowerCase();
  if (site === "cross-site" || site === "same-site") {
    const from = site === "same-site" ? "another origin of this site" : "another site";
    return problem("cross_origin_request", { detail: `the browser says this request comes from ${from}; session requests must come from the app's own pages` });
  }
  const origin = request.headers.get("origin");
  // No Origin: not a browser, or a browser's same-origin GET or HEAD. A sandboxed page or a
  // privacy redirect sends the literal "null", which is not our origin.
  if (origin === null) return null;
  const expected = appOrigin(request, options.publicOrigin ?? null);
  if (origin.trim().toLowerCase() !== expected) {
    const from = origin === "null" ? "an opaque origin" : "another origin";
    return problem("cross_origin_request", { detail: `the request comes from ${from}; session requests must come from ${expected}` });
  }
  return null;
}

/**
 * 415 `unsupported_media_type` unless a write's body is JSON: a POST, PUT or PATCH must say
 * `Content-Type: application/json` (`{}` when it has nothing to say); any other method
 * may send no body, but a body it declares must be JSON.
 */
export function refuseNonJsonBody(request: Request): Response | null {
  const type = request.headers.get("content-type");
  const needsBody = request.method === "POST" || request.method === "PUT" || request.method === "PATCH";
  if (type === null && !needsBody) return null;
  return isJsonContentType(type) ? null : unsupportedMediaType("application/json");
}

/**
 * Both checks, for a request whose credential is the session cookie; null (go on) for a
 * Bearer token, which a page elsewhere cannot attach, and for no credential (the caller's
 * 401 follows). Cheap and store-free, so it runs before the token is verified or anything
 * is charged.
 */
export function refuseCookieWrite(request: Request, credentials: Credentials | null, options: SameOriginOptions = {}): Response | null {
  if (credentials?.kind !== "cookie") return null;
  return refuseCrossOrigin(request, options) ?? refuseNonJsonBody(request);
}

/**
 * The origin the browser addressed: the configured one, or the request's own, from its
 * `Host` (as a proxy in front passes it on in `X-Forwarded-Host`) and scheme. Not the URL's
 * host: `next start` builds `request.url` from the address it listens on
 * (`http://localhost:3000` whatever the browser asked for). Headers are safe to trust for
 * this: a page elsewhere cannot set `Host` or any `X-Forwarded-*` header on a browser's
 * request (a custom header needs a preflight), and a client that is not a browser carries
 * no victim's cookie.
 */
function appOrigin(request: Request, publicOrigin: string | null): string {
  if (publicOrigin !== null) return publicOrigin.toLowerCase();
  const url = new URL(request.url);
  const first = (name: string) => request.headers.get(name)?.split(",")[0]?.trim().toLowerCase() || undefined;
  const host = first("x-forwarded-host") ?? first("host") ?? url.host;
  // Behind a TLS-terminating proxy the app sees http; the browser's Origin says https.
  const scheme = first("x-forwarded-proto") === "https" ? "https:" : url.protocol;
  try {
    return new URL(`${scheme}//${host}`).origin.toLowerCase();
  } catch {
    // A Host that is not a host name matches no Origin.
    return "null-host";
  }
}
