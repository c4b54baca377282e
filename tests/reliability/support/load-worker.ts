/**
 * One load process for the HTTP reliability suites (tests/e2e/reliability-*.test.ts):
 * `count` requests, `concurrency` at a time, each to a random user and priced route.
 * Separate processes so the app sees real parallel clients. Prints one JSON line: what
 * every user was answered, and the debit ids of some paid requests (for refunds).
 *
 * argv[2]: JSON `LoadInput` (see ./load.ts).
 */
import type { LoadInput, LoadResult, UserTally } from "./load";

const input = JSON.parse(process.argv[2]!) as LoadInput;

function emptyTally(): UserTally {
  return { paid: 0, paidTokens: 0, refused: 0, unavailable: 0, other: 0, errors: 0, paidIds: [] };
}

async function main(): Promise<void> {
  const result: LoadResult = { statuses: {}, users: {}, unexpected: [] };
  for (const u of input.users) result.users[u.id] = emptyTally();
  let next = 0;
  await Promise.all(Array.from({ length: input.concurrency }, async () => {
    while (next < input.count) {
      next++;
      const user = input.users[Math.floor(Math.random() * input.users.length)]!;
      const route = input.routes[Math.floor(Math.random() * input.routes.length)]!;
      const tally = result.users[user.id]!;
      try {
        const res = await fetch(`${input.baseUrl}${route.path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
          body: route.body,
          signal: AbortSignal.timeout(input.timeoutMs),
        });
        const text = await res.text();
        result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
        if (res.status === 200) {
          tally.paid++;
          tally.paidTokens += route.cost;
          const debitId = (JSON.parse(text) as { debitId?: string }).debitId;
          if (debitId && tally.paidIds.length < input.keepDebitIds) tally.paidIds.push({ debitId, cost: route.cost });
        } else if (res.status === 402) {
          tally.refused++;
        } else if (res.status === 503) {
          tally.unavailable++;
        } else {
          tally.other++;
          if (result.unexpected.length < 10) result.unexpected.push({ status: res.status, body: text.slice(0, 300) });
        }
      } catch (error) {
        tally.errors++;
        result.statuses.error = (result.statuses.error ?? 0) + 1;
        if (result.unexpected.length < 10) result.unexpected.push({ status: 0, body: String(error).slice(0, 300) });
      }
    }
  }));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
