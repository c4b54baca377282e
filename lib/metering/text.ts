import { InvalidInputError } from "./errors";

/**
 * C0 (U+0000–U+001F), DEL and C1 (U+0080–U+009F). C1 matters too: U+009B is a one-character
 * CSI that some terminals honour, so a reason could move the cursor or recolour a line of
 * `npm run admin -- show`, and U+0085 is a line break to some log readers.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Free text that ends up in history entries (reasons, route labels). Bounded and free of
 * control characters, so a history line can be shown anywhere without surprises.
 */
export function assertText(value: unknown, what: string, maxLength = 200): string {
  if (typeof value !== "string" || value.length === 0 || value.length > maxLength || CONTROL.test(value)) {
    throw new InvalidInputError("invalid_argument", `${what} must be 1-${maxLength} printable characters`);
  }
  return value;
}

export function optionalText(value: unknown, what: string, maxLength = 200): string | null {
  return value === undefined || value === null ? null : assertText(value, what, maxLength);
}

/** Idempotency keys are client-chosen and become part of a key: a restricted charset. */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

export function assertIdempotencyKey(value: unknown): string {
  if (typeof value !== "string" || !IDEMPOTENCY_KEY.test(value)) {
    throw new InvalidInputError("invalid_argument", "idempotency key must be 1-128 characters of letters, digits and _ . : -");
  }
  return value;
}

/** Operation ids accepted from outside (refund requests) have the shape Tollgate mints. */
const OPERATION_ID = /^[a-z]{1,8}_[0-9a-f]{32}$/;

export function assertOperationId(value: unknown): string {
  if (typeof value !== "string" || !OPERATION_ID.test(value)) {
    throw new InvalidInputError("invalid_argument", "not a Tollgate operation id");
  }
  return value;
}

export function isValidIdempotencyKey(value: unknown): value is string {
  return typeof value === "string" && IDEMPOTENCY_KEY.test(value);
}
