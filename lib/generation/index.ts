import { demoGenerator } from "./demo-generator";
import type { Generator } from "./generator";

export type * from "./generator";

/** Replace the demo with your own implementation here. */
export function getGenerator(): Generator {
  return demoGenerator;
}
