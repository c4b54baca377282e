import Link from "next/link";
import type { PageSession } from "@/lib/server/page-session";
import { SignOutButton } from "./SignOutButton";

/** The bar on every page: the product, where you can go, and who you are. */
export function SiteHeader({ session, current }: { session: PageSession; current: "dashboard" | "admin" }) {
  const signedIn = session.status === "signed-in" ? session : null;
  return (
    <header className="site-header">
      <div className="site-header-inner">
        <Link href="/" className="brand" aria-label="Tollgate, home">
          <span className="brand-mark" aria-hidden="true">◆</span> Tollgate
        </Link>
        <nav aria-label="Main" className="site-nav">
          {signedIn && (
            <Link href="/" aria-current={current === "dashboard" ? "page" : undefined}>
              Dashboard
            </Link>
          )}
          {signedIn?.isAdmin && (
            <Link href="/admin" aria-current={current === "admin" ? "page" : undefined}>
              Admin
            </Link>
          )}
        </nav>
        {signedIn && (
          <div className="who">
            <span className="who-id" title={signedIn.userId}>
              <span className="visually-hidden">Signed in as </span>
              {signedIn.userId}
            </span>
            {signedIn.isAdmin && <span className="role-tag">admin</span>}
            <SignOutButton />
          </div>
        )}
      </div>
    </header>
  );
}
