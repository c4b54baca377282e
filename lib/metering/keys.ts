import { assertUserId } from "./user-id";

/**
 * Key schema. Every key of one user carries the same hash tag `{<userId>}`, so a Redis
 * Cluster (or any store that shards by slot) keeps them in one slot and a MULTI/EXEC over
 * them is legal. Nothing Tollgate does in a transaction touches two users' keys, except
 * the debit coalescer, which carries several users' debits in one transaction (turn it
 * off on a Redis Cluster: TOLLGATE_COALESCE=0; see coalescer.ts).
 *
 *   <ns>:{<user>}:bal            integer balance (DECRBY/INCRBY target)
 *   <ns>:{<user>}:tot            hash: credits, debits, refunds, generations, used:<YYYY-MM>
 *   <ns>:{<user>}:hist           sorted set of settled history entries (JSON), score = time
 *   <ns>:{<user>}:daily          hash "<YYYY-MM-DD>|<route>" → tokens spent (kept ~40 days)
 *   <ns>:{<user>}:open           sorted set of operation ids not yet settled, score = time
 *   <ns>:{<user>}:op:<id>        hash describing one operation (kind, amount, route, ...)
 *   <ns>:{<user>}:r:<id>         the balance right after the operation (COPY of bal)
 *   <ns>:{<user>}:void:<id>      set when a debit's round trip failed: never settle it
 *   <ns>:{<user>}:g:<name>       claim of a one-time grant ("2026-11", "seed") → op id
 *   <ns>:{<user>}:ga:<name>      set when that grant's tokens are in the balance
 *   <ns>:{<user>}:cl:<key>       claim of a client-keyed credit → op id
 *   <ns>:{<user>}:rf:<debitId>   claim of the refund of one debit → op id
 *   <ns>:{<user>}:hc:<holdId>    the charge a hold settles for, claimed once: "<charge>:<how>"
 *   <ns>:{<user>}:idem:<key>     Idempotency-Key of a metered request → debit id
 *   <ns>:{<user>}:idemres:<key>  the stored response for that key
 *   <ns>:{<user>}:heal           short lock: one healer per user at a time
 *   <ns>:{<user>}:reset          hash {id, at} of the last reset
 *   <ns>:{<user>}:epoch          counts resets (INCR in the reset's transaction)
 *   <ns>:{<user>}:e:<id>         the epoch a credit/refill/refund was applied in
 *   <ns>:{<user>}:cg:<id>        a carried debit given back without touching the new ledger
 *   <ns>:{<user>}:cx:<resetId>   what a reset's carry step changed
 *   <ns>:{<user>}:cxe:<resetId>  the epoch that carry step landed in
 *   <ns>:{<user>}:carry:<resetId>  the `open` set as the reset found it (what it carried over)
 */
export interface UserKeys {
  readonly userId: string;
  readonly balance: string;
  readonly totals: string;
  readonly history: string;
  readonly daily: string;
  readonly open: string;
  readonly healLock: string;
  readonly lastReset: string;
  readonly epoch: string;
  op(id: string): string;
  carry(resetId: string): string;
  appliedEpoch(id: string): string;
  givenToOldLedger(id: string): string;
  carryEffects(resetId: string): string;
  carryEffectsEpoch(resetId: string): string;
  result(id: string): string;
  void(id: string): string;
  grant(name: string): string;
  grantApplied(name: string): string;
  creditClaim(key: string): string;
  refundClaim(debitId: string): string;
  holdCharge(holdId: string): string;
  idempotency(key: string): string;
  idempotentResponse(key: string): string;
}

export function userKeys(namespace: string, userId: string): UserKeys {
  const base = `${namespace}:{${assertUserId(userId)}}`;
  return {
    userId,
    balance: `${base}:bal`,
    totals: `${base}:tot`,
    history: `${base}:hist`,
    daily: `${base}:daily`,
    open: `${base}:open`,
    healLock: `${base}:heal`,
    lastReset: `${base}:reset`,
    epoch: `${base}:epoch`,
    op: (id) => `${base}:op:${id}`,
    carry: (resetId) => `${base}:carry:${resetId}`,
    appliedEpoch: (id) => `${base}:e:${id}`,
    givenToOldLedger: (id) => `${base}:cg:${id}`,
    carryEffects: (resetId) => `${base}:cx:${resetId}`,
    carryEffectsEpoch: (resetId) => `${base}:cxe:${resetId}`,
    result: (id) => `${base}:r:${id}`,
    void: (id) => `${base}:void:${id}`,
    grant: (name) => `${base}:g:${name}`,
    grantApplied: (name) => `${base}:ga:${name}`,
    creditClaim: (key) => `${base}:cl:${key}`,
    refundClaim: (debitId) => `${base}:rf:${debitId}`,
    holdCharge: (holdId) => `${base}:hc:${holdId}`,
    idempotency: (key) => `${base}:idem:${key}`,
    idempotentResponse: (key) => `${base}:idemres:${key}`,
  };
}

/** SCAN pattern matching every user's balance key in a namespace (for the monthly cron). */
export function balancePattern(namespace: string): string {
  return `${namespace}:{*}:bal`;
}

/** Inverse of the balance key, for SCAN results. */
export function userIdFromBalanceKey(namespace: string, key: string): string | null {
  const prefix = `${namespace}:{`;
  if (!key.startsWith(prefix) || !key.endsWith("}:bal")) return null;
  return key.slice(prefix.length, -"}:bal".length);
}

/** Environment names we namespace by. Anything else is refused, not silently mapped. */
export type DeploymentEnv = "development" | "preview" | "production" | "test";

export function namespaceFor(env: DeploymentEnv, prefix = "tg"): string {
  return `${prefix}:${env}`;
}
