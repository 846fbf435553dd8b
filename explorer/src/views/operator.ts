/** The operator page (stake, delegators, commission, devices, rewards) and the device page. */
import type { NetworkSnapshot } from "../snapshot";
import { renderDevicesTable, type TableState } from "./devices";
import { Html, addr, badge, exactMesh, html, mesh, operatorLink, percentBps, sumWei } from "./html";
import { renderCoverageMap } from "./map";

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function renderOperatorPage(snapshot: Pick<NetworkSnapshot, "devices" | "operators">, address: string, table: TableState): Html {
  const operator = snapshot.operators.find((o) => same(o.address, address));
  const devices = snapshot.devices.filter((d) => same(d.operator, address));
  if (operator === undefined && devices.length === 0) {
    return html`<section class="card"><h2>Operator ${addr(address)}</h2><p class="muted">Not an operator in this snapshot.</p><p><a href="#/">← Overview</a></p></section>`;
  }
  const self = operator?.selfStake ?? "0";
  const delegated = operator?.delegated ?? "0";
  const stake = BigInt(self) + BigInt(delegated);
  const claimable = sumWei(devices.map((d) => d.claimable));
  const claimed = sumWei(devices.map((d) => d.claimed));
  const earned = operator?.earned ?? sumWei(devices.map((d) => d.earned)).toString();
  const states = new Map<string, number>();
  for (const d of devices) states.set(d.state, (states.get(d.state) ?? 0) + 1);
  const hasCoverage = devices.some((d) => d.resourceClass === "Coverage");
  return html`<section class="card operator-page" data-testid="operator-page" data-operator="${address}">
<p><a href="#/">← Overview</a></p>
<h2>Operator <span class="addr-full">${address}</span></h2>
<dl class="stats">
<div><dt>Total stake</dt><dd title="${exactMesh(stake)}">${mesh(stake)}</dd></div>
<div><dt>Self stake</dt><dd>${mesh(self)}</dd></div>
<div><dt>Delegated</dt><dd>${mesh(delegated)}</dd></div>
<div><dt>Delegators</dt><dd>${operator?.delegators ?? 0}</dd></div>
<div><dt>Commission</dt><dd>${operator === undefined ? "—" : percentBps(operator.commissionBps)}</dd></div>
<div><dt>Devices</dt><dd>${devices.length} ${[...states.entries()].map(([s, n]) => html` ${badge(`${n} ${s}`, s)}`)}</dd></div>
<div><dt>Earned</dt><dd>${mesh(earned)}</dd></div>
<div><dt>Claimed</dt><dd>${mesh(claimed)}</dd></div>
<div><dt>Claimable</dt><dd>${mesh(claimable)}</dd></div>
<div><dt>Slashed</dt><dd>${mesh(operator?.slashed ?? sumWei(devices.map((d) => d.slashed)))}</dd></div>
</dl>
</section>
${hasCoverage ? html`<section class="card"><h2>Coverage devices</h2>${renderCoverageMap(devices, { testId: "operator-coverage-map" })}</section>` : null}
<section class="card"><h2>Devices</h2>
${renderDevicesTable({ devices, operators: snapshot.operators }, table, { table: "operator-devices", testId: "operator-devices-table" })}
</section>`;
}

export function renderDevicePage(snapshot: Pick<NetworkSnapshot, "devices" | "operators">, address: string): Html {
  const d = snapshot.devices.find((x) => same(x.address, address));
  if (d === undefined) {
    return html`<section class="card"><h2>Device ${addr(address)}</h2><p class="muted">Not a registered device in this snapshot.</p><p><a href="#/">← Overview</a></p></section>`;
  }
  const row = (label: string, value: Html | string | number): Html => html`<div><dt>${label}</dt><dd>${value}</dd></div>`;
  return html`<section class="card device-page" data-testid="device-page" data-device="${d.address}" data-state="${d.state}">
<p><a href="#/">← Overview</a> · <a href="#/operator/${d.operator}">Operator</a></p>
<h2>Device <span class="addr-full">${d.address}</span></h2>
<dl class="stats">
${row("State", badge(d.state))}
${row("Registry status", d.status)}
${row("Class", d.resourceClass)}
${row("Capacity", d.capacity)}
${row("Operator", operatorLink(d.operator))}
${row("H3 cell", d.h3 ? html`<code>${d.h3}</code>` : "—")}
${row("Faults", d.faults)}
${row("Slashed", mesh(d.slashed))}
${row("Earned", mesh(d.earned))}
${row("Claimed", mesh(d.claimed))}
${row("Claimable", mesh(d.claimable))}
</dl>
</section>
${d.resourceClass === "Coverage" ? html`<section class="card"><h2>Location</h2>${renderCoverageMap([d], { testId: "device-map", resolution: "registered" })}</section>` : null}`;
}
