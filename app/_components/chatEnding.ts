import { readChatCharge } from "./charge";
import type { ChatCharge, Problem } from "./types";

/** How the last answer ended, once it has. */
export type ChatEnding =
  /**
   * `charge` is null when the finish part did not arrive (a stop usually cuts it off): the
   * charge is then the history entry of `holdId` (X-Tokens-Hold), once it is settled.
   */
  | { kind: "finished" | "stopped"; charge: ChatCharge | null; holdId: string | null }
  /** Stopped before Tollgate answered. */
  | { kind: "cancelled" }
  /** Refused before streaming: a problem+json answer (402, 401, 503…). */
  | { kind: "refused"; problem: Problem; retryAfter: string | null }
  /** Cut off after it started: the connection dropped or the stream carried an error. */
  | { kind: "failed" };

/** What the response said before its body, about the request it answers. */
export type Answered =
  | { ok: true; reserved: number | null; holdId: string | null }
  | { ok: false; problem: Problem; retryAfter: string | null };

/**
 * How an answer ended, from what its response said (`null`: no response, the fetch was
 * aborted or failed) and useChat's onFinish flags. A refusal wins over the error useChat
 * makes of it; a stop before the response has no answer, and no charge to show.
 */
export function endingOf(answer: Answered | null, metadata: unknown, isAbort: boolean, isError: boolean): ChatEnding {
  if (answer?.ok === false) return { kind: "refused", problem: answer.problem, retryAfter: answer.retryAfter };
  if (answer === null) return isAbort ? { kind: "cancelled" } : { kind: "failed" };
  if (isError) return { kind: "failed" };
  return { kind: isAbort ? "stopped" : "finished", charge: readChatCharge(metadata), holdId: answer.holdId };
}
