/**
 * The Redis this test run uses: the one REDIS_URL names, or the private one `npm test`
 * started for the run (scripts/test.mjs always sets REDIS_URL). No test assumes a port or a
 * database number of its own.
 */
export function suiteRedisUrl(): string {
  const value = process.env.REDIS_URL;
  if (!value) throw new Error("REDIS_URL is not set: run the suite with `npm test`, which starts a private Redis for it");
  return value;
}
