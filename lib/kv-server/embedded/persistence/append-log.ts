import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";

/**
 * An append-only file written with one write(2) per engine call. The bytes
 * reach the kernel before the HTTP answer leaves, so killing the process
 * loses nothing acknowledged; fsync runs at most once per interval, which
 * bounds what a power cut can take.
 */
export class AppendLog {
  private fd: number | undefined;
  private unsynced = false;
  private timer: NodeJS.Timeout | undefined;
  bytes: number;

  constructor(
    readonly path: string,
    initialBytes: number,
    fsyncIntervalMs: number,
  ) {
    this.fd = openSync(path, "a");
    this.bytes = initialBytes;
    this.timer = setInterval(() => this.sync(), fsyncIntervalMs);
    this.timer.unref();
  }

  append(text: string): void {
    if (this.fd === undefined) throw new Error(`append log ${this.path} is closed`);
    const data = Buffer.from(text, "utf8");
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written);
    this.bytes += data.length;
    this.unsynced = true;
  }

  sync(): void {
    if (this.fd === undefined || !this.unsynced) return;
    fsyncSync(this.fd);
    this.unsynced = false;
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd === undefined) return;
    this.sync();
    closeSync(this.fd);
    this.fd = undefined;
  }
}
