import { formatTokens } from "./format";
import type { Shortfall } from "./problem";
import type { Problem } from "./types";

/**
 * The refusals a metered panel shows, in the same words wherever a request was refused:
 * not enough tokens (402), or any other problem (401 with a way to sign in again).
 */
export function NotEnoughTokens({ shortfall, price, done }: {
  shortfall: Shortfall;
  /** How the price reads: "An article costs", "An answer needs at least". */
  price: string;
  /** What did not happen: "generated", "answered". */
  done: string;
}) {
  return (
    <div className="notice warning" role="alert">
      <p className="notice-title">Not enough tokens</p>
      <p>
        {price} {formatTokens(shortfall.cost)} tokens and your balance is {formatTokens(shortfall.balance)}. Nothing was {done} and
        nothing was charged. Ask an administrator to top up your account
        {shortfall.topUpUrl === null ? "." : <> or <a href={shortfall.topUpUrl}>buy more tokens</a>.</>}
      </p>
    </div>
  );
}

/** A refusal other than a shortfall: its sentence, and for a 401 the way back in. */
export function RefusalNotice({ title, message, problem }: { title: string; message: string; problem: Problem | null }) {
  const signedOut = problem?.status === 401;
  return (
    <div className="notice error" role="alert">
      <p className="notice-title">{signedOut ? "Signed out" : title}</p>
      <p>{message}</p>
      {signedOut && (
        <p>
          <a href="/">Sign in again</a>
        </p>
      )}
    </div>
  );
}
