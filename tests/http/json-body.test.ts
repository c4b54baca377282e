import { describe, expect, it } from "vitest";
import { readJsonBody } from "../../lib/http";

const URL = "https://tollgate.test/api/admin/grant";

function post(body: BodyInit | null, contentType: string | null = "application/json"): Request {
  const headers = new Headers();
  if (contentType !== null) headers.set("content-type", contentType);
  return new Request(URL, { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

async function failure(request: Request, opts: Parameters<typeof readJsonBody>[1]) {
  const result = await readJsonBody(request, opts);
  if (result.status === "read") throw new Error("expected a failure");
  return { status: result.response.status, body: (await result.response.json()) as Record<string, unknown> };
}

describe("readJsonBody", () => {
  it("returns the parsed object", async () => {
    const result = await readJsonBody(post('{"userId":"u1","amount":5}'), { maxBytes: 1024 });
    expect(result).toEqual({ status: "read", value: { userId: "u1", amount: 5 } });
  });

  it("accepts charset=utf-8 and any case", async () => {
    const result = await readJsonBody(post("{}", "Application/JSON; charset=UTF-8"), { maxBytes: 16 });
    expect(result).toEqual({ status: "read", value: {} });
  });

  it.each([
    ["missing", null],
    ["text/plain", "text/plain"],
    ["form-encoded", "application/x-www-form-urlencoded"],
    ["a json-ish lookalike", "application/jsonp"],
    ["a non-UTF-8 charset", "application/json; charset=latin1"],
  ])("415 when the content type is %s", async (_name, contentType) => {
    expect(await failure(post("{}", contentType), { maxBytes: 16 })).toMatchObject({
      status: 415,
      body: { code: "unsupported_media_type" },
    });
  });

  it("413 for a body over the cap", async () => {
    expect(await failure(post(JSON.stringify({ pad: "x".repeat(100) })), { maxBytes: 64 })).toMatchObject({
      status: 413,
      body: { code: "payload_too_large", maxBytes: 64 },
    });
  });

  it("accepts a body of exactly maxBytes", async () => {
    const json = JSON.stringify({ pad: "x".repeat(54) });
    expect(json.length).toBe(64);
    expect(await readJsonBody(post(json), { maxBytes: 64 })).toMatchObject({ status: "read" });
  });

  it("413 for an endless streamed body without Content-Length, reading only just past the cap", async () => {
    let pulls = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new TextEncoder().encode('{"a":"' + "x".repeat(1000)));
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = post(stream);
    expect(request.headers.get("content-length")).toBeNull();
    expect(await failure(request, { maxBytes: 4096 })).toMatchObject({ status: 413 });
    expect(pulls).toBeLessThan(10);
    expect(cancelled).toBe(true);
  });

  it("does not trust a small Content-Length: the stream is counted", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(500) })));
        controller.close();
      },
    });
    const request = new Request(URL, {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json", "content-length": "10" },
      duplex: "half",
    } as RequestInit);
    expect(await failure(request, { maxBytes: 100 })).toMatchObject({ status: 413 });
  });

  it.each([
    ["empty", ""],
    ["truncated", '{"a":'],
    ["not JSON", "hello"],
    ["an array", "[1,2]"],
    ["null", "null"],
    ["a string", '"x"'],
    ["a number", "42"],
  ])("400 invalid_json when the body is %s", async (_name, text) => {
    expect(await failure(post(text), { maxBytes: 1024 })).toMatchObject({ status: 400, body: { code: "invalid_json" } });
  });

  it("400 invalid_json for invalid UTF-8", async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]); // {"a":"\xff"}
    expect(await failure(post(bytes), { maxBytes: 1024 })).toMatchObject({ status: 400, body: { code: "invalid_json" } });
  });

  it("400 unknown_field names the first field outside allowedKeys", async () => {
    const result = await failure(post('{"userId":"u","amount":1,"admin":true}'), {
      maxBytes: 1024,
      allowedKeys: ["userId", "amount"],
    });
    expect(result).toMatchObject({ status: 400, body: { code: "unknown_field", field: "admin" } });
  });

  it("treats __proto__ as just another unknown field", async () => {
    const result = await failure(post('{"__proto__":{"isAdmin":true}}'), { maxBytes: 1024, allowedKeys: ["userId"] });
    expect(result).toMatchObject({ body: { code: "unknown_field", field: "__proto__" } });
  });

  it("accepts a subset of allowedKeys", async () => {
    expect(await readJsonBody(post('{"userId":"u"}'), { maxBytes: 1024, allowedKeys: ["userId", "amount"] })).toEqual({
      status: "read",
      value: { userId: "u" },
    });
  });

  it("throws on programmer error: bad maxBytes, body already read", async () => {
    await expect(readJsonBody(post("{}"), { maxBytes: 0 })).rejects.toThrow(TypeError);
    const used = post("{}");
    await used.text();
    await expect(readJsonBody(used, { maxBytes: 16 })).rejects.toThrow(TypeError);
  });
});
