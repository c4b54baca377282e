/**
 * Script shebang flags (`#!lua flags=no-writes,allow-oom`), as Redis 7.0
 * reads them (evalExtractShebangFlags), plus the one flag Upstash adds.
 *
 * `@upstash/ratelimit` >= 2.1 starts every script with
 * `#!lua flags=allow-key-locking`: Upstash then locks only the keys in KEYS.
 * Redis 7.0 refuses the flag ("Unexpected flag in script shebang"), so both
 * engines accept it here, and the Redis engine strips it before forwarding
 * (see redis/script-shas.ts). Shared by both engines so they agree on what
 * a shebang means.
 */

/** Redis 7.0's own flags (scripts_flags_def). */
const REDIS_SCRIPT_FLAGS = ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"] as const;
/** Accepted by Upstash, unknown to Redis. */
const UPSTASH_ONLY_SCRIPT_FLAGS = ["allow-key-locking"] as const;

export type ScriptFlag = (typeof REDIS_SCRIPT_FLAGS)[number] | (typeof UPSTASH_ONLY_SCRIPT_FLAGS)[number];

const KNOWN: ReadonlySet<string> = new Set([...REDIS_SCRIPT_FLAGS, ...UPSTASH_ONLY_SCRIPT_FLAGS]);
const UPSTASH_ONLY: ReadonlySet<string> = new Set(UPSTASH_ONLY_SCRIPT_FLAGS);

export type Shebang =
  /** No `#!` line: Redis's "eval compat mode" (may write, no flags). */
  | { readonly ok: true; readonly present: false; readonly flags: ReadonlySet<ScriptFlag>; readonly length: 0 }
  /** `length`: characters of the first line, without its line feed (which stays, to keep line numbers). */
  | { readonly ok: true; readonly present: true; readonly flags: ReadonlySet<ScriptFlag>; readonly length: number }
  | { readonly ok: false; readonly error: string };

const NO_FLAGS: ReadonlySet<ScriptFlag> = new Set();

/** The first line of a body that starts with `#!`: where it ends (-1: no line feed) and its words, split as Redis splits them. */
interface ShebangLine {
  readonly end: number;
  /** Undefined without a line feed, or for unbalanced quotes. */
  readonly words: string[] | undefined;
}

function shebangLine(body: string): ShebangLine | undefined {
  if (!body.startsWith("#!")) return undefined;
  const end = body.indexOf("\n");
  return { end, words: end === -1 ? undefined : splitArgs(body.slice(0, end)) };
}

/** The flags a `flags=a,b` option lists (none for `flags=`, as sdssplitlen of "" yields none); undefined for another option. */
function listedFlags(option: string): string[] | undefined {
  if (!option.startsWith("flags=")) return undefined;
  const list = option.slice("flags=".length);
  return list === "" ? [] : list.split(",");
}

/** Reads the shebang line of a script body; errors carry Redis 7.0's texts. */
export function parseShebang(body: string): Shebang {
  const line = shebangLine(body);
  if (line === undefined) return { ok: true, present: false, flags: NO_FLAGS, length: 0 };
  if (line.end === -1) return { ok: false, error: "ERR Invalid script shebang" };
  const parts = line.words;
  if (parts === undefined || parts.length === 0) return { ok: false, error: "ERR Invalid engine in script shebang" };
  if (parts[0] !== "#!lua") return { ok: false, error: `ERR Unexpected engine in script shebang: ${parts[0]}` };
  const flags = new Set<ScriptFlag>();
  for (const part of parts.slice(1)) {
    const listed = listedFlags(part);
    if (listed === undefined) return { ok: false, error: `ERR Unknown lua shebang option: ${part}` };
    for (const flag of listed) {
      if (!KNOWN.has(flag)) return { ok: false, error: `ERR Unexpected flag in script shebang: ${flag}` };
      flags.add(flag as ScriptFlag);
    }
  }
  return { ok: true, present: true, flags, length: line.end };
}

/**
 * The body as Redis 7.0 accepts it: Upstash-only flags removed from the
 * shebang, everything after the first line unchanged (so line numbers in
 * errors stay right). Anything else in the shebang is left for Redis to
 * judge, with its own error texts; a body without Upstash-only flags comes
 * back unchanged.
 */
export function withoutUpstashFlags(body: string): string {
  const line = shebangLine(body);
  if (line?.words?.[0] !== "#!lua") return body;
  let removed = false;
  const kept = line.words.slice(1).flatMap((part) => {
    const flags = listedFlags(part);
    if (flags === undefined) return [part];
    const redisFlags = flags.filter((flag) => !UPSTASH_ONLY.has(flag));
    if (redisFlags.length === flags.length) return [part];
    removed = true;
    // Dropping the option entirely, not leaving "flags=": "#!lua" alone still leaves compat mode, as the client's shebang did.
    return redisFlags.length > 0 ? [`flags=${redisFlags.join(",")}`] : [];
  });
  if (!removed) return body;
  return ["#!lua", ...kept].join(" ") + body.slice(line.end);
}

/**
 * Redis's sdssplitargs: words separated by white space; "double quotes"
 * with C escapes and 'single quotes' with \' only; a closing quote must be
 * followed by white space. Undefined for unbalanced quotes, as Redis
 * returns NULL.
 */
export function splitArgs(line: string): string[] | undefined {
  const words: string[] = [];
  const isSpace = (c: string | undefined) => c !== undefined && " \n\r\t\v\f".includes(c);
  let i = 0;
  for (;;) {
    while (isSpace(line[i])) i++;
    if (i >= line.length) return words;
    let word = "";
    let quote: '"' | "'" | undefined;
    for (;;) {
      const c = line[i];
      if (quote === '"') {
        if (c === undefined) return undefined;
        if (c === "\\" && line[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          word += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        if (c === "\\" && i + 1 < line.length) {
          const escaped = line[i + 1]!;
          word += ({ n: "\n", r: "\r", t: "\t", b: "\b", a: "\x07" } as Record<string, string>)[escaped] ?? escaped;
          i += 2;
          continue;
        }
        if (c === '"') {
          if (i + 1 < line.length && !isSpace(line[i + 1])) return undefined;
          i++;
          break;
        }
        word += c;
        i++;
      } else if (quote === "'") {
        if (c === undefined) return undefined;
        if (c === "\\" && line[i + 1] === "'") {
          word += "'";
          i += 2;
          continue;
        }
        if (c === "'") {
          if (i + 1 < line.length && !isSpace(line[i + 1])) return undefined;
          i++;
          break;
        }
        word += c;
        i++;
      } else {
        if (c === undefined || isSpace(c)) break;
        if (c === '"' || c === "'") quote = c;
        else word += c;
        i++;
      }
    }
    words.push(word);
  }
}
