/**
 * The explorer's views render a `NetworkSnapshot` to markup strings, checked here in Node (no DOM) on the sample
 * snapshot explorer/fixtures/sample-snapshot.json: test hooks, counts, exact token amounts, escaping, search and sort.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";

import type { NetworkSnapshot } from "../../explorer/src/snapshot";
import { filterDevices, renderDevicesTable, renderOperatorsTable, type TableState } from "../../explorer/src/views/devices";
import { renderEmission } from "../../explorer/src/views/emission";
import { renderEpochs } from "../../explorer/src/views/epochs";
import { renderGovernance } from "../../explorer/src/views/governance";
import { escapeHtml, formatMesh, html, shortHex } from "../../explorer/src/views/html";
import { coverageCells, renderCoverageMap } from "../../explorer/src/views/map";
import { renderDevicePage, renderOperatorPage } from "../../explorer/src/views/operator";
import { renderStatus, renderSummary } from "../../explorer/src/views/summary";

const FIXTURE = path.join(__dirname, "..", "..", "explorer", "fixtures", "sample-snapshot.json");
const load = (): NetworkSnapshot => JSON.parse(readFileSync(FIXTURE, "utf8")) as NetworkSnapshot;

/** Values of `attr` on every element whose opening tag has `marker` (a string inside the tag). */
function attrs(markup: string, marker: string, attr: string): string[] {
  const out: string[] = [];
  for (const tag of markup.match(/<[a-zA-Z][^>]*>/g) ?? []) {
    if (!tag.includes(marker)) continue;
    const m = new RegExp(`\\s${attr}="([^"]*)"`).exec(tag);
    if (m !== null) out.push(m[1]);
  }
  return out;
}

const table = (query = "", sort = "state", desc = true, page = 0): TableState => ({ query, sort, desc, page });

