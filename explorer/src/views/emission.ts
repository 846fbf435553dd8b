/**
 * The emission curve. Chart 1, per epoch: the schedule split by class (stacked area), what the verdict files allocated
 * per class (stacked bars) and what the distributor minted in the epoch (line). Chart 2, cumulative: minted vs
 * scheduled, with a bar that places both against the emission budget and the supply cap (1e9 MESH is far above the
 * first epochs, so the cap is drawn to scale only on that bar).
 */
import { ResourceClass } from "../../../sdk/enums";
import type { EmissionPoint, NetworkSnapshot } from "../snapshot";
import { Html, compact, formatMesh, html, mesh, meshFloat } from "./html";

export const CLASS_NAMES: readonly string[] = Object.entries(ResourceClass)
  .sort(([, a], [, b]) => a - b)
  .map(([name]) => name);

const W = 480;
const H = 240;
const M = { top: 18, right: 10, bottom: 30, left: 44 };
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** About `count` round tick values from 0 to max. */
function ticks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max * 1.0001; v += step) out.push(v);
  return out;
}

function epochTicks(first: number, last: number): number[] {
  const span = last - first;
  if (span <= 0) return [first];
  const step = Math.max(1, Math.ceil(span / 8));
  const out: number[] = [];
  for (let e = first; e <= last; e += step) out.push(e);
  if (out[out.length - 1] !== last && last - out[out.length - 1] >= step / 2) out.push(last);
  return out;
}

interface Frame {
  x: (epoch: number) => number;
  y: (mesh: number) => number;
  axes: Html;
}

