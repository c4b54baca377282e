/**
 * Prints one HS256 JWT for local use:
 *   npm run -s token -- <userId> [--admin] [--ttl 1h]
 * stdout carries the token and nothing else, so `TOKEN=$(npm run -s token -- alice)` works;
 * every hint goes to stderr. Exit code 2 means bad arguments or configuration.
 */
import { authConfigFromEnv, mintToken, parseTtl } from "../lib/auth";
import { isProductionEnv } from "../lib/deployment";
import { developmentSecrets } from "../lib/dev-secrets";
import { isValidUserId } from "../lib/user-id";

const USAGE = "usage: npm run -s token -- <userId> [--admin] [--ttl 1h]";

class UsageError extends Error {}

interface Args {
  userId: string;
  admin: boolean;
  ttlSeconds: number;
}

function parseArgs(argv: readonly string[]): Args {
  let userId: string | undefined;
  let admin = false;
  let ttl = "1h";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--admin") admin = true;
    else if (arg === "--ttl") {
      const next = argv[++i];
      if (next === undefined) throw new UsageError("--ttl needs a value, e.g. --ttl 1h");
      ttl = next;
    } else if (arg.startsWith("--ttl=")) ttl = arg.slice("--ttl=".length);
    else if (arg === "-h" || arg === "--help") throw new UsageError(USAGE);
    else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else if (userId === undefined) userId = arg;
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}: give exactly one user id`);
  }
  if (userId === undefined) throw new UsageError("missing <userId>");
  if (!isValidUserId(userId)) {
    throw new UsageError(
      `invalid user id ${JSON.stringify(userId)}: 1-128 characters of letters, digits and _ . @ : | + -, starting with a letter or digit`,
    );
  }
  let ttlSeconds: number;
  try {
    ttlSeconds = parseTtl(ttl);
  } catch (error) {
    throw new UsageError(`invalid --ttl ${JSON.stringify(ttl)}: ${(error as Error).message}`);
  }
  return { userId, admin, ttlSeconds };
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`token: ${error.message}`);
    if (error.message !== USAGE) console.error(USAGE);
    return 2;
  }

  let config;
  let signer = "AUTH_JWT_SECRET";
  try {
    // Outside production, the same local secret `npm run dev` hands the app (made here if
    // this runs first), so the token works against `npm run dev` with nothing configured.
    // With only an IdP (AUTH_JWKS_URL) there is nothing to sign with here: make no file either.
    const local = isProductionEnv(process.env) || process.env.AUTH_JWKS_URL ? null : developmentSecrets(process.env);
    if (local?.env.AUTH_JWT_SECRET !== undefined) signer = `the local development secret in ${local.files[0]}`;
    config = authConfigFromEnv({ ...process.env, ...local?.env });
  } catch (error) {
    // Config errors name the variable, never its value.
    console.error(`token: ${(error as Error).message}`);
    return 2;
  }
  if (config.secret === undefined) {
    console.error("token: AUTH_JWT_SECRET is not set; with AUTH_JWKS_URL, tokens come from your identity provider");
    return 2;
  }

  const token = await mintToken({
    sub: args.userId,
    admin: args.admin,
    ttlSeconds: args.ttlSeconds,
    secret: config.secret,
    issuer: config.issuer,
    audience: config.audience,
  });
  process.stdout.write(`${token}\n`);
  console.error(
    `token: ${args.admin ? "admin " : ""}token for ${args.userId}, valid ${args.ttlSeconds}s, signed with ${signer}`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error("token: failed:", error);
    process.exitCode = 1;
  },
);
