import { PRICING } from "@/lib/gateway/pricing";
import { ownStats } from "@/lib/server/own-stats";
import { nodeApp } from "@/lib/server/node-platform";
import { type PageSession, readPageSession } from "@/lib/server/page-session";
import { Dashboard } from "./_components/Dashboard";
import { SignIn } from "./_components/SignIn";
import { SiteHeader } from "./_components/SiteHeader";
import { routeLabel } from "./_components/format";
import type { MeResponse } from "./_components/types";

export default async function Home() {
  const session = await readPageSession();
  return (
    <>
      <SiteHeader session={session} current="dashboard" />
      <main id="main">{session.status === "signed-in" ? <SignedIn session={session} /> : <Welcome session={session} />}</main>
    </>
  );
}

async function SignedIn({ session }: { session: Extract<PageSession, { status: "signed-in" }> }) {
  const app = nodeApp();
  let initial: MeResponse | null = null;
  try {
    initial = { ...ownStats(await app.seed.getUserStats(session.userId)), isAdmin: session.isAdmin };
  } catch (error) {
    // The store is down: the page still renders, and the dashboard's poll says so and retries.
    console.warn(JSON.stringify({ event: "page.stats_unavailable", error: String(error) }));
  }
  return (
    <Dashboard
      userId={session.userId}
      initial={initial}
      today={new Date().toISOString().slice(0, 10)}
      historyLimit={app.settings.metering.historyLimit ?? 100}
    />
  );
}

function Welcome({ session }: { session: PageSession }) {
  const notice =
    session.status === "expired"
      ? "Your session has expired. Sign in again."
      : session.status === "unavailable"
        ? "Sign-in is temporarily unavailable (the identity provider's keys could not be fetched). Try again shortly."
        : undefined;
  return (
    <div className="welcome">
      <section className="hero" aria-labelledby="hero-heading">
        <h1 id="hero-heading">Pay for AI generations with tokens</h1>
        <p className="lead">
          Tollgate meters every generation your account makes. Each request costs a fixed number of tokens, taken from your
          balance before any work starts, and given back automatically if the work fails.
        </p>
        <ul className="price-list" aria-label="Prices">
          {PRICING.map((route) => (
            <li key={route.id}>
              <span>{routeLabel(route.id)}</span>
              <strong>
                {route.cost} token{route.cost === 1 ? "" : "s"}
              </strong>
            </li>
          ))}
        </ul>
        <ul className="promises">
          <li>
            <strong>Never overdrawn.</strong> A request that would take your balance below zero is refused, not served.
          </li>
          <li>
            <strong>Charged once.</strong> Every token is accounted for in your history.
          </li>
          <li>
            <strong>Refunded on failure.</strong> If a generation fails, its tokens come back.
          </li>
        </ul>
      </section>
      <SignIn devSignIn={nodeApp().devSignIn} notice={notice} />
    </div>
  );
}
