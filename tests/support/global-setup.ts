import type { TestProject } from "vitest/node";
import { createEmbeddedEngine, createRedisEngine, type RunningKvServer, startKvServer } from "../../lib/kv-server";
import "./kv";
import { suiteRedisUrl } from "./redis";

/**
 * Starts the local KV server twice, once per engine, for every test file: the embedded
 * engine (the zero-setup default) and real Redis (the suite's: REDIS_URL, or the private one `npm test` started;
 * shared safely because every test uses its own key namespace).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const token = `vitest-${crypto.randomUUID()}`;
  const redisUrl = suiteRedisUrl();
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
