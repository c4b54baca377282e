/**
 * Loopback: names that never leave the machine. One notion for every place that treats
 * them differently: the development hosts a server answers to, a plain-http JWKS URL, the
 * admin CLI's plain-http URL, and the hosts the local KV server may listen on without a
 * configured token.
 */

/** The names a local server answers to by default (URL `hostname` form: IPv6 bracketed). */
export const LOOPBACK_NAMES: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/**
 * `localhost`, 127.0.0.0/8 and `::1` (bracketed or not). Not `*.localhost` nor
 * `localhost.`: whether those resolve to loopback depends on the resolver. IPv4 forms such
 * as `127.1` count only once a URL parser has normalised them to dotted quads.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host === "[::1]" || host === "::1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
