import type { MeteringConfig } from "./config";
import type { MeteringKv } from "./kv";

/** What every metering function needs: the store and the resolved settings. */
export interface MeteringContext {
  readonly kv: MeteringKv;
  readonly config: MeteringConfig;
}
