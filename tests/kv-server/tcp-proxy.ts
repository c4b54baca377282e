import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { suiteRedisUrl } from "../support/redis";

/**
 * A TCP relay in front of the real Redis, so a test can make Redis look
 * unreachable, cut a connection at a chosen moment, or hold replies back
 * after Redis has run the commands, without touching the Redis that other
 * test files share. Everything that reaches Redis is real.
 */
export interface TcpProxy {
  readonly port: number;
  /** `redis://[auth@]127.0.0.1:<port>/<db>`; `auth` (URL-encoded `user:password`) defaults to REDIS_URL's. */
  url(db: number, auth?: string): string;
  /** Client connections accepted so far. */
  readonly accepted: number;
  /** Keep Redis's replies from reaching clients (they are dropped with the connection). */
  holdReplies(hold: boolean): void;
  /** Closes every open connection, both sides. */
  cut(): void;
  /** Stops listening and cuts everything: Redis looks down. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export async function startProxy(target: RedisTarget = redisTarget()): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let holding = false;
  let accepted = 0;
  let server: Server;
  let port = 0;

  const relay = (client: Socket) => {
    accepted++;
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => {
      if (!holding) client.write(chunk);
    });
  };

  const listen = async () => {
    server = createServer(relay);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  };
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  await listen();

  return {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    url: (db, auth = target.auth) => `redis://${auth === "" ? "" : `${auth}@`}127.0.0.1:${port}/${db}`,
    holdReplies: (hold) => {
      holding = hold;
    },
    cut,
    stop: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      cut();
      await closed;
    },
    start: listen,
  };
}

export interface RedisTarget {
  host: string;
  port: number;
  /** URL-encoded `user:password`, or "". */
  auth: string;
}

/** Where the suite's Redis is. */
export function redisTarget(): RedisTarget {
  const url = new URL(suiteRedisUrl());
  const auth = url.username === "" && url.password === "" ? "" : `${url.username}:${url.password}`;
  return { host: url.hostname, port: url.port === "" ? 6379 : Number(url.port), auth };
}
