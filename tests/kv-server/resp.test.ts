/**
 * The RESP2 reader and writer of the Redis engine, on bytes written by hand
 * (the same bytes Redis 7 sends), including every way a chunk boundary can
 * split them. The engine against real Redis is covered by the differential
 * tests and redis-connection.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ReplyError, type Reply } from "../../lib/kv-server";
import { encodeCommand, encodeCommands, RespParser, RespProtocolError } from "../../lib/kv-server/redis/resp";
import { plain } from "./helpers";

function parseChunks(chunks: Buffer[]): unknown[] {
  const replies: Reply[] = [];
  const parser = new RespParser((reply) => replies.push(reply));
  for (const chunk of chunks) parser.feed(chunk);
  return replies.map((reply) => plain(reply));
}

const parse = (wire: string | Buffer) => parseChunks([Buffer.from(wire)]);

/** A reply stream with every type, nesting, nil, UTF-8 and int64 edges. */
const STREAM = Buffer.from(
  [
    "+OK\r\n",
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ":0\r\n:-42\r\n:9223372036854775807\r\n:-9223372036854775808\r\n:9007199254740993\r\n:999999999999999\r\n",
    "$4\r\nhé!\r\n", // 4 bytes, 3 characters
    "$0\r\n\r\n",
    "$-1\r\n",
    "$7\r\na\r\nb\r\nc\r\n", // CRLF inside a bulk string is data
    "*-1\r\n",
    "*0\r\n",
    "*3\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$2\r\n😀\r\n:7\r\n".replace("$2\r\n😀", "$4\r\n😀"),
    "*4\r\n:1\r\n-ERR value is not an integer or out of range\r\n$-1\r\n*1\r\n*0\r\n", // an EXEC result
    "+QUEUED\r\n",
  ].join(""),
);

const EXPECTED = [
  "OK",
  { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
  0, -42, 9223372036854775807, -9223372036854775808, 9007199254740992, 999999999999999,
  "hé!",
  "",
  null,
  "a\r\nb\r\nc",
  null,
  [],
  ["0", ["a", "😀"], 7],
  [1, { error: "ERR value is not an integer or out of range" }, null, [[]]],
  "QUEUED",
];

describe("RESP2 replies", () => {
  it("reads every reply type, nested arrays and errors inside arrays", () => {
    expect(parse(STREAM)).toEqual(EXPECTED);
    expect(parse(STREAM)[4]).toBe(Number("9223372036854775807"));
  });

  it("gives the same replies however the stream is cut in two or three", () => {
    for (let a = 1; a < STREAM.length; a++) {
      expect(parseChunks([STREAM.subarray(0, a), STREAM.subarray(a)]), `cut at ${a}`).toEqual(EXPECTED);
      for (let b = a + 1; b < STREAM.length; b += 7) {
        const chunks = [STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)];
        expect(parseChunks(chunks), `cut at ${a} and ${b}`).toEqual(EXPECTED);
      }
    }
  });

  it("gives the same replies fed one byte at a time", () => {
    expect(parseChunks([...STREAM].map((byte) => Buffer.from([byte])))).toEqual(EXPECTED);
  });

  it("delivers each reply as soon as its last byte arrives, not later", () => {
    const seen: unknown[] = [];
    const parser = new RespParser((reply) => seen.push(plain(reply)));
    parser.feed(Buffer.from("*2\r\n:1\r\n"));
    expect(seen).toEqual([]);
    parser.feed(Buffer.from(":2\r\n$3\r\nab"));
    expect(seen).toEqual([[1, 2]]);
    parser.feed(Buffer.from("c\r"));
    expect(seen).toEqual([[1, 2]]);
    parser.feed(Buffer.from("\n"));
    expect(seen).toEqual([[1, 2], "abc"]);
  });

  it("reads a large array and a large bulk string arriving in small chunks in linear time", () => {
    const count = 200_000;
    const array = Buffer.from(`*${count}\r\n${"$5\r\nvalue\r\n".repeat(count)}`);
    const big = Buffer.concat([Buffer.from(`$${16 << 20}\r\n`), Buffer.alloc(16 << 20, "x"), Buffer.from("\r\n")]);
    const stream = Buffer.concat([array, big]);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 1000) chunks.push(stream.subarray(at, at + 1000));
    const started = performance.now();
    const replies: Reply[] = [];
    const parser = new RespParser((reply) => replies.push(reply));
    for (const chunk of chunks) parser.feed(chunk);
    // Re-reading from the start of the reply on every chunk would take minutes here.
    expect(performance.now() - started).toBeLessThan(3000);
    expect((replies[0] as Reply[]).length).toBe(count);
    expect((replies[1] as string).length).toBe(16 << 20);
  });

  it("refuses bytes that are not RESP2", () => {
    for (const wire of ["?what\r\n", ":12a\r\n", ":\r\n", "$3\r\nabcd\r\n", "+OK\rX", "%1\r\n"]) {
      expect(() => parse(wire), JSON.stringify(wire)).toThrow(RespProtocolError);
    }
  });

  it("returns ReplyError values, not exceptions, for error replies", () => {
    const replies: Reply[] = [];
    new RespParser((reply) => replies.push(reply)).feed(Buffer.from("-NOSCRIPT No matching script. Please use EVAL.\r\n"));
    expect(replies[0]).toBeInstanceOf(ReplyError);
  });
});

describe("RESP2 commands", () => {
  it("writes arrays of bulk strings with lengths in UTF-8 bytes", () => {
    expect(encodeCommand(["SET", "k", "hé😀"])).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$7\r\nhé😀\r\n");
    expect(encodeCommand(["set", "", "a\r\nb"])).toBe("*3\r\n$3\r\nset\r\n$0\r\n\r\n$4\r\na\r\nb\r\n");
    expect(encodeCommands([["PING"], ["GET", "x"]])).toBe("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nx\r\n");
  });

  it("sends an empty command as an empty name, so Redis still answers it", () => {
    // `*0` gets no reply at all, which would hand every later reply to the wrong request.
    expect(encodeCommand([])).toBe("*1\r\n$0\r\n\r\n");
  });
});
