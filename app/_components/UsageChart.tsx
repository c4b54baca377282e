"use client";

import { useId, useMemo } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";
import { formatDay, formatTokens, orderRoutes, routeLabel } from "./format";
import type { UserStats } from "./types";

/** One colour per route, each ≥ 3:1 against white (WCAG non-text contrast) and apart in hue. */
const PALETTE = ["#1f5fd1", "#0f7b5f", "#b4540a", "#7a3fc4", "#b3265e", "#4b5563"];

const DAYS = 30;

interface Props {
  usage: UserStats["usageByDay"];
  /** The newest day shown (a UTC `YYYY-MM-DD`); the server's "today" keeps SSR and hydration equal. */
  today: string;
}

/**
 * Tokens spent per day over the last 30 days, one stacked bar per day, one colour per
 * route. The same numbers are available as a table for screen readers and for anyone who
 * prefers reading figures to comparing bar heights.
 */
export function UsageChart({ usage, today }: Props) {
  const headingId = useId();
  const summaryId = useId();
  const { rows, routes, totals, grandTotal } = useMemo(() => pivot(usage, today), [usage, today]);
  // One label a week, ending today: regular, and still readable on a phone.
  const ticks = rows.filter((_, i) => (rows.length - 1 - i) % 7 === 0).map((r) => r.day);
  // Legend and tooltip list routes in the pricing table's order, like the stack.
  const byRoute = (item: { dataKey?: unknown }) => routes.indexOf(String(item.dataKey));
  const busiest = routes.length > 0 ? routes.reduce((a, b) => (totals[b]! > totals[a]! ? b : a)) : null;

  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="card-head">
        <h2 id={headingId}>Usage, last 30 days</h2>
        <p className="muted">{formatTokens(grandTotal)} tokens</p>
      </div>
      {grandTotal === 0 ? (
        <p className="empty">No generations in the last 30 days. Tokens you spend will show up here, by day and by route.</p>
      ) : (
        <>
          <p id={summaryId} className="visually-hidden">
            {`Stacked bar chart of tokens spent per day. ${formatTokens(grandTotal)} tokens in total`}
            {busiest === null ? "." : `, most of them on ${routeLabel(busiest)} (${formatTokens(totals[busiest]!)}).`}
            {" The same figures follow as a table."}
          </p>
          <figure className="chart" aria-describedby={summaryId}>
            <BarChart responsive data={rows} style={{ width: "100%", height: 260 }} margin={{ top: 8, right: 20, bottom: 0, left: -16 }} barCategoryGap="20%">
              <CartesianGrid vertical={false} stroke="#e3e6ea" />
              <XAxis dataKey="day" ticks={ticks} interval={0} tickFormatter={formatDay} tick={{ fill: "#545b64", fontSize: 12 }} tickLine={false} axisLine={{ stroke: "#c4c9d0" }} />
              <YAxis allowDecimals={false} tick={{ fill: "#545b64", fontSize: 12 }} tickLine={false} axisLine={false} width={56} />
              <Tooltip
                itemSorter={byRoute}
                cursor={{ fill: "rgba(31, 95, 209, 0.08)" }}
                labelFormatter={(day) => formatDay(String(day))}
                formatter={(value, name) => [`${formatTokens(Number(value))} tokens`, routeLabel(String(name))]}
              />
              <Legend itemSorter={byRoute} formatter={(name) => <span className="legend-label">{routeLabel(String(name))}</span>} />
              {routes.map((route, i) => (
                <Bar key={route} dataKey={route} name={route} stackId="tokens" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
              ))}
            </BarChart>
          </figure>
          <details className="table-alternative">
            <summary>Show the figures as a table</summary>
            <div className="table-scroll">
              <table className="data-table">
                <caption className="visually-hidden">Tokens spent per day and route, last 30 days (days without usage omitted)</caption>
                <thead>
                  <tr>
                    <th scope="col">Day (UTC)</th>
                    {routes.map((route) => (
                      <th scope="col" key={route} className="num">{routeLabel(route)}</th>
                    ))}
                    <th scope="col" className="num">Total</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.filter((row) => row.total > 0).map((row) => (
                    <tr key={row.day}>
                      <th scope="row">{formatDay(row.day)}</th>
                      {routes.map((route) => (
                        <td key={route} className="num">{formatTokens(Number(row[route] ?? 0))}</td>
                      ))}
                      <td className="num">{formatTokens(row.total)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}

type Row = { day: string; total: number } & Record<string, string | number>;

/** `{day, route, tokens}[]` → one row per day of the window (zero days included, so gaps show). */
function pivot(usage: UserStats["usageByDay"], today: string) {
  const routes = orderRoutes(usage.map((u) => u.route));
  const end = Date.parse(`${today}T00:00:00Z`);
  const rows: Row[] = [];
  const byDay = new Map<string, Row>();
  for (let i = DAYS - 1; i >= 0; i--) {
    const day = new Date(end - i * 86_400_000).toISOString().slice(0, 10);
    const row: Row = { day, total: 0 };
    for (const route of routes) row[route] = 0;
    rows.push(row);
    byDay.set(day, row);
  }
  const totals: Record<string, number> = Object.fromEntries(routes.map((r) => [r, 0]));
  let grandTotal = 0;
  for (const { day, route, tokens } of usage) {
    const row = byDay.get(day);
    if (row === undefined) continue;
    row[route] = Number(row[route] ?? 0) + tokens;
    row.total += tokens;
    totals[route] = (totals[route] ?? 0) + tokens;
    grandTotal += tokens;
  }
  return { rows, routes, totals, grandTotal };
}
