import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { ChatAlert } from "../../../app/_components/ChatOutcome";
import { shortfallOf } from "../../../app/_components/problem";
import type { Problem } from "../../../app/_components/types";

/** What the chat panel says when it was refused: the same notices as the generate panel's. */
const refused = (problem: Problem, retryAfter: string | null = null) =>
  renderToStaticMarkup(<ChatAlert ending={{ kind: "refused", problem, retryAfter }} />).replace(/<!-- -->/g, "");

describe("refusal notices", () => {
  it("a 402 tells the price, the balance, that nothing was charged, and where to buy more", () => {
    const html = refused({ status: 402, code: "insufficient_tokens", balance: 1, cost: 2, topUpUrl: "https://shop.example/tokens" });
    expect(html).toContain("Not enough tokens");
    expect(html).toContain("An answer needs at least 2 tokens and your balance is 1. Nothing was answered and nothing was charged.");
    expect(html).toContain('<a href="https://shop.example/tokens">buy more tokens</a>');
    // No shop configured ("/" is the default): no link.
    expect(refused({ status: 402, code: "insufficient_tokens", balance: 1, cost: 2, topUpUrl: "/" })).not.toContain("<a ");
  });

  it("a 401 says signed out with the way back in; a 503 says when to retry", () => {
    const signedOut = refused({ status: 401, code: "invalid_token", detail: "expired" });
    expect(signedOut).toContain("Signed out");
    expect(signedOut).toContain('<a href="/">Sign in again</a>');
    const down = refused({ status: 503, code: "metering_unavailable", detail: "down" }, "2");
    expect(down).toContain("Not answered");
    expect(down).toContain("Try again in 2 s.");
    expect(down).not.toContain("Sign in again");
  });

  it("only an insufficient_tokens problem with both figures is a shortfall", () => {
    expect(shortfallOf({ status: 402, code: "insufficient_tokens", balance: 0, cost: 3 })).toEqual({ balance: 0, cost: 3, topUpUrl: null });
    expect(shortfallOf({ status: 402, code: "insufficient_tokens", cost: 3 })).toBeNull();
    expect(shortfallOf({ status: 503, code: "metering_unavailable" })).toBeNull();
  });
});
