/**
 * Why a token was refused. Callers `switch` on these; they are part of the HTTP contract
 * (the `reason` member of a 401 body), so existing codes never change meaning.
 */
export type AuthFailureCode =
  | "token_missing"
  | "token_too_large"
  | "token_malformed"
  | "token_alg_not_allowed"
  | "token_bad_signature"
  | "token_expired"
  | "token_not_yet_valid"
  | "token_wrong_issuer"
  | "token_wrong_audience"
  | "token_invalid_subject"
  | "token_jwks_unavailable";

/** Every code, for exhaustive tests and for validating codes that cross a boundary. */
export const AUTH_FAILURE_CODES: readonly AuthFailureCode[] = [
  "token_missing",
  "token_too_large",
  "token_malformed",
  "token_alg_not_allowed",
  "token_bad_signature",
  "token_expired",
  "token_not_yet_valid",
  "token_wrong_issuer",
  "token_wrong_audience",
  "token_invalid_subject",
  "token_jwks_unavailable",
];

export interface VerifiedToken {
  readonly status: "verified";
  /** The token's `sub`, already checked with `isValidUserId`. */
  readonly userId: string;
  readonly isAdmin: boolean;
  /** The token's `exp`, epoch seconds. */
  readonly expiresAt: number;
}

export interface AuthFailure {
  readonly status: "refused";
  readonly code: AuthFailureCode;
  /**
   * Safe to show the client (it ends up in `WWW-Authenticate`): fixed wording per code,
   * never the token, a claim value or a secret.
   */
  readonly message: string;
  /** The underlying error, for server logs only (a jose error, a fetch failure). */
  readonly cause?: unknown;
}

export type VerifyResult = VerifiedToken | AuthFailure;

/** Fixed client-facing wording, one per code, so messages stay stable and leak nothing. */
export const AUTH_FAILURE_MESSAGES: Readonly<Record<AuthFailureCode, string>> = {
  token_missing: "no bearer token or session cookie was presented",
  token_too_large: "the token is larger than 4096 bytes",
  token_malformed: "the token is not a well-formed JWT with the required claims",
  token_alg_not_allowed: "the token's signing algorithm is not accepted",
  token_bad_signature: "the token's signature does not verify against a trusted key",
  token_expired: "the token has expired",
  token_not_yet_valid: "the token is not valid yet (nbf is in the future)",
  token_wrong_issuer: "the token's issuer is not accepted",
  token_wrong_audience: "the token's audience is not accepted",
  token_invalid_subject: "the token's subject is not a valid user id",
  token_jwks_unavailable: "the identity provider's signing keys could not be fetched",
};

export function authFailure(code: AuthFailureCode, cause?: unknown, message?: string): AuthFailure {
  const failure: AuthFailure = { status: "refused", code, message: message ?? AUTH_FAILURE_MESSAGES[code] };
  return cause === undefined ? failure : { ...failure, cause };
}

/**
 * Raised by our wrapper around the JWKS resolver when the key set itself could not be
 * obtained (timeout, network error, non-200, bad JSON, malformed set). It exists so that
 * "the IdP is down" (a 503, retry later) is never confused with "this token is bad" (a 401).
 */
export class JwksUnavailableError extends Error {
  readonly code = "token_jwks_unavailable" as const;
  constructor(options: { cause: unknown }) {
    super("JSON Web Key Set unavailable", options);
    this.name = "JwksUnavailableError";
  }
}