function frame(points: readonly EmissionPoint[], yMax: number, yLabel: string): Frame {
  const first = points[0].epoch;
  const last = points[points.length - 1].epoch;
  const span = Math.max(1, last - first);
  const pad = points.length === 1 ? 0.5 : 0;
  const x = (e: number): number => M.left + ((e - first + pad) / (span + 2 * pad)) * (W - M.left - M.right);
  const y = (v: number): number => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const axes = html`<g class="axis">
${ticks(yMax).map((t) => html`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${r1(y(t))}" y2="${r1(y(t))}"/><text x="${M.left - 6}" y="${r1(y(t))}" text-anchor="end" dominant-baseline="central">${compact(t)}</text>`)}
${epochTicks(first, last).map((e) => html`<text x="${r1(x(e))}" y="${H - M.bottom + 16}" text-anchor="middle">${e}</text>`)}
<text x="${W - M.right}" y="${H - 2}" text-anchor="end">epoch</text>
<text x="4" y="${M.top - 4}" dominant-baseline="auto">${yLabel}</text>
</g>`;
  return { x, y, axes };
}

function pathOf(pts: [number, number][]): string {
  return pts.map(([px, py], i) => `${i === 0 ? "M" : "L"}${r1(px)},${r1(py)}`).join("");
}

function pointTitle(p: EmissionPoint, minted: bigint | null): string {
  const lines = [`Epoch ${p.epoch}`, `Scheduled ${formatMesh(p.scheduled)} MESH`];
  p.scheduledByClass.forEach((v, c) => {
    const alloc = p.allocatedByClass?.[c];
    lines.push(`  ${CLASS_NAMES[c] ?? `Class ${c}`}: ${formatMesh(v)}${alloc !== undefined ? ` (allocated ${formatMesh(alloc)})` : ""}`);
  });
  if (p.allocatedByClass === null) lines.push("Allocation: verdict file not available");
  if (minted !== null) lines.push(`Minted in epoch ${formatMesh(minted)} MESH`);
  if (p.mintedCumulative !== null) lines.push(`Minted so far ${formatMesh(p.mintedCumulative)} MESH`);
  lines.push(`Scheduled so far ${formatMesh(p.scheduledCumulative)} MESH`);
  return lines.join("\n");
}

/** Minted in each epoch: the difference of consecutive cumulative values (null where one is missing). */
function mintedPerEpoch(points: readonly EmissionPoint[]): (bigint | null)[] {
  return points.map((p, i) => {
    if (p.mintedCumulative === null) return null;
    const before = i === 0 ? 0n : points[i - 1].mintedCumulative;
    return before === null ? null : BigInt(p.mintedCumulative) - BigInt(before);
  });
}

function perEpochChart(points: readonly EmissionPoint[]): Html {
  const classes = Math.max(...points.map((p) => p.scheduledByClass.length));
  const minted = mintedPerEpoch(points);
  const totals = points.map((p) => Math.max(
    meshFloat(p.scheduled),
    p.scheduledByClass.reduce((s, v) => s + meshFloat(v), 0),
    (p.allocatedByClass ?? []).reduce((s, v) => s + meshFloat(v), 0),
  ));
  const mintedMax = Math.max(0, ...minted.map((m) => (m === null ? 0 : meshFloat(m))));
  const yMax = Math.max(...totals, mintedMax) * 1.1 || 1;
  const f = frame(points, yMax, "MESH per epoch");

  // Stacked areas of the schedule by class.
  const base = points.map(() => 0);
  const areas: Html[] = [];
  for (let c = 0; c < classes; c++) {
    const lower = points.map((p, i): [number, number] => [f.x(p.epoch), f.y(base[i])]);
    points.forEach((p, i) => (base[i] += meshFloat(p.scheduledByClass[c] ?? "0")));
    const upper = points.map((p, i): [number, number] => [f.x(p.epoch), f.y(base[i])]);
    if (points.length === 1) {
      // One epoch: a band a bit wider than a bar.
      const [[x0, yl]] = lower;
      const [[, yu]] = upper;
      areas.push(html`<rect class="area class-${c}" x="${r1(x0 - 14)}" y="${r1(yu)}" width="28" height="${r1(yl - yu)}"/>`);
    } else {
      areas.push(html`<path class="area class-${c}" d="${pathOf([...upper, ...lower.reverse()])}Z"/>`);
    }
  }

  // Allocated per class: thin stacked bars.
  const step = points.length > 1 ? (f.x(points[points.length - 1].epoch) - f.x(points[0].epoch)) / (points.length - 1) : 40;
  const barW = Math.max(1.5, Math.min(8, step * 0.35));
  const bars = points.length > 300 ? [] : points.map((p) => {
    if (p.allocatedByClass === null) return null;
    let acc = 0;
    return html`<g class="alloc">${p.allocatedByClass.map((v, c) => {
      const y0 = f.y(acc);
      acc += meshFloat(v);
      const y1 = f.y(acc);
      return y0 - y1 > 0 ? html`<rect class="bar class-${c}" x="${r1(f.x(p.epoch) - barW / 2)}" y="${r1(y1)}" width="${r1(barW)}" height="${r1(y0 - y1)}"/>` : null;
    })}</g>`;
  });

  const mintedPts = points.flatMap((p, i): [number, number][] => (minted[i] === null ? [] : [[f.x(p.epoch), f.y(meshFloat(minted[i]!))]]));
  const hover = points.map((p, i) => html`<rect class="hover" x="${r1(f.x(p.epoch) - step / 2)}" y="${M.top}" width="${r1(Math.max(step, 2))}" height="${H - M.top - M.bottom}"><title>${pointTitle(p, minted[i])}</title></rect>`);

  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Emission per epoch by class">
${f.axes}${areas}${bars}
${mintedPts.length > 1 ? html`<path class="line minted" d="${pathOf(mintedPts)}"/>` : null}
${mintedPts.map(([px, py]) => html`<circle class="dot minted" cx="${r1(px)}" cy="${r1(py)}" r="2.5"/>`)}
${hover}
</svg>
<ul class="legend">${Array.from({ length: classes }, (_, c) => html`<li><span class="swatch class-${c}"></span>${CLASS_NAMES[c] ?? `Class ${c}`}</li>`)}
<li><span class="swatch bar-key"></span>allocated (bars)</li><li><span class="swatch line-key minted"></span>minted in epoch</li></ul>`;
}

