/**
 * User ids come from outside (a JWT `sub`, an admin URL) and become part of KV keys.
 * Allowed: 1–128 chars of letters, digits and `_ . @ : | + -`, starting with a letter or
 * digit. That admits the `sub` formats of common identity providers (`auth0|abc`,
 * `user_2abc`, UUIDs, e-mail-like ids) and excludes everything with a meaning in a key:
 * `{}` would break the per-user hash tag, `* ? [ ]` are SCAN glob characters, and
 * whitespace or control characters have no business in an id.
 *
 * Its own module: the verifier (a token's `sub`) and the metering core (a key) both
 * check ids, and neither should depend on the other for it.
 */
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@:|+-]{0,127}$/;

/** The rule in words, for error messages. */
export const USER_ID_RULE = "1-128 characters of letters, digits and _ . @ : | + -, starting with a letter or digit";

export function isValidUserId(value: unknown): value is string {
  return typeof value === "string" && USER_ID.test(value);
}
