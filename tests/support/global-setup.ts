// Placeholder until the local KV server lands; replaced by the real setup.
export default function setup(): void {}
