import { describe, expect, it } from "vitest";
import { decodeEntry, encodeEntry, type HistoryEntry } from "../../lib/metering/history";
import { operationFields, parseOperation, type Operation } from "../../lib/metering/operation";

/**
 * A history entry is a sorted-set member: the same entry must always encode to the same
 * string (a reset's carry step removes its entry by value, settling twice must leave one
 * member), and entries written by earlier versions must still decode.
 */
const refund: HistoryEntry = {
  id: "ref_0123456789abcdef0123456789abcdef", type: "refund", amount: 3, balanceAfter: 7,
  reason: "Bad answer", route: "POST /api/chat", at: 1_764_072_000_000, ref: "deb_0123456789abcdef0123456789abcdef",
};

describe("history entries", () => {
  it("encode without an actor exactly as before the field existed", () => {
    // Written by the previous version (no actor): byte for byte.
    const before = '{"id":"ref_0123456789abcdef0123456789abcdef","type":"refund","amount":3,"balanceAfter":7,'
      + '"reason":"Bad answer","route":"POST /api/chat","at":1764072000000,"ref":"deb_0123456789abcdef0123456789abcdef"}';
    expect(encodeEntry(refund)).toBe(before);
    expect(decodeEntry(before)).toEqual(refund);
    expect(decodeEntry(before)).not.toHaveProperty("actor");
  });

  it("put the actor last, after ref, and only when present; it round-trips", () => {
    const encoded = encodeEntry({ ...refund, actor: "ops@example.com" });
    expect(Object.keys(JSON.parse(encoded) as object)).toEqual(["id", "type", "amount", "balanceAfter", "reason", "route", "at", "ref", "actor"]);
    expect(decodeEntry(encoded)).toEqual({ ...refund, actor: "ops@example.com" });
    // Key order of the input object does not matter: one entry, one member.
    const { actor: _a, ...rest } = { ...refund, actor: "x" };
    expect(encodeEntry({ actor: "x", ...rest } as HistoryEntry)).toBe(encodeEntry({ ...refund, actor: "x" }));
    const reset: HistoryEntry = { id: "rst_0123456789abcdef0123456789abcdef", type: "reset", amount: 0, balanceAfter: 0, reason: "Reset", route: null, at: 1, actor: "admin token" };
    expect(Object.keys(JSON.parse(encodeEntry(reset)) as object).at(-1)).toBe("actor");
    expect(decodeEntry(encodeEntry(reset))).toEqual(reset);
  });

  it("an operation record keeps the actor for whoever settles it (the healer)", () => {
    const op: Operation = {
      id: "cre_0123456789abcdef0123456789abcdef", kind: "credit", state: "claimed", amount: 5, at: 1, period: "2026-11",
      route: null, reason: "Invoice", ref: null, claim: "k", idempotencyKey: null, target: null, usage: null, actor: "ops@example.com",
    };
    const raw = Object.fromEntries(Object.entries(operationFields(op)).map(([k, v]) => [k, String(v)]));
    expect(parseOperation(op.id, raw)).toMatchObject({ actor: "ops@example.com" });
    // A record written before the field existed has no actor.
    const { actor: _actor, ...old } = raw;
    expect(parseOperation(op.id, old)).toMatchObject({ actor: null });
  });
});
