"use client";

import { useState } from "react";

/** Clears the session cookie, then reloads so every page state from the session is gone. */
export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="button ghost"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await fetch("/api/session", { method: "DELETE", credentials: "same-origin" });
        } finally {
          window.location.assign("/");
        }
      }}
    >
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}
