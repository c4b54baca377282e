/**
 * Repeats `attempt` with pauses that double from `pauses.first` up to `pauses.max`, until it
 * returns something other than undefined (returned), or `mayWait(pause)` says not to wait
 * for another try (undefined is returned). The one polling loop of the metering core: a
 * void retried while the store recovers, a claimed grant awaited, a reset's carry step
 * tried while its debits are decided. A step fenced by time (timing.ts) checks its fence
 * inside `attempt`, right before it sends.
 */
export async function retryUntilDone<T>(
  attempt: () => Promise<T | undefined>,
  pauses: { first: number; max: number },
  mayWait: (pauseMs: number) => boolean,
): Promise<T | undefined> {
  for (let pause = pauses.first; ; pause = Math.min(pause * 2, pauses.max)) {
    const done = await attempt();
    if (done !== undefined) return done;
    if (!mayWait(pause)) return undefined;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
