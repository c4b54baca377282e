import { type EngineReport, placementLabel, type Variant } from "./results";

/**
 * bench/results/latest.svg: requests/s per route variant, grouped by engine and
 * connections, and the metered ÷ unmetered ratios against their targets. A hand-built
 * SVG (no dependency), drawn only from the JSON reports.
 */
const COLORS: Record<Variant, string> = { plain: "#4c78a8", hook: "#72b7b2", metered: "#f58518", handler: "#54a24b", refused: "#e45756" };
const LABELS: Record<Variant, string> = {
  plain: "unmetered", hook: "no-op middleware", metered: "metered (Edge middleware)", handler: "metered (gate in handler)", refused: "402 path",
};

export function drawChart(reports: readonly EngineReport[]): string {
  const groups: { label: string; bars: { variant: Variant; rps: number }[] }[] = [];
  for (const report of reports) {
    const connections = [...new Set(report.closedLoop.summary.map((s) => s.connections))].sort((a, b) => a - b);
    for (const c of connections) {
      const bars = (["plain", "hook", "metered", "handler", "refused"] as const)
        .map((variant) => ({ variant, rps: report.closedLoop.summary.find((s) => s.variant === variant && s.connections === c)?.rps }))
        .filter((b): b is { variant: Variant; rps: number } => b.rps !== undefined);
      groups.push({ label: `${report.engine} · ${c} conn`, bars });
    }
  }
  const ratioBars: { label: string; value: number; target: number; note?: string }[] = [];
  for (const report of reports) {
    for (const r of report.ratios) {
      // At one connection the target is the latency added per request, not the ratio.
      const note = r.connections === 1 ? `+${r.addedMs.toFixed(2)} ms per request (target ≤ 2 ms)` : undefined;
      ratioBars.push({ label: `${report.engine} ${r.connections} conn, ${placementLabel(r.variant)}`, value: r.median, target: r.connections >= 50 ? 0.8 : NaN, note });
    }
    if (report.openLoop !== null) {
      ratioBars.push({ label: `${report.engine} open loop, Edge middleware`, value: report.openLoop.ratio, target: 0.6 });
      if (report.openLoop.handlerRatio !== undefined) ratioBars.push({ label: `${report.engine} open loop, gate in the handler`, value: report.openLoop.handlerRatio, target: 0.6 });
    }
  }

  const width = 960;
  const left = 70;
  const right = 20;
  const top = 70;
  const plotH = 300;
  const gap = 6;
  const groupGap = 36;
  // Groups share the plot's width; bars are as wide as the fullest group allows.
  const slotW = (width - left - right - 20 - groupGap * Math.max(0, groups.length - 1)) / Math.max(1, groups.length);
  const perGroup = Math.max(1, ...groups.map((g) => g.bars.length));
  const barW = Math.min(56, (slotW - gap * (perGroup - 1)) / perGroup);
  const maxRps = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.rps)));
  const scaleMax = niceCeil(maxRps);
  const y = (v: number) => top + plotH - (v / scaleMax) * plotH;
  const parts: string[] = [];
  const date = (reports[0]?.date ?? "").replace("T", " ").slice(0, 16) + " UTC";
  const machine = reports[0]?.machine;
  parts.push(text(width / 2, 28, `Tollgate benchmark — requests/s by route variant (${date})`, { size: 18, anchor: "middle", weight: "bold" }));
  if (machine) parts.push(text(width / 2, 48, `${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; closed loop (autocannon), mean of rounds`, { size: 12, anchor: "middle", fill: "#555" }));

  // Axis and grid.
  for (let i = 0; i <= 5; i++) {
    const v = (scaleMax / 5) * i;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    parts.push(text(left - 8, y(v) + 4, fmt(v), { size: 11, anchor: "end", fill: "#555" }));
  }
  parts.push(text(18, top + plotH / 2, "requests/s", { size: 12, anchor: "middle", rotate: true }));
  groups.forEach((g, gi) => {
    const groupW = g.bars.length * (barW + gap) - gap;
    let x = left + 20 + gi * (slotW + groupGap) + (slotW - groupW) / 2;
    for (const b of g.bars) {
      parts.push(`<rect x="${x}" y="${y(b.rps)}" width="${barW}" height="${top + plotH - y(b.rps)}" fill="${COLORS[b.variant]}"><title>${LABELS[b.variant]}: ${fmt(b.rps)} req/s</title></rect>`);
      parts.push(text(x + barW / 2, y(b.rps) - 4, fmt(b.rps), { size: 10, anchor: "middle" }));
      x += barW + gap;
    }
    parts.push(text(x - gap - groupW / 2, top + plotH + 18, g.label, { size: 12, anchor: "middle" }));
  });
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  // Legend.
  let lx = left;
  for (const v of ["plain", "hook", "metered", "handler", "refused"] as const) {
    parts.push(`<rect x="${lx}" y="${top + plotH + 32}" width="12" height="12" fill="${COLORS[v]}"/>`);
    parts.push(text(lx + 18, top + plotH + 42, LABELS[v], { size: 12 }));
    lx += 30 + LABELS[v].length * 6.5;
  }

  // Ratios: horizontal bars on a 0 … 1.2 scale with the targets marked.
  const rTop = top + plotH + 80;
  const rLeft = 330;
  const rW = width - rLeft - 60;
  const rx = (v: number) => rLeft + (Math.min(v, 1.2) / 1.2) * rW;
  parts.push(text(width / 2, rTop, "metered ÷ unmetered (closed loop: req/s, median of alternating pairs; open loop: highest rate with p99 ≤ 100 ms)", { size: 13, anchor: "middle", weight: "bold" }));
  ratioBars.forEach((r, i) => {
    const by = rTop + 16 + i * 26;
    parts.push(text(rLeft - 10, by + 14, r.label, { size: 12, anchor: "end" }));
    const fill = Number.isNaN(r.target) ? "#9e9e9e" : r.value >= r.target ? "#54a24b" : "#e45756";
    parts.push(`<rect x="${rLeft}" y="${by}" width="${Math.max(0, rx(r.value) - rLeft)}" height="18" fill="${fill}"/>`);
    const label = `${r.value.toFixed(2)}×${Number.isNaN(r.target) ? "" : ` (target ≥ ${r.target})`}${r.note ? ` · ${r.note}` : ""}`;
    // The target mark first, so the value's label is drawn over it.
    if (!Number.isNaN(r.target)) parts.push(`<line x1="${rx(r.target)}" x2="${rx(r.target)}" y1="${by - 2}" y2="${by + 20}" stroke="#333" stroke-dasharray="3,2"/>`);
    parts.push(text(rx(r.value) + 6, by + 14, label, { size: 12, halo: true }));
  });
  const height = rTop + 16 + ratioBars.length * 26 + 40;
  for (const [v, label] of [[0, "0"], [0.5, "0.5"], [1, "1.0"]] as const) {
    parts.push(text(rx(v), height - 22, label, { size: 11, anchor: "middle", fill: "#555" }));
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

function niceCeil(v: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * magnitude >= v) return m * magnitude;
  return 10 * magnitude;
}

function fmt(v: number): string {
  return v >= 100 || v === 0 ? String(Math.round(v)) : v.toFixed(1);
}

function text(x: number, y: number, content: string, o: { size: number; anchor?: string; weight?: string; fill?: string; rotate?: boolean; halo?: boolean }): string {
  const transform = o.rotate ? ` transform="rotate(-90 ${x} ${y})"` : "";
  // A white halo keeps a label readable where it crosses a line.
  const halo = o.halo ? ` stroke="#fff" stroke-width="3" paint-order="stroke"` : "";
  return `<text x="${x}" y="${y}" font-size="${o.size}" text-anchor="${o.anchor ?? "start"}"${o.weight ? ` font-weight="${o.weight}"` : ""} fill="${o.fill ?? "#222"}"${halo}${transform}>${escape(content)}</text>`;
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
