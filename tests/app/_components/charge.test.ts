import { describe, expect, it } from "vitest";
import { knownHoldIds, newHoldReceipt, readChatCharge, receiptOfEntry } from "@/app/_components/charge";
import type { HistoryEntry } from "@/app/_components/types";

const charge = { debitId: "hld_1", reserved: 310, charged: 12, released: 298, remaining: 988 };

function entry(id: string, fields: Partial<HistoryEntry> = {}): HistoryEntry {
  return { id, type: "debit", amount: -1, balanceAfter: 100, reason: null, route: "chat", at: 0, ...fields };
}

describe("readChatCharge", () => {
  it("reads the finish metadata's tollgate member", () => {
    expect(readChatCharge({ tollgate: charge, other: 1 })).toEqual(charge);
  });

  it.each([
    ["no metadata", undefined],
    ["no tollgate member", { model: "demo" }],
    ["a fraction", { tollgate: { ...charge, charged: 1.5 } }],
    ["a negative amount", { tollgate: { ...charge, released: -1 } }],
    ["an amount as text", { tollgate: { ...charge, remaining: "988" } }],
    ["no debit id", { tollgate: { ...charge, debitId: 7 } }],
  ])("is null for %s", (_, metadata) => {
    expect(readChatCharge(metadata)).toBeNull();
  });
});

describe("receipts from the history", () => {
  it("reads a hold's entry: the amount is minus the charge, the rest of what was held went back", () => {
    expect(receiptOfEntry(entry("hld_1", { amount: -12, held: 310, balanceAfter: 988, ended: "settled" }))).toEqual({
      charged: 12, reserved: 310, released: 298, balance: 988, expired: false,
    });
    expect(receiptOfEntry(entry("hld_2", { amount: -310, held: 310, ended: "expired" }))?.expired).toBe(true);
    expect(receiptOfEntry(entry("hld_3", { amount: 0, held: 5 }))).toMatchObject({ charged: 0, released: 5 });
  });

  it("is null for an entry that is not a hold's", () => {
    expect(receiptOfEntry(entry("dbt_1"))).toBeNull();
  });

  it("takes the newest hold that was neither settled nor open when the message was sent", () => {
    const before = [entry("hld_old", { amount: -4, held: 9 }), entry("dbt_1")];
    const known = knownHoldIds(before, ["hld_running"]);
    expect(newHoldReceipt(before, known)).toBeNull();
    // The earlier answer settles late, after ours started: it is not ours.
    const late = [entry("hld_running", { amount: -7, held: 9 }), ...before];
    expect(newHoldReceipt(late, known)).toBeNull();
    const ours = [entry("hld_new", { amount: -3, held: 20, balanceAfter: 50 }), ...late];
    expect(newHoldReceipt(ours, known)).toMatchObject({ charged: 3, reserved: 20, released: 17, balance: 50 });
  });
});
