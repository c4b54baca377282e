"use client";

import { type FormEvent, useId, useState } from "react";
import { costOf, formatTokens } from "./format";
import { NotEnoughTokens, RefusalNotice } from "./Notices";
import { explainProblem, headerInt, readProblem, type Shortfall, shortfallOf } from "./problem";
import type { Problem } from "./types";

interface Article {
  title: string;
  paragraphs: string[];
}

type Outcome =
  | { kind: "ok"; cost: number | null; remaining: number | null; article: Article }
  | { kind: "insufficient"; shortfall: Shortfall }
  | { kind: "error"; message: string; problem: Problem | null };

const ARTICLE_COST = costOf("article");

/**
 * Runs one real, metered generation: the same `POST /api/generate/article` an application
 * would call, paid through the middleware with the session cookie. It shows what the gate
 * reported: the price and the balance left (response headers), or why nothing was done.
 */
export function GeneratePanel({ onSpent }: { onSpent: () => void }) {
  const headingId = useId();
  const [topic, setTopic] = useState("Green tea");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  async function generate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    try {
      const res = await fetch("/api/generate/article", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ topic: topic.trim() || "Green tea" }),
      });
      if (res.ok) {
        const body = (await res.json()) as { result: Article };
        setOutcome({ kind: "ok", cost: headerInt(res, "x-tokens-cost"), remaining: headerInt(res, "x-tokens-remaining"), article: body.result });
      } else {
        const problem = await readProblem(res);
        const shortfall = shortfallOf(problem);
        setOutcome(shortfall !== null
          ? { kind: "insufficient", shortfall }
          : { kind: "error", message: generationError(problem, res.headers.get("retry-after")), problem });
      }
    } catch {
      setOutcome({ kind: "error", message: "Could not reach Tollgate. Check your connection and try again.", problem: null });
    } finally {
      setBusy(false);
      onSpent();
    }
  }

  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="card-head">
        <h2 id={headingId}>Try a generation</h2>
        {ARTICLE_COST !== null && <p className="muted">{ARTICLE_COST} tokens per article</p>}
      </div>
      <p className="muted">
        Runs the demo article generator through the real metered route: tokens are taken before it runs and given back if
        it fails.
      </p>
      <form className="inline-form" onSubmit={generate}>
        <div className="field grow">
          <label htmlFor={`${headingId}-topic`}>Topic</label>
          <input id={`${headingId}-topic`} value={topic} maxLength={200} onChange={(e) => setTopic(e.target.value)} autoComplete="off" />
        </div>
        <button type="submit" className="button primary" disabled={busy} aria-describedby={`${headingId}-result`}>
          {busy ? "Generating…" : "Generate article"}
        </button>
      </form>

      <div id={`${headingId}-result`} className="result-region" aria-live="polite" aria-atomic="true" data-testid="generation-result">
        {outcome?.kind === "ok" && (
          <div className="notice success">
            <p className="notice-title">
              Charged {outcome.cost === null ? "?" : formatTokens(outcome.cost)} tokens · {outcome.remaining === null ? "?" : formatTokens(outcome.remaining)} left
            </p>
            <article className="article">
              <h3>{outcome.article.title}</h3>
              {outcome.article.paragraphs.map((p, i) => (
                <p key={i}>{p}</p>
              ))}
            </article>
          </div>
        )}
        {outcome?.kind === "insufficient" && <NotEnoughTokens shortfall={outcome.shortfall} price="An article costs" done="generated" />}
        {outcome?.kind === "error" && <RefusalNotice title="Not generated" message={outcome.message} problem={outcome.problem} />}
      </div>
    </section>
  );
}

function generationError(problem: Problem, retryAfter: string | null): string {
  if (problem.code === "generation_failed") {
    return problem.refunded === true
      ? "The generator failed. Your tokens were given back."
      : "The generator failed. If tokens were taken, they will be given back automatically.";
  }
  return explainProblem(problem, retryAfter);
}
