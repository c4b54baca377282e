import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions, type KeyInput } from "jose";
import { isValidUserId } from "../user-id";
import { VerifiedTokenCache } from "./cache";
import { isAdminClaims } from "./claims";
import type { AuthConfig } from "./config";
import { authFailure, JwksUnavailableError, type VerifiedToken, type VerifyResult } from "./errors";
import { failureFromJoseError } from "./jose-errors";

/** Tokens above this are refused before any parsing: real ones are 300–1500 bytes. */
export const MAX_TOKEN_BYTES = 4096;

/** @default 10_000 */
export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;

/**
 * JWS compact serialization: base64url header and payload, base64url signature (empty for
 * `alg: none`, which we let through to jose so it is refused as an algorithm, not as junk).
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface TokenVerifierOptions {
  /** Current time, epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Verified tokens kept in memory; 0 disables the cache. @default 10_000 */
  cacheSize?: number;
}

export type TokenVerifier = (token: string) => Promise<VerifyResult>;

/**
 * Builds the request-path verifier. Every expected refusal is a returned `AuthFailure`;
 * the returned function throws only on a configuration bug jose refuses to work with
 * (for example an IdP key shorter than 2048 bits), so such a bug fails closed as a 500.
 */
export function createTokenVerifier(config: AuthConfig, opts: TokenVerifierOptions = {}): TokenVerifier {
  const now = opts.now ?? Date.now;
  const cache = new VerifiedTokenCache(opts.cacheSize ?? DEFAULT_TOKEN_CACHE_SIZE);
  const key = keyFor(config);
  const baseOptions: JWTVerifyOptions = {
    // Pinned: the token's header never chooses the algorithm, so `alg: none` and HS/RS
    // key confusion are refused before any key is touched.
    algorithms: [...config.algorithms],
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    // A token without `exp` would be valid forever, and the cache needs an end date.
    requiredClaims: ["exp", "sub"],
  };

  return async function verifyToken(token: string): Promise<VerifyResult> {
    if (typeof token !== "string" || token === "") return authFailure("token_missing");
    // Before the cache: looking a string up hashes all of it.
    if (token.length > MAX_TOKEN_BYTES) return authFailure("token_too_large");
    const nowMs = now();
    const nowSeconds = nowMs / 1000;
    const hit = cache.get(token, nowSeconds);
    if (hit !== undefined) return hit;

    if (byteLength(token) > MAX_TOKEN_BYTES) return authFailure("token_too_large");
    if (!COMPACT_JWS.test(token)) return authFailure("token_malformed");

    let payload: JWTPayload;
    try {
      payload = await verifySignatureAndClaims(token, key, { ...baseOptions, currentDate: new Date(nowMs) });
    } catch (error) {
      const failure = failureFromJoseError(error);
      if (failure === null) throw error;
      return failure;
    }

    // jose checks presence only; the id becomes part of KV keys, so check its shape too.
    if (!isValidUserId(payload.sub)) return authFailure("token_invalid_subject");
    if (typeof payload.exp !== "number") return authFailure("token_malformed"); // jose enforces; narrows the type
    const verified: VerifiedToken = {
      status: "verified",
      userId: payload.sub,
      isAdmin: isAdminClaims(payload, config.adminClaim),
      expiresAt: payload.exp,
    };
    cache.set(token, verified, nowSeconds);
    return verified;
  };
}

async function verifySignatureAndClaims(
  token: string,
  key: KeyInput | JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, key, options)).payload;
  } catch (error) {
    if (!isMultipleMatchingKeys(error)) throw error;
    // A token without `kid` while the IdP publishes several keys of its alg (common during
    // rotation). jose hands us the candidates; the first that verifies wins. A claim error
    // after a good signature is the real answer; only signature failures mean "try next".
    let last: unknown = error;
    for await (const candidate of error) {
      try {
        return (await jwtVerify(token, candidate, options)).payload;
      } catch (attempt) {
        if ((attempt as { code?: unknown }).code !== "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") throw attempt;
        last = attempt;
      }
    }
    throw last;
  }
}

function isMultipleMatchingKeys(error: unknown): error is AsyncIterable<KeyInput> {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { code?: unknown }).code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS" &&
    Symbol.asyncIterator in error
  );
}

/**
 * One key source per algorithm family: HS* tokens are checked only against the shared
 * secret, asymmetric ones only against the IdP's key set. A JWKS public key can therefore
 * never be used as an HMAC secret, whatever the token's header says.
 */
function keyFor(config: AuthConfig): KeyInput | JWTVerifyGetKey {
  const { secret } = config;
  const jwks = config.jwks === undefined ? undefined : guardJwks(config.jwks);
  if (jwks === undefined) {
    if (secret === undefined) throw new TypeError("AuthConfig has neither a secret nor a JWKS");
    return secret;
  }
  if (secret === undefined) return jwks;
  return (header, input) => (header.alg?.startsWith("HS") ? secret : jwks(header, input));
}

/**
 * Tells "the key set could not be obtained" apart from "no key in it fits this token":
 * everything except jose's key-matching verdicts becomes a JwksUnavailableError (503).
 */
function guardJwks(jwks: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, input) => {
    try {
      return await jwks(header, input);
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (
        code === "ERR_JWKS_NO_MATCHING_KEY" ||
        code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS" ||
        code === "ERR_JOSE_NOT_SUPPORTED"
      ) {
        throw error;
      }
      throw new JwksUnavailableError({ cause: error });
    }
  };
}

/** UTF-8 length. A JWT is ASCII, so the common case never allocates. */
function byteLength(token: string): number {
  return /^[\x00-\x7f]*$/.test(token) ? token.length : new TextEncoder().encode(token).length;
}
