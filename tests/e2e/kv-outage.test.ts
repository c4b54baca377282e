import { afterEach, describe, expect, it } from "vitest";
import { api, control, topUp, uniqueUser, userToken } from "./support/context";

describe("when the KV store is unreachable", () => {
  afterEach(async () => {
    await control("/fault", { fault: { kind: "none" } });
    await control("/kv/start", {}).catch(() => undefined);
  });

  it("answers 503 with Retry-After, does no work, and charges nothing once it is back", async () => {
    const user = uniqueUser("out");
    await topUp(user, 10);
    const token = await userToken(user);
    await control("/kv/stop", {});
    const started = Date.now();
    const res = await api("/api/generate/article", { method: "POST", token, json: { topic: "x" } });
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await res.json()).toMatchObject({ code: "metering_unavailable" });
    await control("/kv/start", {});
    const stats = (await (await api(`/api/admin/users/${user}`, { admin: true })).json()) as { balance: number };
    expect(stats.balance).toBe(10);
    expect((await api("/api/generate/article", { method: "POST", token, json: { topic: "x" } })).status).toBe(200);
  });

  it("answers 503 within the timeout when the KV is too slow", async () => {
    const user = uniqueUser("slow");
    await topUp(user, 10);
    const token = await userToken(user);
    await control("/fault", { fault: { kind: "delay", ms: 5000 } });
    const started = Date.now();
    const res = await api("/api/chat", { method: "POST", token, json: { message: "x" } });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(elapsed).toBeLessThan(4900);
    await control("/fault", { fault: { kind: "none" } });
  });
});
