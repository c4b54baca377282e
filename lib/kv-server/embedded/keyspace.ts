import type { StringValue } from "./byte-string";
import type { SortedSet } from "./sorted-set";

export type StoredValue =
  | { readonly type: "string"; value: StringValue }
  | { readonly type: "hash"; readonly value: Map<string, string> }
  | { readonly type: "list"; value: string[] }
  | { readonly type: "set"; readonly value: Set<string> }
  | { readonly type: "zset"; readonly value: SortedSet };

export type ValueType = StoredValue["type"];

interface ValueByType {
  string: StringValue;
  hash: Map<string, string>;
  list: string[];
  set: Set<string>;
  zset: SortedSet;
}
export type ValueOf<T extends ValueType> = ValueByType[T];

interface Slot {
  data: StoredValue;
  /** Absolute expiry in ms since the epoch. */
  expireAt: number | undefined;
  /** Insertion sequence: SCAN cursors are positions in this order. */
  readonly seq: number;
}

export interface ScanPage {
  readonly cursor: number;
  readonly keys: string[];
}

/**
 * The key → value map with Redis's expiry rules: a key whose expiry time is
 * in the past (strictly) is gone for every reader, whether or not the
 * periodic sweep has reclaimed it yet.
 */
export class Keyspace {
  private readonly slots = new Map<string, Slot>();
  /** Keys that carry a TTL, for the periodic sweep. */
  private readonly volatile = new Set<string>();
  private sweepCursor: Iterator<string> | undefined;
  /** Keys in insertion order with their sequence number; may hold stale entries. */
  private scanOrder: { key: string; seq: number }[] = [];
  private staleInScanOrder = 0;
  private nextSeq = 1;
  /** The time commands observe; the engine sets it once per command or transaction. */
  now = 0;

  private live(key: string): Slot | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expireAt !== undefined && this.now > slot.expireAt) {
      this.remove(key);
      return undefined;
    }
    return slot;
  }

  has(key: string): boolean {
    return this.live(key) !== undefined;
  }

  get(key: string): StoredValue | undefined {
    return this.live(key)?.data;
  }

  expireAt(key: string): number | undefined {
    return this.live(key)?.expireAt;
  }

  /** Stores a value; the TTL is dropped unless `keepTtl` (SET KEEPTTL) or a new one is given. */
  set(key: string, data: StoredValue, options: { keepTtl?: boolean; expireAt?: number } = {}): void {
    const existing = this.live(key);
    if (existing !== undefined) {
      existing.data = data;
      if (options.expireAt !== undefined || !options.keepTtl) this.setExpire(key, options.expireAt);
      return;
    }
    const seq = this.nextSeq++;
    this.slots.set(key, { data, expireAt: undefined, seq });
    this.scanOrder.push({ key, seq });
    if (options.expireAt !== undefined) this.setExpire(key, options.expireAt);
  }

  setExpire(key: string, expireAt: number | undefined): void {
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    slot.expireAt = expireAt;
    if (expireAt === undefined) this.volatile.delete(key);
    else this.volatile.add(key);
  }

  delete(key: string): boolean {
    if (this.live(key) === undefined) return false;
    this.remove(key);
    return true;
  }

  private remove(key: string): void {
    this.slots.delete(key);
    this.volatile.delete(key);
    this.staleInScanOrder++;
    if (this.staleInScanOrder > 1024 && this.staleInScanOrder > this.slots.size) this.compactScanOrder();
  }

  private compactScanOrder(): void {
    // Map iteration is insertion order, which is sequence order.
    this.scanOrder = [...this.slots].map(([key, slot]) => ({ key, seq: slot.seq }));
    this.staleInScanOrder = 0;
  }

  flush(): void {
    this.slots.clear();
    this.volatile.clear();
    this.scanOrder = [];
    this.staleInScanOrder = 0;
  }

  /** Keys held in memory, including expired ones not yet reclaimed (diagnostics and tests). */
  get storedKeys(): number {
    return this.slots.size;
  }

  /** Number of live keys (DBSIZE); expired keys are reclaimed first. */
  size(): number {
    for (const key of [...this.volatile]) this.live(key);
    return this.slots.size;
  }

  *keys(): IterableIterator<string> {
    for (const key of [...this.slots.keys()]) {
      if (this.live(key) !== undefined) yield key;
    }
  }

  *entries(): IterableIterator<[string, StoredValue, number | undefined]> {
    for (const key of [...this.slots.keys()]) {
      const slot = this.live(key);
      if (slot !== undefined) yield [key, slot.data, slot.expireAt];
    }
  }

  randomKey(): string | undefined {
    // Retry a few random picks before falling back to a full pass, so a
    // keyspace full of expired keys still answers correctly.
    for (let attempt = 0; attempt < 8 && this.slots.size > 0; attempt++) {
      const index = Math.floor(Math.random() * this.scanOrder.length);
      const candidate = this.scanOrder[index];
      if (candidate && this.slots.get(candidate.key)?.seq === candidate.seq && this.live(candidate.key)) {
        return candidate.key;
      }
    }
    const all = [...this.keys()];
    return all[Math.floor(Math.random() * all.length)];
  }

  /**
   * One SCAN page: up to `count` keys from position `cursor` in insertion
   * order. Keys present for the whole iteration are returned exactly once;
   * a cursor of 0 ends it, as in Redis.
   */
  scan(cursor: number, count: number): ScanPage {
    let index = this.firstAtOrAfter(cursor);
    const keys: string[] = [];
    while (index < this.scanOrder.length && keys.length < count) {
      const entry = this.scanOrder[index] as { key: string; seq: number };
      if (this.slots.get(entry.key)?.seq === entry.seq && this.live(entry.key)) keys.push(entry.key);
      index++;
    }
    const next = this.scanOrder[index];
    return { cursor: next === undefined ? 0 : next.seq, keys };
  }

  private firstAtOrAfter(seq: number): number {
    let low = 0;
    let high = this.scanOrder.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.scanOrder[mid]?.seq ?? 0) >= seq) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /** Reclaims up to `budget` expired keys; returns how many were checked. */
  sweepExpired(budget: number): number {
    let checked = 0;
    while (checked < budget && this.volatile.size > 0) {
      this.sweepCursor ??= this.volatile.values();
      const step = this.sweepCursor.next();
      if (step.done) {
        this.sweepCursor = undefined;
        break;
      }
      this.live(step.value);
      checked++;
    }
    return checked;
  }
}
