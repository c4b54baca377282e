import { type EngineReport, placementLabel, VARIANTS } from "./results";

/** The readable end-of-run summary printed by bench/run.ts. */
export function formatReport(reports: readonly EngineReport[]): string {
  const lines: string[] = [];
  const first = reports[0];
  if (first) {
    lines.push(`Tollgate benchmark ${first.date} — ${first.machine.cpus} × ${first.machine.cpuModel}, Node ${first.machine.node}`);
    lines.push(`closed loop: autocannon, ${first.settings.rounds} alternating rounds × ${first.settings.seconds} s per variant`);
  }
  for (const r of reports) {
    lines.push("", `== engine: ${r.engine}`);
    if (r.closedLoop.summary.length > 0) lines.push(table(
      ["route", "conns", "req/s", "mean ms", "p50 ms", "p99 ms", "KV req/req", "statuses"],
      [...r.closedLoop.summary]
        .sort((a, b) => a.connections - b.connections || order(a.variant) - order(b.variant))
        .map((s) => [
          VARIANTS.find((v) => v.id === s.variant)!.label, String(s.connections), s.rps.toFixed(0), s.meanMs.toFixed(2),
          s.p50Ms.toFixed(0), s.p99Ms.toFixed(0), s.kvPerRequest.toFixed(3),
          Object.entries(s.statuses).map(([k, n]) => `${k}×${n}`).join(" "),
        ]),
    ));
    for (const ratio of r.ratios) {
      lines.push(`metered (${placementLabel(ratio.variant)}) ÷ unmetered at ${ratio.connections} conn: ${ratio.median.toFixed(3)} (pairs ${ratio.pairs.map((p) => p.toFixed(3)).join(", ")}); added mean latency ${ratio.addedMs.toFixed(2)} ms`);
    }
    if (r.gateTiming) {
      lines.push(`gate steps (Server-Timing, ${r.gateTiming.samples} sequential requests): auth ${r.gateTiming.authMs.toFixed(3)} ms, meter ${r.gateTiming.meterMs.toFixed(3)} ms`);
    }
    if (r.kvThroughput.length > 0) {
      lines.push("", "KV server alone (commands/s, median of alternating rounds; client: fetch / ioredis in one process):");
      lines.push(table(
        ["mode", "batch", "in flight", "commands/s", "errors"],
        r.kvThroughput.map((k) => [k.mode, String(k.batch), String(k.inFlight), k.commandsPerSecond.toFixed(0), String(k.errors)]),
      ));
    }
    if (r.openLoop) {
      lines.push("", "open loop (fixed arrival rate; pass = p99 ≤ 100 ms, no failures):");
      lines.push(table(
        ["route", "rate/s", "p50 ms", "p99 ms", "failed", "pass"],
        r.openLoop.steps.map((s) => [s.variant, String(s.rate), s.p50Ms.toFixed(1), Number.isFinite(s.p99Ms) ? s.p99Ms.toFixed(1) : "shed", String(s.failed + s.unexpected), s.pass ? "yes" : "no"]),
      ));
      lines.push(`highest passing rate: unmetered ${r.openLoop.maxPlain}/s, metered (Edge middleware) ${r.openLoop.maxMetered}/s → ratio ${r.openLoop.ratio.toFixed(3)}`);
      if (r.openLoop.maxHandler !== undefined && r.openLoop.handlerRatio !== undefined) {
        lines.push(`                      metered (gate in the handler) ${r.openLoop.maxHandler}/s → ratio ${r.openLoop.handlerRatio.toFixed(3)}`);
      }
    }
    if (r.falseRefusals) {
      lines.push("", "false refusals (Redis MONITOR replay; see bench/support/false-refusals.ts):");
      lines.push(table(
        ["costs", "balance", "coverable", "sent", "200", "402", "other", "retried", "false 402", "rate", "left", "replay ok"],
        r.falseRefusals.map((f) => [
          f.costs, String(f.startBalance), String(f.coverable), String(f.sent), String(f.paid), String(f.refused), String(f.other),
          String(f.retried ?? 0), String(f.falseRefusals), `${((100 * f.falseRefusals) / Math.max(1, f.refused)).toFixed(1)}%`, String(f.tokensLeft),
          f.replayConsistent && f.replayRefusals === f.refused + (f.retried ?? 0) ? "yes" : "NO",
        ]),
      ));
    }
    if (r.streaming) {
      lines.push("", "streaming (20-word answers of the demo model; first chunk = first text-delta part):");
      lines.push(table(
        ["variant", "conn", "streams/s", "first chunk p50", "first chunk p99", "whole stream p50", "statuses"],
        r.streaming.summary.map((s) => [
          s.variant, String(s.connections), s.rps.toFixed(1), ms(s.firstChunkP50Ms), ms(s.firstChunkP99Ms), ms(s.totalP50Ms), Object.entries(s.statuses).map(([code, n]) => `${code}×${n}`).join(" "),
        ]),
      ));
      for (const connections of [...new Set(r.streaming.summary.map((s) => s.connections))]) {
        const plain = r.streaming.summary.find((s) => s.variant === "stream-plain" && s.connections === connections);
        const metered = r.streaming.summary.find((s) => s.variant === "stream-metered" && s.connections === connections);
        if (plain && metered) {
          lines.push(`  ${connections} conn: metered ÷ unmetered streams/s ${(metered.rps / plain.rps).toFixed(3)}, first chunk +${(metered.firstChunkP50Ms - plain.firstChunkP50Ms).toFixed(1)} ms (p50)`);
        }
      }
    }
    if (r.targets.length > 0) {
      lines.push("", "targets:");
      lines.push(table(["target", "wanted", "reached", "met"], r.targets.map((t) => [t.name, t.target, t.display, t.met ? "yes" : "NO"])));
    }
    for (const note of r.notes) lines.push(`note: ${note}`);
  }
  return lines.join("\n");
}

/** A latency in milliseconds, or "n/a" when the run gave none (no stream answered 200). */
export function ms(value: number | null): string {
  return value !== null && Number.isFinite(value) ? `${value.toFixed(1)} ms` : "n/a";
}

function order(variant: string): number {
  return VARIANTS.findIndex((v) => v.id === variant);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
