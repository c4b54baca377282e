/**
 * `npm run dev`: the app with zero set-up. When no KV URL is set (KV_REST_API_URL or
 * UPSTASH_REDIS_REST_URL), the local KV server (embedded engine, data in .tollgate/kv; or
 * real Redis when REDIS_URL is set) starts first on 127.0.0.1:8079 with the configured
 * token or the local one kept in .tollgate/kv/token (made on first run), then `next dev`,
 * which is handed the token in its environment, with the development JWT secret kept beside
 * it (.tollgate/jwt-secret, lib/dev-secrets.ts) unless one is configured.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createEmbeddedEngine, createRedisEngine, localTokens, startKvServer } from "../lib/kv-server";
import { devDataDir, developmentSecrets } from "../lib/dev-secrets";
import { DEV_KV_URL, KV_REST_API, kvCredentialsFromEnv } from "../lib/settings";
import { isLoopbackHost } from "../lib/loopback";

async function main(): Promise<void> {
  // Nothing may call out at run time: Next's anonymous telemetry stays off.
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: process.env.NEXT_TELEMETRY_DISABLED ?? "1" };
  let closeKv: (() => Promise<void>) | null = null;
  const DATA_DIR = join(devDataDir(env), "kv");
  // The app's own reading (lib/settings.ts), so a mixed pair stops here before anything starts.
  const credentials = kvCredentialsFromEnv(env);
  if (credentials.url === undefined) {
    // TOLLGATE_DEV_KV_PORT: another port, so two checkouts (or a test) can run side by side.
    const port = Number(env.TOLLGATE_DEV_KV_PORT || new URL(DEV_KV_URL).port);
    // No published default: a web page or another user of the machine cannot guess it.
    const local = credentials.token === undefined ? localTokens(DATA_DIR) : undefined;
    const token = credentials.token ?? local?.token ?? "";
    const engine = env.REDIS_URL ? await createRedisEngine(env.REDIS_URL) : await createEmbeddedEngine({ dataDir: DATA_DIR });
    const server = await startKvServer({ port, engine, token, readOnlyToken: local?.readOnlyToken });
    closeKv = () => server.close();
    // The app gets the server's URL in the family its token came from: one pair, never a mix.
    const names = credentials.names ?? KV_REST_API;
    env[names.url] = server.url;
    env[names.token] = token;
    if (local !== undefined) {
      env[KV_REST_API.readOnlyToken] = local.readOnlyToken;
      console.log(`tollgate: KV tokens kept in ${local.tokenFile} and ${local.readOnlyTokenFile}`);
    }
    console.log(`tollgate: local KV server on ${server.url} (engine=${engine.kind}${engine.kind === "embedded" ? `, data in ${DATA_DIR}` : ""})`);
  }
  const secrets = developmentSecrets(env);
  Object.assign(env, secrets.env);
  if (secrets.files.length > 0) console.log(`tollgate: development secret${secrets.files.length > 1 ? "s" : ""} kept in ${secrets.files.join(" and ")}`);
  const require = createRequire(import.meta.url);
  // `next dev` listens on every interface by default, and the development app signs anyone
  // in with one click: bound to loopback unless asked otherwise (`npm run dev -- -H 0.0.0.0`).
  const args = process.argv.slice(2);
  const host = hostArgument(args);
  const hostGiven = host !== undefined;
  if (host !== undefined && !isLoopbackHost(host)) {
    // The app answers only to the names it knows (lib/http/allowed-host.ts): the one asked for joins them.
    const wildcard = host === "0.0.0.0" || host === "::";
    if (!wildcard) env.TOLLGATE_ALLOWED_HOSTS = [env.TOLLGATE_ALLOWED_HOSTS, host].filter(Boolean).join(",");
    console.warn(
      `tollgate: the development app listens on ${host}: anyone who reaches it can sign in as an administrator with one click ` +
        "(TOLLGATE_DEV_SIGNIN=0 turns that off)" +
        (wildcard ? "; it answers to loopback names only unless TOLLGATE_ALLOWED_HOSTS names the ones to use" : ""),
    );
  }
  const next = spawn(process.execPath, [require.resolve("next/dist/bin/next"), "dev", ...(hostGiven ? [] : ["-H", "127.0.0.1"]), ...args], { stdio: "inherit", env });
  const stop = async (code: number) => {
    next.kill("SIGTERM");
    await closeKv?.();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(130));
  process.on("SIGTERM", () => void stop(143));
  next.on("exit", (code) => void stop(code ?? 0));
}

/** The value of `-H`/`--hostname`, as `next dev` reads it. */
function hostArgument(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-H" || arg === "--hostname") return args[i + 1] ?? "";
    if (arg.startsWith("--hostname=")) return arg.slice("--hostname=".length);
  }
  return undefined;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
