/**
 * The coverage map: COVERAGE devices grouped by H3 cell, one SVG polygon per cell coloured by the worst state in it
 * (jailed > slashed > active > exiting/removed), with the device count. No basemap (tiles cannot load offline): the
 * cells are drawn with h3-js on an equirectangular projection fitted to their bounding box.
 *
 * Devices register res-12 cells (~9 m edges), invisible at city scale, so by default the cells are shown at the
 * finest resolution whose hexagons are still readable (about 1/40 of the map's span): the counts are then per
 * display cell. `resolution: "registered"` draws the registered cells themselves (enlarged to stay visible).
 */
import { cellToBoundary, cellToLatLng, cellToParent, getHexagonEdgeLengthAvg, getResolution, isValidCell } from "h3-js";

import type { DeviceRow, DeviceState } from "../snapshot";
import { Html, html, shortHex } from "./html";

/** What a cell is coloured by. "inactive" = only exiting or removed devices. */
export type CellState = "jailed" | "slashed" | "active" | "inactive";

const RANK: Record<CellState, number> = { jailed: 3, slashed: 2, active: 1, inactive: 0 };
export const CELL_STATES: readonly CellState[] = ["active", "slashed", "jailed", "inactive"];
const LABELS: Record<CellState, string> = {
  active: "Active",
  slashed: "Slashed",
  jailed: "Jailed",
  inactive: "Exiting/removed",
};

export function cellStateOf(state: DeviceState): CellState {
  return state === "exiting" || state === "removed" ? "inactive" : state;
}

export interface MapCell {
  cell: string;
  devices: DeviceRow[];
  state: CellState;
  counts: Record<CellState, number>;
}

export interface MapOptions {
  /** "auto" (default): a readable display resolution; "registered": the devices' own cells; or an H3 resolution. */
  resolution?: "auto" | "registered" | number;
  testId?: string;
  /** Caption title. */
  title?: string;
}

const isCoverage = (d: DeviceRow): boolean => d.resourceClass === "Coverage";

/** The finest resolution (<= `finest`) whose average edge is at least `minEdgeKm`. */
function resolutionFor(minEdgeKm: number, finest: number): number {
  for (let res = finest; res > 0; res--) if (getHexagonEdgeLengthAvg(res, "km") >= minEdgeKm) return res;
  return 0;
}

/** Groups the coverage devices into display cells; devices whose cell is not a valid H3 index are returned apart. */
export function coverageCells(
  devices: readonly DeviceRow[],
  resolution: MapOptions["resolution"] = "auto",
): { cells: MapCell[]; resolution: number | null; unplaced: DeviceRow[] } {
  const placed: { device: DeviceRow; cell: string; res: number }[] = [];
  const unplaced: DeviceRow[] = [];
  for (const device of devices.filter(isCoverage)) {
    const cell = device.h3.toLowerCase().replace(/^0x/, "");
    if (isValidCell(cell)) placed.push({ device, cell, res: getResolution(cell) });
    else unplaced.push(device);
  }
  if (placed.length === 0) return { cells: [], resolution: null, unplaced };

  const finest = Math.min(...placed.map((p) => p.res));
  let res: number | null;
  if (resolution === "registered") res = null;
  else if (typeof resolution === "number") res = Math.min(resolution, finest);
  else {
    let latMin = Infinity, latMax = -Infinity, lngMin = Infinity, lngMax = -Infinity;
    for (const p of placed) {
      const [lat, lng] = cellToLatLng(p.cell);
      latMin = Math.min(latMin, lat);
      latMax = Math.max(latMax, lat);
      lngMin = Math.min(lngMin, lng);
      lngMax = Math.max(lngMax, lng);
    }
    const cos = Math.cos((((latMin + latMax) / 2) * Math.PI) / 180);
    const spanKm = Math.max((latMax - latMin) * 111.32, (lngMax - lngMin) * 111.32 * cos);
    res = spanKm === 0 ? finest : resolutionFor(spanKm / 40, finest);
  }

  const byCell = new Map<string, DeviceRow[]>();
  for (const p of placed) {
    const cell = res === null || res >= p.res ? p.cell : cellToParent(p.cell, res);
    const list = byCell.get(cell) ?? [];
    list.push(p.device);
    byCell.set(cell, list);
  }
  const cells = [...byCell.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([cell, list]): MapCell => {
      const counts: Record<CellState, number> = { active: 0, slashed: 0, jailed: 0, inactive: 0 };
      let state: CellState = "inactive";
      for (const d of list) {
        const s = cellStateOf(d.state);
        counts[s]++;
        if (RANK[s] > RANK[state]) state = s;
      }
      return { cell, devices: list, state, counts };
    });
  return { cells, resolution: res, unplaced };
}

const WIDTH = 600;
const round = (x: number): number => Math.round(x * 10) / 10;

function cellTitle(c: MapCell): string {
  const parts = CELL_STATES.filter((s) => c.counts[s] > 0).map((s) => `${c.counts[s]} ${LABELS[s].toLowerCase()}`);
  const list = c.devices.slice(0, 8).map((d) => `${shortHex(d.address)} (${d.state})`);
  if (c.devices.length > 8) list.push(`… ${c.devices.length - 8} more`);
  return `Cell ${c.cell}: ${c.devices.length} device${c.devices.length === 1 ? "" : "s"} (${parts.join(", ")})\n${list.join("\n")}`;
}

