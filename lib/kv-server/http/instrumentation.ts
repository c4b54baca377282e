/**
 * Test instrumentation for the HTTP server: request/command counters
 * (to prove one KV round trip per metered request) and fault injection
 * (to test clients against slow, failing and lost answers).
 */

export interface KvServerCounters {
  /** HTTP requests received, whatever their outcome. */
  requests: number;
  /** Commands handed to the engine. */
  commands: number;
  /** Requests per route: "/", "/pipeline", "/multi-exec", or "/<command>" for path-style calls. */
  byPath: Record<string, number>;
}

export function createCounters(): KvServerCounters {
  return { requests: 0, commands: 0, byPath: {} };
}

/** Resets in place, so callers holding the object see the new values. */
export function resetCounters(counters: KvServerCounters): void {
  counters.requests = 0;
  counters.commands = 0;
  for (const path of Object.keys(counters.byPath)) delete counters.byPath[path];
}

/** Failure modes the server can simulate, for reliability tests of its clients. */
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
