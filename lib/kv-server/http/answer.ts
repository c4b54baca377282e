/**
 * What the server does with one request, decided before anything is
 * written. Every step of the request path returns one of these (a refusal
 * is a value like any other answer); only `deliver` (respond.ts) turns it
 * into bytes on the socket.
 */
export type Answer =
  | {
      readonly kind: "json";
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Destroy the connection without a word: an answer lost in transit (fault injection). */
  | { readonly kind: "drop" }
  /** Write nothing: the client has gone, or the server is stopping. */
  | { readonly kind: "silence" };

export type JsonAnswer = Extract<Answer, { kind: "json" }>;

export function json(status: number, body: unknown, headers?: Readonly<Record<string, string>>): JsonAnswer {
  return headers === undefined ? { kind: "json", status, body } : { kind: "json", status, body, headers };
}

/** An `{error}` body, as Upstash answers every failure. */
export function refusal(status: number, error: string, headers?: Readonly<Record<string, string>>): JsonAnswer {
  return json(status, { error }, headers);
}

export const DROP: Answer = { kind: "drop" };
export const SILENCE: Answer = { kind: "silence" };
