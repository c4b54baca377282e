import { SignJWT } from "jose";
import { isValidUserId } from "../user-id";
import { MIN_SECRET_BYTES } from "./config";
import { MAX_TTL_SECONDS } from "./ttl";

export interface MintTokenInput {
  /** Becomes `sub`; must pass `isValidUserId`. */
  sub: string;
  /** Adds `role: "admin"` (the default admin rule). @default false */
  admin?: boolean;
  /** Lifetime in whole seconds, 1 … 366 days. */
  ttlSeconds: number;
  /** HS256 key: UTF-8 bytes of a string, or raw bytes. At least 32 bytes. */
  secret: string | Uint8Array;
  issuer?: string;
  audience?: string;
  /** Current time, epoch milliseconds. @default Date.now */
  now?: () => number;
}

/**
 * Signs an HS256 token the verifier accepts, for the dev token CLI, tests and the dev
 * sign-in. Bad input is a TypeError: every caller is our own code or a CLI that has
 * already validated its arguments.
 */
export async function mintToken(input: MintTokenInput): Promise<string> {
  if (!isValidUserId(input.sub)) throw new TypeError("sub must be a valid user id");
  if (!Number.isSafeInteger(input.ttlSeconds) || input.ttlSeconds <= 0 || input.ttlSeconds > MAX_TTL_SECONDS) {
    throw new TypeError(`ttlSeconds must be a whole number between 1 and ${MAX_TTL_SECONDS}`);
  }
  const key = typeof input.secret === "string" ? new TextEncoder().encode(input.secret) : input.secret;
  if (key.length < MIN_SECRET_BYTES) throw new TypeError(`secret must be at least ${MIN_SECRET_BYTES} bytes`);

  const iat = Math.floor((input.now ?? Date.now)() / 1000);
  const jwt = new SignJWT(input.admin === true ? { role: "admin" } : {})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(input.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + input.ttlSeconds);
  if (input.issuer !== undefined) jwt.setIssuer(input.issuer);
  if (input.audience !== undefined) jwt.setAudience(input.audience);
  return jwt.sign(key);
}
