/**
 * The local KV server in a process of its own (for the benchmark, the soak and the
 * protocol fuzz test), driven over IPC by kv-host.ts. Its own process so the app, the
 * load generator and the KV server do not share an event loop, and so its RSS and its
 * survival can be observed from outside.
 *
 * argv[2]: JSON `KvProcessOptions`. Messages in: `{ id, op }`; out: `{ type: "ready" }`
 * once listening, then `{ id, ok, value | error }` per message.
 */
import { createEmbeddedEngine, createRedisEngine, startKvServer } from "../../lib/kv-server";
import type { KvProcessOptions, KvRequest, KvResponse } from "./kv-protocol";

const options = JSON.parse(process.argv[2] ?? "{}") as KvProcessOptions;

async function main(): Promise<void> {
  const engine = options.engine === "redis"
    ? await createRedisEngine(options.redisUrl ?? "redis://127.0.0.1:6379")
    : await createEmbeddedEngine(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  let server = await startKvServer({ port: options.port ?? 0, engine, token: options.token });
  const port = server.port;
  process.send?.({ type: "ready", url: server.url, port, pid: process.pid });

  process.on("message", (raw) => {
    const message = raw as KvRequest;
    void (async (): Promise<KvResponse> => {
      switch (message.op) {
        case "counters":
          return { id: message.id, ok: true, value: structuredClone(server.counters) };
        case "reset":
          server.resetCounters();
          return { id: message.id, ok: true, value: null };
        case "fault":
          server.setFault(message.fault as never, message.options);
          return { id: message.id, ok: true, value: null };
        case "stop":
          // Stops listening; the engine (and the data of the embedded one) stays.
          await server.close();
          return { id: message.id, ok: true, value: null };
        case "start":
          server = await startKvServer({ port, engine: await reopen(), token: options.token });
          return { id: message.id, ok: true, value: null };
        case "memory":
          return { id: message.id, ok: true, value: process.memoryUsage() };
        case "exit":
          await server.close().catch(() => undefined);
          setImmediate(() => process.exit(0));
          return { id: message.id, ok: true, value: null };
      }
    })().then(
      (response) => process.send?.(response),
      (error: unknown) => process.send?.({ id: message.id, ok: false, error: String(error) } satisfies KvResponse),
    );
  });
  process.on("disconnect", () => process.exit(0));

  // close() may also close the engine: a restarted server gets a fresh one on the same
  // store (Redis), or, for the embedded engine, the same data directory.
  async function reopen() {
    return options.engine === "redis"
      ? createRedisEngine(options.redisUrl ?? "redis://127.0.0.1:6379")
      : createEmbeddedEngine(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
