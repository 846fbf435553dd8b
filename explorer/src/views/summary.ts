/** The overview's headline numbers and the status line. */
import type { NetworkSnapshot } from "../snapshot";
import { Html, badge, formatDuration, formatTime, html, mesh, sumWei } from "./html";

export function renderSummary(s: NetworkSnapshot): Html {
  const byState = new Map<string, number>();
  for (const d of s.devices) byState.set(d.state, (byState.get(d.state) ?? 0) + 1);
  const stake = sumWei(s.operators.map((o) => o.selfStake)) + sumWei(s.operators.map((o) => o.delegated));
  const delegators = s.operators.reduce((n, o) => n + o.delegators, 0);
  const nextEpochAt = s.genesis + (s.currentEpoch + 1) * s.epochLength;
  const up = s.oracles.filter((o) => o.up).length;
  const finalised = s.epochs.filter((e) => e.status === "Finalised").length;
  return html`<dl class="stats summary" data-testid="summary">
<div><dt>Epoch</dt><dd>${s.currentEpoch}<small class="muted"> · next in ${formatDuration(nextEpochAt - s.timestamp)}</small></dd></div>
<div><dt>Finalised epochs</dt><dd>${finalised}</dd></div>
<div><dt>Devices</dt><dd>${s.devices.length} ${["active", "slashed", "jailed", "exiting", "removed"].filter((k) => byState.has(k)).map((k) => html` ${badge(`${byState.get(k)} ${k}`, k)}`)}</dd></div>
<div><dt>Operators</dt><dd>${s.operators.length}<small class="muted"> · ${delegators} delegators</small></dd></div>
<div><dt>Total stake</dt><dd>${mesh(stake, 0)}</dd></div>
<div><dt>Minted</dt><dd>${mesh(s.emission.totalMinted, 0)}</dd></div>
<div><dt>Oracles up</dt><dd title="${s.oracles.map((o) => `${o.url}: ${o.up ? "up" : "down"}`).join("\n")}">${up}/${s.oracles.length}</dd></div>
</dl>`;
}

/** "updated 21:30:05, block 1234, epoch 5" (the time is when the page read the snapshot). */
export function renderStatus(s: NetworkSnapshot, updatedAt: Date, fixture: boolean): Html {
  const time = formatTime(Math.floor(updatedAt.getTime() / 1000), true).slice(11);
  return html`<span data-testid="status" data-block="${s.block}" data-epoch="${s.currentEpoch}">updated ${time}, block ${s.block}, epoch ${s.currentEpoch}</span>
<small class="muted"> · chain ${s.chainId} · block time ${formatTime(s.timestamp, true)}${fixture ? " · sample data (?fixture)" : ""}</small>`;
}
