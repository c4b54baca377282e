export { isAdminApiToken, MIN_ADMIN_API_TOKEN_LENGTH } from "./admin-token";
export { type Authenticate, type AuthenticateOptions, type Authentication, createAuthenticate } from "./authenticate";
export {
  authConfigFromEnv,
  createAuthConfig,
  JWKS_ALGORITHMS,
  MIN_SECRET_BYTES,
  SECRET_ALGORITHMS,
  type AdminClaimRule,
  type AuthConfig,
  type AuthConfigInput,
} from "./config";
export {
  type CredentialOptions,
  type Credentials,
  extractCredentials,
  isSecureRequest,
  SECURE_SESSION_COOKIE,
  SESSION_COOKIE,
  sessionCookieName,
} from "./credentials";
export {
  AUTH_FAILURE_CODES,
  AUTH_FAILURE_MESSAGES,
  JwksUnavailableError,
  type AuthFailure,
  type AuthFailureCode,
  type VerifiedToken,
  type VerifyResult,
} from "./errors";
export { mintToken, type MintTokenInput } from "./mint";
export { MAX_TTL_SECONDS, parseTtl } from "./ttl";
export {
  createTokenVerifier,
  DEFAULT_TOKEN_CACHE_SIZE,
  MAX_TOKEN_BYTES,
  type TokenVerifier,
  type TokenVerifierOptions,
} from "./verify";
