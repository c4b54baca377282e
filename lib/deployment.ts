/**
 * What kind of deployment this process serves: decided here once, by one rule, for every
 * decision security depends on (the development sign-in, the demo failure flag, which
 * settings may be left out, whether foreign Hosts are refused).
 *
 * The rule follows the deployment itself, never a Tollgate setting: `VERCEL_ENV` where
 * Vercel sets it (a preview is a public URL, so it counts as production), else `NODE_ENV`
 * (`next start` always runs with `production`, `next dev` with `development`, vitest with
 * `test`). `TOLLGATE_ENV` only names the key namespace (lib/settings.ts): a deployment that
 * sets it to `development` gets development's keys, not development's switches.
 *
 * Framework-free: the auth config and the settings both ask this module.
 */
export type Stage = "production" | "preview" | "development" | "test";

export class StageError extends Error {
  override name = "StageError";
}

export function stageOf(env: Record<string, string | undefined>): Stage {
  const vercel = env.VERCEL_ENV?.trim();
  if (vercel) {
    if (vercel === "production" || vercel === "preview" || vercel === "development") return vercel;
    throw new StageError(`VERCEL_ENV must be production, preview or development (got "${vercel}")`);
  }
  const node = env.NODE_ENV?.trim().toLowerCase();
  if (node === undefined || node === "" || node === "development") return "development";
  if (node === "test") return "test";
  // "production", and any value nobody expects: fail closed.
  return "production";
}

/** Production and preview: reachable by anyone, so no development default or switch applies. */
export function isProductionStage(stage: Stage): boolean {
  return stage === "production" || stage === "preview";
}

export function isProductionEnv(env: Record<string, string | undefined>): boolean {
  return isProductionStage(stageOf(env));
}
