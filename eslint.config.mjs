import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: [".next/**", "node_modules/**", "bench/results/**", ".tollgate/**", "next-env.d.ts"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  {
    // The core runs unchanged on the Edge runtime and in Node (principle 1): Web-standard
    // APIs only, no framework, and no reaching up into the app's wiring. What the app needs
    // from the platform is passed in (lib/app.ts).
    files: ["lib/metering/**", "lib/auth/**", "lib/gateway/**", "lib/http/**"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: ["fs", "http", "https", "net", "path", "crypto", "child_process"].map((name) => ({
          name, message: "the core uses Web-standard APIs only (it runs on the Edge runtime).",
        })),
        patterns: [
          { group: ["next", "next/*", "react", "react-dom", "react/*"], message: "the core is framework-free: Next and React stay in app/, middleware.ts and lib/server." },
          { group: ["node:*"], message: "the core uses Web-standard APIs only (it runs on the Edge runtime)." },
          { regex: "^(\\.\\./)+(server|app|settings|kv-server|dev-secrets)(/|$)", message: "the core does not depend on the app's wiring (lib/server, lib/app.ts, lib/settings.ts) or on the local KV server." },
        ],
      }],
    },
  },
);