function cumulativeChart(points: readonly EmissionPoint[]): Html {
  const sched = points.map((p): [number, number] => [p.epoch, meshFloat(p.scheduledCumulative)]);
  const minted = points.flatMap((p): [number, number][] => (p.mintedCumulative === null ? [] : [[p.epoch, meshFloat(p.mintedCumulative)]]));
  const yMax = Math.max(...sched.map(([, v]) => v), ...minted.map(([, v]) => v)) * 1.1 || 1;
  const f = frame(points, yMax, "MESH, cumulative");
  const line = (pts: [number, number][]): string => pathOf(pts.map(([e, v]) => [f.x(e), f.y(v)]));
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Cumulative emission: minted vs scheduled">
${f.axes}
<path class="line scheduled" d="${line(sched)}"/>
${minted.length > 0 ? html`<path class="line minted" d="${line(minted)}"/>` : null}
${minted.map(([e, v]) => html`<circle class="dot minted" cx="${r1(f.x(e))}" cy="${r1(f.y(v))}" r="2.5"><title>Epoch ${e}: minted so far ${compact(v)} MESH</title></circle>`)}
</svg>
<ul class="legend"><li><span class="swatch line-key scheduled"></span>scheduled</li><li><span class="swatch line-key minted"></span>minted (distributor roots)</li></ul>`;
}

/** A bar to scale of the supply cap: minted, scheduled so far and the emission budget. */
function capBar(e: NetworkSnapshot["emission"], scheduled: string): Html {
  const cap = BigInt(e.cap);
  const pct = (v: string): number => (cap === 0n ? 0 : Number((BigInt(v) * 1_000_000n) / cap) / 10_000);
  const width = (v: string): string => `${Math.min(100, pct(v))}%`;
  return html`<div class="capbar" title="Against the supply cap of ${formatMesh(e.cap)} MESH">
<div class="capbar-budget" style="width:${width(e.budget)}"></div>
<div class="capbar-scheduled" style="width:${width(scheduled)}"></div>
<div class="capbar-minted" style="width:${width(e.totalMinted)}"></div>
</div>
<p class="muted small">Bar = cap (MeshToken.MAX_SUPPLY, ${formatMesh(e.cap)} MESH). Emission budget ${formatMesh(e.budget)} MESH
(${pct(e.budget).toFixed(1)} % of the cap); scheduled so far ${pct(scheduled).toFixed(4)} %; minted ${pct(e.totalMinted).toFixed(4)} %.</p>`;
}

export function renderEmission(snapshot: Pick<NetworkSnapshot, "emission">): Html {
  const e = snapshot.emission;
  const points = [...e.points].sort((a, b) => a.epoch - b.epoch);
  const scheduledSoFar = points.length > 0 ? points[points.length - 1].scheduledCumulative : "0";
  return html`<div class="emission" data-testid="emission-chart" data-total-minted="${e.totalMinted}" data-total-claimed="${e.totalClaimed}" data-cap="${e.cap}">
<dl class="stats">
<div><dt>Minted</dt><dd data-testid="total-minted">${mesh(e.totalMinted)}</dd></div>
<div><dt>Claimed</dt><dd>${mesh(e.totalClaimed)}</dd></div>
<div><dt>Scheduled so far</dt><dd>${mesh(scheduledSoFar)}</dd></div>
<div><dt>Cap</dt><dd>${mesh(e.cap, 0)}</dd></div>
</dl>
${capBar(e, scheduledSoFar)}
${points.length === 0
    ? html`<p class="muted">No epoch yet.</p>`
    : html`<h3>Per epoch: schedule by class vs allocated and minted</h3>${perEpochChart(points)}<h3>Cumulative</h3>${cumulativeChart(points)}`}
</div>`;
}
