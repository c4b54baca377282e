import { ReplyError, type Reply } from "../reply";

/**
 * RESP2, the Redis wire protocol (https://redis.io/docs/latest/develop/reference/protocol-spec/):
 * commands go out as arrays of bulk strings, replies come back as simple
 * strings, errors, integers, bulk strings and (nested) arrays.
 */

const CR = 13;
const LF = 10;

/** One command as a RESP2 array of bulk strings (lengths in UTF-8 bytes). */
export function encodeCommand(args: readonly string[]): string {
  // A missing name goes out as "" (Redis answers "unknown command ''"). An empty array
  // `*0` would get no reply at all and shift every later reply onto the wrong request.
  if (args.length === 0) return "*1\r\n$0\r\n\r\n";
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg, "utf8")}\r\n${arg}\r\n`;
  return out;
}

/** Commands back to back, for one socket write: Redis answers them in order. */
export function encodeCommands(commands: readonly (readonly string[])[]): string {
  let out = "";
  for (const args of commands) out += encodeCommand(args);
  return out;
}

/** Redis sent something that is not RESP2: the connection can no longer be trusted. */
export class RespProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RespProtocolError";
  }
}

interface Frame {
  readonly items: Reply[];
  remaining: number;
}

/**
 * Turns a stream of chunks into replies, in the shapes the REST protocol
 * carries: bulk and simple strings decoded as UTF-8, integers as numbers,
 * nil as null, errors as ReplyError values (top level or inside an EXEC
 * array), arrays nested.
 *
 * Chunks may split a reply anywhere. Partly received arrays are kept as a
 * stack of frames and only the element the chunk ended in is read again, and
 * a long bulk string is not looked at again until all its bytes are there,
 * so a large reply in many chunks costs linear time.
 */
export class RespParser {
  private readonly stack: Frame[] = [];
  /** Received bytes not parsed yet: the element a chunk ended in, and chunks after it. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Bytes `held` must reach before reading is worth trying again (0: try on every chunk). */
  private needed = 0;
  /** The value of the integer line read last (a field, so reading one allocates nothing). */
  private integer = 0;

  constructor(private readonly onReply: (reply: Reply) => void) {}

  /** Throws RespProtocolError on malformed input; the parser is unusable after that. */
  feed(chunk: Buffer): void {
    if (this.held.length > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes < this.needed) return;
      chunk = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      this.needed = 0;
    }
    this.read(chunk);
  }

  private read(buf: Buffer): void {
    let offset = 0;
    while (offset < buf.length) {
      const start = offset;
      let value: Reply;
      switch (buf[offset]) {
        case 0x2b: {
          // + simple string
          const end = lineEnd(buf, offset + 1);
          if (end < 0) return this.keep(buf, start, 0);
          value = buf.toString("utf8", offset + 1, end);
          offset = end + 2;
          break;
        }
        case 0x2d: {
          // - error
          const end = lineEnd(buf, offset + 1);
          if (end < 0) return this.keep(buf, start, 0);
          value = new ReplyError(buf.toString("utf8", offset + 1, end));
          offset = end + 2;
          break;
        }
        case 0x3a: {
          // : integer. Up to 15 digits are exact as doubles; longer ones go through
          // Number() of the decimal text, which rounds int64 values beyond 2^53 correctly.
          const end = this.readInteger(buf, offset + 1);
          if (end < 0) return this.keep(buf, start, 0);
          value = end - offset - 1 <= 15 ? this.integer : Number(buf.toString("latin1", offset + 1, end));
          offset = end + 2;
          break;
        }
        case 0x24: {
          // $ bulk string; length -1 is nil
          const end = this.readInteger(buf, offset + 1);
          if (end < 0) return this.keep(buf, start, 0);
          if (this.integer < 0) {
            value = null;
            offset = end + 2;
            break;
          }
          const dataEnd = end + 2 + this.integer;
          if (dataEnd + 2 > buf.length) return this.keep(buf, start, dataEnd + 2 - start);
          if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) throw new RespProtocolError("bulk string not followed by CRLF");
          value = buf.toString("utf8", end + 2, dataEnd);
          offset = dataEnd + 2;
          break;
        }
        case 0x2a: {
          // * array; its elements follow as replies of their own. Length -1 is nil.
          const end = this.readInteger(buf, offset + 1);
          if (end < 0) return this.keep(buf, start, 0);
          offset = end + 2;
          if (this.integer > 0) {
            this.stack.push({ items: [], remaining: this.integer });
            continue;
          }
          value = this.integer < 0 ? null : [];
          break;
        }
        default:
          throw new RespProtocolError(`unexpected RESP type byte 0x${buf[offset]!.toString(16)}`);
      }
      this.complete(value);
    }
  }

  /** Adds a finished value to the innermost open array, closing arrays as they fill. */
  private complete(value: Reply): void {
    let done = value;
    for (;;) {
      const frame = this.stack[this.stack.length - 1];
      if (frame === undefined) {
        this.onReply(done);
        return;
      }
      frame.items.push(done);
      if (--frame.remaining > 0) return;
      this.stack.pop();
      done = frame.items;
    }
  }

  /** The buffer ends inside an element: keep it from the element's start (`size` bytes long, if known). */
  private keep(buf: Buffer, start: number, size: number): void {
    const rest = buf.subarray(start);
    this.held = [rest];
    this.heldBytes = rest.length;
    this.needed = size;
  }

  /**
   * Reads a decimal integer line starting at `from` into `this.integer`;
   * returns the index of its CR, or -1 if the line is not complete yet.
   */
  private readInteger(buf: Buffer, from: number): number {
    let i = from;
    const negative = buf[i] === 0x2d;
    if (negative) i++;
    const digitsFrom = i;
    let value = 0;
    for (; i < buf.length; i++) {
      const c = buf[i]!;
      if (c === CR) {
        if (i + 1 >= buf.length) return -1;
        if (buf[i + 1] !== LF || i === digitsFrom) throw new RespProtocolError("malformed integer line");
        this.integer = negative ? -value : value;
        return i;
      }
      if (c < 0x30 || c > 0x39) throw new RespProtocolError("malformed integer line");
      value = value * 10 + (c - 0x30);
    }
    return -1;
  }
}

/** Index of the CR of the CRLF ending the line that starts at `from`, or -1 if it is not complete yet. */
function lineEnd(buf: Buffer, from: number): number {
  const cr = buf.indexOf(CR, from);
  if (cr < 0 || cr + 1 >= buf.length) return -1;
  if (buf[cr + 1] !== LF) throw new RespProtocolError("CR without LF in a reply line");
  return cr;
}
