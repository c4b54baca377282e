import { type App, getApp, type Platform } from "../app";
import { createNodeKvClient } from "./kv-node-transport";

/**
 * The Node route handlers' platform: the same App, with the store reached over `node:http`
 * (kv-node-transport.ts) instead of `fetch`. The Edge middleware cannot import Node modules,
 * so it asks `getApp()` with the Web platform.
 */
export const NODE_PLATFORM: Platform = { createKv: createNodeKvClient };

export function nodeApp(): App {
  return getApp(NODE_PLATFORM);
}