export function renderCoverageMap(devices: readonly DeviceRow[], options: MapOptions = {}): Html {
  const testId = options.testId ?? "coverage-map";
  const { cells, resolution, unplaced } = coverageCells(devices, options.resolution);
  const drawn = cells.reduce((n, c) => n + c.devices.length, 0);
  const totals: Record<CellState, number> = { active: 0, slashed: 0, jailed: 0, inactive: 0 };
  for (const c of cells) for (const s of CELL_STATES) totals[s] += c.counts[s];

  // Project: x = lng * cos(mid latitude), y = -lat, fitted into WIDTH x height with padding.
  const rings = cells.map((c) => {
    const boundary = cellToBoundary(c.cell);
    const first = boundary[0][1];
    // Unwrap longitudes across the antimeridian, relative to the first vertex.
    return boundary.map(([lat, lng]) => [lat, lng - first > 180 ? lng - 360 : first - lng > 180 ? lng + 360 : lng]);
  });
  let svgBody = html``;
  let height = 360;
  if (cells.length > 0) {
    let latMin = Infinity, latMax = -Infinity, lngMin = Infinity, lngMax = -Infinity;
    for (const ring of rings)
      for (const [lat, lng] of ring) {
        latMin = Math.min(latMin, lat);
        latMax = Math.max(latMax, lat);
        lngMin = Math.min(lngMin, lng);
        lngMax = Math.max(lngMax, lng);
      }
    const cos = Math.max(0.05, Math.cos((((latMin + latMax) / 2) * Math.PI) / 180));
    const bw = Math.max((lngMax - lngMin) * cos, 1e-9);
    const bh = Math.max(latMax - latMin, 1e-9);
    const aspect = Math.min(1, Math.max(0.5, bh / bw));
    height = Math.round(WIDTH * aspect);
    const pad = 24;
    const scale = Math.min((WIDTH - 2 * pad) / bw, (height - 2 * pad) / bh);
    const ox = (WIDTH - bw * scale) / 2;
    const oy = (height - bh * scale) / 2;
    const project = (lat: number, lng: number): [number, number] => [
      ox + (lng - lngMin) * cos * scale,
      oy + (latMax - lat) * scale,
    ];
    // Registered cells can be far smaller than a pixel: enlarge every polygon to a minimum radius around its centre.
    const minRadius = cells.length > 400 ? 3 : 9;
    // Scale bar: a round distance near a fifth of the width (1 degree of latitude = 111.32 km).
    const kmPerUnit = 111.32 / scale;
    const target = (WIDTH / 5) * kmPerUnit;
    const pow = 10 ** Math.floor(Math.log10(target));
    const km = [5, 2, 1].map((m) => m * pow).find((d) => d <= target) ?? pow;
    const barLength = km / kmPerUnit;
    const label = km >= 1 ? `${Number(km.toPrecision(3))} km` : `${Math.round(km * 1000)} m`;
    const scaleBar = html`<g class="scalebar"><line x1="12" x2="${round(12 + barLength)}" y1="${height - 12}" y2="${height - 12}"/><line x1="12" x2="12" y1="${height - 16}" y2="${height - 8}"/><line x1="${round(12 + barLength)}" x2="${round(12 + barLength)}" y1="${height - 16}" y2="${height - 8}"/><text x="${round(16 + barLength)}" y="${height - 12}" dominant-baseline="central">${label}</text></g>`;
    svgBody = html`${scaleBar}${cells.map((c, i) => {
      const pts = rings[i].map(([lat, lng]) => project(lat, lng));
      const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
      const cy = pts.reduce((s, p) => s + p[1], 0) / pts.length;
      const radius = Math.max(...pts.map(([x, y]) => Math.hypot(x - cx, y - cy)));
      const k = radius < minRadius ? minRadius / Math.max(radius, 1e-6) : 1;
      const points = pts.map(([x, y]) => `${round(cx + (x - cx) * k)},${round(cy + (y - cy) * k)}`).join(" ");
      const r = radius * k;
      const fontSize = Math.min(14, r * 0.9);
      return html`<g class="cell cell-${c.state}" data-cell="${c.cell}" data-count="${c.devices.length}" data-state="${c.state}"><title>${cellTitle(c)}</title><polygon points="${points}"/>${
        fontSize >= 6
          ? html`<text x="${round(cx)}" y="${round(cy)}" font-size="${round(fontSize)}" dominant-baseline="central" text-anchor="middle">${c.devices.length}</text>`
          : null
      }</g>`;
    })}`;
  }

  const caption =
    cells.length === 0
      ? "No coverage device registered yet."
      : resolution === null
        ? `${drawn} coverage devices in ${cells.length} registered cells (drawn enlarged).`
        : `${drawn} coverage devices in ${cells.length} cells at H3 resolution ${resolution}.`;
  return html`<figure class="map">
<svg data-testid="${testId}" data-devices="${drawn}" data-resolution="${resolution ?? "registered"}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${caption}" preserveAspectRatio="xMidYMid meet">
<rect class="map-bg" x="0" y="0" width="${WIDTH}" height="${height}" rx="6"/>
${svgBody}
</svg>
<figcaption>
<ul class="legend">${CELL_STATES.filter((s) => s !== "inactive" || totals.inactive > 0).map(
    (s) => html`<li data-legend="${s}"><span class="swatch cell-${s}"></span>${LABELS[s]} <b>${totals[s]}</b></li>`,
  )}</ul>
<p class="muted">${caption}${unplaced.length > 0 ? ` ${unplaced.length} without a valid cell are not drawn.` : ""}</p>
</figcaption>
</figure>`;
}
