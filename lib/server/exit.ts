/** Ends the Node process (kept out of code the Edge runtime bundles). */
export function exitProcess(code: number): never {
  process.exit(code);
}
