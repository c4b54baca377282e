import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isReadOnlyCommand } from "../command-policy";
import type { Engine } from "../engine";
import { ReplyError, type Reply } from "../reply";
import { accessFor, presentedToken } from "./auth";
import { readBody } from "./body";
import { encodeItem, encodeReply } from "./encoding";
import { checkHost, hostPolicy, type HostPolicy } from "./host-check";
import {
  createCounters,
  FaultInjector,
  resetCounters,
  type Fault,
  type FaultOptions,
  type KvServerCounters,
} from "./instrumentation";
import { parseRequest, routeFor, type KvRequest } from "./request-parsing";
import { sendError, sendFailure, sendJson, sleep } from "./respond";

export interface KvServerOptions {
  /** 0 picks a free port. @default 8079 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  engine: Engine;
  /** Full-access token. */
  token: string;
  /** Token for reads only; writes with it are refused with 403 NOPERM, like Upstash. */
  readOnlyToken?: string;
  /**
   * Names accepted in `Host` (and a browser's `Origin`) besides the loopback names with the
   * listening port and the bound host: `name` on any port, or `name:port`. Anything else gets
   * 421 (Host) or 403 (Origin), which stops DNS rebinding. @default []
   */
  allowHosts?: readonly string[];
  /** Larger request bodies get 413. @default 1 MiB */
  maxBodyBytes?: number;
}

export interface RunningKvServer {
  url: string;
  port: number;
  counters: KvServerCounters;
  resetCounters(): void;
  /** Fault injection for reliability tests; `times` = how many requests it applies to (default: until changed). */
  setFault(fault: Fault, opts?: FaultOptions): void;
  /** Stops listening, ends open sockets, closes the engine (flushes persistence). */
  close(): Promise<void>;
}

function commandsOf(request: KvRequest): string[][] {
  if (request.kind === "single") return [request.command];
  if (request.kind === "multi") return request.commands;
  return request.commands.filter((command): command is string[] => Array.isArray(command));
}

async function execute(
  engine: Engine,
  request: KvRequest,
  base64: boolean,
): Promise<{ status: number; body: unknown }> {
  if (request.kind === "single") {
    const reply = await engine.exec(request.command);
    if (reply instanceof ReplyError) return { status: 400, body: { error: reply.message } };
    return { status: 200, body: { result: encodeReply(reply, base64) } };
  }
  if (request.kind === "multi") {
    const replies = await engine.multi(request.commands);
    // EXECABORT is a request-level failure; the client turns a non-2xx into an error.
    if (replies instanceof ReplyError) return { status: 400, body: { error: replies.message } };
    return { status: 200, body: replies.map((reply) => encodeItem(reply, base64)) };
  }
  const valid = commandsOf(request);
  const replies = valid.length > 0 ? await engine.pipeline(valid) : [];
  let next = 0;
  const merged: Reply[] = request.commands.map((command) =>
    command instanceof ReplyError ? command : (replies[next++] ?? null),
  );
  return { status: 200, body: merged.map((reply) => encodeItem(reply, base64)) };
}

/**
 * The protocol without the socket: one Upstash REST request (its path and JSON body)
 * answered by an engine in this process, as `handle` would answer it after auth and
 * faults. For simulation tests that must run the real client and the real protocol
 * handling under a virtual clock, where no real I/O may happen.
 */
export async function answerInProcess(
  engine: Engine,
  path: string,
  body: string,
): Promise<{ status: number; body: unknown }> {
  const parsed = parseRequest(routeFor(path), "POST", Buffer.from(body, "utf8"));
  if (!parsed.ok) return { status: parsed.status, body: { error: parsed.error } };
  return execute(engine, parsed.request, false);
}

function validate(options: KvServerOptions): void {
  if (typeof options.token !== "string" || options.token.length === 0) {
    throw new TypeError("KV server needs a non-empty token");
  }
  const { readOnlyToken } = options;
  if (readOnlyToken !== undefined && (readOnlyToken.length === 0 || readOnlyToken === options.token)) {
    throw new TypeError("the read-only token must be non-empty and differ from the full-access token");
  }
  for (const name of options.allowHosts ?? []) {
    if (typeof name !== "string" || !/^(\[[0-9a-fA-F:.]+\]|[^\s/@[\]]+)(:\d+)?$/.test(name) || name.startsWith(":")) {
      throw new TypeError(`invalid allowed host ${JSON.stringify(name)}: use NAME or NAME:PORT`);
    }
  }
  const port = options.port ?? 8079;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`invalid port ${port}`);
}

