import { LOOPBACK_NAMES } from "../../loopback";

/**
 * DNS rebinding defence. A web page the developer opens can send requests to
 * 127.0.0.1, and after rebinding its own name to 127.0.0.1 it can read the
 * replies too; but the browser still sends the page's name in `Host` and its
 * origin in `Origin`. So a request is served only when `Host` names this
 * server, and a browser's `Origin` (the real clients send none) is this
 * server's own.
 */
export interface HostPolicy {
  /** `host:port` forms accepted in `Host` and `Origin`, lowercased. */
  readonly exact: ReadonlySet<string>;
  /** Names accepted on any port (`--allow-host NAME`), lowercased. */
  readonly anyPort: ReadonlySet<string>;
}

export type HostVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 403 | 421; readonly error: string };

const WILDCARDS = new Set(["0.0.0.0", "[::]"]);

function bracketed(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * The loopback names with the listening port, the bound host itself unless it is a
 * wildcard, and each `allowHosts` entry: `name` (any port) or `name:port` (that port).
 */
export function hostPolicy(boundHost: string, port: number, allowHosts: readonly string[]): HostPolicy {
  const exact = new Set(LOOPBACK_NAMES.map((name) => `${name}:${port}`));
  const bound = bracketed(boundHost.toLowerCase());
  if (!WILDCARDS.has(bound)) exact.add(`${bound}:${port}`);
  const anyPort = new Set<string>();
  for (const entry of allowHosts) {
    const name = entry.trim().toLowerCase();
    if (/:\d+$/.test(name) && !/^[^[]*:.*:/.test(name)) exact.add(name);
    else anyPort.add(bracketed(name));
  }
  return { exact, anyPort };
}

function allowed(hostAndPort: string, policy: HostPolicy): boolean {
  if (policy.exact.has(hostAndPort)) return true;
  const match = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(hostAndPort);
  return match !== null && policy.anyPort.has(match[1] ?? "");
}

/** The headers that say which name a request was sent to, and from which page. */
export interface HostFacts {
  readonly host: string | undefined;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
}

/** A browser that says the request comes from another site (an `<img>`, a form, a fetch). */
function crossSite(site: string | undefined): boolean {
  return site !== undefined && site !== "same-origin" && site !== "none";
}

export function checkHost(facts: HostFacts, policy: HostPolicy): HostVerdict {
  const host = (facts.host ?? "").toLowerCase();
  // No port in Host means the scheme's default; only http is served.
  if (!allowed(/:\d+$/.test(host) ? host : `${host}:80`, policy)) {
    return { ok: false, status: 421, error: `ERR misdirected request: Host '${host.slice(0, 100)}' is not this server's (see --allow-host)` };
  }
  const origin = facts.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      const url = new URL(origin);
      if (url.protocol === "http:" || url.protocol === "https:") {
        originHost = url.port === "" ? `${url.hostname}:${url.protocol === "http:" ? 80 : 443}` : url.host;
      }
    } catch {
      // "null" (a sandboxed page, a file: URL) or garbage: never allowed.
    }
    if (originHost === undefined || !allowed(originHost.toLowerCase(), policy)) {
      return { ok: false, status: 403, error: `ERR forbidden: Origin '${origin.slice(0, 100)}' may not use this server` };
    }
  }
  if (crossSite(facts.secFetchSite)) return { ok: false, status: 403, error: "ERR forbidden: cross-site browser requests may not use this server" };
  return { ok: true };
}
