/**
 * Operates a deployed Tollgate through its admin API:
 *   npm run admin -- show <userId>
 *   npm run admin -- topup <userId> <amount> --reason "…"
 *   npm run admin -- reset <userId> [--yes]
 *   npm run admin -- refund <userId> <debitId> [--reason "…"]
 * The token comes from ADMIN_API_TOKEN (or an admin JWT in it) and is never printed.
 * Exit codes: 0 done, 1 the API refused or could not be reached, 2 bad usage or configuration.
 */
import { createInterface } from "node:readline/promises";
import { MAX_AMOUNT } from "../lib/metering/amount";
import { assertOperationId, isValidIdempotencyKey, isValidUserId } from "../lib/metering";
import type { UserStats } from "../lib/metering";
import { isLoopbackHost } from "../lib/loopback";

const USAGE = `usage: npm run admin -- <command> [options]

commands:
  show <userId>                          balance, this month's usage and recent history
  topup <userId> <amount> --reason TEXT  add 1-${MAX_AMOUNT} tokens, with a reason for the history
  reset <userId> [--yes]                 start the user over (asks first unless --yes)
  refund <userId> <debitId> [--reason T] give one paid debit back, at most once (the id is in
                                         the user's history, e.g. a request whose instance died)

options:
  --url URL               the deployment (default: $TOLLGATE_URL, else http://localhost:3000)
  --insecure              allow http:// to a host other than this machine (the token then
                          crosses the network in clear text)
  --json                  print the API's JSON answer unchanged
  --history N             show: history entries to print (default 10)
  --idempotency-key KEY   topup: re-use a key to retry a top-up safely (default: a fresh one)
  -y, --yes               reset: do not ask for confirmation
  -h, --help              this text

environment:
  ADMIN_API_TOKEN         the admin API token (or an admin JWT); required, never printed`;

const DEFAULT_URL = "http://localhost:3000";
const REQUEST_TIMEOUT_MS = 15_000;

class UsageError extends Error {}

type Command =
  | { name: "show"; userId: string; history: number }
  | { name: "topup"; userId: string; amount: number; reason: string; idempotencyKey: string }
  | { name: "reset"; userId: string; yes: boolean }
  | { name: "refund"; userId: string; debitId: string; reason: string | null };

interface Options {
  command: Command;
  baseUrl: URL;
  json: boolean;
}