/** Serves the Upstash REST protocol over an Engine. */
export async function startKvServer(options: KvServerOptions): Promise<RunningKvServer> {
  validate(options);
  const { engine, token, readOnlyToken } = options;
  const host = options.host ?? "127.0.0.1";
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const counters = createCounters();
  const faults = new FaultInjector();
  const closing = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let syncCounter = 0;
  // Set once listening, before any request can arrive: the policy needs the port.
  let policy: HostPolicy = { exact: new Set(), anyPort: new Set() };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const sync = String(++syncCounter);
    // Split by hand: `new URL("//x", base)` would read "//x" as a host name, or throw.
    const target = request.url ?? "/";
    const queryAt = target.indexOf("?");
    const route = routeFor(queryAt === -1 ? target : target.slice(0, queryAt));
    const query = new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1));
    const method = request.method ?? "GET";
    counters.requests++;
    counters.byPath[route.key] = (counters.byPath[route.key] ?? 0) + 1;

    // Before anything else: a rebound name or a foreign page gets nothing, its body unread.
    const verdict = checkHost(request, policy);
    if (!verdict.ok) {
      sendError(response, verdict.status, verdict.error, sync, { connection: "close" });
      return;
    }

    if (method !== "POST" && method !== "GET") {
      // Not read (it may come from anyone): the connection closes instead.
      sendError(response, 405, "ERR method not allowed: use POST (or GET for path-style commands)", sync, {
        allow: "GET, POST",
        connection: "close",
      });
      return;
    }
    // The token comes first: a stranger's body is never read, so it costs no memory or time.
    const access = accessFor(presentedToken(request, query), token, readOnlyToken);
    if (access === undefined) {
      sendError(response, 401, "Unauthorized", sync, {
        "www-authenticate": 'Bearer realm="tollgate-kv"',
        // The unread body would otherwise be parsed as the next request on this connection.
        connection: "close",
      });
      return;
    }
    const body =
      method === "POST" ? await readBody(request, maxBodyBytes) : { ok: true as const, body: Buffer.alloc(0) };
    if (!body.ok) {
      if (body.reason === "aborted") return;
      // Close the connection: the rest of the oversized body is never read.
      sendError(response, 413, `ERR request body exceeds ${maxBodyBytes} bytes`, sync, { connection: "close" });
      return;
    }

    const fault = faults.take(route.key);
    if (fault.kind === "drop") {
      request.socket.destroy();
      return;
    }
    if (fault.kind === "error") {
      sendError(response, fault.status ?? 500, "ERR injected fault: the KV server failed this request", sync);
      return;
    }
    if (fault.kind === "delay") {
      await sleep(fault.ms, closing.signal);
      // Nothing runs for a client that gave up, or on a server that is stopping.
      if (response.destroyed || request.socket.destroyed || closing.signal.aborted) return;
    }

    const parsed = parseRequest(route, method, body.body);
    if (!parsed.ok) {
      sendError(response, parsed.status, parsed.error, sync);
      return;
    }
    const commands = commandsOf(parsed.request);
    // Checked before anything runs: a pipeline with one write in it is refused whole.
    const write = access === "read-only" ? commands.find((command) => !isReadOnlyCommand(command[0] ?? "")) : undefined;
    if (write !== undefined) {
      const name = (write[0] ?? "").toLowerCase();
      sendError(response, 403, `NOPERM this user has no permissions to run the '${name}' command`, sync);
      return;
    }

    counters.commands += commands.length;
    const base64 = String(request.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const result = await execute(engine, parsed.request, base64);
    if (fault.kind === "drop-after-exec") {
      request.socket.destroy();
      return;
    }
    sendJson(response, result.status, result.body, sync);
  }

  const server = createServer({ keepAlive: true }, (request, response) => {
    const task = handle(request, response)
      .catch((error: unknown) => sendFailure(response, error, String(syncCounter)))
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  });
  // A client that vanishes mid-request must never take the server down.
  server.on("clientError", (_error, socket) => socket.destroy());
  // Idle keep-alive sockets must be closed by the client, never by us: if the server
  // closed one just as the client reused it, the client would see a network error and
  // retry a command that may already have run. Clients idle out well before this.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8079, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  policy = hostPolicy(host, port, options.allowHosts ?? []);
  const urlHost = host.includes(":") ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    counters,
    resetCounters: () => resetCounters(counters),
    setFault: (fault, opts) => faults.set(fault, opts),
    close: () => {
      closed ??= (async () => {
        closing.abort();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        // Closed now, not after the requests in flight: a runaway script would keep its request
        // in flight for ever, and closing the engine is what stops it. Both engines still let
        // what they are running finish (and persist) before they close.
        const engineClosed = engine.close();
        await Promise.allSettled([...inFlight]);
        await stopped;
        await engineClosed;
      })();
      return closed;
    },
  };
}
