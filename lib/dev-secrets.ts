import { join } from "node:path";
import { localSecret } from "./kv-server/local-tokens";

/**
 * Where `npm run dev` keeps its local state: the KV server's data and tokens in `kv/`, the
 * development secrets beside them. TOLLGATE_DATA_DIR moves it (the tests use their own).
 */
export function devDataDir(env: Record<string, string | undefined>): string {
  return env.TOLLGATE_DATA_DIR || ".tollgate";
}

export interface DevSecrets {
  env: Record<string, string>;
  /** The files the values came from, to tell the developer. */
  files: string[];
}

/**
 * The development app's secrets when none is configured (Node only: `npm run dev` and
 * `npm run token` call this; the app itself only reads its environment). A key in the
 * repository would be known to every web page and every host that can reach a development
 * server, so each checkout makes its own on first run and keeps it beside the local KV
 * token, readable by its owner only:
 *
 * - `AUTH_JWT_SECRET` in `<dir>/jwt-secret`, unless AUTH_JWT_SECRET or AUTH_JWKS_URL is set
 *   (with an identity provider, tokens come from it).
 * - `TOLLGATE_GATE_SECRET` in `<dir>/gate-secret`, only when neither it nor AUTH_JWT_SECRET
 *   ends up set (an identity provider and no shared secret): the gate needs a key to sign
 *   what it hands to route handlers.
 *
 * Returns the variables to add; those already set are never replaced.
 */
export function developmentSecrets(env: Record<string, string | undefined>, dir: string = devDataDir(env)): DevSecrets {
  const set = (name: string) => (env[name] ?? "") !== "";
  const added: Record<string, string> = {};
  const files: string[] = [];
  if (!set("AUTH_JWT_SECRET") && !set("AUTH_JWKS_URL")) {
    const file = join(dir, "jwt-secret");
    added.AUTH_JWT_SECRET = localSecret(file);
    files.push(file);
  }
  if (!set("TOLLGATE_GATE_SECRET") && !set("AUTH_JWT_SECRET") && added.AUTH_JWT_SECRET === undefined) {
    const file = join(dir, "gate-secret");
    added.TOLLGATE_GATE_SECRET = localSecret(file);
    files.push(file);
  }
  return { env: added, files };
}
