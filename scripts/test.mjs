#!/usr/bin/env node
/**
 * `npm test`: everything the suite needs, set up by the suite itself, then `vitest run`.
 *
 * - Node: 22 or newer (the AI SDK 7 and vitest need it); older stops here with one line.
 * - Redis: `REDIS_URL` when given (the suite uses that Redis, its database and the next four
 *   ones, which it flushes); otherwise a private `redis-server` on a free loopback port,
 *   started for this run and stopped after it, so a Redis the developer runs on 6379 is never
 *   touched. A missing `redis-server` is installed from Debian's packages when running as root.
 * - Chromium for the browser tests: Debian's `chromium` (`CHROMIUM_PATH` overrides), installed
 *   the same way; never a downloaded browser build.
 *
 * Plain JavaScript on purpose: it must run before anything is compiled or installed.
 * Arguments after `npm test --` go to vitest (`npm test -- tests/metering`).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MIN_NODE_MAJOR = 22;

function fail(line) {
  process.stderr.write(`npm test: ${line}\n`);
  process.exit(1);
}

function checkNode() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < MIN_NODE_MAJOR) {
    fail(`Node ${process.versions.node} is too old: Tollgate needs Node 22 or 24 (README, "Two commands", says how to get Node 24 without root).`);
  }
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
let aptUpdated = false;

/** Installs Debian packages when we may (root), else stops with one line that says what to install. */
function ensureDebianPackage(pkg, what) {
  if (!isRoot) fail(`${what} is missing: install it with \`sudo apt-get install ${pkg}\` (or see README, "Running the tests").`);
  process.stdout.write(`npm test: installing ${pkg} from Debian's packages (${what} is missing)\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    if (update.status !== 0) fail(`\`apt-get update\` failed; install ${pkg} by hand.`);
    aptUpdated = true;
  }
  const install = spawnSync("apt-get", ["install", "-y", "-qq", pkg], { stdio: ["ignore", "ignore", "inherit"], env });
  if (install.status !== 0) fail(`\`apt-get install ${pkg}\` failed; install it by hand.`);
}

function findExecutable(names, dirs) {
  for (const dir of dirs) for (const name of names) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

const SEARCH_PATH = [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/bin", "/usr/sbin", "/usr/local/bin"];

function ensureChromium() {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured)) fail(`CHROMIUM_PATH=${configured} does not exist.`);
    return configured;
  }
  if (!existsSync("/usr/bin/chromium")) ensureDebianPackage("chromium", "Chromium (for the browser tests)");
  return "/usr/bin/chromium";
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** True when something answers PING with +PONG on that port. */
function pings(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let data = "";
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.on("data", (chunk) => {
      data += chunk.toString();
      if (data.includes("\r\n")) done(data.startsWith("+PONG"));
    });
    socket.once("connect", () => socket.write("PING\r\n"));
  });
}

/** The redis-server binary, installed from Debian's packages when missing (as root). */
function ensureRedisServer() {
  let binary = findExecutable(["redis-server"], SEARCH_PATH);
  if (binary === undefined) {
    ensureDebianPackage("redis-server", "redis-server");
    binary = findExecutable(["redis-server"], SEARCH_PATH);
    if (binary === undefined) fail("redis-server is still not on PATH after installing it.");
  }
  return binary;
}

/** Starts a private redis-server (nothing persisted, loopback only); resolves to its URL and stop(). */
async function startPrivateRedis(binary) {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-test-redis-"));
  // A free port can be taken between our probe and Redis's bind: try a few.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const child = spawn(binary, [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--dir", dir, "--databases", "16", "--daemonize", "no", "--loglevel", "warning",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let exited = false;
    child.once("exit", () => { exited = true; });
    for (let i = 0; i < 100 && !exited; i += 1) {
      if (await pings(port)) {
        const stop = () => {
          if (!exited) child.kill("SIGTERM");
          rmSync(dir, { recursive: true, force: true });
        };
        return { url: `redis://127.0.0.1:${port}`, stop };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited) child.kill("SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
  fail(`could not start ${binary} on a free port.`);
}

async function main() {
  checkNode();
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
  env.CHROMIUM_PATH = ensureChromium();
  // The suite's own Redis, and the binary the tests that need a Redis of their own (a
  // different configuration: tests/kv-server/script-busy.test.ts) start, wherever it lives.
  const redisServer = ensureRedisServer();
  env.REDIS_SERVER_PATH = redisServer;

  let stopRedis = () => {};
  if (process.env.REDIS_URL) {
    process.stdout.write(`npm test: Redis from REDIS_URL (its database and the next four are the suite's)\n`);
  } else {
    const redis = await startPrivateRedis(redisServer);
    env.REDIS_URL = redis.url;
    stopRedis = redis.stop;
    process.stdout.write(`npm test: private Redis at ${redis.url} for this run\n`);
  }

  const vitest = spawn(process.execPath, [join(import.meta.dirname, "..", "node_modules", "vitest", "vitest.mjs"), "run", ...process.argv.slice(2)], {
    stdio: "inherit",
    env,
  });
  const forward = (signal) => vitest.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  vitest.on("exit", (code, signal) => {
    stopRedis();
    process.exit(code ?? (signal ? 1 : 0));
  });
}

await main();
