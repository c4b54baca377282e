"use client";

import { ChatPanel } from "./ChatPanel";
import { GeneratePanel } from "./GeneratePanel";
import { HistoryTable } from "./HistoryTable";
import { UsageChart } from "./UsageChart";
import { formatDateTime, formatTokens, formatUtcDate } from "./format";
import type { MeResponse } from "./types";
import { type LiveStatus, useLiveStats } from "./useLiveStats";
import { Facts } from "./Facts";

interface Props {
  userId: string;
  /** Read by the server for the first paint; null when the store could not be reached then. */
  initial: MeResponse | null;
  /** UTC `YYYY-MM-DD` on the server when the page was rendered (the chart's last day). */
  today: string;
  historyLimit: number;
}

export function Dashboard({ userId, initial, today, historyLimit }: Props) {
  const { stats, status, refresh } = useLiveStats(initial);

  return (
    <div className="dashboard">
      <StatusBanner status={status} hasData={stats !== null} />
      <h1 className="visually-hidden">Your Tollgate account</h1>
      {stats === null ? (
        <section className="card" aria-busy="true">
          <p className="muted">Loading your balance…</p>
        </section>
      ) : (
        <>
          <div className="grid-top">
            <BalanceCard stats={stats} userId={userId} />
            <PeriodCard period={stats.period} />
          </div>
          <GeneratePanel onSpent={refresh} />
          <ChatPanel history={stats.history} onActivity={refresh} />
          <UsageChart usage={stats.usageByDay} today={today} />
          <HistoryTable
            history={stats.history}
            limitNote={stats.history.length >= historyLimit ? `The newest ${historyLimit} transactions are kept.` : undefined}
          />
        </>
      )}
    </div>
  );
}

function BalanceCard({ stats, userId }: { stats: MeResponse; userId: string }) {
  return (
    <section className="card balance-card" aria-labelledby="balance-heading">
      <h2 id="balance-heading">Balance</h2>
      {/* Announced when it changes (a top-up by an admin, a generation in another tab). */}
      <p className="balance" aria-live="polite" aria-atomic="true">
        <span className="balance-value" data-testid="balance">{formatTokens(stats.balance)}</span>
        <span className="balance-unit"> tokens</span>
      </p>
      <Facts
        items={[
          { label: "Account", value: userId, mono: true },
          { label: "Generations", value: formatTokens(stats.generations) },
          { label: "Tokens spent", value: formatTokens(stats.tokensUsed) },
          { label: "Last generation", value: stats.lastGenerationAt === null ? "—" : formatDateTime(stats.lastGenerationAt) },
        ]}
      />
      {/* `pending` counts every open operation, holds too: those are told of just below. */}
      {stats.pending - stats.holds.length > 0 && (
        <p className="muted small">
          {stats.pending - stats.holds.length} generation{stats.pending - stats.holds.length === 1 ? "" : "s"} in progress.
        </p>
      )}
      {stats.reserved > 0 && <Reserved reserved={stats.reserved} holds={stats.holds.length} />}
    </section>
  );
}

/** Tokens held by running usage-priced requests: already out of the balance shown above. */
function Reserved({ reserved, holds }: { reserved: number; holds: number }) {
  // 0 holds with tokens reserved: a hold settled between the two reads of /api/me.
  const one = holds <= 1;
  return (
    <p className="muted small" data-testid="reserved">
      {`${formatTokens(reserved)} tokens reserved by ${one ? "a running generation" : `${formatTokens(holds)} running generations`}; ` +
        `what ${one ? "it does" : "they do"} not use comes back when ${one ? "it ends" : "they end"}.`}
    </p>
  );
}

function PeriodCard({ period }: { period: MeResponse["period"] }) {
  const { used, allowance, resetsAt } = period;
  const percent = allowance > 0 ? Math.min(100, Math.round((used / allowance) * 100)) : 0;
  return (
    <section className="card period-card" aria-labelledby="period-heading">
      <h2 id="period-heading">This month</h2>
      {allowance > 0 ? (
        <>
          <p className="period-figures" data-testid="period-usage">
            <strong>{formatTokens(used)}</strong> of {formatTokens(allowance)} tokens used
          </p>
          <div
            className={`meter${used >= allowance ? " full" : ""}`}
            role="meter"
            aria-label="Share of this month's allowance used"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            aria-valuetext={`${percent}%`}
          >
            <div className="meter-fill" style={{ width: `${percent}%` }} />
          </div>
          <p className="muted small">
            Your plan includes {formatTokens(allowance)} tokens a month. The allowance renews on {formatUtcDate(resetsAt)} (UTC).
          </p>
        </>
      ) : (
        <>
          <p className="period-figures" data-testid="period-usage">
            <strong>{formatTokens(used)}</strong> tokens used
          </p>
          <p className="muted small">
            Your plan has no monthly allowance: tokens come from top-ups. This month ends on {formatUtcDate(resetsAt)} (UTC).
          </p>
        </>
      )}
    </section>
  );
}

function StatusBanner({ status, hasData }: { status: LiveStatus; hasData: boolean }) {
  if (status === "live") return null;
  const text: Record<Exclude<LiveStatus, "live">, string> = {
    "signed-out": "Your session has ended. Sign in again to see your balance.",
    unavailable: hasData ? "Tollgate is not answering right now; the figures below may be out of date. Retrying…" : "Tollgate is not answering right now. Retrying…",
    offline: "You appear to be offline; the figures below may be out of date. Retrying…",
  };
  return (
    <div className={`notice ${status === "signed-out" ? "error" : "warning"}`} role="status">
      <p>{text[status]}</p>
      {status === "signed-out" && (
        <p>
          <a href="/">Sign in</a>
        </p>
      )}
    </div>
  );
}
