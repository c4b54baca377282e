import { KvProtocolError } from "./errors";
import { type ExecOptions, execTxItems, type Transaction, type TxItem } from "./kv";

/**
 * A transaction whose steps read their own results by name instead of by a fixed position
 * in the EXEC reply: adding a command to one step can never shift another step's reads
 * (upstash/redis-js's command classes, which each parse their own reply, are the model).
 *
 *   const steps = new TxSteps(kv.multi());
 *   const after = steps.read((tx) => tx.decrby(key, 3), (raw) => asInt(raw, "balance"));
 *   steps.write((tx) => tx.hincrby(totals, "debits", 3));
 *   const items = await execTxItems(steps.tx, …);
 *   after(items)                      // → the DECRBY's result, parsed
 *
 * A span (`begin()` … `end()`) names the commands one party appended, so a transaction that
 * carries several users' debits can fail only the party whose command failed.
 */
export class TxSteps {
  constructor(readonly tx: Transaction) {}

  /** Appends one command whose result matters; returns the reader of that result. */
  read<T>(append: (tx: Transaction) => unknown, parse: (raw: unknown) => T): ResultReader<T> {
    const index = this.tx.length();
    append(this.tx);
    if (this.tx.length() !== index + 1) throw new TypeError("a read step appends exactly one command");
    return (items) => parse(resultAt(items, index));
  }

  /** Appends commands whose results are not read (a failure among them still fails the span). */
  write(append: (tx: Transaction) => unknown): void {
    append(this.tx);
  }

  /** Position of the next command, to mark where a party's commands begin. */
  begin(): number {
    return this.tx.length();
  }

  /** The commands appended since `start`. */
  end(start: number): Span {
    return { start, end: this.tx.length() };
  }
}

/** Reads one command's result from an EXEC reply (plain results, or items with errors). */
export type ResultReader<T> = (items: readonly TxItem[]) => T;

export interface Span {
  start: number;
  end: number;
}

/** The first command error within a span: a failed command fails only its owner. */
export function spanError(items: readonly TxItem[], span: Span): KvProtocolError | null {
  for (let i = span.start; i < span.end; i++) {
    const error = items[i]?.error;
    if (error) return new KvProtocolError(`KV command failed: ${error}`);
  }
  return null;
}

function resultAt(items: readonly TxItem[], index: number): unknown {
  const item = items[index];
  if (item === undefined) throw new KvProtocolError(`KV transaction answered ${items.length} results; result ${index} is missing`);
  if (item.error) throw new KvProtocolError(`KV command failed: ${item.error}`);
  return item.result;
}

/** Runs the steps' transaction; any failed command fails all of it (EXEC ran the others: the outcome is unknown). */
export async function execSteps(steps: TxSteps, options: ExecOptions): Promise<TxItem[]> {
  const items = await execTxItems(steps.tx, options);
  const failed = spanError(items, { start: 0, end: items.length });
  if (failed !== null) throw failed;
  return items;
}
