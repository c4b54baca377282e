import { authConfigFromEnv, createTokenVerifier, type TokenVerifier } from "./auth";
import { createGate, type GateDecision } from "./gateway/gate";
import { createGateSigner, type GateSigner } from "./gateway/forwarded-headers";
import { BENCH_PRICING, PRICING, type PricedRoute } from "./gateway/pricing";
import type { TokenHeaderPolicy } from "./gateway/token-headers";
import { createKvClient } from "./kv-client";
import { createMetering, type Metering, type MeteringKv, nextPeriodStart } from "./metering";
import { createDebitCoalescer } from "./metering/coalescer";
import { type Settings, settingsFromEnv } from "./settings";

/**
 * The application's singletons, built once per module instance from the environment:
 * one for the Edge middleware, one for the Node route handlers. Module state lives across
 * requests in `next start` and in a warm Vercel function, which is what lets concurrent
 * debits share a transaction (coalescer.ts) and verified tokens be cached.
 */
export interface Runtime {
  settings: Settings;
  metering: Metering;
  verify: TokenVerifier;
  signer: GateSigner;
  /** The gate in front of the handler (middleware, proxy): signs the pass it forwards. */
  gate: (request: Request) => Promise<GateDecision>;
  /** The same gate run inside the handler (`metered()`): the pass stays in memory. */
  inlineGate: (request: Request) => Promise<GateDecision>;
  /** For the balance headers `metered()` writes. */
  tokenHeaders: TokenHeaderPolicy;
  /** The pricing table the gates use. */
  pricing: readonly PricedRoute[];
}

let cached: Runtime | null = null;

/**
 * Work that must outlive the request that started it: a void after a lost answer (retried
 * for seconds), a compensation, a heal. The middleware hands these to `waitUntil`, so a
 * platform that freezes an instance after the response still lets them finish.
 */
const pending = new Set<Promise<unknown>>();

function track(task: Promise<unknown>): void {
  const guarded = task.catch(() => undefined).finally(() => pending.delete(guarded));
  pending.add(guarded);
}

export function pendingWork(): Promise<unknown> | null {
  return pending.size === 0 ? null : Promise.allSettled([...pending]);
}

/** The runtime for the Edge middleware (and any Web-standard caller): KV over `fetch`. */
export function getRuntime(): Runtime {
  cached ??= buildRuntime(process.env);
  return cached;
}

export interface RuntimePlatform {
  /** Builds the KV client; the Node side passes one that skips `fetch` (lib/server/runtime.ts). */
  createKv?: (options: Settings["kv"]) => MeteringKv;
}

export function buildRuntime(env: Record<string, string | undefined>, platform: RuntimePlatform = {}): Runtime {
  const settings = settingsFromEnv(env);
  const kv = (platform.createKv ?? createKvClient)(settings.kv);
  const metering = createMetering(kv, settings.metering, { background: track });
  const verify = createTokenVerifier(authConfigFromEnv(env));
  const signer = createGateSigner({
    secret: settings.gateSecret,
    previousSecrets: settings.gatePreviousSecret === undefined ? [] : [settings.gatePreviousSecret],
  });
  const debit = settings.coalesce ? createDebitCoalescer(metering, { background: track }).debit : metering.debit;
  const tokenHeaders: TokenHeaderPolicy = {
    monthlyAllowance: settings.metering.monthlyAllowance ?? 0,
    secondsToPeriodEnd: () => (nextPeriodStart(Date.now()) - Date.now()) / 1000,
  };
  const pricing = settings.benchRoutes ? [...PRICING, ...BENCH_PRICING] : PRICING;
  const gateOptions = {
    verify,
    debit,
    pricing,
    topUpUrl: settings.topUpUrl,
    publicOrigin: settings.publicOrigin,
    allowedHosts: settings.allowedHosts,
    ...tokenHeaders,
    log: (event: string, fields: Record<string, unknown>) => console.warn(JSON.stringify({ event, ...fields })),
  };
  return {
    settings, metering, verify, signer, tokenHeaders, pricing,
    gate: createGate({ ...gateOptions, signer }),
    inlineGate: createGate({ ...gateOptions, signer: null }),
  };
}
