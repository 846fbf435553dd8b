/**
 * The explorer page: reads `/config.json`, loads a `NetworkSnapshot` through `data.ts`, renders it and polls every 5 s.
 * Each section is re-rendered only when its markup changed, so the search text, the focus, the scroll position and the
 * open page survive refreshes; a failed poll shows a banner and keeps the last snapshot.
 * Routes: `#/` overview, `#/operator/<address>`, `#/device/<address>`. `?fixture` renders the bundled sample snapshot.
 */
import type { ExplorerConfig } from "./config";
import { loadSnapshot } from "./data";
import type { NetworkSnapshot } from "./snapshot";
import { renderDevicesTable, renderOperatorsTable, type TableState } from "./views/devices";
import { renderEmission } from "./views/emission";
import { renderEpochs } from "./views/epochs";
import { renderGovernance } from "./views/governance";
import { Html, formatTime, html } from "./views/html";
import { renderCoverageMap, type MapOptions } from "./views/map";
import { renderDevicePage, renderOperatorPage } from "./views/operator";
import { renderStatus, renderSummary } from "./views/summary";

const POLL_MS = 5_000;
const FIXTURE = new URLSearchParams(location.search).has("fixture");

type Route = { page: "overview" } | { page: "operator"; address: string } | { page: "device"; address: string };

function parseRoute(hash: string): Route {
  const m = /^#\/(operator|device)\/(0x[0-9a-fA-F]{40})\/?$/.exec(hash);
  if (m !== null) return { page: m[1] as "operator" | "device", address: m[2] };
  return { page: "overview" };
}

const routeKey = (r: Route): string => (r.page === "overview" ? "overview" : `${r.page}/${r.address.toLowerCase()}`);

const state = {
  snapshot: null as NetworkSnapshot | null,
  updatedAt: new Date(0),
  error: null as string | null,
  route: parseRoute(location.hash),
  query: "",
  tables: {
    devices: { query: "", sort: "state", desc: true, page: 0 },
    operators: { query: "", sort: "earned", desc: true, page: 0 },
    "operator-devices": { query: "", sort: "state", desc: true, page: 0 },
  } as Record<string, TableState>,
  epochsLimit: 25,
  mapResolution: "auto" as MapOptions["resolution"],
  overviewScroll: 0,
};

// ---------------------------------------------------------------------------------------------------------------------
// Rendering

const app = document.getElementById("app")!;
const statusEl = document.getElementById("status")!;
const banner = document.getElementById("banner")!;
const rendered = new Map<string, string>();

/** Sets a container's markup only when it changed. */
function put(id: string, markup: Html | string): void {
  const el = document.getElementById(id);
  if (el === null) return;
  const value = String(markup);
  if (rendered.get(id) === value) return;
  rendered.set(id, value);
  el.innerHTML = value;
}

function skeleton(route: Route): Html {
  if (route.page !== "overview") return html`<div id="page" class="grid"></div>`;
  return html`<div class="grid">
<section class="card span-2" aria-label="Summary"><div id="s-summary"></div></section>
<section class="card"><div class="card-head"><h2>Coverage map</h2>
<label class="small">Cells <select id="map-resolution"><option value="auto">readable size</option><option value="registered">as registered</option></select></label></div>
<div id="s-map"></div></section>
<section class="card"><h2>Emission</h2><div id="s-emission"></div></section>
<section class="card span-2"><h2>Epochs</h2><div id="s-epochs"></div></section>
<section class="card span-2"><h2>Devices</h2>
<input id="search" class="search" type="search" data-testid="device-search" placeholder="Search address, operator, class, state, cell" autocomplete="off" spellcheck="false" aria-label="Search devices and operators">
<div id="s-devices"></div>
<h2>Operators</h2><div id="s-operators"></div></section>
<section class="card span-2"><h2>Governance</h2><div id="s-governance"></div></section>
</div>`;
}

let shownRoute = "";

