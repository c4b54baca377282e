/**
 * Stable error codes of the metering core. Expected outcomes (a refused debit, a replayed
 * request) are returned values, never errors; these are for bad input and infrastructure.
 */
export type MeteringErrorCode =
  | "invalid_user_id"
  | "invalid_amount"
  | "invalid_argument"
  | "kv_unavailable"
  | "kv_protocol";

export class MeteringError extends Error {
  readonly code: MeteringErrorCode;
  constructor(code: MeteringErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input that must never reach the store: the caller gets a 400 and nothing changes. */
export class InvalidInputError extends MeteringError {
  constructor(code: "invalid_user_id" | "invalid_amount" | "invalid_argument", message: string) {
    super(code, message);
  }
}

/**
 * The store did not answer in time, or answered with a transport error. Whether a write
 * inside the failed round trip was applied is unknown: callers must fail closed.
 */
export class KvUnavailableError extends MeteringError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("kv_unavailable", message, options);
  }
}

/** The store answered something Tollgate did not write (a key of the wrong type, garbage). */
export class KvProtocolError extends MeteringError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("kv_protocol", message, options);
  }
}
