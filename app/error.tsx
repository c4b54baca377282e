"use client";

/** Shown when a page cannot be rendered (a misconfigured deployment, a store outage at first paint). */
export default function ErrorPage({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main id="main">
      <section className="card refusal" aria-labelledby="error-heading">
        <h1 id="error-heading">Something went wrong</h1>
        <p className="muted">This page could not be loaded. Nothing was charged. Try again in a moment.</p>
        <p>
          <button type="button" className="button primary" onClick={reset}>
            Try again
          </button>
        </p>
      </section>
    </main>
  );
}
