import { isAdminApiToken } from "./admin-token";
import { type Credentials, extractCredentials } from "./credentials";
import { type AuthFailure, authFailure } from "./errors";
import type { TokenVerifier } from "./verify";

/**
 * Who is calling, decided once for every entry point: the gate (before it charges), the
 * API routes' guards, and the pages' session. Each asks this one function, so a request is
 * the same caller wherever it lands.
 */
export type Authentication =
  | {
    status: "user";
    userId: string;
    isAdmin: boolean;
    /** The token's `exp`, epoch seconds. */
    expiresAt: number;
    /** Bearer header or session cookie: writes by cookie must pass the same-origin check. */
    credential: Credentials["kind"];
  }
  /** `ADMIN_API_TOKEN` as a Bearer token: an operator with no user id. */
  | { status: "admin_token" }
  | { status: "refused"; failure: AuthFailure; credential: Credentials["kind"] | null };

export interface AuthenticateOptions {
  verify: TokenVerifier;
  /** TOLLGATE_PUBLIC_ORIGIN: its scheme decides which cookie name counts. @default null */
  publicOrigin?: string | null;
  /**
   * ADMIN_API_TOKEN, accepted as a Bearer token (compared in constant time). Leave it out
   * where an operator has nothing to do (the gate charges users: an admin token there is
   * just a token that does not verify).
   */
  adminApiToken?: string;
}

/**
 * `credentials`: what `credentialsOf(request)` found, for a caller that had to look first
 * (the gate refuses a forged cookie write before any token is verified).
 */
export type Authenticate = ((request: Request, credentials?: Credentials | null) => Promise<Authentication>) & {
  credentialsOf(request: Request): Credentials | null;
};

export function createAuthenticate(options: AuthenticateOptions): Authenticate {
  const publicOrigin = options.publicOrigin ?? null;
  const credentialsOf = (request: Request) => extractCredentials(request, { publicOrigin });
  async function authenticate(request: Request, credentials: Credentials | null = credentialsOf(request)): Promise<Authentication> {
    if (credentials === null) return { status: "refused", failure: authFailure("token_missing"), credential: null };
    if (credentials.kind === "bearer" && options.adminApiToken !== undefined && (await isAdminApiToken(credentials.token, options.adminApiToken))) {
      return { status: "admin_token" };
    }
    const verified = await options.verify(credentials.token);
    if (verified.status === "refused") return { status: "refused", failure: verified, credential: credentials.kind };
    return { status: "user", userId: verified.userId, isAdmin: verified.isAdmin, expiresAt: verified.expiresAt, credential: credentials.kind };
  }
  return Object.assign(authenticate, { credentialsOf });
}
