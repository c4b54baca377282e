import type { Problem } from "./types";

/** Reads a problem+json body, or makes one up from the status when the body is not one. */
export async function readProblem(response: Response): Promise<Problem> {
  try {
    const body = (await response.json()) as unknown;
    if (typeof body === "object" && body !== null && typeof (body as Problem).code === "string") {
      return { ...(body as Problem), status: response.status };
    }
  } catch {
    // not JSON: a proxy's error page, a cut connection
  }
  return { status: response.status, code: `http_${response.status}`, detail: response.statusText || `HTTP ${response.status}` };
}

/** One sentence a person can act on, for the errors any signed-in page can meet. */
export function explainProblem(problem: Problem, retryAfter?: string | null): string {
  switch (problem.status) {
    case 401:
      return "Your session has ended or is no longer valid. Sign in again to continue.";
    case 403:
      return problem.detail ? `Not allowed: ${problem.detail}.` : "Not allowed.";
    case 503: {
      const wait = retryAfter && /^\d+$/.test(retryAfter) ? ` Try again in ${retryAfter} s.` : " Try again in a moment.";
      return `Tollgate is temporarily unavailable, so nothing was done and nothing was charged.${wait}`;
    }
    default:
      return problem.detail ? capitalise(problem.detail) + "." : `The request failed (HTTP ${problem.status}).`;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A whole-number response header (X-Tokens-Cost, X-Tokens-Reserved…), or null when absent or malformed. */
export function headerInt(response: Response, name: string): number | null {
  const raw = response.headers.get(name);
  return raw !== null && /^\d+$/.test(raw) ? Number(raw) : null;
}

/** What a 402 says: the price, the balance, and where to buy more (null when the app has no shop). */
export interface Shortfall {
  balance: number;
  cost: number;
  topUpUrl: string | null;
}

/** The shortfall a refusal reports, or null when it is not an `insufficient_tokens` problem. */
export function shortfallOf(problem: Problem): Shortfall | null {
  if (problem.code !== "insufficient_tokens" || typeof problem.balance !== "number" || typeof problem.cost !== "number") return null;
  const topUpUrl = typeof problem.topUpUrl === "string" && problem.topUpUrl !== "/" ? problem.topUpUrl : null;
  return { balance: problem.balance, cost: problem.cost, topUpUrl };
}
