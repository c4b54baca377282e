import { demoGenerator } from "./demo-generator";
import type { Generator } from "./generator";

export type * from "./generator";
export {
  createDemoModel,
  demoInputTokens,
  demoWordCount,
  DEMO_DEFAULT_WORDS,
  DEMO_MAX_WORDS,
  type DemoModelOptions,
} from "./demo-model";
export { estimateTokens, meteredStream, type MeteredStreamOptions, type TollgateStreamMetadata } from "./metered-stream";

/** Replace the demo with your own implementation here. */
export function getGenerator(): Generator {
  return demoGenerator;
}
