/** Shorter `ADMIN_API_TOKEN` values are refused outright: guessable, so never enabled. */
export const MIN_ADMIN_API_TOKEN_LENGTH = 16;

const encoder = new TextEncoder();
let macKey: Promise<CryptoKey> | undefined;

/**
 * Constant-time check of a presented admin API token against `ADMIN_API_TOKEN`.
 *
 * Both strings are HMAC-ed with a random per-process key and the 32-byte digests compared
 * with an XOR loop. Comparing digests rather than the strings means the time taken depends
 * on neither the contents nor the lengths of the secrets, and the random key means an
 * attacker cannot precompute inputs whose digests share a prefix with the expected one.
 *
 * `false` when `expected` is unset or shorter than 16 characters: a misconfigured
 * deployment has no admin API rather than a weak one.
 */
export async function isAdminApiToken(presented: string, expected: string | undefined): Promise<boolean> {
  if (expected === undefined || expected.length < MIN_ADMIN_API_TOKEN_LENGTH) return false;
  if (typeof presented !== "string" || presented === "") return false;
  const key = await (macKey ??= crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]));
  const [a, b] = await Promise.all([
    crypto.subtle.sign("HMAC", key, encoder.encode(presented)),
    crypto.subtle.sign("HMAC", key, encoder.encode(expected)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i] ?? 0);
  return diff === 0;
}
