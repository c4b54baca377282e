import { describe, expect, it } from "vitest";
import { type Answered, endingOf } from "@/app/_components/chatEnding";

const streamed: Answered = { ok: true, reserved: 310, holdId: "hld_1" };
const refused: Answered = { ok: false, problem: { status: 402, code: "insufficient_tokens", balance: 2, cost: 5 }, retryAfter: null };
const finish = { tollgate: { debitId: "hld_1", reserved: 310, charged: 65, released: 245, remaining: 935 } };

describe("endingOf", () => {
  it("a stream read to the end carries its charge", () => {
    expect(endingOf(streamed, finish, false, false)).toEqual({ kind: "finished", charge: finish.tollgate, holdId: "hld_1" });
  });

  it("a stop after the response: stopped, with the charge only if the finish part made it", () => {
    expect(endingOf(streamed, undefined, true, false)).toEqual({ kind: "stopped", charge: null, holdId: "hld_1" });
    expect(endingOf(streamed, finish, true, false)).toEqual({ kind: "stopped", charge: finish.tollgate, holdId: "hld_1" });
  });

  it("a stop before any response is cancelled, not a failure", () => {
    expect(endingOf(null, undefined, true, false)).toEqual({ kind: "cancelled" });
  });

  it("a refusal keeps its problem, though useChat also calls it an error", () => {
    expect(endingOf(refused, undefined, false, true)).toEqual({ kind: "refused", problem: refused.problem, retryAfter: null });
  });

  it("an error without a refusal (no response, or an error in the stream) is a failure", () => {
    expect(endingOf(null, undefined, false, true)).toEqual({ kind: "failed" });
    expect(endingOf(streamed, undefined, false, true)).toEqual({ kind: "failed" });
  });
});
