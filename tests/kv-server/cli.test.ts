/**
 * `npm run kv` as a real child process: the ready line, tokens, clean
 * stops, and what survives `kill -9`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { randomPrefix, redisUrlFor, TEST_DB } from "./helpers";

const ROOT = resolve(import.meta.dirname, "../..");
/** The token every install used to share; nothing may accept it any more. */
const PUBLISHED_TOKEN = "tollgate-dev-token";

interface Cli {
  child: ChildProcess;
  url: string;
  readyLine: string;
  output: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-kv-cli-"));
  dirs.push(dir);
  return dir;
}

/**
 * The environment of a developer who has configured nothing (vitest sets KV_* placeholders,
 * and a developer's shell may hold either family of KV credentials).
 */
const KV_VARIABLES = [
  "KV_REST_API_URL", "KV_REST_API_TOKEN", "KV_REST_API_READ_ONLY_TOKEN", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN",
];
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of [...KV_VARIABLES, "REDIS_URL", "KV_PORT", "NODE_ENV"]) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

function startCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Cli> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/kv.ts", ...args], { cwd: ROOT, env });
  children.push(child);
  let output = "";
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return new Promise((resolveReady, reject) => {
    // A ceiling, not a speed goal: starting tsx takes seconds on a slow, loaded machine.
    const timer = setTimeout(() => reject(new Error(`no ready line within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((candidate) => candidate.includes(" ready "));
      if (line === undefined) return;
      clearTimeout(timer);
      const url = /url=(\S+)/.exec(line)?.[1] ?? "";
      resolveReady({ child, url, readyLine: line, output: () => output, exited });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kv exited with ${code} before ready:\n${output}`));
    });
  });
}

/** The full token a CLI started without one made: from the file it names, or printed for this run. */
function tokenOf(cli: Cli): string {
  const output = cli.output();
  const file = /KV_REST_API_TOKEN=\$\(cat (\S+)\)/.exec(output)?.[1];
  if (file !== undefined) return readFileSync(file, "utf8").trim();
  const printed = /KV_REST_API_TOKEN=([A-Za-z0-9_-]+)/.exec(output)?.[1];
  if (printed === undefined) throw new Error(`no token in the output:\n${output}`);
  return printed;
}

async function command(url: string, args: unknown[], token: string): Promise<unknown> {
  const response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(args) });
  return ((await response.json()) as { result?: unknown; error?: string }).result;
}

