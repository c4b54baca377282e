import { Redis } from "ioredis";
import { userKeys } from "../../lib/metering";
import { balanceOf, type RunningApp, topUp, userToken } from "./app";
import { burst, type BurstRequest, ROUTES } from "./burst";
import { sleep } from "./processes";

/**
 * False refusals: a 402 answered while the balance *at rest* would have covered the
 * request. They come from the Lua-free debit (lib/metering/debit.ts): a refused DECRBY
 * lowers the balance until its compensation lands, and a debit decided in that window
 * sees a balance lowered by tokens that are not really spent.
 *
 * Method (exact, Redis engine only): Redis MONITOR records, in execution order, every
 * DECRBY (debit) and INCRBY (compensation) on the user's balance key during the burst.
 * Replaying that log from the starting balance B gives, at each debit, both the balance
 * the DECRBY saw and the balance at rest = that balance + the costs of refused debits
 * not yet compensated. A debit is refused when its DECRBY leaves the balance below 0; it
 * is a false refusal when the balance at rest was ≥ its cost.
 *
 * The coalescer tries a debit once more when the refusal is false because of refused
 * debits in its own batch (lib/metering/coalescer.ts). Each such retry adds one refused
 * DECRBY to the log for a request that is not answered 402 by it, so: retries = refused
 * DECRBYs − 402s, every retried first attempt is a false refusal in the replay (what the
 * coalescer detects is a subset of what the replay counts), and the 402s that were false
 * = false refused DECRBYs − retries. The final balance is checked against B − paid.
 */
export interface FalseRefusalRun {
  costs: "single" | "mixed";
  startBalance: number;
  /** Requests of the mix the starting balance covers (exactly, for a single cost). */
  coverable: number;
  sent: number;
  paid: number;
  refused: number;
  /** Answers other than 200/402 (should be 0). */
  other: number;
  /** 402s answered while the balance at rest covered the request. */
  falseRefusals: number;
  /** Refused DECRBYs that were false, first attempts the coalescer then retried included. */
  falseRefusedDebits?: number;
  /** Debits tried a second time by the coalescer (refused DECRBYs − 402s). */
  retried?: number;
  /** Tokens left at rest after the burst. */
  tokensLeft: number;
  /** Refused DECRBYs seen in the replay: the 402s plus the retried first attempts. */
  replayRefusals: number;
  /** The replay's final balance equals the store's; the log is complete. */
  replayConsistent: boolean;
}

export interface FalseRefusalOptions {
  redisUrl: string;
  costs: "single" | "mixed";
  /** Requests the balance covers. */
  coverable: number;
  /** Requests sent, > coverable. */
  sent: number;
  concurrency: number;
}

export async function falseRefusalBurst(app: RunningApp, options: FalseRefusalOptions): Promise<FalseRefusalRun> {
  const user = `fr-${crypto.randomUUID().slice(0, 8)}`;
  const token = await userToken(user);
  const routes = options.costs === "single" ? [ROUTES[0]] : ROUTES;
  const cycle = Array.from({ length: options.sent }, (_, i) => routes[i % routes.length]!);
  // The balance covers `coverable` requests of the mix; they then arrive in random order,
  // so the balance runs out part-way through a dear request while cheap ones still fit.
  const startBalance = cycle.slice(0, options.coverable).reduce((sum, r) => sum + r.cost, 0);
  const list = shuffle(cycle);
  await topUp(app, user, startBalance);
  const costOf = new Map(ROUTES.map((r) => [r.path, r.cost]));

  const balanceKey = userKeys(app.namespace, user).balance;
  const log: { op: "decrby" | "incrby"; amount: number }[] = [];
  const redis = new Redis(options.redisUrl);
  const monitor = await redis.monitor();
  monitor.on("monitor", (_time: string, args: string[]) => {
    const op = args[0]?.toLowerCase();
    if ((op === "decrby" || op === "incrby") && args[1] === balanceKey) log.push({ op, amount: Number(args[2]) });
  });
  await sleep(100);

  const requests: BurstRequest[] = list.map((r) => ({ path: r.path, body: r.body }));
  const result = await burst({ baseUrl: app.url, token, requests, concurrency: options.concurrency });
  await sleep(300); // compensations are awaited before each 402; this lets MONITOR's stream drain
  monitor.disconnect();
  redis.disconnect();

  let paid = 0;
  let paidTokens = 0;
  let refused = 0;
  let other = 0;
  result.statuses.forEach((s, i) => {
    if (s === 200) {
      paid++;
      paidTokens += costOf.get(list[i]!.path)!;
    } else if (s === 402) refused++;
    else other++;
  });

  let balance = startBalance;
  let pending = 0;
  let falseRefused = 0;
  let replayRefusals = 0;
  for (const entry of log) {
    if (entry.op === "incrby") {
      balance += entry.amount;
      pending -= entry.amount;
      continue;
    }
    const before = balance;
    balance -= entry.amount;
    if (balance < 0) {
      replayRefusals++;
      if (before + pending >= entry.amount) falseRefused++;
      pending += entry.amount;
    }
  }
  const atRest = await balanceOf(app, user);
  const retried = replayRefusals - refused;
  return {
    costs: options.costs, startBalance, coverable: options.coverable, sent: options.sent,
    paid, refused, other, falseRefusals: falseRefused - retried, falseRefusedDebits: falseRefused, retried,
    tokensLeft: atRest.balance, replayRefusals,
    replayConsistent: balance === atRest.balance && atRest.balance === startBalance - paidTokens && pending === 0
      && retried >= 0 && falseRefused >= retried,
  };
}

function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
