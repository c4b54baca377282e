import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Engine } from "../engine";
import { decideAdmission, requestFacts, type AdmissionRules } from "./admission";
import type { Answer } from "./answer";
import { readBody, unreadBodyAnswer, type BodyResult } from "./body";
import { countRequest, createCounters, resetCounters, type KvServerCounters } from "./counters";
import { commandsOf, execute } from "./execute";
import { FaultInjector, withFaults, type Fault, type FaultOptions } from "./faults";
import { hostPolicy } from "./host-check";
import { parseTarget, type KvRequest, type Target } from "./request-parsing";
import { deliver, failureAnswer } from "./respond";
import { serveAdmitted, type Serve } from "./serve";

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

const NO_BODY: BodyResult = { ok: true, body: Buffer.alloc(0) };

/**
 * Serves the Upstash REST protocol over an Engine. One request goes:
 * target → count → admission (host, method, token; body unread) → body →
 * serve (parse → permission → run) → deliver. Each step but the reads and
 * the run is a pure decision that returns an Answer; `deliver` alone writes.
 */
export async function startKvServer(options: KvServerOptions): Promise<RunningKvServer> {
  validate(options);
  const { engine } = options;
  const host = options.host ?? "127.0.0.1";
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const counters = createCounters();
  const closing = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let syncCounter = 0;
  // Set once listening, before any request can arrive: the host policy needs the port.
  let rules: AdmissionRules = {
    hosts: { exact: new Set(), anyPort: new Set() },
    token: options.token,
    readOnlyToken: options.readOnlyToken,
  };
  // Wrapped for fault injection only once a test calls setFault; otherwise no fault code runs.
  let serve: Serve = serveAdmitted;
  let faults: FaultInjector | undefined;

  async function run(request: IncomingMessage, kvRequest: KvRequest): Promise<Answer> {
    counters.commands += commandsOf(kvRequest).length;
    const base64 = String(request.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    return execute(engine, kvRequest, base64);
  }

  async function answer(request: IncomingMessage, response: ServerResponse, target: Target): Promise<Answer> {
    const admission = decideAdmission(requestFacts(request.method, request.headers, target.query), rules);
    if (!admission.ok) return admission.refusal;
    const method = request.method ?? "GET";
    const body = method === "POST" ? await readBody(request, maxBodyBytes) : NO_BODY;
    if (!body.ok) return unreadBodyAnswer(body.reason, maxBodyBytes);
    return serve({
      route: target.route,
      method,
      access: admission.access,
      body: body.body,
      abandoned: () => response.destroyed || request.socket.destroyed || closing.signal.aborted,
      run: (kvRequest) => run(request, kvRequest),
    });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const sync = String(++syncCounter);
    const target = parseTarget(request.url ?? "/");
    countRequest(counters, target.route.key);
    deliver(await answer(request, response, target), request, response, sync);
  }

  const server = createServer({ keepAlive: true }, (request, response) => {
    const task = handle(request, response)
      .catch((error: unknown) => deliver(failureAnswer(error), request, response, String(syncCounter)))
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
  rules = { ...rules, hosts: hostPolicy(host, port, options.allowHosts ?? []) };
  const urlHost = host.includes(":") ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    counters,
    resetCounters: () => resetCounters(counters),
    setFault: (fault, opts) => {
      faults ??= new FaultInjector();
      faults.set(fault, opts);
      if (serve === serveAdmitted) serve = withFaults(serveAdmitted, faults, closing.signal);
    },
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
