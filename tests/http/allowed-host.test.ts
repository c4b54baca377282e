import { describe, expect, it } from "vitest";
import { refuseForeignHost } from "../../lib/http/allowed-host";

const ALLOWED = ["localhost", "127.0.0.1", "[::1]", "laptop.local"];

function request(headers: Record<string, string>, url = "http://127.0.0.1:3000/api/me"): Request {
  return new Request(url, { headers });
}

describe("refuseForeignHost: a development server answers to its own names only (DNS rebinding)", () => {
  it.each(["127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "laptop.local:3000", "127.0.0.1"])("accepts Host: %s", (host) => {
    expect(refuseForeignHost(request({ host }), ALLOWED)).toBeNull();
  });

  it.each([
    ["a rebinding page's name", "evil.example:3000"],
    ["a name that merely starts like a loopback one", "localhost.evil.example:3000"],
    ["credentials before a loopback address", "evil.example@127.0.0.1:3000"],
    ["a path after it", "127.0.0.1:3000/x"],
    ["an empty Host", ""],
    ["another address", "10.0.0.7:3000"],
  ])("refuses %s with 421 host_not_allowed", async (_label, host) => {
    const res = refuseForeignHost(request({ host }), ALLOWED);
    expect(res?.status).toBe(421);
    expect(await res?.json()).toMatchObject({ code: "host_not_allowed" });
  });

  it("checks X-Forwarded-Host too: a same-origin page may set it", () => {
    expect(refuseForeignHost(request({ host: "127.0.0.1:3000", "x-forwarded-host": "evil.example" }), ALLOWED)?.status).toBe(421);
    expect(refuseForeignHost(request({ host: "127.0.0.1:3000", "x-forwarded-host": "localhost:3000" }), ALLOWED)).toBeNull();
  });

  it("falls back to the URL's host when no Host header came (a Request built in code)", () => {
    expect(refuseForeignHost(request({}), ALLOWED)).toBeNull();
    expect(refuseForeignHost(request({}, "http://evil.example/api/me"), ALLOWED)?.status).toBe(421);
  });

  it("checks nothing in a deployment (null)", () => {
    expect(refuseForeignHost(request({ host: "evil.example" }), null)).toBeNull();
  });
});
