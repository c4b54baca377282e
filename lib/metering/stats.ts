import type { MeteringContext } from "./context";
import { grantNamesFor } from "./debit";
import { decodeEntry, type HistoryEntry } from "./history";
import { type UserKeys, userKeys } from "./keys";
import { asArray, asInt, asIntOrNull, asRecord, execTx } from "./kv";
import { HOLD_ID_PREFIX } from "./hold";
import { parseOpenMember, parseOperation } from "./operation";
import { nextPeriodStart, periodOf } from "./period";

export interface UserStats {
  userId: string;
  balance: number;
  /** Paid generations, minus refunded ones. */
  generations: number;
  /** Tokens spent, net of refunds. */
  tokensUsed: number;
  /** Tokens added by top-ups, grants and resets. */
  tokensAdded: number;
  tokensRefunded: number;
  /** Time of the newest debit still in the kept history (epoch ms), or null. */
  lastGenerationAt: number | null;
  period: { id: string; used: number; allowance: number; resetsAt: number };
  /** Operations in flight (debits not yet settled). */
  pending: number;
  /** Tokens held by requests still running (usage-priced routes): out of the balance until they settle. */
  reserved: number;
  /** The holds still open, oldest first. */
  holds: OpenHold[];
  /** Tokens spent per UTC day and route over the last 30 days (net of refunds), oldest first. */
  usageByDay: DailyUsage[];
  /** Newest first, at most `historyLimit`. */
  history: HistoryEntry[];
}

export interface OpenHold {
  id: string;
  route: string | null;
  /** Tokens held. */
  amount: number;
  since: number;
  /** After this a healer finishes it (charges or releases, per route). */
  deadline: number;
}

export interface DailyUsage {
  day: string;
  route: string;
  tokens: number;
}

/** Everything the invariants need, read in one atomic transaction. */
export interface LedgerSnapshot {
  keys: UserKeys;
  balance: number;
  totals: { credits: number; debits: number; refunds: number; generations: number; used: Record<string, number> };
  history: HistoryEntry[];
  openIds: string[];
  /** Open holds (hold.ts) and what each holds, from the `open` set. */
  openHolds: { id: string; held: number }[];
  staleIds: string[];
  missingGrants: string[];
  daily: Record<string, unknown>;
}

export async function readLedger(ctx: MeteringContext, userId: string, historyCount = ctx.config.historyLimit): Promise<LedgerSnapshot> {
  const keys = userKeys(ctx.config.namespace, userId);
  const now = ctx.config.clock();
  const grantNames = grantNamesFor(ctx, userId, periodOf(now));
  const tx = ctx.kv.multi();
  tx.get(keys.balance);
  tx.hgetall(keys.totals);
  tx.zrange(keys.history, 0, historyCount - 1, { rev: true });
  tx.zrange(keys.open, 0, -1);
  tx.zrange(keys.open, "-inf", now - ctx.config.healAfterMs, { byScore: true, offset: 0, count: 1 });
  tx.hgetall(keys.daily);
  for (const name of grantNames) tx.exists(keys.grant(name));
  const r = await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  const totals = asRecord(r[1]);
  const num = (field: string) => asIntOrNull(totals[field], field) ?? 0;
  const used: Record<string, number> = {};
  for (const [field, value] of Object.entries(totals)) {
    // A refused debit leaves its counter at 0 (HINCRBY back): zero is no usage.
    if (field.startsWith("used:") && asInt(value, field) !== 0) used[field.slice(5)] = asInt(value, field);
  }
  return {
    keys,
    balance: asIntOrNull(r[0], "balance") ?? 0,
    totals: { credits: num("credits"), debits: num("debits"), refunds: num("refunds"), generations: num("generations"), used },
    history: asArray(r[2]).map(decodeEntry),
    openIds: asArray(r[3]).map((m) => parseOpenMember(m).id),
    openHolds: asArray(r[3]).map(parseOpenMember).filter((m) => m.id.startsWith(`${HOLD_ID_PREFIX}_`)).map(({ id, debited }) => ({ id, held: debited })),
    staleIds: asArray(r[4]).map((m) => parseOpenMember(m).id),
    daily: asRecord(r[5]),
    missingGrants: grantNames.filter((_, i) => asInt(r[6 + i], "grant exists") === 0),
  };
}

/** Route, start and deadline of each open hold: one more round trip, only when there are some. */
export async function readOpenHolds(ctx: MeteringContext, ledger: LedgerSnapshot): Promise<OpenHold[]> {
  if (ledger.openHolds.length === 0) return [];
  const tx = ctx.kv.multi();
  for (const { id } of ledger.openHolds) tx.hgetall(ledger.keys.op(id));
  const records = await execTx(tx, { timeoutMs: ctx.config.kvTimeoutMs });
  return ledger.openHolds.flatMap(({ id, held }, i) => {
    const op = parseOperation(id, records[i]);
    // Settled or given back between the two reads: not open any more.
    if (op === null || op.hold == null) return [];
    return [{ id, route: op.route, amount: held, since: op.at, deadline: op.hold.deadline }];
  }).sort((a, b) => a.since - b.since);
}

export function statsFromLedger(ctx: MeteringContext, ledger: LedgerSnapshot, holds: OpenHold[] = []): UserStats {
  const now = ctx.config.clock();
  const period = periodOf(now);
  const lastDebit = ledger.history.find((e) => e.type === "debit");
  return {
    userId: ledger.keys.userId,
    balance: ledger.balance,
    generations: ledger.totals.generations,
    tokensUsed: ledger.totals.debits - ledger.totals.refunds,
    tokensAdded: ledger.totals.credits,
    tokensRefunded: ledger.totals.refunds,
    lastGenerationAt: lastDebit?.at ?? null,
    period: {
      id: period,
      used: ledger.totals.used[period] ?? 0,
      allowance: ctx.config.monthlyAllowance,
      resetsAt: nextPeriodStart(now),
    },
    pending: ledger.openIds.length,
    reserved: ledger.openHolds.reduce((sum, h) => sum + h.held, 0),
    holds,
    usageByDay: dailyUsage(ledger.daily, now),
    history: ledger.history,
  };
}

function dailyUsage(raw: Record<string, unknown>, now: number): DailyUsage[] {
  const since = new Date(now - 29 * 86_400_000).toISOString().slice(0, 10);
  const out: DailyUsage[] = [];
  for (const [field, value] of Object.entries(raw)) {
    const bar = field.indexOf("|");
    const day = field.slice(0, bar);
    const tokens = asIntOrNull(value, "daily usage") ?? 0;
    if (bar !== 10 || day < since || tokens === 0) continue;
    out.push({ day, route: field.slice(bar + 1), tokens });
  }
  return out.sort((a, b) => (a.day === b.day ? a.route.localeCompare(b.route) : a.day < b.day ? -1 : 1));
}
