/**
 * The local KV server: `npm run kv -- --port 8079 [--redis URL] [--data-dir DIR | --no-persist]`.
 *
 * Speaks the Upstash REST protocol, so `@vercel/kv` works against it with
 * KV_REST_API_URL=http://127.0.0.1:8079 and the token it prints. Without
 * --redis (or REDIS_URL) it runs the embedded engine, persisted to
 * .tollgate/kv. This is the one place that reads the environment; its tokens
 * are read by the app's own rule (kvCredentialsFromEnv in lib/settings.ts).
 */
import { parseArgs } from "node:util";
import {
  createEmbeddedEngine,
  createRedisEngine,
  ephemeralTokens,
  localTokens,
  LocalTokenError,
  redactUrl,
  startKvServer,
  type Engine,
  type LocalTokens,
} from "../lib/kv-server";
import { kvCredentialsFromEnv, SettingsError } from "../lib/settings";
import { isLoopbackHost } from "../lib/loopback";

const USAGE = `usage: npm run kv -- [--port 8079] [--host 127.0.0.1]
                     [--redis redis://127.0.0.1:6379 | --data-dir .tollgate/kv | --no-persist]

  --port N        port to listen on (env KV_PORT; default 8079; 0 picks a free one)
  --host H        interface to bind (default 127.0.0.1; a non-loopback one needs a configured token)
  --redis URL     forward to this Redis instead of the embedded engine (env REDIS_URL)
  --data-dir DIR  where the embedded engine persists its data (default .tollgate/kv)
  --no-persist    keep the embedded engine's data in memory only
  --allow-host H  also answer requests whose Host is H (NAME on any port, or NAME:PORT);
                  repeatable. Only localhost, 127.0.0.1 and [::1] with the port are
                  accepted otherwise (DNS rebinding defence)

Tokens come from KV_REST_API_TOKEN and KV_REST_API_READ_ONLY_TOKEN, else from
UPSTASH_REDIS_REST_TOKEN (never a mix, as in the app). Without them a random pair is
made on first run and kept in the data directory (token, read-only-token; mode 0600),
or made for this run only with --no-persist or --redis; on a loopback host only: a
non-loopback --host needs a configured token.`;

class UsageError extends Error {
  override name = "UsageError";
}

interface Config {
  port: number;
  host: string;
  redisUrl: string | undefined;
  dataDir: string | undefined;
  /** Undefined: none configured, so a local pair is used. */
  token: string | undefined;
  readOnlyToken: string | undefined;
  allowHosts: string[];
}


function readConfig(argv: string[], env: NodeJS.ProcessEnv): Config | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      redis: { type: "string" },
      "data-dir": { type: "string" },
      "no-persist": { type: "boolean" },
      "allow-host": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const portText = values.port ?? env.KV_PORT ?? "8079";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`invalid port: ${portText}`);
  if (values["no-persist"] && values["data-dir"] !== undefined) {
    throw new UsageError("--data-dir and --no-persist exclude each other");
  }
  const host = values.host ?? "127.0.0.1";
  const redisUrl = values.redis ?? (env.REDIS_URL || undefined);
  if (redisUrl !== undefined && (values["data-dir"] !== undefined || values["no-persist"])) {
    throw new UsageError("--data-dir and --no-persist apply to the embedded engine, not to --redis/REDIS_URL");
  }

  // The same variables, precedence and refusals as the app, so the token the server
  // accepts is the token `npm run dev` / `next start` in the same shell will send.
  const credentials = kvCredentialsFromEnv(env);
  const token = credentials.token;
  // Whatever NODE_ENV says: a server other machines can reach must have a token its
  // operator chose and handed out, not one made up in a local file.
  if (token === undefined && !isLoopbackHost(host)) {
    throw new UsageError(
      `refusing to serve ${host} without a configured token: set KV_REST_API_TOKEN or UPSTASH_REDIS_REST_TOKEN`,
    );
  }
  return {
    port,
    host,
    redisUrl,
    dataDir: redisUrl !== undefined || values["no-persist"] ? undefined : (values["data-dir"] ?? ".tollgate/kv"),
    token,
    readOnlyToken: token === undefined ? undefined : credentials.readOnlyToken,
    allowHosts: values["allow-host"] ?? [],
  };
}

/** The configured tokens, or a local pair: kept in the data directory, or for this run only. */
function tokensFor(config: Config): { token: string; readOnlyToken: string | undefined; local?: LocalTokens } {
  if (config.token !== undefined) return { token: config.token, readOnlyToken: config.readOnlyToken };
  const local = config.dataDir !== undefined ? localTokens(config.dataDir) : ephemeralTokens();
  return { token: local.token, readOnlyToken: local.readOnlyToken, local };
}

async function main(): Promise<void> {
  const config = readConfig(process.argv.slice(2), process.env);
  if (config === "help") {
    console.log(USAGE);
    return;
  }
  // Before the engine: a token file we cannot trust stops the start with nothing opened.
  const tokens = tokensFor(config);
  const local = tokens.local;
  const engine: Engine =
    config.redisUrl !== undefined
      ? await createRedisEngine(config.redisUrl)
      : await createEmbeddedEngine({ dataDir: config.dataDir });
  let server;
  try {
    server = await startKvServer({
      port: config.port,
      host: config.host,
      engine,
      token: tokens.token,
      readOnlyToken: tokens.readOnlyToken,
      allowHosts: config.allowHosts,
    });
  } catch (error) {
    await engine.close();
    throw error;
  }
  if (local?.tokenFile !== undefined) {
    // Where, never what: the values stay in files only their owner reads.
    console.log(
      `tollgate-kv local tokens: KV_REST_API_TOKEN=$(cat ${local.tokenFile}) KV_REST_API_READ_ONLY_TOKEN=$(cat ${local.readOnlyTokenFile})`,
    );
  } else if (local !== undefined) {
    // Kept nowhere, so this terminal is the only place to learn them.
    console.log(`tollgate-kv tokens for this run: KV_REST_API_TOKEN=${local.token} KV_REST_API_READ_ONLY_TOKEN=${local.readOnlyToken}`);
  }
  const where =
    config.redisUrl !== undefined
      ? `engine=redis redis=${redactUrl(config.redisUrl)}`
      : `engine=embedded data=${config.dataDir ?? "memory"}`;
  console.log(`tollgate-kv ready url=${server.url} ${where}`);

  const running = server;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C means "now": skip the snapshot.
      process.exit(130);
    }
    stopping = true;
    running.close().then(
      () => {
        console.log(`tollgate-kv stopped (${signal})`);
        process.exit(0);
      },
      (error: unknown) => {
        console.error("tollgate-kv: error while stopping:", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof SettingsError || error instanceof LocalTokenError || (error instanceof TypeError && "code" in error)) {
    console.error(`tollgate-kv: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
  console.error(`tollgate-kv: ${message}${cause}`);
  process.exit(1);
});
