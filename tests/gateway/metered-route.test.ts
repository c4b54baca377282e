import { describe, expect, it } from "vitest";
import type { GatePass } from "../../lib/gateway/forwarded-headers";
import { decideDelivery, decidePass } from "../../lib/gateway/metered-route";
import { PRICING } from "../../lib/gateway/pricing";

/** The two decisions metered() acts on, without a store, a signer or a handler. */
const pass: GatePass = {
  status: "paid", userId: "ona", debitId: `deb_${"2".repeat(32)}`, cost: 3, balance: 7, routeId: "article",
  idempotencyKey: null, method: "POST", path: "/api/generate/article",
};
const post = (path: string) => new Request(`http://app.test${path}`, { method: "POST" });

describe("decidePass: what a signed pass allows", () => {
  it("honours a valid pass for this very request", () => {
    expect(decidePass({ status: "valid", pass }, post("/api/generate/article"), PRICING)).toEqual({ status: "honour", pass });
  });

  it("acts on nothing of a pass that does not verify", () => {
    expect(decidePass({ status: "invalid" }, post("/api/generate/article"), PRICING)).toEqual({ status: "invalid" });
  });

  it("refuses an expired pass, with its tokens to give back", () => {
    expect(decidePass({ status: "expired", pass, expiredAt: 0 }, post("/api/generate/article"), PRICING))
      .toMatchObject({ status: "refuse", code: "gate_pass_expired", pass });
  });

  it.each([
    ["another route", post("/api/chat")],
    ["another method", new Request("http://app.test/api/generate/article", { method: "PUT" })],
    ["the same route under another spelling", post("/api/generate/article/")],
    ["a path the table does not price", post("/api/unpriced")],
  ])("refuses a pass used for %s", (_label, request) => {
    expect(decidePass({ status: "valid", pass }, request, PRICING)).toMatchObject({ status: "refuse", code: "gate_pass_wrong_route" });
  });
});

describe("decideDelivery: whether the work was delivered", () => {
  it.each([[200, "delivered"], [201, "delivered"], [304, "delivered"], [400, "input_refused"], [422, "input_refused"], [500, "failed"], [504, "failed"]] as const)(
    "an answer %i is %s",
    (status, expected) => {
      expect(decideDelivery(new Response(null, { status }), null).status).toBe(expected);
    },
  );

  it("a thrown handler is a failed delivery with a 500", () => {
    expect(decideDelivery(null, new Error("boom"))).toEqual({ status: "failed", httpStatus: 500, error: "Error: boom" });
  });

  it("a 5xx keeps its own status for the answer", () => {
    expect(decideDelivery(new Response(null, { status: 504 }), null)).toMatchObject({ status: "failed", httpStatus: 504 });
  });
});
