/** Where and as whom to connect, from `redis[s]://[[user]:password@]host[:port][/db]`. */
export interface RedisAddress {
  readonly host: string;
  /** @default 6379 */
  readonly port: number;
  /** `rediss://` */
  readonly tls: boolean;
  /** With a password: `AUTH username password` (an ACL user); without: `AUTH password`. */
  readonly username?: string;
  readonly password?: string;
  /** SELECTed on every connection. @default 0 */
  readonly db: number;
}

/**
 * Parses a Redis URL the way ioredis did for this engine: user and password
 * percent-decoded, an empty user meaning the default one, the path naming
 * the database. A URL this engine cannot honour is a TypeError, not a
 * connection that silently talks to the wrong place.
 */
export function parseRedisUrl(url: string): RedisAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new TypeError("invalid Redis URL: expected redis://[[user]:password@]host[:port][/db]", { cause: error });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TypeError(`invalid Redis URL: the scheme must be redis: or rediss:, not ${parsed.protocol}`);
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new TypeError("invalid Redis URL: query parameters and fragments are not supported");
  }
  // WHATWG URLs keep IPv6 hosts in brackets; net.connect wants them bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new TypeError("invalid Redis URL: no host");
  const path = parsed.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d+$/.test(path)) throw new TypeError(`invalid Redis URL: the path must be a database number, not /${path}`);
  const username = decode(parsed.username);
  const password = decode(parsed.password);
  return {
    host,
    port: parsed.port === "" ? 6379 : Number(parsed.port),
    tls: parsed.protocol === "rediss:",
    // `redis://name@host` (no colon): ioredis took that as a user with an empty password.
    ...(username !== "" ? { username } : {}),
    ...(password !== "" || username !== "" ? { password } : {}),
    db: path === "" ? 0 : Number(path),
  };
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch (error) {
    throw new TypeError("invalid Redis URL: malformed percent-encoding in the user or password", { cause: error });
  }
}
