/**
 * The real @upstash/ratelimit (2.2, unchanged) against the KV server on both
 * engines, through @upstash/redis, and through @vercel/kv, whose
 * auto-pipelining sends the scripts in /pipeline. Its scripts start with
 * `#!lua flags=allow-key-locking`, which plain Redis 7 refuses: this is
 * what the flag handling on both engines is for.
 */
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, describe, expect, it } from "vitest";
import { kvTargets } from "../support/kv";
import { randomPrefix } from "./helpers";

// @vercel/kv's default export is an env-reading proxy that vitest's interop touches on import.
process.env.KV_REST_API_URL ??= "http://127.0.0.1:1";
process.env.KV_REST_API_TOKEN ??= "unused-by-these-tests";
const { createClient } = await import("@vercel/kv");

const CLIENTS: Record<string, (url: string, token: string) => Redis> = {
  "@upstash/redis": (url, token) => new Redis({ url, token, enableTelemetry: false }),
  "@vercel/kv": (url, token) => createClient({ url, token }),
};

const targets = kvTargets().flatMap((target) => Object.keys(CLIENTS).map((client) => ({ ...target, client })));

type Limiter = ConstructorParameters<typeof Ratelimit>[0]["limiter"];

const ALGORITHMS: Record<string, () => Limiter> = {
  "fixed window": () => Ratelimit.fixedWindow(3, "30 s"),
  "sliding window": () => Ratelimit.slidingWindow(3, "30 s"),
  "token bucket": () => Ratelimit.tokenBucket(1, "30 s", 3),
};

describe.each(targets)("@upstash/ratelimit against the $engine engine through $client", ({ url, token, client }) => {
  const redis = CLIENTS[client]!(url, token);
  const run = randomPrefix("ratelimit");

  afterAll(async () => {
    const keys = await redis.keys(`${run}*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  function limiter(name: string, limit: Limiter): Ratelimit {
    // No ephemeral cache: every call must reach the server, which is what is under test.
    return new Ratelimit({ redis, limiter: limit, prefix: `${run}${name}`, ephemeralCache: false, analytics: false });
  }

  describe.each(Object.keys(ALGORITHMS))("%s", (algorithm) => {
    it("allows the limit, refuses the next, reports what remains, and resets", async () => {
      const ratelimit = limiter(algorithm.replace(" ", "-"), ALGORITHMS[algorithm]!());
      const id = "user-1";
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await ratelimit.limit(id));
      expect(results.map((result) => [result.success, result.remaining, result.limit])).toEqual([
        [true, 2, 3],
        [true, 1, 3],
        [true, 0, 3],
        [false, 0, 3],
      ]);
      expect(results[3]!.reset).toBeGreaterThan(Date.now());
      expect(await ratelimit.getRemaining(id)).toMatchObject({ remaining: 0, limit: 3 });
      expect((await ratelimit.getRemaining("someone-else")).remaining).toBe(3);

      await ratelimit.resetUsedTokens(id);
      expect((await ratelimit.getRemaining(id)).remaining).toBe(3);
      const again = await ratelimit.limit(id);
      expect([again.success, again.remaining]).toEqual([true, 2]);
    });

    it("is atomic: of 10 concurrent requests for a limit of 3, exactly 3 pass", async () => {
      const ratelimit = limiter(`${algorithm.replace(" ", "-")}-concurrent`, ALGORITHMS[algorithm]!());
      const results = await Promise.all(Array.from({ length: 10 }, () => ratelimit.limit("burst")));
      expect(results.filter((result) => result.success)).toHaveLength(3);
    });

    it("takes a custom rate", async () => {
      const ratelimit = limiter(`${algorithm.replace(" ", "-")}-rate`, ALGORITHMS[algorithm]!());
      expect((await ratelimit.limit("heavy", { rate: 2 })).remaining).toBe(1);
      expect((await ratelimit.limit("heavy", { rate: 2 })).success).toBe(false);
    });
  });

  it("a one-day token bucket keeps a TTL beyond 2^31 ms (Lua numbers are doubles, as in Redis's Lua 5.1)", async () => {
    const prefix = `${run}daily`;
    const ratelimit = new Ratelimit({
      redis,
      limiter: Ratelimit.tokenBucket(1, "1 d", 100),
      prefix,
      ephemeralCache: false,
      analytics: false,
    });
    // expireAt = ceil(30 / 1) * 86_400_000 = 2_592_000_000 ms, past a 32-bit integer.
    expect((await ratelimit.limit("big", { rate: 30 })).remaining).toBe(70);
    const [key] = await redis.keys(`${prefix}*`);
    expect(await redis.pttl(key!)).toBeGreaterThan(2_591_000_000);
  });
});
