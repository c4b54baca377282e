/**
 * Request and command counters of the HTTP server, for tests: they prove
 * one KV round trip per metered request.
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

export function countRequest(counters: KvServerCounters, routeKey: string): void {
  counters.requests++;
  counters.byPath[routeKey] = (counters.byPath[routeKey] ?? 0) + 1;
}

/** Resets in place, so callers holding the object see the new values. */
export function resetCounters(counters: KvServerCounters): void {
  counters.requests = 0;
  counters.commands = 0;
  for (const path of Object.keys(counters.byPath)) delete counters.byPath[path];
}
