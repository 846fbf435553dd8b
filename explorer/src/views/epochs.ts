/** Epochs: verdict roots, who signed, dissent, challenge window, finalisation, faults applied, Functions confirmation. */
import type { EpochRow, NetworkSnapshot } from "../snapshot";
import { Html, addr, badge, formatTime, hash, html, mesh, relative } from "./html";

export interface EpochsOptions {
  /** Rows shown, newest first (default 25); the rest behind a "show all" button. */
  limit?: number;
}

function signersCell(e: EpochRow): Html {
  if (e.signers === 0 && e.signedBy.length === 0) return html`<span class="muted">—</span>`;
  const count = Math.max(e.signers, e.signedBy.length);
  return html`<b>${count}</b>${e.signedBy.length > 0 ? html` <span class="addrs">${e.signedBy.map((a, i) => html`${i > 0 ? ", " : ""}${addr(a)}`)}</span>` : null}`;
}

function challengeCell(e: EpochRow, now: number): Html {
  if (e.challengeEndsAt === null) return html`<span class="muted">—</span>`;
  const open = e.challengeEndsAt > now && e.status !== "Finalised";
  return html`<span title="${formatTime(e.challengeEndsAt, true)}" class="${open ? "open" : ""}">${formatTime(e.challengeEndsAt)}<br><small class="muted">${open ? `closes ${relative(e.challengeEndsAt, now)}` : "closed"}</small></span>`;
}

function row(e: EpochRow, now: number): Html {
  return html`<tr data-epoch="${e.epoch}" data-status="${e.status}">
<td class="num">${e.epoch}</td>
<td>${badge(e.status)}</td>
<td>${signersCell(e)}</td>
<td>${e.dissenters.length === 0 ? html`<span class="muted">none</span>` : html`<span class="dissent">${e.dissenters.length}: ${e.dissenters.map((a, i) => html`${i > 0 ? ", " : ""}${addr(a)}`)}</span>`}</td>
<td>${e.submittedAt === null ? html`<span class="muted">—</span>` : formatTime(e.submittedAt)}</td>
<td>${challengeCell(e, now)}</td>
<td>${e.finalisedAt === null ? html`<span class="muted">—</span>` : html`<span title="${formatTime(e.finalisedAt, true)}">${formatTime(e.finalisedAt)}</span>`}</td>
<td class="num">${e.faultsApplied}${BigInt(e.slashed) > 0n ? html`<br><small>${mesh(e.slashed)}</small>` : null}</td>
<td class="roots"><div><small class="muted">rewards</small> ${hash(e.rewardsRoot)}</div><div><small class="muted">faults</small> ${hash(e.faultsRoot)}</div><div><small class="muted">leases</small> ${hash(e.leasesRoot)}</div><div><small class="muted">digest</small> ${hash(e.digest)}</div></td>
<td>${e.confirmed ? html`<span class="ok" title="Chainlink Functions confirmed this verdict">✓ confirmed</span>` : html`<span class="muted">—</span>`}</td>
</tr>`;
}

export function renderEpochs(snapshot: Pick<NetworkSnapshot, "epochs" | "timestamp" | "currentEpoch">, options: EpochsOptions = {}): Html {
  const epochs = [...snapshot.epochs].sort((a, b) => b.epoch - a.epoch);
  const finalised = epochs.filter((e) => e.status === "Finalised").length;
  const limit = options.limit ?? 25;
  const shown = epochs.slice(0, limit);
  return html`<div class="scroll">
<table class="table epochs" data-testid="epochs-table" data-finalised="${finalised}" data-epochs="${epochs.length}">
<thead><tr><th>Epoch</th><th>Status</th><th>Signed by</th><th>Dissent</th><th>Submitted</th><th>Challenge ends</th><th>Finalised</th><th>Faults / slashed</th><th>Roots</th><th>Functions</th></tr></thead>
<tbody>${shown.length === 0 ? html`<tr><td colspan="10" class="muted">No epoch ended yet (current epoch ${snapshot.currentEpoch}).</td></tr>` : shown.map((e) => row(e, snapshot.timestamp))}</tbody>
</table>
</div>
${epochs.length > shown.length ? html`<p><button type="button" data-action="epochs-all">Show all ${epochs.length} epochs</button></p>` : null}
${options.limit !== undefined && options.limit > 25 && epochs.length > 25 ? html`<p><button type="button" data-action="epochs-less">Show the latest 25</button></p>` : null}`;
}
