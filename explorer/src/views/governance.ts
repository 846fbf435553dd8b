/** Governance proposals: state, what they change (decoded calldatas), votes. */
import type { NetworkSnapshot, ProposalRow } from "../snapshot";
import { Html, addr, badge, formatMesh, formatTime, html, mesh, relative, shortHex } from "./html";

function votes(p: ProposalRow): Html {
  const f = BigInt(p.forVotes);
  const a = BigInt(p.againstVotes);
  const total = f + a;
  const forPct = total === 0n ? 0 : Number((f * 1000n) / total) / 10;
  return html`<div class="votes" title="For ${formatMesh(p.forVotes)}, against ${formatMesh(p.againstVotes)}">
<div class="votebar"><span class="for" style="width:${forPct}%"></span></div>
<small>For ${mesh(p.forVotes, 0, false)} · Against ${mesh(p.againstVotes, 0, false)}</small>
</div>`;
}

function proposal(p: ProposalRow, now: number): Html {
  const [title, ...rest] = p.description.split("\n");
  const window =
    now < p.voteStart ? `voting opens ${relative(p.voteStart, now)}` : now <= p.voteEnd ? `voting closes ${relative(p.voteEnd, now)}` : `voting closed ${formatTime(p.voteEnd)}`;
  return html`<li class="proposal" data-proposal="${p.id}" data-state="${p.state}">
<div class="proposal-head">${badge(p.state)} <b>${title}</b></div>
${rest.join("\n").trim() ? html`<p class="small">${rest.join("\n").trim()}</p>` : null}
<ul class="changes">${p.changes.length === 0 ? html`<li class="muted">no call</li>` : p.changes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
<p class="muted small">#<span title="${p.id}">${shortHex(p.id, 8, 4)}</span> by ${addr(p.proposer)} · ${window} (${formatTime(p.voteStart)} – ${formatTime(p.voteEnd)})</p>
${votes(p)}
</li>`;
}

export function renderGovernance(snapshot: Pick<NetworkSnapshot, "proposals" | "timestamp">): Html {
  const proposals = [...snapshot.proposals].sort((a, b) => b.voteStart - a.voteStart);
  return html`<ul class="proposals" data-testid="proposals" data-count="${proposals.length}">${
    proposals.length === 0 ? html`<li class="muted">No proposal yet.</li>` : proposals.map((p) => proposal(p, snapshot.timestamp))
  }</ul>`;
}
