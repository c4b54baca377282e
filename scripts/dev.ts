/**
 * `npm run dev`: the app with zero set-up. When no KV_REST_API_URL is set, the local KV
 * server (embedded engine, data in .tollgate/kv; or real Redis when REDIS_URL is set)
 * starts first on 127.0.0.1:8079 with the development token, then `next dev`.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createEmbeddedEngine, createRedisEngine, startKvServer } from "../lib/kv-server";
import { DEV_KV_TOKEN, DEV_KV_URL } from "../lib/settings";

async function main(): Promise<void> {
  // Nothing may call out at run time: Next's anonymous telemetry stays off.
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: process.env.NEXT_TELEMETRY_DISABLED ?? "1" };
  let closeKv: (() => Promise<void>) | null = null;
  if (!env.KV_REST_API_URL) {
    const port = Number(new URL(DEV_KV_URL).port);
    const engine = env.REDIS_URL ? await createRedisEngine(env.REDIS_URL) : await createEmbeddedEngine({ dataDir: ".tollgate/kv" });
    const server = await startKvServer({ port, engine, token: env.KV_REST_API_TOKEN ?? DEV_KV_TOKEN });
    closeKv = () => server.close();
    env.KV_REST_API_URL = server.url;
    env.KV_REST_API_TOKEN ??= DEV_KV_TOKEN;
    console.log(`tollgate: local KV server on ${server.url} (engine=${engine.kind}${engine.kind === "embedded" ? ", data in .tollgate/kv" : ""})`);
  }
  const require = createRequire(import.meta.url);
  const next = spawn(process.execPath, [require.resolve("next/dist/bin/next"), "dev", ...process.argv.slice(2)], { stdio: "inherit", env });
  const stop = async (code: number) => {
    next.kill("SIGTERM");
    await closeKv?.();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(130));
  process.on("SIGTERM", () => void stop(143));
  next.on("exit", (code) => void stop(code ?? 0));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
