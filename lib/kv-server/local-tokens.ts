import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The tokens a local server uses when none is configured. A published default
 * would let any web page or any other user of the machine in, so each data
 * directory gets its own random pair on first run, kept beside the data in
 * files only their owner may read.
 */
export interface LocalTokens {
  readonly token: string;
  readonly readOnlyToken: string;
  /** Where they are kept; undefined for a pair that lives only as long as the process. */
  readonly tokenFile: string | undefined;
  readonly readOnlyTokenFile: string | undefined;
}

export class LocalTokenError extends Error {
  override name = "LocalTokenError";
}

const TOKEN_FILE = "token";
const READ_ONLY_TOKEN_FILE = "read-only-token";

function randomToken(): string {
  // 256 bits, URL- and header-safe.
  return randomBytes(32).toString("base64url");
}

/** A pair for a server that keeps nothing on disk (`--no-persist`, `--redis`). */
export function ephemeralTokens(): LocalTokens {
  return { token: randomToken(), readOnlyToken: randomToken(), tokenFile: undefined, readOnlyTokenFile: undefined };
}

/**
 * The token in `file`, made first if it does not exist. Created with O_EXCL
 * (`wx`), so a file planted by someone else, or a symlink, is never written
 * through; two servers starting at once agree on the one that won.
 */
function readOrCreate(file: string): string {
  try {
    writeFileSync(file, `${randomToken()}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  let fd: number;
  try {
    // Never through a symlink: one planted here could point at any file of ours.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw new LocalTokenError(`${file} is a symlink: remove it to get a new token`);
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new LocalTokenError(`${file} is not a regular file`);
    if (typeof process.getuid === "function" && stat.uid !== process.getuid()) {
      throw new LocalTokenError(`${file} belongs to another user: remove it to get a new token`);
    }
    // Tighten a copy someone loosened; the token itself stays.
    if ((stat.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
    const token = readFileSync(fd, "utf8").trim();
    if (!/^[A-Za-z0-9_-]{32,}$/.test(token)) {
      throw new LocalTokenError(`${file} does not hold a token (32 or more of A-Z a-z 0-9 _ -): remove it to get a new one`);
    }
    return token;
  } finally {
    closeSync(fd);
  }
}

/**
 * One secret kept in `file` (its directory created mode 0700 if missing), made on first
 * run, with the same care as the tokens: the development app's JWT secret lives beside
 * the KV token this way (lib/dev-secrets.ts).
 */
export function localSecret(file: string): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  return readOrCreate(file);
}

/** The pair kept in `dir` (created mode 0700 if missing), made on first run. */
export function localTokens(dir: string): LocalTokens {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tokenFile = join(dir, TOKEN_FILE);
  const readOnlyTokenFile = join(dir, READ_ONLY_TOKEN_FILE);
  const token = readOrCreate(tokenFile);
  const readOnlyToken = readOrCreate(readOnlyTokenFile);
  if (token === readOnlyToken) throw new LocalTokenError(`${tokenFile} and ${readOnlyTokenFile} hold the same token`);
  return { token, readOnlyToken, tokenFile, readOnlyTokenFile };
}