/** Validates everything before a byte is sent; throws UsageError with the reason. */
function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): Options | "help" {
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  const valued = new Set(["url", "reason", "history", "idempotency-key"]);
  const bool = new Set(["json", "yes", "help", "insecure"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h") flags.help = true;
    else if (arg === "-y") flags.yes = true;
    else if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      if (bool.has(name)) {
        if (eq !== -1) throw new UsageError(`--${name} takes no value`);
        flags[name] = true;
      } else if (valued.has(name)) {
        const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        if (name in flags) throw new UsageError(`--${name} given twice`);
        flags[name] = value;
      } else throw new UsageError(`unknown option ${arg.slice(0, eq === -1 ? undefined : eq)}`);
    } else if (arg.startsWith("-") && !/^-\d/.test(arg)) throw new UsageError(`unknown option ${arg}`);
    else positionals.push(arg);
  }
  if (flags.help === true) return "help";

  // (`-5` above stays a positional: a bad amount, which the amount check explains.)
  const [name, userId, ...rest] = positionals;
  if (name === undefined) throw new UsageError("missing command (show, topup, reset or refund)");
  if (name !== "show" && name !== "topup" && name !== "reset" && name !== "refund") throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  if (userId === undefined) throw new UsageError(`${name} needs a <userId>`);
  if (!isValidUserId(userId)) {
    throw new UsageError(`invalid user id ${JSON.stringify(userId)}: 1-128 characters of letters, digits and _ . @ : | + -, starting with a letter or digit`);
  }
  const allowed: Record<typeof name, string[]> = { show: ["history"], topup: ["reason", "idempotency-key"], reset: ["yes"], refund: ["reason"] };
  for (const flag of ["reason", "history", "idempotency-key", "yes"]) {
    if (flag in flags && !allowed[name].includes(flag)) throw new UsageError(`--${flag} does not apply to ${name}`);
  }

  const checkReason = (reason: string) => {
    if (reason.trim() === "" || reason.length > 200 || /[\u0000-\u001f\u007f-\u009f]/.test(reason)) {
      throw new UsageError("--reason must be 1-200 printable characters");
    }
  };
  let command: Command;
  if (name === "refund") {
    const [debitId, ...extra] = rest;
    if (debitId === undefined) throw new UsageError("refund needs a <debitId> (from the user's history)");
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    try {
      assertOperationId(debitId);
    } catch {
      throw new UsageError(`invalid debit id ${JSON.stringify(debitId)}`);
    }
    const reason = typeof flags.reason === "string" ? flags.reason : null;
    if (reason !== null) checkReason(reason);
    command = { name, userId, debitId, reason: reason?.trim() ?? null };
  } else if (name === "topup") {
    const [rawAmount, ...extra] = rest;
    if (rawAmount === undefined) throw new UsageError("topup needs an <amount>");
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const amount = Number(rawAmount);
    if (!/^[0-9]+$/.test(rawAmount) || !Number.isSafeInteger(amount) || amount < 1 || amount > MAX_AMOUNT) {
      throw new UsageError(`invalid amount ${JSON.stringify(rawAmount)}: a whole number of tokens from 1 to ${MAX_AMOUNT}`);
    }
    const reason = flags.reason;
    if (typeof reason !== "string") throw new UsageError('topup needs --reason "…" (it is shown in the user\'s history)');
    checkReason(reason);
    const key = flags["idempotency-key"];
    if (typeof key === "string" && !isValidIdempotencyKey(key)) {
      throw new UsageError("--idempotency-key must be 1-128 characters of letters, digits and _ . : -");
    }
    command = { name, userId, amount, reason: reason.trim(), idempotencyKey: typeof key === "string" ? key : crypto.randomUUID() };
  } else {
    if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    if (name === "show") {
      const raw = flags.history;
      const history = raw === undefined ? 10 : Number(raw);
      if (typeof raw === "string" && (!/^[0-9]{1,4}$/.test(raw) || history > 1000)) throw new UsageError("--history must be a whole number from 0 to 1000");
      command = { name, userId, history };
    } else {
      command = { name, userId, yes: flags.yes === true };
    }
  }

  const rawUrl = typeof flags.url === "string" ? flags.url : env.TOLLGATE_URL?.trim() || DEFAULT_URL;
  let baseUrl: URL;
  try {
    baseUrl = new URL(rawUrl);
  } catch {
    throw new UsageError(`invalid --url ${JSON.stringify(rawUrl)}: give an absolute http(s) URL`);
  }
  if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") throw new UsageError("--url must be http or https");
  // Credentials in a URL end up in logs and shell history; the token has its own variable.
  if (baseUrl.username !== "" || baseUrl.password !== "") throw new UsageError("--url must not contain credentials; use ADMIN_API_TOKEN");
  if (baseUrl.search !== "" || baseUrl.hash !== "") throw new UsageError("--url must not have a query or fragment");
  // The admin token goes in a header: over plain http anyone on the path reads it. Only
  // this machine's own loopback is exempt (`npm run dev`), unless the operator says so.
  if (baseUrl.protocol === "http:" && !isLoopbackHost(baseUrl.hostname) && flags.insecure !== true) {
    throw new UsageError(`refusing to send the admin token in clear text to ${baseUrl.origin}: use https, or --insecure if you mean it`);
  }
  return { command, baseUrl, json: flags.json === true };
}


type Stats = UserStats;

type ApiResult = { ok: true; status: number; body: unknown } | { ok: false; status: number; body: unknown; message: string };

async function call(options: Options, token: string, method: "GET" | "POST", path: string, json?: unknown, headers: Record<string, string> = {}): Promise<ApiResult> {
  const base = options.baseUrl.href.replace(/\/+$/, "");
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      accept: "application/json",
      authorization: `Bearer ${token}`,
      ...(json === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: json === undefined ? undefined : JSON.stringify(json),
    redirect: "error",
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // handled below
  }
  if (res.ok && body !== null && typeof body === "object") return { ok: true, status: res.status, body };
  const problem = (body ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
  const code = typeof problem.code === "string" ? problem.code : null;
  const detail = typeof problem.detail === "string" ? problem.detail : typeof problem.title === "string" ? problem.title : null;
  const message = code === null
    ? `HTTP ${res.status} from ${base}: not an answer from Tollgate's admin API (is --url right?)`
    : `HTTP ${res.status} ${code}${detail === null ? "" : `: ${detail}`}`;
  return { ok: false, status: res.status, body, message };
}

const n = (value: number) => value.toLocaleString("en-US");
const utc = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 16).replace("T", " ") + " UTC";
const signed = (value: number) => (value > 0 ? `+${n(value)}` : n(value));

