import type { Metadata } from "next";
import Link from "next/link";
import { readPageSession } from "@/lib/server/page-session";
import { nodeApp } from "@/lib/server/node-platform";
import { AdminConsole } from "../_components/AdminConsole";
import { SignIn } from "../_components/SignIn";
import { SiteHeader } from "../_components/SiteHeader";

export const metadata: Metadata = { title: "Admin console · Tollgate" };

/**
 * Only administrators get the console. The check here decides what is *rendered*; the
 * admin API checks every request again on its own (403 for anyone else), so the console's
 * code reaching a non-admin's browser would give them nothing.
 */
export default async function AdminPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await readPageSession();
  const user = (await searchParams).user;
  return (
    <>
      <SiteHeader session={session} current="admin" />
      <main id="main">
        {session.status === "signed-in" && session.isAdmin ? (
          <AdminConsole initialUserId={typeof user === "string" ? user : null} />
        ) : session.status === "signed-in" ? (
          <section className="card refusal" aria-labelledby="refused-heading">
            <p className="status-code" aria-hidden="true">403</p>
            <h1 id="refused-heading">Administrators only</h1>
            <p>
              You are signed in as <strong className="mono">{session.userId}</strong>, which is not an administrator account, so the
              admin console is not available to you.
            </p>
            <p>
              <Link href="/" className="button secondary">
                Back to your dashboard
              </Link>
            </p>
          </section>
        ) : (
          <div className="welcome narrow">
            <section className="hero" aria-labelledby="signin-heading">
              <h1 id="signin-heading">Admin console</h1>
              <p className="lead">Sign in with an administrator account to look up users, top them up and reset them.</p>
            </section>
            <SignIn
              devSignIn={nodeApp().devSignIn}
              notice={session.status === "expired" ? "Your session has expired. Sign in again." : undefined}
            />
          </div>
        )}
      </main>
    </>
  );
}
