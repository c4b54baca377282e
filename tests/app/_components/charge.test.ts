import { describe, expect, it } from "vitest";
import { holdReceipt, readChatCharge, receiptOfEntry } from "@/app/_components/charge";
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

  it("finds the answer's hold by its id (X-Tokens-Hold), not by guessing which hold is newest", () => {
    const history = [entry("hld_other", { amount: -7, held: 9 }), entry("dbt_1")];
    // Not settled yet: no receipt, even though another hold settled after ours started.
    expect(holdReceipt(history, "hld_ours")).toBeNull();
    const settled = [entry("hld_later", { amount: -1, held: 20 }), entry("hld_ours", { amount: -3, held: 20, balanceAfter: 50 }), ...history];
    expect(holdReceipt(settled, "hld_ours")).toMatchObject({ charged: 3, reserved: 20, released: 17, balance: 50 });
    // An id that is not a hold's gives no receipt.
    expect(holdReceipt(settled, "dbt_1")).toBeNull();
  });
});
