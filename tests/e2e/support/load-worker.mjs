// A load process for the concurrency tests: fires `count` requests, `concurrency` at a
// time, and prints a JSON tally of the statuses. Separate processes, so the app sees
// real parallel clients, not one event loop's.
const [url, token, count, concurrency, body] = process.argv.slice(2);
const tally = {};
let next = 0;
async function lane() {
  while (next < Number(count)) {
    next++;
    try {
      const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
      await res.arrayBuffer();
      tally[res.status] = (tally[res.status] ?? 0) + 1;
    } catch {
      tally.error = (tally.error ?? 0) + 1;
    }
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, lane));
process.stdout.write(JSON.stringify(tally));