describe("explorer views", function () {
  let s: NetworkSnapshot;
  beforeEach(function () {
    s = load();
  });

  describe("formatting", function () {
    it("formats wei as MESH exactly, with thousands separators, rounding toward zero", function () {
      expect(formatMesh("0")).to.equal("0");
      expect(formatMesh("1000000000000000000")).to.equal("1");
      expect(formatMesh("1234567891000000000000000")).to.equal("1,234,567.89");
      expect(formatMesh("999999999999999999")).to.equal("0.99");
      expect(formatMesh("1", 18)).to.equal("0.000000000000000001");
      expect(formatMesh("1000000000000000000000000000")).to.equal("1,000,000,000");
      expect(formatMesh("-1500000000000000000")).to.equal("-1.5");
      // Beyond 2^53: no floating error.
      expect(formatMesh("123456789012345678901234567890", 18)).to.equal("123,456,789,012.34567890123456789");
    });

    it("escapes interpolated text and shortens addresses", function () {
      expect(String(html`<b>${"<i>&\"'"}</b>`)).to.equal("<b>&lt;i&gt;&amp;&quot;&#39;</b>");
      expect(escapeHtml("a<b")).to.equal("a&lt;b");
      expect(shortHex("0x1234567890abcdef1234567890abcdef12345678")).to.equal("0x1234…5678");
    });
  });

  describe("coverage map", function () {
    it("draws every coverage device once, counted per cell, with the worst state of the cell", function () {
      const coverage = s.devices.filter((d) => d.resourceClass === "Coverage");
      const markup = String(renderCoverageMap(s.devices));
      expect(attrs(markup, 'data-testid="coverage-map"', "data-devices")).to.deep.equal([String(coverage.length)]);
      const counts = attrs(markup, "data-cell=", "data-count").map(Number);
      expect(counts.reduce((a, b) => a + b, 0)).to.equal(coverage.length);
      const states = attrs(markup, "data-cell=", "data-state");
      expect(states).to.include("jailed");
      expect(states).to.include("slashed");
      expect(markup).to.not.match(/NaN|undefined/);
    });

    it("colours a cell jailed over slashed over active, and can draw the registered cells", function () {
      const [a, b, c] = s.devices.filter((d) => d.resourceClass === "Coverage");
      const cell = a.h3;
      const devices = [
        { ...a, state: "active" as const },
        { ...b, h3: cell, state: "slashed" as const },
        { ...c, h3: cell, state: "jailed" as const },
      ];
      const { cells } = coverageCells(devices, "registered");
      expect(cells).to.have.length(1);
      expect(cells[0]).to.include({ cell, state: "jailed" });
      expect(cells[0].counts).to.deep.equal({ active: 1, slashed: 1, jailed: 1, inactive: 0 });
      devices[2].state = "active";
      expect(coverageCells(devices, "registered").cells[0].state).to.equal("slashed");

      const markup = String(renderCoverageMap(s.devices, { resolution: "registered" }));
      const registered = new Set(s.devices.filter((d) => d.resourceClass === "Coverage").map((d) => d.h3));
      expect(new Set(attrs(markup, "data-cell=", "data-cell"))).to.deep.equal(registered);
    });

    it("shows an empty map when there is no coverage device", function () {
      const markup = String(renderCoverageMap([]));
      expect(attrs(markup, 'data-testid="coverage-map"', "data-devices")).to.deep.equal(["0"]);
      expect(markup).to.contain("No coverage device");
    });
  });

  describe("emission", function () {
    it("exposes the distributor's total in wei and shows it in MESH", function () {
      const markup = String(renderEmission(s));
      expect(attrs(markup, 'data-testid="emission-chart"', "data-total-minted")).to.deep.equal([s.emission.totalMinted]);
      expect(markup).to.contain(`${formatMesh(s.emission.totalMinted)} MESH`);
      expect(markup).to.contain("1,000,000,000 MESH"); // the cap
      expect(markup).to.not.match(/NaN|undefined|Infinity/);
    });

    it("renders one epoch, missing verdict files and no epoch at all", function () {
      const one = { ...s.emission, points: [{ ...s.emission.points[0], allocatedByClass: null, mintedCumulative: null }] };
      expect(String(renderEmission({ emission: one }))).to.not.match(/NaN|undefined|Infinity/);
      expect(String(renderEmission({ emission: { ...s.emission, points: [], totalMinted: "0" } }))).to.contain("No epoch yet");
    });
  });

  describe("epochs", function () {
    it("lists the epochs newest first, with the finalised count, signers and dissent", function () {
      const markup = String(renderEpochs(s));
      const finalised = s.epochs.filter((e) => e.status === "Finalised").length;
      expect(attrs(markup, 'data-testid="epochs-table"', "data-finalised")).to.deep.equal([String(finalised)]);
      const rows = attrs(markup, "data-epoch=", "data-epoch").map(Number);
      expect(rows).to.deep.equal(s.epochs.map((e) => e.epoch).sort((a, b) => b - a));
      const dissenting = s.epochs.find((e) => e.dissenters.length > 0)!;
      expect(markup).to.contain(`title="${dissenting.dissenters[0]}"`);
      expect(markup).to.contain(`title="${s.epochs[0].rewardsRoot}"`);
      expect(markup).to.contain("✓ confirmed");
    });

    it("shows the latest 25 unless asked for all", function () {
      const many = Array.from({ length: 40 }, (_, i) => ({ ...s.epochs[0], epoch: i }));
      expect(attrs(String(renderEpochs({ ...s, epochs: many })), "data-epoch=", "data-epoch")).to.have.length(25);
      expect(attrs(String(renderEpochs({ ...s, epochs: many }, { limit: 1e9 })), "data-epoch=", "data-epoch")).to.have.length(40);
    });
  });

  describe("devices and operators", function () {
    it("finds a device by its address in any case, with its state", function () {
      const jailed = s.devices.find((d) => d.state === "jailed")!;
      const markup = String(renderDevicesTable(s, table(jailed.address.toLowerCase())));
      expect(attrs(markup, "data-device=", "data-device")).to.deep.equal([jailed.address]);
      expect(attrs(markup, "data-device=", "data-state")).to.deep.equal(["jailed"]);
    });

    it("filters by class and state words together", function () {
      const expected = s.devices.filter((d) => d.resourceClass === "Coverage" && d.state === "slashed");
      expect(filterDevices(s.devices, "coverage SLASHED")).to.deep.equal(expected);
      const markup = String(renderDevicesTable(s, table("coverage slashed")));
      expect(attrs(markup, "data-device=", "data-device")).to.deep.equal(expected.map((d) => d.address));
    });

    it("sorts by amounts as integers and pages the rows", function () {
      const markup = String(renderDevicesTable(s, table("", "earned", true)));
      const order = attrs(markup, "data-device=", "data-device");
      const earned = order.map((a) => BigInt(s.devices.find((d) => d.address === a)!.earned));
      for (let i = 1; i < earned.length; i++) expect(earned[i - 1] >= earned[i]).to.equal(true);

      const paged = String(renderDevicesTable(s, table("", "address", false, 1), { pageSize: 10 }));
      expect(attrs(paged, "data-device=", "data-device")).to.have.length(10);
      expect(paged).to.contain(`11–20 of ${s.devices.length}`);
    });

    it("lists operators, narrowed to those running matching devices", function () {
      expect(attrs(String(renderOperatorsTable(s, table("", "earned"))), "data-operator=", "data-operator")).to.have.length(s.operators.length);
      const jailedOps = new Set(s.devices.filter((d) => d.state === "jailed").map((d) => d.operator));
      const markup = String(renderOperatorsTable(s, table("jailed", "earned")));
      expect(new Set(attrs(markup, "data-operator=", "data-operator"))).to.deep.equal(jailedOps);
    });

    it("shows an operator's page with its devices and stake", function () {
      const op = s.operators[0];
      const markup = String(renderOperatorPage(s, op.address.toLowerCase(), table()));
      const mine = s.devices.filter((d) => d.operator === op.address).map((d) => d.address);
      expect(new Set(attrs(markup, "data-device=", "data-device"))).to.deep.equal(new Set(mine));
      const stake = BigInt(op.selfStake) + BigInt(op.delegated);
      expect(markup).to.contain(`${formatMesh(stake)} MESH`);
      expect(String(renderOperatorPage(s, "0x" + "1".repeat(40), table()))).to.contain("Not an operator");
    });

    it("shows a device's page", function () {
      const d = s.devices.find((x) => x.state === "slashed")!;
      const markup = String(renderDevicePage(s, d.address));
      expect(attrs(markup, 'data-testid="device-page"', "data-state")).to.deep.equal(["slashed"]);
      expect(markup).to.contain(d.h3);
    });
  });

  describe("governance, summary and status", function () {
    it("shows each proposal's state and decoded changes, escaped", function () {
      const markup = String(renderGovernance(s));
      expect(attrs(markup, "data-proposal=", "data-state").sort()).to.deep.equal(s.proposals.map((p) => p.state).sort());
      for (const p of s.proposals) for (const c of p.changes) expect(markup).to.contain(escapeHtml(c));
      expect(markup).to.not.contain("<script>");
      expect(markup).to.contain("&lt;script&gt;");
    });

    it("summarises the network and says which block it shows", function () {
      const summary = String(renderSummary(s));
      expect(summary).to.contain(`${s.devices.length}`);
      expect(summary).to.not.match(/NaN|undefined/);
      const status = String(renderStatus(s, new Date(), false));
      expect(status).to.contain(`block ${s.block}, epoch ${s.currentEpoch}`);
      expect(attrs(status, 'data-testid="status"', "data-block")).to.deep.equal([String(s.block)]);
    });
  });
});
