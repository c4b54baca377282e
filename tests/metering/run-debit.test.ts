/** The debit decision, without a store (run-debit.ts). */
import { describe, expect, it } from "vitest";
import type { DebitReading } from "../../lib/metering/debit";
import { decideDebit } from "../../lib/metering/run-debit";

const reading = (over: Partial<DebitReading>): DebitReading => ({
  after: 5, staleIds: [], missingGrants: [], pendingGrants: [], replayOf: null, keyMatch: null, storedResponse: null, keyAgeMs: null, ...over,
});

describe("decideDebit", () => {
  it("pays a debit that left the balance at or above zero, granting what is missing in the background", () => {
    expect(decideDebit(reading({ after: 0 }), false)).toEqual({ status: "paid", grantInBackground: [] });
    expect(decideDebit(reading({ after: 7, missingGrants: ["2026-12"] }), false)).toEqual({ status: "paid", grantInBackground: ["2026-12"] });
  });

  it("replays a taken Idempotency-Key whatever the balance says", () => {
    expect(decideDebit(reading({ after: -3, replayOf: "deb_x", keyMatch: "same" }), false)).toEqual({ status: "replay" });
  });

  it("refuses a key taken by another request (route or body), and checks a previous version's key by its route", () => {
    expect(decideDebit(reading({ after: 4, replayOf: "deb_x", keyMatch: "other_target" }), false)).toEqual({ status: "key_reused", mismatch: "target" });
    expect(decideDebit(reading({ after: 4, replayOf: "deb_x", keyMatch: "other_body" }), false)).toEqual({ status: "key_reused", mismatch: "body" });
    expect(decideDebit(reading({ after: 4, replayOf: "deb_x", keyMatch: "unknown" }), false)).toEqual({ status: "legacy_route" });
  });

  it("retries a refusal once: after the month's grant, or after the batch's earlier refusals", () => {
    expect(decideDebit(reading({ after: -3, missingGrants: ["2026-12"] }), false)).toEqual({ status: "refused", retry: "after_grants" });
    expect(decideDebit(reading({ after: -3, pendingGrants: ["2026-12"] }), false)).toEqual({ status: "refused", retry: "after_grants" });
    expect(decideDebit(reading({ after: -3, retryAfter: Promise.resolve() }), false)).toEqual({ status: "refused", retry: "after_batch" });
    expect(decideDebit(reading({ after: -3 }), false)).toEqual({ status: "refused", retry: null });
    expect(decideDebit(reading({ after: -3, missingGrants: ["2026-12"] }), true)).toEqual({ status: "refused", retry: null });
  });
});
