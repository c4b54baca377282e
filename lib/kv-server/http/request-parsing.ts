import { ReplyError } from "../reply";

/** What one HTTP request asks the engine to do. */
export type KvRequest =
  | { readonly kind: "single"; readonly command: string[] }
  /** Malformed items become per-item errors, so the reply keeps the request's length. */
  | { readonly kind: "pipeline"; readonly commands: (string[] | ReplyError)[] }
  | { readonly kind: "multi"; readonly commands: string[][] };

export type ParseResult =
  | { readonly ok: true; readonly request: KvRequest }
  | { readonly ok: false; readonly status: number; readonly error: string };

export type Route =
  | { readonly kind: "command" | "pipeline" | "multi-exec"; readonly key: string }
  | { readonly kind: "path-style"; readonly key: string; readonly args: string[] }
  | { readonly kind: "unsupported"; readonly key: string; readonly reason: string };

/** A request target (`/path?query`): the endpoint, and the query (it may carry `_token`). */
export interface Target {
  readonly route: Route;
  readonly query: URLSearchParams;
}

export function parseTarget(target: string): Target {
  // Split by hand: `new URL("//x", base)` would read "//x" as a host name, or throw.
  const queryAt = target.indexOf("?");
  return {
    route: routeFor(queryAt === -1 ? target : target.slice(0, queryAt)),
    query: new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1)),
  };
}

/** Maps a URL path to an endpoint. The route key names it in counters and fault filters. */
export function routeFor(pathname: string): Route {
  const trimmed = pathname.replace(/\/+$/, "");
  if (trimmed === "") return { kind: "command", key: "/" };
  if (trimmed === "/pipeline") return { kind: "pipeline", key: "/pipeline" };
  if (trimmed === "/multi-exec") return { kind: "multi-exec", key: "/multi-exec" };
  const segments = trimmed.split("/").slice(1);
  let args: string[];
  try {
    args = segments.map((segment) => decodeURIComponent(segment));
  } catch {
    return { kind: "unsupported", key: "/invalid", reason: "ERR the URL path is not valid percent-encoding" };
  }
  const name = (args[0] ?? "").toLowerCase();
  if (name === "subscribe" || name === "psubscribe") {
    return { kind: "unsupported", key: `/${name}`, reason: "ERR pub/sub is not supported by the local KV server" };
  }
  return { kind: "path-style", key: `/${name}`, args };
}

/**
 * The Upstash client sends numbers and booleans as JSON values, objects
 * pre-stringified, and null as "null"; Redis only has strings.
 */
function toArgument(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null) return "null";
  return JSON.stringify(value) ?? String(value);
}

function toCommand(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.map(toArgument);
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) as unknown };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `ERR failed to parse the request body as JSON: ${detail}` };
  }
}

const bad = (error: string): ParseResult => ({ ok: false, status: 400, error });

export function parseRequest(route: Route, method: string, body: Buffer): ParseResult {
  if (route.kind === "unsupported") return bad(route.reason);
  if (route.kind === "path-style") {
    // POST /set/key with a body: the body is the last argument (Upstash's REST API).
    const args = method === "POST" && body.length > 0 ? [...route.args, body.toString("utf8")] : route.args;
    return { ok: true, request: { kind: "single", command: args } };
  }
  if (method !== "POST") return { ok: false, status: 405, error: `ERR ${route.key} only accepts POST` };
  const json = parseJson(body);
  if (!json.ok) return bad(json.error);
  if (route.kind === "command") {
    const command = toCommand(json.value);
    if (command === undefined) return bad("ERR the request body must be a non-empty JSON array: [command, ...args]");
    return { ok: true, request: { kind: "single", command } };
  }
  if (!Array.isArray(json.value) || json.value.length === 0) {
    return bad("ERR the request body must be a non-empty JSON array of commands: [[command, ...args], ...]");
  }
  const commands = json.value.map((item, index) => toCommand(item) ?? index);
  if (route.kind === "multi-exec") {
    const invalid = commands.find((command) => typeof command === "number");
    if (invalid !== undefined) return bad(`ERR transaction item ${invalid} is not a non-empty array`);
    return { ok: true, request: { kind: "multi", commands: commands as string[][] } };
  }
  return {
    ok: true,
    request: {
      kind: "pipeline",
      commands: commands.map((command) =>
        typeof command === "number" ? new ReplyError(`ERR pipeline item ${command} is not a non-empty array`) : command,
      ),
    },
  };
}
