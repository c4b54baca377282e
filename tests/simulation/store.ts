import { answerInProcess, createEmbeddedEngine, type Engine } from "../../lib/kv-server";
import { isReadOnlyCommand } from "../../lib/kv-server/command-policy";

/** Transactions that did something that must happen once, and who sent them. */
export interface OnceRecord {
  userId: string;
  by: string[];
}

/** One request the store applied, as the trace shows it. */
export interface Applied {
  seq: number;
  at: number;
  from: string;
  summary: string;
}

/**
 * The real embedded engine on the virtual clock, answering the Upstash REST protocol
 * through lib/kv-server's own request handling (answerInProcess). Around it, the
 * simulator's oracle: which users each applied request wrote, and the balance each user's
 * key held after every transaction, read from the transaction's own replies (the last
 * DECRBY/INCRBY/SET of `bal` in it), so the oracle never issues a command of its own
 * between a request and its observation.
 */
export class SimStore {
  private seq = 0;
  /** Users written since the scheduler last asked: they are the ones to check. */
  private touched = new Set<string>();
  /** Per user: [store seq, balance after that transaction]. */
  readonly balances = new Map<string, { seq: number; balance: number }[]>();
  /** Refund operation id → the debit it refunds, from won `rf:<debit>` claims. */
  private readonly refundOpOf = new Map<string, string>();
  /** Debit id → store seq at which its refund changed the balance. */
  readonly refundAppliedAt = new Map<string, number>();
  /** Grant operation id → store seq at which it won its `g:<name>` claim (SET … NX GET → nil). */
  private readonly grantClaimedAt = new Map<string, number>();
  /** Reset id → store seq at which the reset landed. */
  private readonly resetLandedAt = new Map<string, number>();
  /**
   * Operation id → how many transactions gave its debit back (INCRBY bal with DEL r:<id>),
   * and how many applied its claimed tokens (INCRBY bal with COPY to r:<id>). Either one
   * twice creates tokens, whatever the ledger's bookkeeping says afterwards.
   */
  readonly compensations = new Map<string, OnceRecord>();
  readonly applications = new Map<string, OnceRecord>();
  /** Debit id → store seq of its DECRBY; user → store seq of their last reset (SET bal). */
  private readonly debitSeq = new Map<string, number>();
  private readonly resetSeq = new Map<string, number>();
  /** User → id of their last reset (from its `HSET …:reset id <rid>`). */
  private readonly resetId = new Map<string, string>();
  /** Debits taken before a reset and given back after it: tokens added to the new ledger. */
  /** Debits whose void (`SET …:void:<id>`) was applied. */
  readonly voided = new Set<string>();
  readonly givenBackAcrossReset: { debitId: string; userId: string; amount: number; resetId: string }[] = [];

  /** Set to see every applied request in the trace (SIM_TRACE_FILE). */
  onApplied: ((applied: Applied) => void) | null = null;

  private constructor(
    readonly engine: Engine,
    private readonly namespace: string,
  ) {}

