import { describe, expect, it } from "vitest";
import { decidePermission } from "../../../lib/kv-server/http/permission";

describe("decidePermission", () => {
  it("lets the full token run anything", () => {
    expect(decidePermission("full", [["set", "k", "v"], ["flushall"], ["nosuch"]])).toBeUndefined();
  });

  it("lets the read-only token run read-only commands, whatever their case", () => {
    expect(decidePermission("read-only", [["get", "k"], ["MGET", "a", "b"], ["eval_ro", "return 1", "0"], ["ping"]])).toBeUndefined();
  });

  it("refuses a read-only token's request whole, naming its first write, with 403 NOPERM", () => {
    expect(decidePermission("read-only", [["get", "k"], ["SET", "k", "v"], ["del", "k"]])).toEqual({
      kind: "json",
      status: 403,
      body: { error: "NOPERM this user has no permissions to run the 'set' command" },
    });
  });

  it("counts an unknown or empty command as a write", () => {
    expect(decidePermission("read-only", [["nosuch"]])?.status).toBe(403);
    expect(decidePermission("read-only", [[]])?.status).toBe(403);
  });
});
