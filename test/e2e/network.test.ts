import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { cellToUint64, createFleet, onChainCapacity, REGISTERS_LOCATION } from "../../oracles/agent";
import { readDeploymentFile } from "../../oracles/chain/contracts";
import { proofDomain } from "../../oracles/proof";
import { DeviceStatus, Param, ResourceClass } from "../../sdk/enums";
import { oracleWallets } from "../helpers/verdicts";
import { deployNetwork, portOpen, registerFleet, startHardhatNode, type HardhatNode, type Network } from "../../scripts/lib/localnet/network";

const HOUR = 3_600n;
const FLEET_SIZE = 60;
const OPERATORS = 4;

/** Processes of group `pgid` that are still alive (zombies excluded: an orphan waits for PID 1 to reap it). */
function liveGroupMembers(pgid: number): string[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=,stat=", "-g", String(pgid)], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when nothing matches
  }
  return out
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.split(/\s+/)[1]?.startsWith("Z"));
}

describe("e2e: network harness (hardhat node, deployment, fleet registration)", function () {
  this.timeout(120_000);

  let node: HardhatNode | undefined;
  let dir: string;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "meshwork-e2e-"));
    node = await startHardhatNode();
  });

  after(async function () {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  let network: Network;
  const deploymentFile = (): string => path.join(dir, "deployment.json");

  it("deploys the protocol with the requested parameters and writes a deployment file that parses back", async function () {
    if (node === undefined) throw new Error("no node");
    const oracles = oracleWallets(5).map((w) => w.address);
    network = await deployNetwork(node.url, {
      oracles,
      epochLength: HOUR,
      challengeWindow: 2n * HOUR,
      submissionWindow: HOUR,
      jailAfterMissedEpochs: 2n,
      deploymentFile: deploymentFile(),
    });
    const { config, hub } = network.contracts;
    expect(await config.epochLength()).to.equal(HOUR);
    const latest = await network.provider.getBlock("latest");
    expect(await config.genesis()).to.be.lessThanOrEqual(BigInt(latest?.timestamp ?? 0));
    expect(await config.param(Param.VerdictChallengeWindow)).to.equal(2n * HOUR);
    expect(await config.param(Param.VerdictSubmissionWindow)).to.equal(HOUR);
    expect(await config.param(Param.JailAfterMissedEpochs)).to.equal(2n);
    const committee = await hub.committeeAt(0);
    expect(committee.threshold).to.equal(3n);
    expect([...committee.members]).to.have.members(oracles);

    const parsed = readDeploymentFile(deploymentFile());
    expect(parsed).to.deep.equal(network.deployment);
    expect(parsed.chainId).to.equal(31337);
    for (const name of ["MeshToken", "ProviderRegistry", "Staking", "OracleHub", "RewardsDistributor"] as const) {
      expect(await network.provider.getCode(parsed[name])).to.not.equal("0x");
    }
  });

  it(`registers a ${FLEET_SIZE}-device fleet of every class through ${OPERATORS} operators`, async function () {
    const { registry, staking } = network.contracts;
    const fleet = createFleet({
      count: FLEET_SIZE,
      seed: "e2e-network",
      proportions: { honest: 1 },
      domain: proofDomain(network.chainId, await registry.getAddress()),
    });
    const registered = await registerFleet(network, fleet, { operators: OPERATORS });
    const perSecond = (FLEET_SIZE / registered.elapsedMs) * 1_000;
    console.log(
      `      registered ${FLEET_SIZE} devices (${registered.transactions} txs) in ${registered.elapsedMs} ms ` +
        `(${perSecond.toFixed(1)} devices/s)`,
    );

    expect(new Set(fleet.members.map((m) => m.device.resourceClass))).to.have.lengthOf(
      Object.values(ResourceClass).length,
    );
    const records = await Promise.all(fleet.members.map((m) => registry.getDevice(m.device.address)));
    fleet.members.forEach((m, i) => {
      const d = records[i];
      const expected = registered.operators[i % OPERATORS].wallet.address;
      expect(d.status, m.device.address).to.equal(BigInt(DeviceStatus.Active));
      expect(d.resourceClass).to.equal(BigInt(m.device.resourceClass));
      expect(d.operator).to.equal(expected);
      expect(registered.operatorOf.get(m.device.address)).to.equal(expected);
      expect(d.capacity).to.equal(onChainCapacity(m.device.capacity));
      const location = REGISTERS_LOCATION.has(m.device.resourceClass) ? cellToUint64(m.device.location) : 0n;
      expect(d.location).to.equal(location);
    });
    for (const op of registered.operators) {
      expect(op.members).to.have.lengthOf(FLEET_SIZE / OPERATORS);
      const required = await registry.requiredStake(op.wallet.address);
      expect(required).to.equal(op.stake);
      expect(await staking.selfStake(op.wallet.address)).to.be.greaterThanOrEqual(required);
      expect(await staking.isStalled(op.wallet.address)).to.equal(false);
    }
  });

  it("stop() ends the node: the process exits and the port closes", async function () {
    if (node === undefined) throw new Error("no node");
    const port = Number(new URL(node.url).port);
    expect(await portOpen(port)).to.equal(true);
    const pid = node.process.pid as number;
    await node.stop();
    expect(node.process.exitCode !== null || node.process.signalCode !== null).to.equal(true);
    expect(liveGroupMembers(pid)).to.deep.equal([]); // npm, sh and the node itself
    expect(await portOpen(port)).to.equal(false);
    await node.stop(); // idempotent
  });
});
