"use client";

import { useRouter } from "next/navigation";
import { type FormEvent, useId, useState } from "react";
import { explainProblem, readProblem } from "./problem";

interface Props {
  /** Offer the one-click development sign-in (never in preview or production). */
  devSignIn: boolean;
  /** Why the visitor is here again, e.g. an expired session. */
  notice?: string;
}

/** Sign in with a token from the identity provider, or (in development) with one click. */
export function SignIn({ devSignIn, notice }: Props) {
  const router = useRouter();
  const id = useId();
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState<null | "token" | "user" | "admin">(null);
  const [error, setError] = useState<string | null>(null);

  async function post(path: string, body: unknown, which: "token" | "user" | "admin") {
    setBusy(which);
    setError(null);
    try {
      const res = await fetch(path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) {
        const problem = await readProblem(res);
        setError(signInError(problem.status, problem.reason, explainProblem(problem, res.headers.get("retry-after"))));
        setBusy(null);
        return;
      }
      // The cookie is set: render the page again on the server, now signed in.
      router.refresh();
    } catch {
      setError("Could not reach Tollgate. Check your connection and try again.");
      setBusy(null);
    }
  }

  function submitToken(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = token.trim();
    if (value === "") {
      setError("Paste a token first.");
      return;
    }
    void post("/api/session", { token: value }, "token");
  }

  return (
    <section className="card sign-in" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Sign in</h2>
      {notice && (
        <p className="notice info" role="status">
          {notice}
        </p>
      )}

      {devSignIn && (
        <div className="dev-sign-in">
          <h3>Development sign-in</h3>
          <p className="muted small">Signs you in with a 12-hour development token. Only available outside preview and production.</p>
          <div className="button-row">
            <button type="button" className="button primary" disabled={busy !== null} onClick={() => void post("/api/session/dev", { as: "user" }, "user")}>
              {busy === "user" ? "Signing in…" : "Sign in as the test user"}
            </button>
            <button type="button" className="button secondary" disabled={busy !== null} onClick={() => void post("/api/session/dev", { as: "admin" }, "admin")}>
              {busy === "admin" ? "Signing in…" : "Sign in as an administrator"}
            </button>
          </div>
        </div>
      )}

      <form className="token-form" onSubmit={submitToken} noValidate>
        {devSignIn && <h3>Sign in with a token</h3>}
        <div className="field">
          <label htmlFor={`${id}-token`}>Token from your identity provider</label>
          <textarea
            id={`${id}-token`}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            rows={3}
            spellCheck={false}
            autoComplete="off"
            placeholder="eyJhbGciOi…"
            aria-describedby={`${id}-token-help`}
            aria-invalid={error !== null && busy === null ? true : undefined}
          />
          <p id={`${id}-token-help`} className="muted small">
            A JWT (for example from <code>npm run token -- alice</code>). It is kept in an HttpOnly cookie until it expires.
          </p>
        </div>
        <button type="submit" className="button primary" disabled={busy !== null}>
          {busy === "token" ? "Signing in…" : "Sign in"}
        </button>
      </form>

      <div aria-live="assertive" className="result-region">
        {error !== null && (
          <p className="notice error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
      </div>
    </section>
  );
}

function signInError(status: number, reason: unknown, fallback: string): string {
  if (status === 401) {
    switch (reason) {
      case "token_expired":
        return "That token has expired. Get a new one from your identity provider.";
      case "token_bad_signature":
      case "token_alg_not_allowed":
        return "That token was not signed by a key Tollgate trusts.";
      case "token_wrong_issuer":
      case "token_wrong_audience":
        return "That token was issued for another application.";
      case "token_malformed":
      case "token_too_large":
        return "That does not look like a valid token. Copy the whole JWT and try again.";
      default:
        return "That token was refused. Check that you copied all of it.";
    }
  }
  return fallback;
}
