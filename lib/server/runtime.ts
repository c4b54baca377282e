import { buildRuntime, type Runtime } from "../runtime";
import { createNodeKvClient } from "./kv-node-transport";

let cached: Runtime | null = null;

/**
 * The runtime for Node route handlers and pages: the same singletons as lib/runtime.ts,
 * with the KV client on `node:http` (kv-node-transport.ts). The Edge middleware keeps
 * `getRuntime()` from lib/runtime.ts, which cannot import Node modules.
 */
export function getNodeRuntime(): Runtime {
  cached ??= buildRuntime(process.env, { createKv: createNodeKvClient });
  return cached;
}