function render(): void {
  const s = state.snapshot;
  banner.hidden = state.error === null;
  if (state.error !== null) {
    const last = s === null ? "" : ` Showing block ${s.block} read at ${formatTime(Math.floor(state.updatedAt.getTime() / 1000), true)}.`;
    banner.textContent = `Refresh failed: ${state.error}.${last}`;
  }
  if (s === null) {
    if (state.error === null) statusEl.textContent = "loading…";
    else statusEl.textContent = "no data";
    return;
  }

  const key = routeKey(state.route);
  if (key !== shownRoute) {
    const leavingOverview = shownRoute === "overview";
    if (leavingOverview) state.overviewScroll = window.scrollY;
    rendered.clear();
    app.innerHTML = String(skeleton(state.route));
    shownRoute = key;
    const search = document.getElementById("search") as HTMLInputElement | null;
    if (search !== null) search.value = state.query;
    const select = document.getElementById("map-resolution") as HTMLSelectElement | null;
    if (select !== null) select.value = String(state.mapResolution);
    renderSections(s);
    window.scrollTo(0, state.route.page === "overview" ? state.overviewScroll : 0);
  } else {
    renderSections(s);
  }
  document.body.dataset.block = String(s.block);
  document.body.dataset.epoch = String(s.currentEpoch);
  put("status", renderStatus(s, state.updatedAt, FIXTURE));
}

function table(name: string): TableState {
  return { ...state.tables[name], query: name === "operator-devices" ? "" : state.query };
}

function renderTables(s: NetworkSnapshot): void {
  put("s-devices", renderDevicesTable(s, table("devices")));
  put("s-operators", renderOperatorsTable(s, table("operators")));
}

function renderSections(s: NetworkSnapshot): void {
  const route = state.route;
  if (route.page === "operator") {
    put("page", renderOperatorPage(s, route.address, table("operator-devices")));
    return;
  }
  if (route.page === "device") {
    put("page", renderDevicePage(s, route.address));
    return;
  }
  put("s-summary", renderSummary(s));
  put("s-map", renderCoverageMap(s.devices, { resolution: state.mapResolution }));
  put("s-emission", renderEmission(s));
  put("s-epochs", renderEpochs(s, { limit: state.epochsLimit }));
  renderTables(s);
  put("s-governance", renderGovernance(s));
}

// ---------------------------------------------------------------------------------------------------------------------
// Events

window.addEventListener("hashchange", () => {
  state.route = parseRoute(location.hash);
  render();
});

document.addEventListener("input", (event) => {
  const target = event.target as HTMLElement;
  if (target.id === "search") {
    state.query = (target as HTMLInputElement).value;
    state.tables.devices.page = 0;
    state.tables.operators.page = 0;
    if (state.snapshot !== null) renderTables(state.snapshot);
  }
});

document.addEventListener("change", (event) => {
  const target = event.target as HTMLElement;
  if (target.id === "map-resolution" && state.snapshot !== null) {
    state.mapResolution = (target as HTMLSelectElement).value === "registered" ? "registered" : "auto";
    put("s-map", renderCoverageMap(state.snapshot.devices, { resolution: state.mapResolution }));
  }
});

document.addEventListener("click", (event) => {
  const button = (event.target as HTMLElement).closest("button");
  if (button === null || state.snapshot === null) return;
  const name = button.dataset.table;
  if (name !== undefined && state.tables[name] !== undefined) {
    const t = state.tables[name];
    if (button.dataset.sort !== undefined) {
      if (t.sort === button.dataset.sort) t.desc = !t.desc;
      else {
        t.sort = button.dataset.sort;
        t.desc = button.closest("th")?.classList.contains("num") ?? false;
      }
      t.page = 0;
    } else if (button.dataset.page !== undefined) {
      t.page = Math.max(0, Number(button.dataset.page));
    }
    render();
    return;
  }
  if (button.dataset.action === "epochs-all") state.epochsLimit = Number.MAX_SAFE_INTEGER;
  else if (button.dataset.action === "epochs-less") state.epochsLimit = 25;
  else return;
  render();
});

// ---------------------------------------------------------------------------------------------------------------------
// Data

async function readConfig(): Promise<ExplorerConfig> {
  const response = await fetch(new URL("config.json", document.baseURI), { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status} (for sample data open ?fixture)`);
  return (await response.json()) as ExplorerConfig;
}

async function readFixture(): Promise<NetworkSnapshot> {
  const module = await import("../fixtures/sample-snapshot.json");
  return (module.default ?? module) as unknown as NetworkSnapshot;
}

let config: ExplorerConfig | null = null;

async function refresh(): Promise<void> {
  try {
    let snapshot: NetworkSnapshot;
    if (FIXTURE) snapshot = await readFixture();
    else {
      config ??= await readConfig();
      snapshot = await loadSnapshot(config);
    }
    state.snapshot = snapshot;
    state.updatedAt = new Date();
    state.error = null;
  } catch (error) {
    state.error = error instanceof Error ? error.message : String(error);
    console.error(error);
  }
  render();
}

async function poll(): Promise<void> {
  if (!document.hidden || state.snapshot === null) await refresh();
  setTimeout(() => void poll(), POLL_MS);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) void refresh();
});

void poll();
