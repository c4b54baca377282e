import { KvUnavailableError } from "./errors";
import type { MeteringConfig } from "./config";

/**
 * The one timing assumption Tollgate's exactness rests on, and every time-based rule
 * derived from it. Redis has no conditional increment inside MULTI and WATCH does not exist
 * over REST, so whoever gives tokens back or adds them decides from a read and then acts
 * unconditionally. Two actors must therefore never act on the same operation at once, and
 * that is arranged by time, never by a lock whose expiry its holder cannot see:
 *
 *   ASSUMPTION. A request the store has not answered within kvTimeoutMs (T) is either
 *   applied within healAfterMs / 2 of being sent, or never; and instance clocks agree to
 *   within T.
 *
 * From it:
 * - An operation's owner (the request that started it) sends nothing about it later than
 *   `ownerDeadline(op)` = op.at + healAfterMs / 2 − T: its compensation, its void, the
 *   application of a claimed credit. Past that, the step is left to a healer.
 * - A healer acts only on operations older than healAfterMs (H): by then every request of
 *   the owner has been applied or never will be (op.at + H/2 − T + H/2 < op.at + H − T,
 *   a margin of T for clocks).
 * - A healer holds the user's heal lock for `healLockMs` and sends no step after
 *   `healPassMs` into its pass; a step it sent is applied within H/2 or never, so every step
 *   of one pass has landed before the lock can pass to the next healer, which then reads
 *   afresh. A pass that lost a step's answer stops at once and keeps the lock until it
 *   expires, for the same reason.
 *
 * resolveConfig checks that the settings leave room for this (healAfterMs ≥ 5 × T).
 */
export function ownerWindowMs(config: Pick<MeteringConfig, "healAfterMs">): number {
  return Math.floor(config.healAfterMs / 2);
}

/** The last moment (metering clock) an owner may send a step about an operation started at `at`. */
export function ownerDeadline(config: Pick<MeteringConfig, "healAfterMs" | "kvTimeoutMs">, at: number): number {
  return at + ownerWindowMs(config) - config.kvTimeoutMs;
}

/**
 * How long an owner waits, polling, for something another actor is one or two round trips
 * from finishing (a claimed grant, the debits a reset carries): a few timeouts, never past
 * its own window.
 */
export function ownerWaitMs(config: Pick<MeteringConfig, "healAfterMs" | "kvTimeoutMs">): number {
  return Math.min(ownerWindowMs(config), 4 * config.kvTimeoutMs);
}

/** How long into a pass a healer may still send a step. */
export function healPassMs(config: Pick<MeteringConfig, "kvTimeoutMs">): number {
  return 4 * config.kvTimeoutMs;
}

/**
 * The heal lock's lifetime: the pass, then the longest a step sent at its very end can take
 * to be applied (H/2), plus a timeout of margin. Measured by the store from when it set the
 * lock, which is after the healer started counting its pass.
 */
export function healLockMs(config: Pick<MeteringConfig, "healAfterMs" | "kvTimeoutMs">): number {
  return healPassMs(config) + ownerWindowMs(config) + config.kvTimeoutMs;
}

/**
 * "May this actor still send a step?" A deadline on the metering clock (what other
 * instances compare against), also counted on this machine's own clock from now: a
 * metering clock injected by a test may stand still, and either one ending closes it.
 */
export interface Fence {
  isOpen(): boolean;
}

export function fenceUntil(clock: () => number, deadline: number): Fence {
  const realDeadline = Date.now() + (deadline - clock());
  return { isOpen: () => clock() <= deadline && Date.now() <= realDeadline };
}

/**
 * Thrown instead of sending a step past its fence: the step is left to a healer. A kind of
 * KvUnavailableError (the store was too slow for this request), so callers fail closed.
 */
export class FenceClosedError extends KvUnavailableError {
  constructor(what: string) {
    super(`${what}: past this actor's window; a healer finishes it`);
  }
}
