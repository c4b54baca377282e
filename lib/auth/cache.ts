import type { VerifiedToken } from "./errors";

/**
 * Verified tokens, keyed by the exact token string. Verifying a JWT costs about as much as
 * the rest of a request, and hashing the token to make a smaller key would cost about as
 * much as verifying it, so the string itself is the key. Memory is bounded by
 * `maxEntries` × the 4096-byte token cap (about 40 MB at the default; real tokens are
 * 300–1500 bytes).
 *
 * Only successes are stored, so a flood of bad tokens cannot evict good ones faster than
 * it could by simply being new, and a failure is always re-evaluated (a JWKS outage heals).
 */
export class VerifiedTokenCache {
  // Map iteration order is insertion order: the first key is the least recently used,
  // because every hit re-inserts its entry at the end.
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) {
      throw new TypeError("cacheSize must be a non-negative whole number");
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached result if the token is cached and `exp` is still in the future at `nowSeconds`. */
  get(token: string, nowSeconds: number): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    this.entries.delete(token);
    // Strict, no clock tolerance: past `exp` the token goes back through jose, which
    // applies the tolerance itself. The cache never extends a token's life.
    if (nowSeconds >= entry.expiresAt) return undefined;
    this.entries.set(token, entry);
    return entry;
  }

  set(token: string, result: VerifiedToken, nowSeconds: number): void {
    if (this.maxEntries === 0 || nowSeconds >= result.expiresAt) return;
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(token, result);
  }
}
