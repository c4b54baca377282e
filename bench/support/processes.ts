import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

/** The repository root: every child process runs from here. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs a TypeScript file in a fresh Node process with tsx as a loader. `node --import tsx`
 * (not the `tsx` CLI, which forks a second process) so the child's pid is the process
 * doing the work: RSS samples and kills hit the right one.
 */
export function spawnTs(script: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT, ...options });
}

/**
 * Runs a worker script that takes one JSON argument and prints one JSON line as its
 * result. A worker that exits non-zero, prints no JSON or outlives `timeoutMs` rejects.
 */
export function runJsonWorker<T>(script: string, input: unknown, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawnTs(script, [JSON.stringify(input)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not finish within ${timeoutMs} ms\n${err.slice(-2000)}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) {
        reject(new Error(`${script} exited with ${code}\n${err.slice(-2000)}\n${out.slice(-500)}`));
        return;
      }
      resolve(JSON.parse(line) as T);
    });
  });
}

/** A port nobody listens on right now (the usual small race is acceptable on loopback). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * Polls `check` until it returns true. A check that throws means "not yet", except a
 * `StopWaiting` error (e.g. the process being waited for has exited), which ends the wait.
 */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof StopWaiting) throw new Error(describe(), { cause: error });
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
}

export class StopWaiting extends Error {}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resident set size of a process and all its descendants, in MiB, from /proc (Linux).
 * The whole tree, because a launcher may run the real server in a child.
 */
export function treeRssMiB(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name is in parentheses and may contain spaces: split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended meanwhile
    }
  }
  let kib = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    kib += rssKiB(p);
    stack.push(...(children.get(p) ?? []));
  }
  return kib / 1024;
}

function rssKiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Stops a child we started, by its pid: SIGTERM, then SIGKILL if it lingers. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
