import type { IncomingHttpHeaders } from "node:http";
import { refusal, type JsonAnswer } from "./answer";
import { accessFor, presentedToken, type Access } from "./auth";
import { checkHost, type HostFacts, type HostPolicy } from "./host-check";

/**
 * Whether a request may go on to have its body read, decided from its
 * method and headers alone. Everything refused here is refused before the
 * body is read, so a foreign page or a stranger costs no memory or time.
 */

/** What admission looks at: the request line and headers, nothing else. */
export interface RequestFacts extends HostFacts {
  readonly method: string;
  /** From `Authorization: Bearer ...` or `?_token=`; undefined when neither is there. */
  readonly token: string | undefined;
}

export interface AdmissionRules {
  readonly hosts: HostPolicy;
  /** Full-access token. */
  readonly token: string;
  readonly readOnlyToken: string | undefined;
}

export type Admission = { readonly ok: true; readonly access: Access } | { readonly ok: false; readonly refusal: JsonAnswer };

// A refused request's body is never read, so the connection must close: the unread
// bytes would otherwise be parsed as the next request on it.
const CLOSE = { connection: "close" } as const;

/**
 * In this order: the name the request was sent to (a rebound name or a
 * foreign page gets nothing, 421/403), the method (405), the token (401).
 */
export function decideAdmission(facts: RequestFacts, rules: AdmissionRules): Admission {
  const host = checkHost(facts, rules.hosts);
  if (!host.ok) return refused(host.status, host.error, CLOSE);
  if (facts.method !== "POST" && facts.method !== "GET") {
    return refused(405, "ERR method not allowed: use POST (or GET for path-style commands)", { allow: "GET, POST", ...CLOSE });
  }
  const access = accessFor(facts.token, rules.token, rules.readOnlyToken);
  if (access === undefined) return refused(401, "Unauthorized", { "www-authenticate": 'Bearer realm="tollgate-kv"', ...CLOSE });
  return { ok: true, access };
}

function refused(status: number, error: string, headers: Readonly<Record<string, string>>): Admission {
  return { ok: false, refusal: refusal(status, error, headers) };
}

/** Reads the facts off a request. */
export function requestFacts(method: string | undefined, headers: IncomingHttpHeaders, query: URLSearchParams): RequestFacts {
  return {
    method: method ?? "GET",
    host: headers.host,
    origin: headers.origin,
    secFetchSite: oneHeader(headers["sec-fetch-site"]),
    token: presentedToken(headers.authorization, query),
  };
}

/** Node joins repeated headers it does not know with ", "; the type still allows an array. */
function oneHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
