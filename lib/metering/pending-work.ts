/**
 * The work a debit starts and leaves running: kept with its outcome (`pending`), so the
 * caller hands exactly its own request's work to the platform's `waitUntil`.
 */
export class PendingWork {
  private readonly tasks: Promise<unknown>[] = [];

  add(task: Promise<unknown>): void {
    // Marked handled now: a task may fail before the outcome (and its `settled()`) exists.
    task.catch(() => undefined);
    this.tasks.push(task);
  }

  /** All of it, settled; rejects (with every failure) when a task failed. Null when there was none. */
  settled(): Promise<void> | null {
    if (this.tasks.length === 0) return null;
    return Promise.allSettled(this.tasks).then((results) => {
      const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      if (failures.length > 0) throw new AggregateError(failures, "background work of a debit failed");
    });
  }
}
