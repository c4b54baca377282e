/**
 * Reading and rewriting script shebangs (lib/kv-server/script-flags.ts).
 * Redis's own answers to these are checked in differential-scripting.test.ts;
 * this pins down the rewrite the Redis engine forwards.
 */
import { describe, expect, it } from "vitest";
import { parseShebang, splitArgs, withoutUpstashFlags } from "../../lib/kv-server/script-flags";

describe("parseShebang", () => {
  it("reads flags, with Upstash's among Redis's", () => {
    const shebang = parseShebang("#!lua flags=no-writes,allow-key-locking\nreturn 1");
    expect(shebang).toEqual({ ok: true, present: true, flags: new Set(["no-writes", "allow-key-locking"]), length: 39 });
    expect(parseShebang("return 1")).toMatchObject({ ok: true, present: false, length: 0 });
    expect(parseShebang("#!lua\nreturn 1")).toMatchObject({ ok: true, present: true, flags: new Set() });
  });

  it("refuses what Redis 7.0 refuses, with its texts", () => {
    expect(parseShebang("#!lua")).toEqual({ ok: false, error: "ERR Invalid script shebang" });
    expect(parseShebang("#!luajit\n")).toEqual({ ok: false, error: "ERR Unexpected engine in script shebang: #!luajit" });
    expect(parseShebang("#!lua flags=no-writes,bogus\n")).toEqual({ ok: false, error: "ERR Unexpected flag in script shebang: bogus" });
    expect(parseShebang("#!lua name=x\n")).toEqual({ ok: false, error: "ERR Unknown lua shebang option: name=x" });
    expect(parseShebang("#!lua 'open\n")).toEqual({ ok: false, error: "ERR Invalid engine in script shebang" });
  });
});

describe("withoutUpstashFlags", () => {
  it("drops only allow-key-locking and keeps every later line as it was", () => {
    expect(withoutUpstashFlags("#!lua flags=allow-key-locking\nlocal a = 1\nreturn a")).toBe("#!lua\nlocal a = 1\nreturn a");
    expect(withoutUpstashFlags("#!lua flags=allow-key-locking,no-writes\nreturn 1")).toBe("#!lua flags=no-writes\nreturn 1");
    expect(withoutUpstashFlags("#!lua  flags=no-writes,allow-key-locking,allow-oom\n")).toBe("#!lua flags=no-writes,allow-oom\n");
  });

  it("leaves alone what has nothing to drop, or what Redis must judge itself", () => {
    for (const body of ["return 1", "#!lua\nreturn 1", "#!lua flags=no-writes\nreturn 1", "#!lua flags=allow-key-locking", "#!python flags=allow-key-locking\n"]) {
      expect(withoutUpstashFlags(body)).toBe(body);
    }
    // Redis still sees the unknown flag and answers with its own error.
    expect(withoutUpstashFlags("#!lua flags=allow-key-locking,bogus\nreturn 1")).toBe("#!lua flags=bogus\nreturn 1");
  });
});

describe("splitArgs (Redis's sdssplitargs)", () => {
  it("splits on white space, honours quotes and escapes, refuses unbalanced quotes", () => {
    expect(splitArgs('  a  "b c" \'d e\' "x\\x41\\n" ')).toEqual(["a", "b c", "d e", "xA\n"]);
    expect(splitArgs('"unterminated')).toBeUndefined();
    expect(splitArgs('"closed"glued')).toBeUndefined();
    expect(splitArgs("")).toEqual([]);
  });
});
