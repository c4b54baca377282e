"use client";

import { useId, useMemo, useState } from "react";
import { receiptOfEntry } from "./charge";
import { ENTRY_LABELS, ENTRY_TYPES, formatDateTime, formatSigned, formatTokens, routeLabel } from "./format";
import type { EntryType, HistoryEntry } from "./types";

export const PAGE_SIZE = 10;

type Filter = EntryType | "all";

interface Props {
  history: readonly HistoryEntry[];
  /** Heading text; the admin console names the user. */
  title?: string;
  /** How many entries the server keeps, to explain why old ones are missing. */
  limitNote?: string;
  /** A "By" column: which admin made a top-up, refund or reset (the admin console). */
  showActor?: boolean;
}

/**
 * The transaction history, newest first, filtered by type and paged on the client (the
 * server sends at most `historyLimit` entries, so there is nothing more to fetch). New
 * entries arriving while someone reads page 3 do not move them back to page 1.
 */
export function HistoryTable({ history, title = "History", limitNote, showActor = false }: Props) {
  const headingId = useId();
  const filterName = useId();
  const [filter, setFilter] = useState<Filter>("all");
  const [page, setPage] = useState(1);

  const counts = useMemo(() => {
    const c: Record<Filter, number> = { all: history.length, debit: 0, credit: 0, refund: 0, refill: 0, reset: 0 };
    for (const e of history) c[e.type] += 1;
    return c;
  }, [history]);
  const shown = useMemo(() => (filter === "all" ? history : history.filter((e) => e.type === filter)), [history, filter]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pages);
  const first = (current - 1) * PAGE_SIZE;
  const rows = shown.slice(first, first + PAGE_SIZE);
  const filters: Filter[] = ["all", ...ENTRY_TYPES.filter((t) => counts[t] > 0 || t === filter)];

  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="card-head">
        <h2 id={headingId}>{title}</h2>
        {limitNote && <p className="muted small">{limitNote}</p>}
      </div>

      {history.length === 0 ? (
        <p className="empty">No transactions yet.</p>
      ) : (
        <>
          <fieldset className="chips">
            <legend className="visually-hidden">Show transactions of type</legend>
            {filters.map((f) => (
              <label key={f} className="chip">
                <input
                  type="radio"
                  name={filterName}
                  value={f}
                  checked={filter === f}
                  onChange={() => {
                    setFilter(f);
                    setPage(1);
                  }}
                />
                <span className="chip-label">
                  {f === "all" ? "All" : ENTRY_LABELS[f].many} <span className="chip-count">{counts[f]}</span>
                </span>
              </label>
            ))}
          </fieldset>

          <table className="data-table history" aria-describedby={`${headingId}-range`}>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Type</th>
                <th scope="col">Details</th>
                {showActor && <th scope="col">By</th>}
                <th scope="col" className="num">Amount</th>
                <th scope="col" className="num">Balance after</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id} data-type={e.type}>
                  <td data-label="When">
                    <time dateTime={new Date(e.at).toISOString()} suppressHydrationWarning>{formatDateTime(e.at)}</time>
                  </td>
                  <td data-label="Type">
                    <span className={`badge badge-${e.type}`}>{ENTRY_LABELS[e.type].one}</span>
                  </td>
                  <td data-label="Details" className="details">{describe(e)}</td>
                  {showActor && <td data-label="By" className="actor">{e.actor ?? "—"}</td>}
                  <td data-label="Amount" className={`num amount ${e.amount < 0 ? "negative" : "positive"}`}>{formatSigned(e.amount)}</td>
                  <td data-label="Balance after" className="num">{formatTokens(e.balanceAfter)}</td>
                </tr>
              ))}
            </tbody>
          </table>

          <nav className="pager" aria-label={`${title} pages`}>
            <p id={`${headingId}-range`} className="muted small" aria-live="polite">
              {shown.length === 0
                ? "No transactions of this type."
                : `Showing ${first + 1}–${first + rows.length} of ${shown.length} · page ${current} of ${pages}`}
            </p>
            <div className="pager-buttons">
              <button type="button" className="button secondary" onClick={() => setPage(current - 1)} disabled={current <= 1}>
                Previous<span className="visually-hidden"> page</span>
              </button>
              <button type="button" className="button secondary" onClick={() => setPage(current + 1)} disabled={current >= pages}>
                Next<span className="visually-hidden"> page</span>
              </button>
            </div>
          </nav>
        </>
      )}
    </section>
  );
}

function describe(e: HistoryEntry): string {
  const parts: string[] = [];
  if (e.route !== null) parts.push(routeLabel(e.route));
  if (e.reason !== null && !(e.type === "debit" && e.route !== null && e.reason.toLowerCase().startsWith(routeLabel(e.route).toLowerCase()))) {
    parts.push(e.reason);
  }
  if (e.ref !== undefined) parts.push(`for ${e.ref.slice(0, 12)}…`);
  // A usage-priced request: what it held and what it cost are both in its one entry.
  const receipt = receiptOfEntry(e);
  if (receipt !== null) {
    parts.push(`charged ${formatTokens(receipt.charged)} of ${formatTokens(receipt.reserved)} held`);
    // The request never settled it: a healer did, after its deadline.
    if (receipt.expired) parts.push("expired");
  }
  return parts.length > 0 ? parts.join(" · ") : "—";
}
