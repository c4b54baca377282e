import { authFailure, type AuthFailure, type AuthFailureCode } from "./errors";

/**
 * Maps an error thrown by jose's `jwtVerify` (or by our JWKS wrapper) to a failure code.
 * We switch on jose's stable `code` strings rather than `instanceof`: the Edge runtime and
 * test VMs can load two copies of a class, and `code` is jose's documented contract.
 *
 * Returns `null` for errors that are not about the token at all (a TypeError from a key
 * that jose refuses to use, e.g. a 1024-bit RSA key in the IdP's set): those are
 * configuration bugs and the caller rethrows them, failing closed with a 500.
 */
export function failureFromJoseError(error: unknown): AuthFailure | null {
  const code = errorCode(error);
  if (code === undefined) return null;
  const mapped = mapCode(code, error);
  return mapped === null ? null : authFailure(mapped, error);
}

function mapCode(code: string, error: unknown): AuthFailureCode | null {
  switch (code) {
    case "token_jwks_unavailable": // our JwksUnavailableError
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JWKS_INVALID":
    case "ERR_JWK_INVALID":
      // The key set could not be fetched or is unusable: the IdP's problem, not the
      // token's. Answered as 503 so clients retry instead of discarding a good token.
      return "token_jwks_unavailable";
    case "ERR_JWT_EXPIRED":
      return "token_expired";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "token_bad_signature";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      // No key we trust matches the token's kid/alg, even after jose refetched the set.
      // That is a token signed by someone else: a 401. Mapping it to "unavailable" would
      // let anyone trigger 503s (and pointless retries) with a random `kid`.
      return "token_bad_signature";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      // NOT_SUPPORTED: an allowed alg the key set cannot serve (e.g. HS* against a JWKS).
      return "token_alg_not_allowed";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return mapClaimFailure(error);
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
      return "token_malformed";
    default:
      // Any other jose error (JWE codes, the generic code) is about input jose could not
      // make sense of as a signed JWT.
      return code.startsWith("ERR_J") ? "token_malformed" : null;
  }
}

function mapClaimFailure(error: unknown): AuthFailureCode {
  const { claim, reason } = error as { claim?: unknown; reason?: unknown };
  switch (claim) {
    case "iss":
      return "token_wrong_issuer";
    case "aud":
      return "token_wrong_audience";
    case "sub":
      return "token_invalid_subject";
    case "nbf":
      // `reason: "invalid"` means nbf is not a number: malformed, not "in the future".
      return reason === "check_failed" ? "token_not_yet_valid" : "token_malformed";
    default:
      // A missing or non-numeric `exp` (we require it), a bad `iat`: the token does not
      // meet our profile.
      return "token_malformed";
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