describe("npm run kv", () => {
  // The limiter most Vercel apps put beside their KV, unchanged, against the server process
  // `npm run dev` and `npm run kv` start (its scripts carry Upstash's allow-key-locking flag).
  it("serves @upstash/ratelimit 2.x unchanged, on both engines", async () => {
    const { Ratelimit } = await import("@upstash/ratelimit");
    const { Redis } = await import("@upstash/redis");
    for (const args of [["--no-persist"], ["--redis", redisUrlFor(TEST_DB.http)]]) {
      const server = await startCli(["--port", "0", ...args]);
      const redis = new Redis({ url: server.url, token: tokenOf(server), enableTelemetry: false });
      const prefix = randomPrefix("cli-ratelimit");
      for (const limiter of [Ratelimit.fixedWindow(2, "30 s"), Ratelimit.slidingWindow(2, "30 s"), Ratelimit.tokenBucket(1, "30 s", 2)]) {
        const ratelimit = new Ratelimit({ redis, limiter, prefix: `${prefix}${Math.random()}`, analytics: false });
        const results = [];
        for (let i = 0; i < 3; i++) results.push((await ratelimit.limit("user")).success);
        expect(results).toEqual([true, true, false]);
        expect(await ratelimit.getRemaining("user")).toMatchObject({ remaining: 0 });
        await ratelimit.resetUsedTokens("user");
        expect((await ratelimit.limit("user")).success).toBe(true);
      }
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    }
  });

  it("prints one ready line, makes a token pair kept in the data directory (0600), and keeps data across a clean stop", async () => {
    const dir = tempDir();
    const first = await startCli(["--port", "0", "--data-dir", dir]);
    expect(first.readyLine).toMatch(new RegExp(`^tollgate-kv ready url=http://127\\.0\\.0\\.1:\\d+ engine=embedded data=${dir}$`));
    expect(first.output().split("\n").filter((line) => line.includes("ready"))).toHaveLength(1);
    const token = readFileSync(join(dir, "token"), "utf8").trim();
    const readOnly = readFileSync(join(dir, "read-only-token"), "utf8").trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readOnly).not.toBe(token);
    for (const name of ["token", "read-only-token"]) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    // Where the tokens are, never what they are.
    expect(first.output()).toContain(join(dir, "token"));
    expect(first.output()).not.toContain(token);
    expect(first.output()).not.toContain(readOnly);
    expect(tokenOf(first)).toBe(token);
    expect(await command(first.url, ["set", "greeting", "hello"], token)).toBe("OK");
    expect(await command(first.url, ["set", "nope", "x"], readOnly)).toBeUndefined();
    expect(await command(first.url, ["get", "greeting"], readOnly)).toBe("hello");
    for (const published of [PUBLISHED_TOKEN, "tollgate-dev-readonly-token"]) {
      expect(await command(first.url, ["get", "greeting"], published)).toBeUndefined();
    }
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["read-only-token", "snapshot.jsonl", "token"]);

    // The same pair on the next start.
    const second = await startCli(["--port", "0", "--data-dir", dir]);
    expect(await command(second.url, ["get", "greeting"], token)).toBe("hello");
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);
  });

  it("makes a pair for this run only with --no-persist, printed to its own terminal", async () => {
    const first = await startCli(["--port", "0", "--no-persist"]);
    const second = await startCli(["--port", "0", "--no-persist"]);
    expect(tokenOf(first)).not.toBe(tokenOf(second));
    expect(await command(first.url, ["ping"], tokenOf(first))).toBe("PONG");
    expect(await command(first.url, ["ping"], tokenOf(second))).toBeUndefined();
    for (const cli of [first, second]) {
      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
    }
  });

  it("loses no acknowledged write to kill -9", async () => {
    const dir = tempDir();
    const server = await startCli(["--port", "0", "--data-dir", dir]);
    const token = tokenOf(server);
    let acknowledged = 0;
    let stop = false;
    let writerError: unknown = null;
    const writer = (async () => {
      while (!stop) {
        try {
          if ((await command(server.url, ["incr", "counter"], token)) !== undefined) acknowledged++;
        } catch (error) {
          if (!stop) writerError = error;
          return;
        }
      }
    })();
    // Killed once a number of writes were acknowledged (counted, not timed: a slow machine
    // acknowledges fewer per second), while more are in flight. A writer that failed before
    // that is the failure, not a wait until the test's timeout.
    while (acknowledged < 50 && writerError === null) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(writerError).toBeNull();
    server.child.kill("SIGKILL");
    stop = true;
    await writer;
    expect(await server.exited).toBeNull();

    const restarted = await startCli(["--port", "0", "--data-dir", dir]);
    const stored = Number(await command(restarted.url, ["get", "counter"], token));
    // Each write reaches the kernel before it is acknowledged; only the one in flight may or may not count.
    expect(stored).toBeGreaterThanOrEqual(acknowledged);
    expect(stored).toBeLessThanOrEqual(acknowledged + 1);
    restarted.child.kill("SIGTERM");
    await restarted.exited;
  });

  it("uses the Redis engine with --redis and never prints a configured token", async () => {
    const key = `${randomPrefix("cli")}k`;
    const env = cleanEnv({ KV_REST_API_TOKEN: "configured-secret-token" });
    const server = await startCli(["--port", "0", "--redis", redisUrlFor(TEST_DB.http)], env);
    // The ready line names the Redis without its password, whichever Redis the suite was given.
    const redis = new URL(redisUrlFor(TEST_DB.http));
    expect(server.readyLine).toMatch(new RegExp(`engine=redis redis=redis://(\\S*@)?${redis.host}/${TEST_DB.http}$`));
    expect(await command(server.url, ["set", key, "v"], "configured-secret-token")).toBe("OK");
    expect(await command(server.url, ["del", key], "configured-secret-token")).toBe(1);
    expect(server.output()).not.toContain("configured-secret-token");
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("takes its token from UPSTASH_REDIS_REST_TOKEN, and KV_REST_API_TOKEN first when both are set", async () => {
    const upstash = await startCli(["--port", "0", "--no-persist"], cleanEnv({ UPSTASH_REDIS_REST_TOKEN: "upstash-secret-token" }));
    expect(await command(upstash.url, ["set", "k", "v"], "upstash-secret-token")).toBe("OK");
    expect(await command(upstash.url, ["get", "k"], PUBLISHED_TOKEN)).toBeUndefined();
    expect(await command(upstash.url, ["get", "k"], "tollgate-dev-readonly-token")).toBeUndefined();
    expect(upstash.output()).not.toContain("upstash-secret-token");
    expect(upstash.output()).not.toContain("tokens");
    upstash.child.kill("SIGTERM");
    expect(await upstash.exited).toBe(0);

    const both = await startCli(
      ["--port", "0", "--no-persist"],
      cleanEnv({ KV_REST_API_TOKEN: "vercel-secret-token", UPSTASH_REDIS_REST_TOKEN: "upstash-secret-token" }),
    );
    expect(await command(both.url, ["set", "k", "v"], "vercel-secret-token")).toBe("OK");
    expect(await command(both.url, ["get", "k"], "upstash-secret-token")).toBeUndefined();
    both.child.kill("SIGTERM");
    expect(await both.exited).toBe(0);
  });

  it("refuses a URL and a token from different families, naming the variables and not the token", async () => {
    const env = cleanEnv({ KV_REST_API_URL: "http://127.0.0.1:8079", UPSTASH_REDIS_REST_TOKEN: "upstash-secret-token" });
    const refused = startCli(["--port", "0", "--no-persist"], env);
    await expect(refused).rejects.toThrow(/exited with 2[\s\S]*KV_REST_API_URL is set but KV_REST_API_TOKEN is not, and UPSTASH_REDIS_REST_TOKEN/);
    await expect(refused).rejects.not.toThrow(/upstash-secret-token/);
  });

  it("refuses a non-loopback host without a configured token, whatever NODE_ENV says", async () => {
    for (const nodeEnv of [undefined, "development", "production"]) {
      const env = cleanEnv(nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv });
      await expect(startCli(["--port", "0", "--host", "0.0.0.0", "--no-persist"], env), nodeEnv).rejects.toThrow(/exited with 2[\s\S]*KV_REST_API_TOKEN/);
    }
    const loopback = await startCli(["--port", "0", "--no-persist"], cleanEnv({ NODE_ENV: "production" }));
    expect(loopback.readyLine).toMatch(/engine=embedded data=memory$/);
    loopback.child.kill("SIGTERM");
    await loopback.exited;
    const configured = await startCli(["--port", "0", "--host", "0.0.0.0", "--no-persist"], cleanEnv({ KV_REST_API_TOKEN: "a-configured-token" }));
    expect(configured.readyLine).toMatch(/ready url=http:\/\/0\.0\.0\.0:\d+ /);
    configured.child.kill("SIGTERM");
    await configured.exited;
  });
});
