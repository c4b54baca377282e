import { refusal, type Answer } from "./answer";
import type { Access } from "./auth";
import { commandsOf } from "./execute";
import { decidePermission } from "./permission";
import { parseRequest, type KvRequest, type Route } from "./request-parsing";

/** An admitted request, its body read: what the rest of the path works on. */
export interface Exchange {
  readonly route: Route;
  readonly method: string;
  readonly access: Access;
  readonly body: Buffer;
  /** True once nothing more should run for this request: the client has gone, or the server is stopping. */
  readonly abandoned: () => boolean;
  /** The one effect: runs the commands on the engine and answers with their replies. */
  readonly run: (request: KvRequest) => Promise<Answer>;
}

/** The rest of the request path after admission; fault injection wraps it (faults.ts). */
export type Serve = (exchange: Exchange) => Promise<Answer>;

/** Parse, check the token's permission, run. */
export const serveAdmitted: Serve = async (exchange) => {
  const parsed = parseRequest(exchange.route, exchange.method, exchange.body);
  if (!parsed.ok) return refusal(parsed.status, parsed.error);
  const denied = decidePermission(exchange.access, commandsOf(parsed.request));
  if (denied !== undefined) return denied;
  return exchange.run(parsed.request);
};
