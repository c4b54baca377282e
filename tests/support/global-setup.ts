import type { TestProject } from "vitest/node";
import { createEmbeddedEngine, createRedisEngine, type RunningKvServer, startKvServer } from "../../lib/kv-server";
import "./kv";

/**
 * Starts the local KV server twice, once per engine, for every test file: the embedded
 * engine (the zero-setup default) and real Redis (REDIS_URL, default 127.0.0.1:6379, db 0
 * shared safely because every test uses its own key namespace).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const token = `vitest-${crypto.randomUUID()}`;
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const servers: RunningKvServer[] = [
    await startKvServer({ port: 0, engine: await createEmbeddedEngine(), token }),
    await startKvServer({ port: 0, engine: await createRedisEngine(redisUrl), token }),
  ];
  project.provide("kvServers", [
    { engine: "embedded", url: servers[0]!.url, token },
    { engine: "redis", url: servers[1]!.url, token },
  ]);
  return async () => {
    await Promise.all(servers.map((s) => s.close()));
  };
}
