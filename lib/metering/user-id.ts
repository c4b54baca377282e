import { InvalidInputError } from "./errors";

/**
 * User ids come from outside (a JWT `sub`, an admin URL) and become part of KV keys.
 * Allowed: 1–128 chars of letters, digits and `_ . @ : | + -`, starting with a letter or
 * digit. That admits the `sub` formats of common identity providers (`auth0|abc`,
 * `user_2abc`, UUIDs, e-mail-like ids) and excludes everything with a meaning in a key:
 * `{}` would break the per-user hash tag, `* ? [ ]` are SCAN glob characters, and
 * whitespace or control characters have no business in an id.
 */
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@:|+-]{0,127}$/;

export function isValidUserId(value: unknown): value is string {
  return typeof value === "string" && USER_ID.test(value);
}

export function assertUserId(value: unknown): string {
  if (!isValidUserId(value)) {
    throw new InvalidInputError(
      "invalid_user_id",
      "user id must be 1-128 characters of letters, digits and _ . @ : | + -, starting with a letter or digit",
    );
  }
  return value;
}
