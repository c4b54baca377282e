"use client";

import { type FormEvent, useCallback, useEffect, useId, useRef, useState } from "react";
import { MAX_AMOUNT } from "@/lib/metering/amount";
import { isValidUserId } from "@/lib/user-id";
import { ConfirmDialog } from "./ConfirmDialog";
import { HistoryTable } from "./HistoryTable";
import { formatDateTime, formatTokens, formatUtcDate } from "./format";
import { explainProblem, readProblem } from "./problem";
import type { Problem, UserStats } from "./types";
import { Facts } from "./Facts";

type Pending = { kind: "topup"; amount: number; reason: string; idempotencyKey: string } | { kind: "reset" };
type Result = { tone: "success" | "error"; text: string };

const REASON_MAX = 200;

/**
 * Look a user up, then top up or reset them. Every change goes through a confirmation
 * dialog and reports the API's answer (or its problem `detail`) in a live region.
 */
export function AdminConsole({ initialUserId }: { initialUserId: string | null }) {
  const id = useId();
  const [query, setQuery] = useState(initialUserId ?? "");
  const [queryError, setQueryError] = useState<string | null>(null);
  const [userId, setUserId] = useState<string | null>(null);
  const [stats, setStats] = useState<UserStats | null>(null);
  const [loading, setLoading] = useState(false);
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [formError, setFormError] = useState<{ field: "amount" | "reason"; text: string } | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const resultRef = useRef<HTMLDivElement>(null);

  const load = useCallback(async (target: string): Promise<boolean> => {
    setLoading(true);
    try {
      const res = await fetch(`/api/admin/users/${encodeURIComponent(target)}`, { credentials: "same-origin", cache: "no-store" });
      if (!res.ok) {
        setResult({ tone: "error", text: failure(await readProblem(res), res) });
        return false;
      }
      setStats((await res.json()) as UserStats);
      setUserId(target);
      return true;
    } catch {
      setResult({ tone: "error", text: "Could not reach Tollgate. Check your connection and try again." });
      return false;
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    if (initialUserId !== null && isValidUserId(initialUserId)) void load(initialUserId);
  }, [initialUserId, load]);

  async function lookUp(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const target = query.trim();
    if (!isValidUserId(target)) {
      setQueryError("Enter a user id: 1–128 letters, digits and _ . @ : | + -, starting with a letter or digit.");
      return;
    }
    setQueryError(null);
    setResult(null);
    if (await load(target)) {
      // Shareable and reload-proof: /admin?user=<id>.
      window.history.replaceState(null, "", `/admin?user=${encodeURIComponent(target)}`);
    }
  }

  function askTopUp(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const n = Number(amount.trim());
    if (!/^\d+$/.test(amount.trim()) || !Number.isSafeInteger(n) || n < 1 || n > MAX_AMOUNT) {
      setFormError({ field: "amount", text: `Enter a whole number of tokens from 1 to ${formatTokens(MAX_AMOUNT)}.` });
      return;
    }
    const why = reason.trim();
    if (why === "" || why.length > REASON_MAX || /[\u0000-\u001f\u007f]/.test(why)) {
      setFormError({ field: "reason", text: `Give a reason of 1–${REASON_MAX} characters; it appears in the user's history.` });
      return;
    }
    setFormError(null);
    // One key per confirmed intent: a retried request (a double submit, a lost answer)
    // is applied once by the API.
    setPending({ kind: "topup", amount: n, reason: why, idempotencyKey: crypto.randomUUID() });
  }

  async function confirm() {
    const action = pending;
    const target = userId;
    setPending(null);
    if (action === null || target === null) return;
    const base = `/api/admin/users/${encodeURIComponent(target)}`;
    try {
      if (action.kind === "topup") {
        const res = await fetch(`${base}/tokens`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "content-type": "application/json", "idempotency-key": action.idempotencyKey },
          body: JSON.stringify({ amount: action.amount, reason: action.reason }),
        });
        if (!res.ok) {
          setResult({ tone: "error", text: failure(await readProblem(res), res) });
        } else {
          const body = (await res.json()) as { balance: number; added: number; duplicate: boolean };
          setResult({
            tone: "success",
            text: body.duplicate
              ? `This top-up had already been applied. ${target}'s balance is ${formatTokens(body.balance)} tokens.`
              : `Added ${formatTokens(body.added)} tokens to ${target}. New balance: ${formatTokens(body.balance)} tokens.`,
          });
          setAmount("");
          setReason("");
        }
      } else {
        // `{}` as JSON: the server refuses a cookie-authenticated write without a JSON body (CSRF).
        const res = await fetch(`${base}/reset`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "content-type": "application/json" },
          body: "{}",
        });
        if (!res.ok) {
          setResult({ tone: "error", text: failure(await readProblem(res), res) });
        } else {
          const body = (await res.json()) as UserStats;
          setStats(body);
          setResult({ tone: "success", text: `Reset ${target}. Balance is now ${formatTokens(body.balance)} tokens; the history starts over.` });
        }
      }
    } catch {
      setResult({ tone: "error", text: "Could not reach Tollgate: the change may or may not have been applied. Refresh to check." });
    }
    await load(target);
    resultRef.current?.focus();
  }

  return (
    <div className="admin">
      <h1>Admin console</h1>

      <section className="card" aria-labelledby={`${id}-find`}>
        <h2 id={`${id}-find`}>Find a user</h2>
        <form className="inline-form" onSubmit={lookUp} noValidate>
          <div className="field grow">
            <label htmlFor={`${id}-user`}>User id</label>
            <input
              id={`${id}-user`}
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              aria-invalid={queryError !== null ? true : undefined}
              aria-describedby={queryError !== null ? `${id}-user-error` : undefined}
            />
            {queryError && (
              <p id={`${id}-user-error`} className="field-error">
                {queryError}
              </p>
            )}
          </div>
          <button type="submit" className="button primary" disabled={loading}>
            {loading ? "Loading…" : "Look up"}
          </button>
        </form>
      </section>

      <div ref={resultRef} tabIndex={-1} className="result-region" aria-live="polite" aria-atomic="true" data-testid="admin-result">
        {result && (
          <p className={`notice ${result.tone}`} role={result.tone === "error" ? "alert" : undefined}>
            {result.text}
          </p>
        )}
      </div>

      {stats !== null && userId !== null && (
        <>
          <section className="card" aria-labelledby={`${id}-user-heading`}>
            <div className="card-head">
              <h2 id={`${id}-user-heading`}>
                <span className="mono">{userId}</span>
              </h2>
              <button type="button" className="button ghost" onClick={() => void load(userId)} disabled={loading}>
                Refresh
              </button>
            </div>
            <p className="balance small-balance">
              <span className="balance-value" data-testid="admin-balance">{formatTokens(stats.balance)}</span>
              <span className="balance-unit"> tokens</span>
            </p>
            <Facts
              items={[
                { label: "Generations", value: formatTokens(stats.generations) },
                { label: "Tokens spent", value: formatTokens(stats.tokensUsed) },
                { label: "Tokens added", value: formatTokens(stats.tokensAdded) },
                { label: "Refunded", value: formatTokens(stats.tokensRefunded) },
                {
                  label: `This month (${stats.period.id})`,
                  value: `${formatTokens(stats.period.used)}${stats.period.allowance > 0 ? ` of ${formatTokens(stats.period.allowance)}` : ""} used`,
                },
                { label: "Period ends", value: `${formatUtcDate(stats.period.resetsAt)} (UTC)` },
                { label: "Last generation", value: stats.lastGenerationAt === null ? "—" : formatDateTime(stats.lastGenerationAt) },
                { label: "In flight", value: stats.pending },
              ]}
            />
          </section>

          <div className="grid-actions">
            <section className="card" aria-labelledby={`${id}-topup`}>
              <h2 id={`${id}-topup`}>Top up</h2>
              <form onSubmit={askTopUp} noValidate>
                <div className="field">
                  <label htmlFor={`${id}-amount`}>Tokens to add</label>
                  <input
                    id={`${id}-amount`}
                    inputMode="numeric"
                    value={amount}
                    onChange={(e) => setAmount(e.target.value)}
                    autoComplete="off"
                    aria-invalid={formError?.field === "amount" ? true : undefined}
                    aria-describedby={formError?.field === "amount" ? `${id}-form-error` : undefined}
                  />
                </div>
                <div className="field">
                  <label htmlFor={`${id}-reason`}>Reason</label>
                  <input
                    id={`${id}-reason`}
                    value={reason}
                    maxLength={REASON_MAX}
                    onChange={(e) => setReason(e.target.value)}
                    placeholder="e.g. Monthly recharge, invoice 1042"
                    aria-invalid={formError?.field === "reason" ? true : undefined}
                    aria-describedby={formError?.field === "reason" ? `${id}-form-error` : undefined}
                  />
                </div>
                {formError && (
                  <p id={`${id}-form-error`} className="field-error" role="alert">
                    {formError.text}
                  </p>
                )}
                <button type="submit" className="button primary">
                  Top up…
                </button>
              </form>
            </section>

            <section className="card" aria-labelledby={`${id}-reset`}>
              <h2 id={`${id}-reset`}>Reset</h2>
              <p className="muted">
                Starts the account over: the balance returns to its starting amount and the history, totals and usage are
                cleared. This cannot be undone.
              </p>
              <button type="button" className="button danger" onClick={() => setPending({ kind: "reset" })}>
                Reset user…
              </button>
            </section>
          </div>

          <HistoryTable key={userId} history={stats.history} title={`History of ${userId}`} showActor />
        </>
      )}

      <ConfirmDialog
        open={pending?.kind === "topup"}
        title="Confirm top-up"
        confirmLabel={pending?.kind === "topup" ? `Add ${formatTokens(pending.amount)} tokens` : "Add tokens"}
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      >
        {pending?.kind === "topup" && (
          <p>
            Add <strong>{formatTokens(pending.amount)} tokens</strong> to <strong className="mono">{userId}</strong>, with the reason
            “{pending.reason}”? Their balance goes from {formatTokens(stats?.balance ?? 0)} to {formatTokens((stats?.balance ?? 0) + pending.amount)}.
          </p>
        )}
      </ConfirmDialog>
      <ConfirmDialog
        open={pending?.kind === "reset"}
        title="Reset this user?"
        tone="danger"
        confirmLabel="Reset user"
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      >
        <p>
          Reset <strong className="mono">{userId}</strong>? Their balance of {formatTokens(stats?.balance ?? 0)} tokens and their history
          are replaced by their starting amount. This cannot be undone.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function failure(problem: Problem, res: Response): string {
  if (problem.status === 401) return "Your session has ended. Sign in again as an administrator.";
  const text = explainProblem(problem, res.headers.get("retry-after"));
  return problem.status === 503 ? text : `${text} (${problem.code})`;
}
