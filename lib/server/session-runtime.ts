import { authConfigFromEnv, type AuthConfig, mintToken } from "../auth";
import { getNodeRuntime } from "./runtime";
import { createSessionHandlers, DEV_IDENTITIES, DEV_SESSION_TTL_SECONDS, type DevIdentity, type SessionHandlers } from "./session";

let handlers: SessionHandlers | null = null;

/** The session routes' handlers, built on first use from the runtime (like `metered`). */
export function sessionHandlers(): SessionHandlers {
  const runtime = getNodeRuntime();
  handlers ??= createSessionHandlers({ verify: runtime.verify, devMint: devMinter(), publicOrigin: runtime.settings.publicOrigin });
  return handlers;
}

/** Whether the dashboard offers the one-click development sign-in. */
export function devSignInAvailable(): boolean {
  return devMinter() !== null;
}

let minter: { mint: ((identity: DevIdentity) => Promise<string>) | null } | null = null;

/**
 * Mints with the same key, issuer and audience the verifier pins, so a dev session is an
 * ordinary token. Present only when the deployment allows it (`settings.devSignIn`: never
 * in preview or production), the auth config agrees it is not production, and there is a
 * shared secret to sign with (with only an IdP's JWKS, tokens come from the IdP).
 */
function devMinter(): ((identity: DevIdentity) => Promise<string>) | null {
  if (minter === null) {
    // The platform edge: the same reading of the environment lib/runtime.ts does.
    const auth: AuthConfig = authConfigFromEnv(process.env);
    const secret = auth.secret;
    const enabled = getNodeRuntime().settings.devSignIn && !auth.production && secret !== undefined;
    minter = {
      mint: enabled
        ? (identity) => mintToken({
            sub: DEV_IDENTITIES[identity].sub,
            admin: DEV_IDENTITIES[identity].admin,
            ttlSeconds: DEV_SESSION_TTL_SECONDS,
            secret,
            issuer: auth.issuer,
            audience: auth.audience,
          })
        : null,
    };
  }
  return minter.mint;
}