  static async create(namespace: string, now: () => number): Promise<SimStore> {
    // The sweeper is a fake interval too; once a second is plenty (expiry is also lazy).
    return new SimStore(await createEmbeddedEngine({ now, sweepIntervalMs: 1_000 }), namespace);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Answers one REST request (path, JSON body) and observes what it did. */
  async answer(from: string, path: string, body: string): Promise<{ status: number; body: unknown }> {
    const answer = await answerInProcess(this.engine, path, body);
    const seq = ++this.seq;
    const commands = commandsOf(path, body);
    const replies = repliesOf(path, answer);
    this.observe(seq, commands, replies, `${from} applied ${new Date(Date.now()).toISOString().slice(11, 23)}`);
    this.onApplied?.({ seq, at: Date.now(), from, summary: summarize(commands, this.namespace, answer.status === 200 ? "" : ` → HTTP ${answer.status}`) });
    return answer;
  }

  takeTouched(): string[] {
    const users = [...this.touched];
    this.touched.clear();
    return users;
  }

  /** Whether grant `grantId` won its claim before reset `resetId` landed (both seen by the store). */
  claimedBeforeReset(grantId: string, resetId: string): boolean {
    const claimed = this.grantClaimedAt.get(grantId);
    const landed = this.resetLandedAt.get(resetId);
    return claimed !== undefined && landed !== undefined && claimed < landed;
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  private observe(seq: number, commands: string[][], replies: (unknown | undefined)[], by: string): void {
    const last = new Map<string, number>();
    commands.forEach((command, i) => {
      const name = (command[0] ?? "").toLowerCase();
      const key = command[1] ?? "";
      const user = userOf(key, this.namespace);
      if (user === null) return;
      if (!isReadOnlyCommand(name)) this.touched.add(user);
      const reply = replies[i];
      if (key.endsWith(":bal") && (name === "decrby" || name === "incrby") && typeof reply === "number") last.set(user, reply);
      if (key.endsWith(":bal") && name === "set" && reply === "OK") last.set(user, Number(command[2]));
      const voidOf = /:void:((?:deb|hld)_[0-9a-f]{32})$/.exec(key);
      if (name === "set" && voidOf && reply === "OK") this.voided.add(voidOf[1]!);
      const claim = /:rf:([a-z]+_[0-9a-f]{32})$/.exec(key);
      if (name === "set" && claim && reply === null) this.refundOpOf.set(command[2]!, claim[1]!);
      if (name === "set" && /:g:[^:]+$/.test(key) && reply === null && !this.grantClaimedAt.has(command[2]!)) this.grantClaimedAt.set(command[2]!, seq);
      const copied = /:r:([a-z]+_[0-9a-f]{32})$/.exec(command[2] ?? "");
      if (name === "copy" && copied && reply === 1) {
        const debit = this.refundOpOf.get(copied[1]!);
        if (debit !== undefined && !this.refundAppliedAt.has(debit)) this.refundAppliedAt.set(debit, seq);
      }
    });
    const balCommand = (verb: string) => commands.find((c) => (c[0] ?? "").toLowerCase() === verb && (c[1] ?? "").endsWith(":bal"));
    const decr = balCommand("decrby");
    const incr = balCommand("incrby");
    const reset = balCommand("set");
    if (reset !== undefined) {
      const user = userOf(reset[1]!, this.namespace) ?? "?";
      this.resetSeq.set(user, seq);
      const marker = commands.find((c) => (c[0] ?? "").toLowerCase() === "hset" && (c[1] ?? "").endsWith(":reset"));
      const idAt = marker ? marker.indexOf("id") : -1;
      if (marker && idAt > 1) {
        this.resetId.set(user, marker[idAt + 1] ?? "");
        this.resetLandedAt.set(marker[idAt + 1] ?? "", seq);
      }
    }
    if (decr !== undefined) {
      for (const c of commands) {
        const copied = (c[0] ?? "").toLowerCase() === "copy" ? /:r:(deb_[0-9a-f]{32})$/.exec(c[2] ?? "")?.[1] : undefined;
        if (copied !== undefined) this.debitSeq.set(copied, seq);
      }
    }
    if (incr !== undefined) {
      for (const c of commands) {
        const name = (c[0] ?? "").toLowerCase();
        const del = name === "del" ? c.slice(1).map((k) => /:r:([a-z]+_[0-9a-f]{32})$/.exec(k)?.[1]).find(Boolean) : undefined;
        const userId = userOf(c[1] ?? "", this.namespace) ?? "?";
        if (del !== undefined) {
          this.compensations.set(del, { userId, by: [...(this.compensations.get(del)?.by ?? []), by] });
          const taken = this.debitSeq.get(del);
          if (taken !== undefined && taken < (this.resetSeq.get(userId) ?? 0)) {
            this.givenBackAcrossReset.push({ debitId: del, userId, amount: Number(incr[2]), resetId: this.resetId.get(userId) ?? "" });
          }
        }
        const copy = name === "copy" ? /:r:([a-z]+_[0-9a-f]{32})$/.exec(c[2] ?? "")?.[1] : undefined;
        if (copy !== undefined) this.applications.set(copy, { userId, by: [...(this.applications.get(copy)?.by ?? []), by] });
      }
    }
    for (const [user, balance] of last) {
      const log = this.balances.get(user) ?? [];
      log.push({ seq, balance });
      this.balances.set(user, log);
    }
  }
}

function commandsOf(path: string, body: string): string[][] {
  const parsed = JSON.parse(body) as unknown[];
  const asStrings = (c: unknown) => (Array.isArray(c) ? c.map((v) => String(v)) : []);
  return path === "/" ? [asStrings(parsed)] : parsed.map(asStrings);
}

function repliesOf(path: string, answer: { status: number; body: unknown }): (unknown | undefined)[] {
  if (answer.status !== 200) return [];
  if (path === "/") return [(answer.body as { result?: unknown }).result];
  return (answer.body as { result?: unknown }[]).map((item) => item.result);
}

export function userOf(key: string, namespace: string): string | null {
  if (!key.startsWith(`${namespace}:{`)) return null;
  const end = key.indexOf("}", namespace.length + 2);
  return end === -1 ? null : key.slice(namespace.length + 2, end);
}

/** "DECRBY ann:bal 3; COPY ann:bal r:deb_…; …" — what a request did, for the full trace. */
function summarize(commands: string[][], namespace: string, suffix: string): string {
  const shown = commands.map((c) => {
    const name = (c[0] ?? "").toUpperCase();
    const user = userOf(c[1] ?? "", namespace);
    const field = (c[1] ?? "").split("}:")[1] ?? "";
    const arg = name.endsWith("BY") || name === "SET" || name === "COPY" ? ` ${(c[2] ?? "").split("}:").pop()!.slice(0, 40)}` : "";
    return `${name} ${user ?? ""}${field ? ":" + field.slice(0, 40) : ""}${arg}`;
  });
  return shown.join("; ") + suffix;
}
