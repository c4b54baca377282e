import { afterAll, beforeAll, beforeEach } from "vitest";
import { createEmbeddedEngine, createRedisEngine, type Engine } from "../../../lib/kv-server";
import { redisUrlFor, TEST_DB } from "../helpers";

/** The two engines a differential test compares. */
export interface EnginePair {
  readonly embedded: Engine;
  /** The Redis engine, on the suite database the test file owns. */
  readonly redis: Engine;
}

export interface EnginePairOptions {
  /** Empty both engines before every test of the file. */
  readonly flushBeforeEach: boolean;
}

/**
 * Registers the hooks of a differential test file: both engines made before its tests,
 * and after them the Redis database flushed and both closed. `db` names the database in
 * TEST_DB the file owns (its FLUSHDB must not reach another file's keys).
 */
export function useEnginePair(db: keyof typeof TEST_DB, options: EnginePairOptions): EnginePair {
  let embedded: Engine | undefined;
  let redis: Engine | undefined;
  beforeAll(async () => {
    embedded = await createEmbeddedEngine();
    redis = await createRedisEngine(redisUrlFor(TEST_DB[db]));
  });
  afterAll(async () => {
    await redis?.exec(["flushdb"]);
    await Promise.all([embedded?.close(), redis?.close()]);
  });
  if (options.flushBeforeEach) {
    beforeEach(async () => {
      await Promise.all([ready(embedded).exec(["flushdb"]), ready(redis).exec(["flushdb"])]);
    });
  }
  return {
    get embedded() {
      return ready(embedded);
    },
    get redis() {
      return ready(redis);
    },
  };
}

function ready(engine: Engine | undefined): Engine {
  if (engine === undefined) throw new Error("the engine pair is made in beforeAll: use it inside tests and hooks");
  return engine;
}
