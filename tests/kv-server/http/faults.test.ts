/**
 * Fault injection as a wrapper around the request path after admission:
 * what each fault answers, and whether the commands ran. The real path
 * (serveAdmitted) is used, with the engine replaced by a counter.
 */
import { describe, expect, it } from "vitest";
import { DROP, json, SILENCE, type Answer } from "../../../lib/kv-server/http/answer";
import { FaultInjector, withFaults, type Fault, type FaultOptions } from "../../../lib/kv-server/http/faults";
import { routeFor, type KvRequest } from "../../../lib/kv-server/http/request-parsing";
import { serveAdmitted, type Exchange } from "../../../lib/kv-server/http/serve";

const RAN: Answer = json(200, { result: "ran" });

/** An admitted exchange whose `run` records what it was given instead of reaching an engine. */
function exchange(body: string, overrides: Partial<Exchange> = {}): { exchange: Exchange; runs: KvRequest[] } {
  const runs: KvRequest[] = [];
  return {
    runs,
    exchange: {
      route: routeFor("/"),
      method: "POST",
      access: "full",
      body: Buffer.from(body),
      abandoned: () => false,
      run: async (request) => {
        runs.push(request);
        return RAN;
      },
      ...overrides,
    },
  };
}

function faulty(fault: Fault, options?: FaultOptions) {
  const faults = new FaultInjector();
  faults.set(fault, options);
  return withFaults(serveAdmitted, faults, new AbortController().signal);
}

describe("withFaults", () => {
  it("passes through when no fault is set", async () => {
    const { exchange: request, runs } = exchange('["get","k"]');
    expect(await faulty({ kind: "none" })(request)).toEqual(RAN);
    expect(runs).toHaveLength(1);
  });

  it("drop: no answer and nothing runs", async () => {
    const { exchange: request, runs } = exchange('["set","k","v"]');
    expect(await faulty({ kind: "drop" })(request)).toBe(DROP);
    expect(runs).toHaveLength(0);
  });

  it("error: the chosen status (500 by default) and nothing runs", async () => {
    for (const [fault, status] of [[{ kind: "error" }, 500], [{ kind: "error", status: 503 }, 503]] as const) {
      const { exchange: request, runs } = exchange('["set","k","v"]');
      const answer = await faulty(fault)(request);
      expect(answer).toMatchObject({ kind: "json", status, body: { error: expect.stringMatching(/^ERR injected fault/) } });
      expect(runs).toHaveLength(0);
    }
  });

  it("drop-after-exec: the commands run, then the answer is dropped", async () => {
    const { exchange: request, runs } = exchange('["incr","n"]');
    expect(await faulty({ kind: "drop-after-exec" })(request)).toBe(DROP);
    expect(runs).toEqual([{ kind: "single", command: ["incr", "n"] }]);
  });

  it("drop-after-exec: a request refused before it runs is answered as usual", async () => {
    const malformed = exchange("not json");
    expect(await faulty({ kind: "drop-after-exec" })(malformed.exchange)).toMatchObject({ status: 400 });
    const readOnlyWrite = exchange('["set","k","v"]', { access: "read-only" });
    expect(await faulty({ kind: "drop-after-exec" })(readOnlyWrite.exchange)).toMatchObject({ status: 403 });
    expect([...malformed.runs, ...readOnlyWrite.runs]).toHaveLength(0);
  });

  it("delay: runs afterwards, unless the request was abandoned meanwhile", async () => {
    const live = exchange('["set","k","v"]');
    expect(await faulty({ kind: "delay", ms: 0 })(live.exchange)).toEqual(RAN);
    expect(live.runs).toHaveLength(1);
    const gone = exchange('["set","k","v"]', { abandoned: () => true });
    expect(await faulty({ kind: "delay", ms: 0 })(gone.exchange)).toBe(SILENCE);
    expect(gone.runs).toHaveLength(0);
  });

  it("applies `times` times, to the routes in `paths` only", async () => {
    const serve = faulty({ kind: "drop" }, { times: 2, paths: ["/pipeline"] });
    const onRoot = exchange('["get","k"]');
    expect(await serve(onRoot.exchange)).toEqual(RAN);
    const onPipeline = () => exchange('[["get","k"]]', { route: routeFor("/pipeline") }).exchange;
    expect(await serve(onPipeline())).toBe(DROP);
    expect(await serve(onPipeline())).toBe(DROP);
    expect(await serve(onPipeline())).toEqual(RAN);
  });
});
