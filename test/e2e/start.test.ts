/**
 * `npm start` as a user runs it, in a subprocess: against a Hardhat node this test owns (so the chain outlives the run
 * and the summary can be checked against it), then interrupted with Ctrl-C. Both leave no child process behind.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { JsonRpcProvider } from "ethers";

import { connectProtocol, parseDeployment } from "../../sdk/deployment";
import { ConfirmationMode } from "../../sdk/enums";
import { FunctionsVerdictConfirmer__factory } from "../../typechain-types";
import { portOpen, REPO_ROOT, startHardhatNode, type HardhatNode } from "../../scripts/lib/localnet/network";
import type { Summary } from "../../scripts/lib/localnet/run";

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm start -- <args>` in its own process group; `interruptWhen` sends SIGINT to the group once output matches. */
function npmStart(args: readonly string[], interruptWhen?: RegExp): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn("npm", ["start", "--", ...args], { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      if (interruptWhen !== undefined && !sent && interruptWhen.test(stdout)) {
        sent = true;
        process.kill(-child.pid!, "SIGINT");
      }
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const portOf = (url: string): number => Number(new URL(url).port);

describe("e2e: npm start", function () {
  this.timeout(15 * 60_000);
  let node: HardhatNode;
  let dir: string;

  before(async function () {
    node = await startHardhatNode();
    dir = mkdtempSync(path.join(tmpdir(), "meshwork-start-"));
  });

  after(async function () {
    await node?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("runs 60 devices for 3 epochs; the summary matches the chain; no child process survives", async function () {
    const summaryFile = path.join(dir, "summary.json");
    const run = await npmStart(["--devices", "60", "--epochs", "3", "--chain", node.url, "--summary-json", summaryFile]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/Summary/);
    const summary = JSON.parse(readFileSync(summaryFile, "utf8")) as Summary;

    const provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1 });
    const deployment = parseDeployment(
      JSON.parse(readFileSync(path.join(summary.workdir, "deployments", `${summary.chainId}.json`), "utf8")),
    );
    const { hub, distributor, slashing, registry } = connectProtocol(deployment, provider);

    const finalised = await hub.latestFinalised();
    expect(finalised.exists).to.equal(true);
    expect(summary.finalisedEpochs).to.equal(3);
    expect(Number(finalised.epoch) + 1).to.equal(summary.finalisedEpochs);
    expect(summary.epochs.map((e) => e.signers).every((n) => n >= 3)).to.equal(true);

    expect(BigInt(summary.totalClaimed)).to.equal(await distributor.totalClaimed());
    expect(BigInt(summary.totalClaimed)).to.be.greaterThan(0n);
    expect(BigInt(summary.provider.claimed)).to.equal(await distributor.claimed(summary.provider.device));
    expect(BigInt(summary.provider.claimed)).to.be.greaterThan(0n);
    expect((await registry.getDevice(summary.provider.device)).operator).to.equal(summary.provider.operator);

    const penalties = await slashing.queryFilter(slashing.filters.FaultPenalised());
    expect(summary.faultsApplied).to.equal(penalties.length);
    expect(BigInt(summary.slashedTotal)).to.equal(penalties.reduce((s, p) => s + p.args.slashed, 0n));
    expect(summary.classes.reduce((s, c) => s + c.slashes, 0)).to.equal(penalties.length);
    expect(summary.governance.state).to.equal("Executed");
    expect(summary.killedOracle).to.not.equal(null);

    // From the proposal's execution on, the hub finalises only verdicts Chainlink Functions confirmed.
    expect(Number(await hub.confirmationMode())).to.equal(ConfirmationMode.MustAgree);
    expect(await hub.confirmer()).to.equal(summary.confirmer);
    const confirmed = summary.epochs.filter((e) => e.confirmed);
    expect(confirmed.length).to.be.greaterThan(0);
    expect(summary.epochs.slice(summary.epochs.indexOf(confirmed[0])).every((e) => e.confirmed)).to.equal(true);
    const confirmer = FunctionsVerdictConfirmer__factory.connect(summary.confirmer, provider);
    for (const { epoch } of confirmed) {
      const [submitted] = await hub.queryFilter(hub.filters.VerdictSubmitted(epoch));
      const { devicesCounted, rewardsRoot, faultsRoot, leasesRoot, totalWorkUnits, dataHash } = submitted.args.verdict;
      const verdict = { epoch, devicesCounted, rewardsRoot, faultsRoot, leasesRoot, totalWorkUnits, dataHash };
      expect(await confirmer.confirmedVerdict(epoch)).to.equal(await hub.verdictHash(verdict));
    }
    expect(Object.values(summary.jailed).reduce((s, n) => s + n, 0)).to.be.greaterThan(0);

    // The customer's compute and storage leases ran epochs 1-2, were settled through their end and paid out.
    const { marketplace, token } = connectProtocol(deployment, provider);
    expect(summary.market.map((m) => m.resourceClass)).to.deep.equal(["ComputeCpu", "Storage"]);
    for (const m of summary.market) {
      const lease = await marketplace.getLease(m.leaseId);
      expect(m.status, m.leaseId).to.equal("Ended");
      expect(m.epochsSettled).to.equal(2);
      expect(BigInt(m.paid) + BigInt(m.refunded)).to.equal(2n * lease.pricePerEpoch);
      expect(BigInt(m.paid)).to.be.greaterThan(0n);
      expect(BigInt(m.fees)).to.equal((BigInt(m.paid) * lease.feeBps) / 10_000n);
      expect(await marketplace.credit(lease.provider, token)).to.equal(0n); // withdrawn
    }
    expect(BigInt(summary.market[1].bounties)).to.be.greaterThan(0n); // a keeper settled the storage lease

    for (const url of summary.oracles) expect(await portOpen(portOf(url)), url).to.equal(false);
    provider.destroy();
  });

  it("stops every child process on Ctrl-C and exits 130", async function () {
    const run = await npmStart(["--devices", "20", "--epochs", "3"], /Oracles: /);
    // The whole process group gets the SIGINT, as from a terminal: npm itself ends by the signal, the run with 130.
    expect(run.code === 130 || run.signal === "SIGINT", `code ${run.code}, signal ${run.signal}`).to.equal(true);
    expect(run.stdout).to.match(/stopping/);
    const chain = /Chain: Hardhat node at (\S+)/.exec(run.stdout)?.[1];
    const oracles = [...(/Oracles: (.*) \(3 of 5/.exec(run.stdout)?.[1] ?? "").matchAll(/http:\/\/\S+/g)].map((m) => m[0]);
    expect(chain).to.not.equal(undefined);
    expect(oracles).to.have.length(5);
    for (const url of [chain!, ...oracles]) expect(await portOpen(portOf(url.replace(/,$/, ""))), url).to.equal(false);
  });
});
