import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The local KV server and the bench/test scripts are Node-only and live outside app/;
  // nothing here needs to be bundled for them.
  poweredByHeader: false,
  typescript: { tsconfigPath: "tsconfig.app.json" },
  reactStrictMode: true,
};

export default nextConfig;
