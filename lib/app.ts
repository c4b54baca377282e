import { type Authenticate, createAuthenticate, createTokenVerifier, mintToken, type TokenVerifier } from "./auth";
import { createSessionHandlers, DEV_IDENTITIES, DEV_SESSION_TTL_SECONDS, type DevIdentity, type SessionHandlers } from "./auth/session";
import { createGate, type GateDecision } from "./gateway/gate";
import { createGateSigner, type GateSigner } from "./gateway/forwarded-headers";
import { BENCH_PRICING, PRICING, type PricedRoute } from "./gateway/pricing";
import type { TokenHeaderPolicy } from "./gateway/token-headers";
import { createKvClient } from "./kv-client";
import { createMetering, type Metering, type MeteringKv, nextPeriodStart } from "./metering";
import { createDebitCoalescer } from "./metering/coalescer";
import { createSeedApi, type SeedApi } from "./seed-api";
import { loadSettings, type Settings } from "./settings";

/**
 * The composition root: the one place the application is built, from its settings and the
 * platform it runs on. Everything a request needs comes from here: the middleware, the
 * route handlers and the pages ask `getApp(platform)`; nothing else reads the environment
 * or builds a verifier, a gate or a store client.
 *
 * One App per module instance (one for the Edge middleware, one for the Node handlers).
 * Module state lives across requests in `next start` and in a warm Vercel function, which
 * is what lets concurrent debits share a transaction (coalescer.ts) and verified tokens
 * be cached.
 */
export interface App {
  settings: Settings;
  metering: Metering;
  /** The seed application's API (getUserStats, recordArticleGeneration, addTokens, resetStats). */
  seed: SeedApi;
  verify: TokenVerifier;
  /** Who is calling, for the API routes and the pages (ADMIN_API_TOKEN included). */
  authenticate: Authenticate;
  signer: GateSigner;
  /** The gate in front of the handler (middleware, proxy): signs the pass it forwards. */
  gate: (request: Request) => Promise<GateDecision>;
  /** The same gate run inside the handler (`metered()`): the pass stays in memory. */
  inlineGate: (request: Request) => Promise<GateDecision>;
  /** For the balance headers `metered()` writes. */
  tokenHeaders: TokenHeaderPolicy;
  /** The pricing table the gates use. */
  pricing: readonly PricedRoute[];
  session: SessionHandlers;
  /** Whether the pages offer the one-click development sign-in. */
  devSignIn: boolean;
  log(event: string, fields: Record<string, unknown>): void;
  /**
   * What a failed background task means (a void, a heal, a settle, a stored answer): it is
   * logged, never thrown, and a healer finishes what it left open. Hand the result to
   * `waitUntil`/`after`.
   */
  background(task: Promise<unknown>): Promise<void>;
}

/** What differs between the Edge and Node runtimes: how the store is reached. */
export interface Platform {
  createKv(options: Settings["kv"]): MeteringKv;
}

/** Web-standard `fetch` (the Edge middleware); the Node handlers pass lib/server/node-platform.ts. */
export const WEB_PLATFORM: Platform = { createKv: createKvClient };

export function buildApp(settings: Settings, platform: Platform): App {
  const log = (event: string, fields: Record<string, unknown>) => console.warn(JSON.stringify({ event, ...fields }));
  const background = (task: Promise<unknown>) =>
    task.then(() => undefined, (error: unknown) => log("background.failed", { error: String(error) }));
  const metering = createMetering(platform.createKv(settings.kv), settings.metering);
  const verify = createTokenVerifier(settings.auth);
  const signer = createGateSigner({
    secret: settings.gateSecret,
    previousSecrets: settings.gatePreviousSecret === undefined ? [] : [settings.gatePreviousSecret],
  });
  const debit = settings.coalesce ? createDebitCoalescer(metering).debit : metering.debit;
  const tokenHeaders: TokenHeaderPolicy = {
    monthlyAllowance: settings.metering.monthlyAllowance ?? 0,
    secondsToPeriodEnd: () => (nextPeriodStart(Date.now()) - Date.now()) / 1000,
  };
  const pricing = settings.benchRoutes ? [...PRICING, ...BENCH_PRICING] : PRICING;
  const gateOptions = {
    verify, debit, pricing, log, ...tokenHeaders,
    hold: metering.hold,
    holdDeadlineMs: settings.holdDeadlineMs,
    topUpUrl: settings.topUpUrl,
    publicOrigin: settings.publicOrigin,
    allowedHosts: settings.allowedHosts,
  };
  const devMint = developmentMinter(settings);
  return {
    settings, metering, verify, signer, tokenHeaders, pricing, log, background,
    seed: createSeedApi(metering),
    authenticate: createAuthenticate({ verify, publicOrigin: settings.publicOrigin, adminApiToken: settings.adminApiToken }),
    gate: createGate({ ...gateOptions, signer }),
    inlineGate: createGate({ ...gateOptions, signer: null }),
    session: createSessionHandlers({ verify, devMint, publicOrigin: settings.publicOrigin }),
    devSignIn: devMint !== null,
  };
}

/**
 * The one-click development sign-in mints with the key, issuer and audience the verifier
 * pins, so a development session is an ordinary token. Only where the deployment allows it
 * (`settings.devSignIn`: never in preview or production) and there is a shared secret to
 * sign with (with only an IdP's JWKS, tokens come from the IdP).
 */
function developmentMinter(settings: Settings): ((identity: DevIdentity) => Promise<string>) | null {
  // `devSignIn` is already off in preview and production (lib/settings.ts).
  const secret = settings.auth.secret;
  if (!settings.devSignIn || secret === undefined) return null;
  return (identity) => mintToken({
    sub: DEV_IDENTITIES[identity].sub,
    admin: DEV_IDENTITIES[identity].admin,
    ttlSeconds: DEV_SESSION_TTL_SECONDS,
    secret,
    issuer: settings.auth.issuer,
    audience: settings.auth.audience,
  });
}

const built = new Map<Platform, App>();

/**
 * This module instance's App for `platform`, built on first use: a missing setting fails
 * the request that needed it (and instrumentation.ts refuses to start), never the build.
 * One per platform, so asking with the Web platform first never hands the Node handlers a
 * `fetch` client.
 */
export function getApp(platform: Platform = WEB_PLATFORM): App {
  let app = built.get(platform);
  if (app === undefined) {
    app = buildApp(loadSettings(), platform);
    built.set(platform, app);
  }
  return app;
}
