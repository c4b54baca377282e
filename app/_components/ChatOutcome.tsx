import type { Receipt } from "./charge";
import { formatTokens } from "./format";
import { NotEnoughTokens, RefusalNotice } from "./Notices";
import { explainProblem, shortfallOf } from "./problem";
import type { ChatEnding } from "./chatEnding";

interface StatusProps {
  running: boolean;
  /** Tokens the gate reserved for the answer now streaming (X-Tokens-Reserved), once it said. */
  reserved: number | null;
  ending: ChatEnding | null;
  /** The settled charge of the last answer, once known (finish metadata, else the history). */
  receipt: Receipt | null;
}

/**
 * The chat's one status line. Always in the page, so that screen readers announce its
 * changes (a live region added with its text is often not read).
 */
export function ChatStatus(props: StatusProps) {
  return (
    <p role="status" className="chat-status" data-testid="chat-status">
      {statusText(props)}
    </p>
  );
}

function statusText({ running, reserved, ending, receipt }: StatusProps): string {
  if (running) return reserved === null ? "Waiting for Tollgate…" : `Answering… ${formatTokens(reserved)} tokens reserved`;
  if (ending === null) return "";
  switch (ending.kind) {
    case "finished":
    case "stopped": {
      const lead = ending.kind === "stopped" ? "Stopped. " : "";
      // A stop usually cuts off the finish part: the charge comes from the history, a poll later.
      if (receipt === null) return `${lead}Working out the charge…`;
      const { charged, reserved: held, released, balance } = receipt;
      return `${lead}Charged ${formatTokens(charged)} of ${formatTokens(held)} reserved, ${formatTokens(released)} released; balance ${formatTokens(balance)}`;
    }
    case "cancelled":
      return "Stopped before Tollgate answered.";
    case "refused":
    case "failed":
      return ""; // ChatAlert says it
  }
}

/** Why there is no answer, or only part of one. */
export function ChatAlert({ ending }: { ending: ChatEnding | null }) {
  if (ending?.kind === "failed") {
    return (
      <div className="notice error" role="alert">
        <p className="notice-title">Answer cut off</p>
        <p>The connection or the model failed while answering. Whatever was charged for it shows in your history.</p>
      </div>
    );
  }
  if (ending?.kind !== "refused") return null;
  const { problem, retryAfter } = ending;
  const shortfall = shortfallOf(problem);
  if (shortfall !== null) return <NotEnoughTokens shortfall={shortfall} price="An answer needs at least" done="answered" />;
  return <RefusalNotice title="Not answered" message={explainProblem(problem, retryAfter)} problem={problem} />;
}
