import { PRICING, routeName } from "@/lib/gateway/pricing";
import type { EntryType } from "./types";

// A fixed locale: the server renders first and the browser hydrates, so both must format
// numbers the same way. Times depend on the reader's zone and are marked as client-only
// where they are shown (suppressHydrationWarning).
const NUMBER = new Intl.NumberFormat("en-US");

export function formatTokens(n: number): string {
  return NUMBER.format(n);
}

export function formatSigned(n: number): string {
  return n > 0 ? `+${NUMBER.format(n)}` : n < 0 ? `−${NUMBER.format(-n)}` : "0";
}

const DATE_TIME = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const DATE_UTC = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" });
const DAY_UTC = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });

export function formatDateTime(epochMs: number): string {
  return DATE_TIME.format(epochMs);
}

/** Period boundaries are UTC midnights: shown as UTC dates so "Dec 1" means Dec 1 everywhere. */
export function formatUtcDate(epochMs: number): string {
  return DATE_UTC.format(epochMs);
}

/** `2025-11-03` (a UTC day from usageByDay) → `Nov 3`. */
export function formatDay(day: string): string {
  return DAY_UTC.format(Date.parse(`${day}T00:00:00Z`));
}

const ROUTE_LABELS: Record<string, string> = {
  article: "Article",
  "nutrition-plan": "Nutrition plan",
  "workout-plan": "Workout plan",
  chat: "Chat",
  "chat-stream": "Streamed chat",
};

/**
 * History entries and daily usage name a route by `METHOD /path` (the gate) or by its id
 * (older entries, scripts): both map to the pricing table's row.
 */
function pricingIndex(route: string): number {
  return PRICING.findIndex((r) => r.id === route || routeName(r) === route);
}

export function routeLabel(route: string): string {
  const i = pricingIndex(route);
  if (i !== -1) return ROUTE_LABELS[PRICING[i]!.id] ?? PRICING[i]!.id;
  // A route no longer priced: show what was recorded.
  return /^[A-Z]+ \//.test(route) ? route : route.charAt(0).toUpperCase() + route.slice(1).replace(/-/g, " ");
}

/** Routes in the pricing table's order, then any others (a route since removed) by name. */
export function orderRoutes(routes: Iterable<string>): string[] {
  return [...new Set(routes)].sort((a, b) => {
    const ia = pricingIndex(a);
    const ib = pricingIndex(b);
    if (ia !== -1 || ib !== -1) return (ia === -1 ? Infinity : ia) - (ib === -1 ? Infinity : ib);
    return a.localeCompare(b);
  });
}

/** A fixed-price route's cost; null for a usage-priced one (its price is known after the work). */
export function costOf(routeId: string): number | null {
  return PRICING.find((r) => r.id === routeId)?.cost ?? null;
}

export const ENTRY_TYPES: readonly EntryType[] = ["debit", "credit", "refund", "refill", "reset"];

export const ENTRY_LABELS: Record<EntryType, { one: string; many: string }> = {
  debit: { one: "Generation", many: "Generations" },
  credit: { one: "Top-up", many: "Top-ups" },
  refund: { one: "Refund", many: "Refunds" },
  refill: { one: "Monthly grant", many: "Monthly grants" },
  reset: { one: "Reset", many: "Resets" },
};
