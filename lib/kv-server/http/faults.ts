import { DROP, refusal, SILENCE } from "./answer";
import type { Serve } from "./serve";

/**
 * Fault injection, for reliability tests of the server's clients: slow,
 * failing and lost answers. It exists only as a wrapper around the request
 * path after admission (`withFaults`), which the server installs the first
 * time a test calls `setFault`; the request path itself knows nothing of it.
 * Faults apply to admitted requests only: a request refused at the door is
 * refused the same way whatever the fault.
 */

/** Failure modes the server can simulate. */
export type Fault =
  | { kind: "none" }
  /** Answer every request after `ms` (before executing it; if the client has gone by then, nothing runs). */
  | { kind: "delay"; ms: number }
  /** Answer 500 {error} without executing. */
  | { kind: "error"; status?: number }
  /** Destroy the socket without answering and without executing. */
  | { kind: "drop" }
  /** Execute, then destroy the socket: the effect happens but the answer is lost. */
  | { kind: "drop-after-exec" };

export interface FaultOptions {
  /** How many matching requests the fault applies to. @default unlimited, until changed */
  times?: number;
  /** Routes it applies to ("/", "/pipeline", "/multi-exec", "/get", ...). @default all */
  paths?: string[];
}

const NONE: Fault = { kind: "none" };

/** The fault in force, and how many more requests it applies to. */
export class FaultInjector {
  private fault: Fault = NONE;
  private remaining: number | undefined;
  private paths: ReadonlySet<string> | undefined;

  set(fault: Fault, options: FaultOptions = {}): void {
    if (fault.kind === "delay" && !(Number.isFinite(fault.ms) && fault.ms >= 0)) {
      throw new TypeError(`delay fault needs a non-negative ms, got ${fault.ms}`);
    }
    if (options.times !== undefined && !(Number.isInteger(options.times) && options.times > 0)) {
      throw new TypeError(`fault times must be a positive integer, got ${options.times}`);
    }
    this.fault = fault;
    this.remaining = options.times;
    this.paths = options.paths === undefined ? undefined : new Set(options.paths);
  }

  /** The fault for this request, counting it against `times`. */
  take(route: string): Fault {
    if (this.fault.kind === "none") return NONE;
    if (this.paths !== undefined && !this.paths.has(route)) return NONE;
    const fault = this.fault;
    if (this.remaining !== undefined && --this.remaining <= 0) this.set(NONE);
    return fault;
  }
}

/** `serve`, with the fault in force for each request applied around it. */
export function withFaults(serve: Serve, faults: FaultInjector, closing: AbortSignal): Serve {
  return async function serveWithFaults(exchange) {
    const fault = faults.take(exchange.route.key);
    switch (fault.kind) {
      case "none":
        return serve(exchange);
      case "drop":
        return DROP;
      case "error":
        return refusal(fault.status ?? 500, "ERR injected fault: the KV server failed this request");
      case "delay":
        await sleep(fault.ms, closing);
        // Nothing runs for a client that gave up, or on a server that is stopping.
        return exchange.abandoned() ? SILENCE : serve(exchange);
      case "drop-after-exec":
        // Only the execution step is wrapped: the transaction is applied, then its answer is
        // lost, as when a connection breaks after the store replied. A request refused before
        // it runs (bad body, NOPERM) is answered as usual.
        return serve({
          ...exchange,
          run: async (request) => {
            await exchange.run(request);
            return DROP;
          },
        });
    }
  };
}

/** Resolves after `ms`, or early when `signal` aborts (the server is closing). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
