export { MAX_AMOUNT } from "./amount";
export { DEFAULT_KV_TIMEOUT_MS, type MeteringConfig, type MeteringOptions, type RefillPolicy, resolveConfig } from "./config";
export type { MeteringContext } from "./context";
export type { CreditRequest } from "./credit";
export type { DebitOutcome, DebitRequest } from "./debit";
export { IDEMPOTENCY_TTL_SECONDS } from "./debit";
export { InvalidInputError, KvProtocolError, KvUnavailableError, MeteringError, type MeteringErrorCode } from "./errors";
export type { HealReport } from "./heal";
export {
  afterOfHold, chargeFor, decideHold, type Hold, type HoldDecision, type HoldOutcome, type HoldRequest, type HoldTicket, MAX_HOLD_DEADLINE_MS,
  type Settlement,
} from "./hold";
export type { HoldExpiry } from "./operation";
export type { RequestFingerprint } from "./idempotency-record";
export type { EntryType, HistoryEntry, HoldEnding } from "./history";
export { checkInvariants, type InvariantOptions } from "./invariants";
export { type DeploymentEnv, namespaceFor, userKeys, type UserKeys } from "./keys";
export type { MeteringKv } from "./kv";
export { createMetering, type Metering } from "./metering";
export type { MonthlyRunReport } from "./monthly";
export { type Clock, nextPeriodStart, periodOf, systemClock } from "./period";
export type { RefundOutcome } from "./refund";
export { type DailyUsage, type LedgerSnapshot, type OpenHold, readLedger, type UserStats } from "./stats";
export { assertIdempotencyKey, assertOperationId, isValidIdempotencyKey } from "./text";
export { assertUserId, isValidUserId } from "./user-id";
export type { ApplyOutcome } from "./apply";
