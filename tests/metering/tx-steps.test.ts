/** Transaction steps read their own results, whatever else the transaction carries. */
import { describe, expect, it } from "vitest";
import { KvProtocolError } from "../../lib/metering";
import { execTxItems } from "../../lib/metering/kv";
import { spanError, TxSteps } from "../../lib/metering/tx-steps";
import { kvTargets, meteringOn, uniqueNamespace } from "../support/kv";

describe.each(kvTargets())("TxSteps on the $engine engine", (target) => {
  it("reads each step's result by its reader, and names the failed span", async () => {
    const kv = meteringOn(target).context.kv;
    const key = `${uniqueNamespace("steps")}:k`;
    const steps = new TxSteps(kv.multi());
    const first = steps.read((tx) => tx.incrby(key, 5), (raw) => Number(raw));
    const start = steps.begin();
    steps.write((tx) => tx.set(`${key}:s`, "x"));
    steps.write((tx) => tx.hset(`${key}:s`, { f: 1 })); // wrong type: fails inside EXEC
    const bad = steps.end(start);
    const last = steps.read((tx) => tx.incrby(key, 2), (raw) => Number(raw));
    const items = await execTxItems(steps.tx, { timeoutMs: 2000 });
    expect(first(items)).toBe(5);
    expect(last(items)).toBe(7);
    expect(spanError(items, bad)).toBeInstanceOf(KvProtocolError);
    expect(spanError(items, { start: 0, end: 1 })).toBeNull();
  });

  it("refuses a read step that appends more than one command", () => {
    const steps = new TxSteps(meteringOn(target).context.kv.multi());
    expect(() => steps.read((tx) => tx.get("a").get("b"), String)).toThrow(TypeError);
  });
});
