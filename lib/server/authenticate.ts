import { authFailureResponse, forbidden } from "../http";
import { nodeApp } from "./node-platform";

/** The route guards' view of a caller: who, or the answer to give instead. */
export type Caller =
  | { status: "allowed"; userId: string | null; isAdmin: boolean; via: "jwt" | "admin-token" }
  | { status: "refused"; response: Response };

/** A signed-in user (Bearer JWT or session cookie). */
export async function authenticateUser(request: Request): Promise<Caller> {
  const caller = await nodeApp().authenticate(request);
  switch (caller.status) {
    case "user": return { status: "allowed", userId: caller.userId, isAdmin: caller.isAdmin, via: "jwt" };
    // An operator token names no user: it cannot ask for "my" stats.
    case "admin_token": return { status: "refused", response: forbidden("an admin token has no user; use the admin API") };
    case "refused": return { status: "refused", response: authFailureResponse(caller.failure) };
  }
}

/**
 * An operator: `ADMIN_API_TOKEN` as a Bearer token (compared in constant time), or a JWT
 * with the admin role. A valid non-admin gets 403 and learns nothing about other users.
 */
export async function authenticateAdmin(request: Request): Promise<Caller> {
  const caller = await nodeApp().authenticate(request);
  switch (caller.status) {
    case "admin_token": return { status: "allowed", userId: null, isAdmin: true, via: "admin-token" };
    case "refused": return { status: "refused", response: authFailureResponse(caller.failure) };
    case "user":
      if (!caller.isAdmin) return { status: "refused", response: forbidden("administrator role required") };
      return { status: "allowed", userId: caller.userId, isAdmin: true, via: "jwt" };
  }
}