function printStats(stats: Stats, historyLines: number): void {
  const rows: [string, string][] = [
    ["Balance", `${n(stats.balance)} tokens`],
    ["This month", `${n(stats.period.used)}${stats.period.allowance > 0 ? ` of ${n(stats.period.allowance)}` : ""} tokens used (${stats.period.id}, ends ${utc(stats.period.resetsAt)})`],
    ["Generations", `${n(stats.generations)} (${n(stats.tokensUsed)} tokens spent, ${n(stats.tokensRefunded)} refunded)`],
    ["Tokens added", n(stats.tokensAdded)],
    ["Last generation", stats.lastGenerationAt === null ? "never" : utc(stats.lastGenerationAt)],
    ["In flight", n(stats.pending)],
  ];
  console.log(stats.userId);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(16)} ${value}`);
  if (historyLines === 0) return;
  const shown = stats.history.slice(0, historyLines);
  console.log(`\nHistory (newest ${shown.length} of ${stats.history.length}):`);
  if (shown.length === 0) console.log("  (none)");
  const width = Math.max(...shown.map((e) => signed(e.amount).length), 0);
  for (const e of shown) {
    const what = [e.route, e.reason, e.actor === undefined ? null : `by ${e.actor}`].filter((x) => x !== null).join(" · ");
    console.log(`  ${utc(e.at).slice(0, 16)}  ${e.type.padEnd(6)}  ${signed(e.amount).padStart(width)}  → ${n(e.balanceAfter).padEnd(9)} ${what}`);
  }
}

async function confirmReset(userId: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Reset ${userId}? Their balance and history are replaced by their starting amount. Type the user id to confirm: `);
    return answer.trim() === userId;
  } finally {
    rl.close();
  }
}

async function run(options: Options, token: string): Promise<number> {
  const { command } = options;
  const path = `/api/admin/users/${encodeURIComponent(command.userId)}`;
  let result: ApiResult;
  if (command.name === "show") {
    result = await call(options, token, "GET", path);
  } else if (command.name === "topup") {
    result = await call(options, token, "POST", `${path}/tokens`, { amount: command.amount, reason: command.reason }, { "idempotency-key": command.idempotencyKey });
  } else if (command.name === "refund") {
    result = await call(options, token, "POST", `${path}/refunds`, { debitId: command.debitId, ...(command.reason === null ? {} : { reason: command.reason }) });
  } else {
    if (!command.yes) {
      if (!process.stdin.isTTY) throw new UsageError("reset needs --yes when not run from a terminal");
      if (!(await confirmReset(command.userId))) {
        console.error("admin: not reset");
        return 1;
      }
    }
    // `{}`: every write takes a JSON body (the server accepts a bodiless reset only from a Bearer caller).
    result = await call(options, token, "POST", `${path}/reset`, {});
  }

  if (options.json && result.body !== null) console.log(JSON.stringify(result.body, null, 2));
  if (!result.ok) {
    console.error(`admin: ${result.message}`);
    if (result.status === 401) console.error("admin: check ADMIN_API_TOKEN: the deployment did not accept it");
    if (command.name === "topup" && result.status >= 500) {
      console.error(`admin: to retry without risk of adding twice, pass --idempotency-key ${command.idempotencyKey}`);
    }
    return 1;
  }
  if (options.json) return 0;
  if (command.name === "show") printStats(result.body as Stats, command.history);
  else if (command.name === "topup") {
    const body = result.body as { balance: number; added: number; duplicate: boolean };
    console.log(body.duplicate
      ? `Already applied (same idempotency key): nothing added. ${command.userId} has ${n(body.balance)} tokens.`
      : `Added ${n(body.added)} tokens to ${command.userId}. Balance: ${n(body.balance)} tokens.`);
  } else if (command.name === "refund") {
    const body = result.body as { status: string; amount?: number; balance?: number; refundId: string };
    console.log(body.status === "refunded"
      ? `Refunded ${n(body.amount ?? 0)} tokens of ${command.debitId} to ${command.userId}. Balance: ${n(body.balance ?? 0)} tokens.`
      : `Already refunded (${body.refundId}): nothing added.`);
  } else {
    console.log(`Reset ${command.userId}. Balance: ${n((result.body as Stats).balance)} tokens.`);
  }
  return 0;
}

async function main(): Promise<number> {
  let options: Options | "help";
  try {
    options = parseArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const lost = process.argv.length <= 2 || /command/.test(error.message);
    console.error(`admin: ${error.message}`);
    console.error(lost ? `\n${USAGE}` : "(npm run admin -- --help for usage)");
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const token = process.env.ADMIN_API_TOKEN?.trim();
  if (!token) {
    console.error("admin: ADMIN_API_TOKEN is not set (the deployment's admin API token, or an admin JWT)");
    return 2;
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    console.error("admin: ADMIN_API_TOKEN contains spaces or non-ASCII characters");
    return 2;
  }
  try {
    return await run(options, token);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`admin: ${error.message}`);
      return 2;
    }
    // fetch failures: name the place and the cause (ECONNREFUSED, a timeout), never a header.
    console.error(`admin: could not reach ${options.baseUrl.origin}: ${networkCause(error)}`);
    return 1;
  }
}

/** undici wraps the useful part (`ECONNREFUSED`, `bad port`) one or two causes deep. */
function networkCause(error: unknown): string {
  let innermost = error instanceof Error ? error.message : String(error);
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    if (e.name === "TimeoutError") return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
    if (e instanceof AggregateError && e.errors.length > 0) return networkCause(e.errors[0]);
    innermost = e.message;
  }
  return innermost;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error("admin: failed:", error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
