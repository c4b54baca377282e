import { connect as connectTcp, isIP, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { EngineUnavailableError } from "../engine";
import { ReplyError, type Reply } from "../reply";
import type { RedisAddress } from "./redis-url";
import { encodeCommands, RespParser, RespProtocolError } from "./resp";

export interface RedisConnectionOptions {
  /** Time allowed to connect, authenticate and select the database. @default 10_000 (as ioredis) */
  readonly connectTimeoutMs?: number;
  /** How long close() waits for Redis to answer QUIT before dropping the socket. @default 2_000 */
  readonly quitTimeoutMs?: number;
}

interface Waiter {
  readonly expected: number;
  readonly replies: Reply[];
  resolve(replies: Reply[]): void;
  reject(error: Error): void;
}

/**
 * One socket and the requests written on it. Redis answers in the order it
 * reads, and every request is written whole in one call, so each reply
 * belongs to the oldest request still short of replies.
 */
class Link {
  private readonly waiting: Waiter[] = [];
  private reason: string | undefined;
  /** Settles once the socket is gone. */
  readonly gone: Promise<void>;

  constructor(
    readonly socket: Socket,
    private readonly onDown: (link: Link) => void,
  ) {
    const parser = new RespParser((reply) => this.deliver(reply));
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (error) {
        this.fail(`unreadable reply from Redis: ${messageOf(error)}`, error);
      }
    });
    socket.on("error", (error) => this.fail(error.message, error));
    socket.on("end", () => this.fail("Redis closed the connection"));
    this.gone = new Promise((resolve) => {
      socket.once("close", () => {
        this.fail("the connection closed");
        resolve();
      });
    });
  }

  /** Why the link ended, once it has. */
  get failure(): string | undefined {
    return this.reason;
  }

  send(payload: string, expected: number): Promise<Reply[]> {
    if (this.reason !== undefined) return Promise.reject(new EngineUnavailableError(`Redis connection lost (${this.reason})`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ expected, replies: [], resolve, reject });
      this.socket.write(payload);
    });
  }

  private deliver(reply: Reply): void {
    const waiter = this.waiting[0];
    if (waiter === undefined) throw new RespProtocolError("a reply to no request");
    waiter.replies.push(reply);
    if (waiter.replies.length < waiter.expected) return;
    this.waiting.shift();
    waiter.resolve(waiter.replies);
  }

  /**
   * Ends the link and fails what is in flight. Never re-sent elsewhere: a
   * command written before the drop may already have run, and running a
   * DECRBY twice is worse than an ambiguous answer (the same as a lost HTTP
   * response, which the caller must already handle).
   */
  fail(reason: string, cause?: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    const inFlight = new EngineUnavailableError(
      `Redis connection lost (${reason}) before answering; the commands may or may not have run`,
      { cause },
    );
    for (const waiter of this.waiting.splice(0)) waiter.reject(inFlight);
    this.socket.destroy();
    this.onDown(this);
  }
}

/**
 * A raw RESP2 connection to one Redis, shared by every request. It connects
 * lazily: after a drop, the next request dials again (and fails promptly if
 * Redis is still away) rather than a background loop retrying.
 */
export class RedisConnection {
  private link: Link | null = null;
  private dialing: Promise<Link> | null = null;
  private closing: Promise<void> | null = null;
  private readonly connectTimeoutMs: number;
  private readonly quitTimeoutMs: number;

  constructor(
    private readonly address: RedisAddress,
    options: RedisConnectionOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.quitTimeoutMs = options.quitTimeoutMs ?? 2_000;
  }

  /**
   * Writes `payload` (whole RESP2 commands) and resolves with the next
   * `expected` replies. Rejects with EngineUnavailableError when there is
   * no connection or it drops before all replies are in.
   */
  send(payload: string, expected: number): Promise<Reply[]> {
    const link = this.link;
    if (link !== null) return link.send(payload, expected);
    if (this.closing !== null) return Promise.reject(new EngineUnavailableError("the Redis engine is closed"));
    return this.connected().then((opened) => opened.send(payload, expected));
  }

  /** Connects now if not connected; rejects with EngineUnavailableError if that fails. */
  async open(): Promise<void> {
    await this.connected();
  }

  /** The live link, dialing first if there is none (concurrent callers share one attempt). */
  private connected(): Promise<Link> {
    if (this.link !== null) return Promise.resolve(this.link);
    this.dialing ??= this.dial().finally(() => (this.dialing = null));
    return this.dialing;
  }

  /** Lets requests in flight finish (QUIT is answered after them), then closes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.dialing?.catch(() => undefined);
    const link = this.link;
    if (link === null) return;
    const timer = setTimeout(() => link.fail("Redis did not answer QUIT"), this.quitTimeoutMs);
    await link.send(encodeCommands([["QUIT"]]), 1).catch(() => undefined);
    link.socket.end();
    await link.gone;
    clearTimeout(timer);
  }

  private async dial(): Promise<Link> {
    const { host, port, tls, username, password, db } = this.address;
    const socket = tls
      ? connectTls({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}) })
      : connectTcp({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    const link = new Link(socket, (down) => {
      if (this.link === down) this.link = null;
    });
    const timer = setTimeout(() => link.fail(`no answer from Redis within ${this.connectTimeoutMs} ms`), this.connectTimeoutMs);
    try {
      // Written before the socket connects (Node queues it); PING proves a Redis answers.
      const handshake: string[][] = [];
      if (password !== undefined) handshake.push(username !== undefined ? ["AUTH", username, password] : ["AUTH", password]);
      if (db !== 0) handshake.push(["SELECT", String(db)]);
      handshake.push(["PING"]);
      const replies = await link.send(encodeCommands(handshake), handshake.length);
      replies.forEach((reply, index) => checkHandshake(handshake[index]![0]!, reply));
    } catch (error) {
      link.fail(messageOf(error), error);
      throw new EngineUnavailableError(`cannot connect to Redis at ${host}:${port} (${link.failure})`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    if (this.closing !== null) {
      link.fail("the Redis engine is closed");
      throw new EngineUnavailableError("the Redis engine is closed");
    }
    // Dropped right after the handshake: onDown ran before there was anything to forget.
    if (link.failure !== undefined) throw new EngineUnavailableError(`cannot connect to Redis at ${host}:${port} (${link.failure})`);
    this.link = link;
    return link;
  }
}

/**
 * A password for a server that has none only earns a warning from Redis
 * clients (ioredis included): the connection works, so it is accepted.
 */
const HARMLESS_AUTH_ERRORS = ["no password is set", "without any password configured for the default user"];

function checkHandshake(command: string, reply: Reply): void {
  if (!(reply instanceof ReplyError)) return;
  if (command === "AUTH" && HARMLESS_AUTH_ERRORS.some((text) => reply.message.includes(text))) return;
  // A Redis busy with a script answers PING with BUSY: it is there, which is all PING asks.
  if (command === "PING" && reply.message.startsWith("BUSY ")) return;
  throw new EngineUnavailableError(`Redis refused ${command}: ${reply.message}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
