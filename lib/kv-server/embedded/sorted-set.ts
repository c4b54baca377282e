import { formatGeneral, fromDouble } from "./numbers/binary-float";

/**
 * A sorted set: members ordered by (score, member bytes), as Redis's
 * skiplist orders them. A sorted array with binary search is plenty for a
 * development store and keeps rank queries trivial.
 */

export interface ScoredMember {
  readonly member: string;
  readonly score: number;
}

/**
 * Orders strings by their UTF-8 bytes (memcmp), which is code point order.
 * Plain `<` compares UTF-16 code units and would put U+FFFF after U+10000.
 */
export function compareBytes(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates encode code points above U+FFFF: lift them above the rest of the BMP.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Redis's zset order: by score, then by member bytes. */
export function compareEntries(a: ScoredMember, b: ScoredMember): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  return compareBytes(a.member, b.member);
}

/** Redis's zset-max-listpack-entries / zset-max-listpack-value defaults. */
const LISTPACK_MAX_ENTRIES = 128;
const LISTPACK_MAX_VALUE_BYTES = 64;

export class SortedSet {
  private readonly scores = new Map<string, number>();
  private readonly entries: ScoredMember[] = [];
  /**
   * Whether Redis would hold this set as a skiplist rather than a listpack.
   * Only visible in one place: a listpack stores a -0 score as the integer
   * 0, a skiplist keeps -0. Like Redis, a set never converts back.
   */
  private skiplist: boolean;

  /** `sizeHint`/`longestMemberHint`: what ZADD knows when it creates the key. */
  constructor(sizeHint = 0, longestMemberHint = 0) {
    this.skiplist = sizeHint > LISTPACK_MAX_ENTRIES || longestMemberHint > LISTPACK_MAX_VALUE_BYTES;
  }

  get size(): number {
    return this.entries.length;
  }

  score(member: string): number | undefined {
    return this.scores.get(member);
  }

  /** Adds or moves a member. */
  set(member: string, score: number): void {
    const previous = this.scores.get(member);
    if (!this.skiplist && previous === undefined) {
      this.skiplist = this.entries.length + 1 > LISTPACK_MAX_ENTRIES || Buffer.byteLength(member) > LISTPACK_MAX_VALUE_BYTES;
    }
    const stored = score === 0 && !this.skiplist ? 0 : score;
    if (previous !== undefined) {
      if (previous === stored) return;
      this.entries.splice(this.indexOf({ member, score: previous }), 1);
    }
    this.scores.set(member, stored);
    const entry = { member, score: stored };
    this.entries.splice(this.insertionPoint(entry), 0, entry);
  }

  delete(member: string): boolean {
    const score = this.scores.get(member);
    if (score === undefined) return false;
    this.entries.splice(this.indexOf({ member, score }), 1);
    this.scores.delete(member);
    return true;
  }

  rank(member: string): number | undefined {
    const score = this.scores.get(member);
    return score === undefined ? undefined : this.indexOf({ member, score });
  }

  /** Entries from rank `start` to `end` inclusive (already clamped by the caller). */
  slice(start: number, end: number): ScoredMember[] {
    return this.entries.slice(start, end + 1);
  }

  all(): readonly ScoredMember[] {
    return this.entries;
  }

  /** Index of the first entry for which `isAtOrAfter` holds (it must be monotone over the order). */
  firstIndexWhere(isAtOrAfter: (entry: ScoredMember) => boolean): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (isAtOrAfter(this.entries[mid] as ScoredMember)) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  at(index: number): ScoredMember | undefined {
    return this.entries[index];
  }

  removeRange(start: number, end: number): ScoredMember[] {
    const removed = this.entries.splice(start, end - start + 1);
    for (const entry of removed) this.scores.delete(entry.member);
    return removed;
  }

  clone(): SortedSet {
    const copy = new SortedSet();
    copy.skiplist = this.skiplist;
    for (const entry of this.entries) {
      copy.scores.set(entry.member, entry.score);
      copy.entries.push(entry);
    }
    return copy;
  }

  private insertionPoint(entry: ScoredMember): number {
    return this.firstIndexWhere((other) => compareEntries(other, entry) >= 0);
  }

  private indexOf(entry: ScoredMember): number {
    return this.insertionPoint(entry);
  }
}

/**
 * A score as Redis 7.0 replies it (addReplyDouble): "%.17g", so 1.1 reads
 * back as "1.1000000000000001" and 1e20 as "1e+20"; infinities as "inf"
 * and "-inf".
 */
export function formatScore(score: number): string {
  // Integers below 1e17 print as plain digits under %.17g; skip the exact path.
  if (Number.isInteger(score) && Math.abs(score) < 1e17 && !Object.is(score, -0)) return String(score);
  return formatGeneral(fromDouble(score), 17);
}
