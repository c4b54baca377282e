import { problem } from "./problem";

/**
 * DNS rebinding, for the development app. A page on `evil.example` can make its own name
 * resolve to 127.0.0.1; the browser then sends that page's requests to the development
 * server as same-origin ones, so neither the same-origin check nor CORS stops them, and
 * the page reads the answers. What still tells them apart is the name the request was
 * addressed to: the `Host` is `evil.example`. A development server therefore answers only
 * to the names it expects (`settings.allowedHosts`: loopback, plus what is configured).
 *
 * `X-Forwarded-Host` is checked too when present: a rebinding page may set it (its
 * requests are same-origin, so a custom header needs no preflight), and code that trusts
 * it for the app's origin would otherwise be fooled.
 *
 * `allowed` null (a deployment): no check; the platform routes by host.
 */
export function refuseForeignHost(request: Request, allowed: readonly string[] | null): Response | null {
  if (allowed === null) return null;
  const names = [request.headers.get("host") ?? new URL(request.url).host, ...(request.headers.get("x-forwarded-host")?.split(",") ?? [])];
  for (const name of names) {
    const host = hostnameOf(name.trim());
    if (host === null || !allowed.includes(host)) {
      return problem("host_not_allowed", { detail: `this development server answers to ${allowed.join(", ")} only (TOLLGATE_ALLOWED_HOSTS adds names)` });
    }
  }
  return null;
}

/** `example.test:3000` → `example.test`, `[::1]:3000` → `[::1]`; null when it is no host. */
function hostnameOf(hostHeader: string): string | null {
  // A name and a port, nothing else: `evil.example@127.0.0.1` would parse as 127.0.0.1.
  if (!/^[A-Za-z0-9.\-:[\]]+$/.test(hostHeader)) return null;
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}
