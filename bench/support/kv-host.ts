import type { ChildProcess } from "node:child_process";
import { spawnTs, stopChild } from "./processes";
import type { KvCounters, KvFault, KvFaultOptions, KvProcessOptions, KvRequest, KvResponse } from "./kv-protocol";

export type { KvCounters, KvFault, KvFaultOptions } from "./kv-protocol";

/** The parent's handle on a KV server running in its own process (kv-process.ts). */
export interface KvProcess {
  url: string;
  token: string;
  engine: KvProcessOptions["engine"];
  pid: number;
  child: ChildProcess;
  counters(): Promise<KvCounters>;
  resetCounters(): Promise<void>;
  setFault(fault: KvFault, options?: KvFaultOptions): Promise<void>;
  /** Stops listening (the data stays); `start()` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** True while the process is alive. */
  alive(): boolean;
  close(): Promise<void>;
}

const SCRIPT = new URL("./kv-process.ts", import.meta.url).pathname;

export async function startKvProcess(options: KvProcessOptions): Promise<KvProcess> {
  const child = spawnTs(SCRIPT, [JSON.stringify(options)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  const ready = new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the KV server process exited with ${code} before it was ready`));
    child.once("exit", onExit);
    child.on("message", (raw) => {
      const message = raw as KvResponse | { type: "ready"; url: string; pid: number };
      if ("type" in message) {
        child.off("exit", onExit);
        resolve(message);
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(new Error(message.error));
    });
  });
  child.on("exit", () => {
    for (const w of pending.values()) w.reject(new Error("the KV server process exited"));
    pending.clear();
  });
  const { url, pid } = await ready;

  function call(request: Omit<KvRequest, "id">): Promise<unknown> {
    if (!child.connected) return Promise.reject(new Error("the KV server process is gone"));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ ...request, id });
    });
  }

  return {
    url, pid, child, token: options.token, engine: options.engine,
    counters: async () => (await call({ op: "counters" })) as KvCounters,
    resetCounters: async () => void (await call({ op: "reset" })),
    setFault: async (fault, faultOptions) => void (await call({ op: "fault", fault, options: faultOptions } as Omit<KvRequest, "id">)),
    stop: async () => void (await call({ op: "stop" })),
    start: async () => void (await call({ op: "start" })),
    alive: () => child.exitCode === null && child.signalCode === null,
    async close() {
      if (child.connected) await Promise.race([call({ op: "exit" }).catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
      await stopChild(child);
    },
  };
}
