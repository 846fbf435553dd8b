/** Devices and operators: searchable, sortable, paginated tables. */
import type { DeviceRow, NetworkSnapshot, OperatorRow } from "../snapshot";
import { Html, badge, compareWei, deviceLink, html, mesh, operatorLink, percentBps } from "./html";

export interface TableState {
  /** Search text: every whitespace-separated word must match a field (case-insensitive substring). */
  query: string;
  sort: string;
  desc: boolean;
  /** 0-based page. */
  page: number;
}

export const PAGE_SIZE = 100;

interface Column<T> {
  key: string;
  label: string;
  numeric?: boolean;
  compare: (a: T, b: T) => number;
  cell: (row: T) => Html | string | number;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const STATE_ORDER: Record<string, number> = { jailed: 4, slashed: 3, active: 2, exiting: 1, removed: 0 };

function operatorIndex(operators: readonly OperatorRow[]): Map<string, OperatorRow> {
  return new Map(operators.map((o) => [o.address.toLowerCase(), o]));
}

function totalStake(o: OperatorRow | undefined): bigint {
  return o === undefined ? 0n : BigInt(o.selfStake) + BigInt(o.delegated);
}

function deviceColumns(ops: Map<string, OperatorRow>): Column<DeviceRow>[] {
  const op = (d: DeviceRow): OperatorRow | undefined => ops.get(d.operator.toLowerCase());
  return [
    { key: "address", label: "Device", compare: (a, b) => byText(a.address.toLowerCase(), b.address.toLowerCase()), cell: (d) => deviceLink(d.address) },
    { key: "class", label: "Class", compare: (a, b) => byText(a.resourceClass, b.resourceClass), cell: (d) => d.resourceClass },
    { key: "capacity", label: "Capacity", numeric: true, compare: (a, b) => compareWei(a.capacity, b.capacity), cell: (d) => d.capacity },
    { key: "operator", label: "Operator", compare: (a, b) => byText(a.operator.toLowerCase(), b.operator.toLowerCase()), cell: (d) => operatorLink(d.operator) },
    {
      key: "stake",
      label: "Operator stake",
      numeric: true,
      compare: (a, b) => {
        const x = totalStake(op(a));
        const y = totalStake(op(b));
        return x < y ? -1 : x > y ? 1 : 0;
      },
      cell: (d) => (op(d) === undefined ? html`<span class="muted">—</span>` : mesh(totalStake(op(d)), 0)),
    },
    { key: "delegators", label: "Delegators", numeric: true, compare: (a, b) => (op(a)?.delegators ?? 0) - (op(b)?.delegators ?? 0), cell: (d) => op(d)?.delegators ?? "—" },
    {
      key: "state",
      label: "Status",
      compare: (a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || byText(a.status, b.status),
      cell: (d) => html`${badge(d.state)}${d.status.toLowerCase() !== d.state ? html` <small class="muted">${d.status}</small>` : null}`,
    },
    { key: "faults", label: "Faults", numeric: true, compare: (a, b) => a.faults - b.faults, cell: (d) => d.faults },
    { key: "earned", label: "Earned", numeric: true, compare: (a, b) => compareWei(a.earned, b.earned), cell: (d) => mesh(d.earned, 2, false) },
    { key: "claimable", label: "Claimable", numeric: true, compare: (a, b) => compareWei(a.claimable, b.claimable), cell: (d) => mesh(d.claimable, 2, false) },
    { key: "slashed", label: "Slashed", numeric: true, compare: (a, b) => compareWei(a.slashed, b.slashed), cell: (d) => (BigInt(d.slashed) > 0n ? mesh(d.slashed, 2, false) : html`<span class="muted">0</span>`) },
  ];
}

const OPERATOR_COLUMNS: Column<OperatorRow>[] = [
  { key: "address", label: "Operator", compare: (a, b) => byText(a.address.toLowerCase(), b.address.toLowerCase()), cell: (o) => operatorLink(o.address) },
  { key: "devices", label: "Devices", numeric: true, compare: (a, b) => a.devices - b.devices, cell: (o) => o.devices },
  { key: "selfStake", label: "Self stake", numeric: true, compare: (a, b) => compareWei(a.selfStake, b.selfStake), cell: (o) => mesh(o.selfStake, 0, false) },
  { key: "delegated", label: "Delegated", numeric: true, compare: (a, b) => compareWei(a.delegated, b.delegated), cell: (o) => mesh(o.delegated, 0, false) },
  { key: "delegators", label: "Delegators", numeric: true, compare: (a, b) => a.delegators - b.delegators, cell: (o) => o.delegators },
  { key: "commission", label: "Commission", numeric: true, compare: (a, b) => a.commissionBps - b.commissionBps, cell: (o) => percentBps(o.commissionBps) },
  { key: "earned", label: "Earned", numeric: true, compare: (a, b) => compareWei(a.earned, b.earned), cell: (o) => mesh(o.earned, 2, false) },
  { key: "slashed", label: "Slashed", numeric: true, compare: (a, b) => compareWei(a.slashed, b.slashed), cell: (o) => (BigInt(o.slashed) > 0n ? mesh(o.slashed, 2, false) : html`<span class="muted">0</span>`) },
];

function words(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
}

export function deviceMatches(d: DeviceRow, query: string): boolean {
  const fields = [d.address, d.operator, d.resourceClass, d.state, d.status, d.h3].map((f) => f.toLowerCase());
  return words(query).every((w) => fields.some((f) => f.includes(w)));
}

export function filterDevices(devices: readonly DeviceRow[], query: string): DeviceRow[] {
  return devices.filter((d) => deviceMatches(d, query));
}

/** Operators whose address matches, or who run a device that matches. */
export function filterOperators(snapshot: Pick<NetworkSnapshot, "operators" | "devices">, query: string): OperatorRow[] {
  if (words(query).length === 0) return [...snapshot.operators];
  const viaDevices = new Set(filterDevices(snapshot.devices, query).map((d) => d.operator.toLowerCase()));
  return snapshot.operators.filter(
    (o) => viaDevices.has(o.address.toLowerCase()) || words(query).every((w) => o.address.toLowerCase().includes(w)),
  );
}

function sorted<T>(rows: T[], columns: Column<T>[], state: TableState): T[] {
  const column = columns.find((c) => c.key === state.sort);
  if (column === undefined) return rows;
  const sign = state.desc ? -1 : 1;
  return rows.map((r, i) => ({ r, i })).sort((a, b) => sign * column.compare(a.r, b.r) || a.i - b.i).map((x) => x.r);
}

function header<T>(table: string, columns: Column<T>[], state: TableState): Html {
  return html`<thead><tr>${columns.map((c) => {
    const active = c.key === state.sort;
    const arrow = active ? (state.desc ? " ▼" : " ▲") : "";
    return html`<th class="${c.numeric ? "num" : ""}" aria-sort="${active ? (state.desc ? "descending" : "ascending") : "none"}"><button type="button" class="sort" data-table="${table}" data-sort="${c.key}">${c.label}${arrow}</button></th>`;
  })}</tr></thead>`;
}

function pager(table: string, page: number, pages: number, total: number, shownFrom: number, shownTo: number): Html {
  if (pages <= 1) return html``;
  return html`<nav class="pager" aria-label="pages">
<button type="button" data-table="${table}" data-page="${page - 1}" ${page <= 0 ? html`disabled` : null}>‹ Previous</button>
<span>${shownFrom + 1}–${shownTo} of ${total} (page ${page + 1}/${pages})</span>
<button type="button" data-table="${table}" data-page="${page + 1}" ${page >= pages - 1 ? html`disabled` : null}>Next ›</button>
</nav>`;
}

export interface DevicesOptions {
  pageSize?: number;
  /** Table id used by the sort and page buttons (default "devices"). */
  table?: string;
  testId?: string;
}

export function renderDevicesTable(
  snapshot: Pick<NetworkSnapshot, "devices" | "operators">,
  state: TableState,
  options: DevicesOptions = {},
): Html {
  const table = options.table ?? "devices";
  const columns = deviceColumns(operatorIndex(snapshot.operators));
  const rows = sorted(filterDevices(snapshot.devices, state.query), columns, state);
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  const page = Math.min(Math.max(0, state.page), pages - 1);
  const from = page * pageSize;
  const shown = rows.slice(from, from + pageSize);
  return html`<p class="muted small" data-testid="${table}-count">${rows.length === snapshot.devices.length ? `${rows.length} devices` : `${rows.length} of ${snapshot.devices.length} devices match`}</p>
<div class="scroll">
<table class="table devices" data-testid="${options.testId ?? "devices-table"}" data-rows="${rows.length}">
${header(table, columns, state)}
<tbody>${shown.length === 0
    ? html`<tr><td colspan="${columns.length}" class="muted">No device matches.</td></tr>`
    : shown.map((d) => html`<tr data-device="${d.address}" data-state="${d.state}" data-class="${d.resourceClass}">${columns.map((c) => html`<td class="${c.numeric ? "num" : ""}">${c.cell(d)}</td>`)}</tr>`)}</tbody>
</table>
</div>
${pager(table, page, pages, rows.length, from, from + shown.length)}`;
}

export function renderOperatorsTable(snapshot: Pick<NetworkSnapshot, "devices" | "operators">, state: TableState): Html {
  const rows = sorted(filterOperators(snapshot, state.query), OPERATOR_COLUMNS, state);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const page = Math.min(Math.max(0, state.page), pages - 1);
  const from = page * PAGE_SIZE;
  const shown = rows.slice(from, from + PAGE_SIZE);
  return html`<div class="scroll">
<table class="table operators" data-testid="operators-table" data-rows="${rows.length}">
${header("operators", OPERATOR_COLUMNS, state)}
<tbody>${shown.length === 0
    ? html`<tr><td colspan="${OPERATOR_COLUMNS.length}" class="muted">No operator matches.</td></tr>`
    : shown.map((o) => html`<tr data-operator="${o.address}">${OPERATOR_COLUMNS.map((c) => html`<td class="${c.numeric ? "num" : ""}">${c.cell(o)}</td>`)}</tr>`)}</tbody>
</table>
</div>
${pager("operators", page, pages, rows.length, from, from + shown.length)}`;
}
