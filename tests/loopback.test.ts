import { describe, expect, it } from "vitest";
import { isLoopbackHost, LOOPBACK_NAMES } from "../lib/loopback";

describe("isLoopbackHost", () => {
  it.each(["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "[::1]", "::1", ...LOOPBACK_NAMES])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(["localhost.", "a.localhost", "localhost.evil.example", "128.0.0.1", "0.0.0.0", "[::]", "10.0.0.7", "127.0.0.1.evil.example", ""])("%s is not", (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
