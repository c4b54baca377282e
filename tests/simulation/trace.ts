/**
 * What happened, in order: scheduler steps, outcomes, faults. The last lines are printed
 * when a check fails; the digest of every line proves that a replay of the seed took the
 * same path (tests compare digests of two runs).
 */
export class Trace {
  private readonly lines: string[] = [];
  private hash = 0x811c9dc5;
  step = 0;

  /** `all`: keep every line (SIM_TRACE_FILE), not just the recent ones. */
  constructor(private readonly all = false, private readonly keep = 400) {}

  /** Every line kept (all of them when constructed with `all`). */
  lines_(): string[] {
    return [...this.lines];
  }

  note(line: string): void {
    const text = `#${this.step} t=${new Date(Date.now()).toISOString().slice(11, 23)} ${line}`;
    for (let i = 0; i < text.length; i++) {
      this.hash ^= text.charCodeAt(i);
      this.hash = Math.imul(this.hash, 0x01000193) >>> 0;
    }
    this.lines.push(text);
    if (!this.all && this.lines.length > this.keep * 2) this.lines.splice(0, this.keep);
  }

  get digest(): string {
    return this.hash.toString(16).padStart(8, "0");
  }

  last(n: number): string[] {
    return this.lines.slice(-n);
  }
}
