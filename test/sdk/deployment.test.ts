import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import {
  IntegratorError,
  claimable,
  deviceStatus,
  firstDevice,
  operatorDevices,
  watchSlashing,
  type PenaltyEvent,
} from "../../scripts/examples/integrator";
import { deployProtocol } from "../../scripts/lib/deploy";
import { deploymentRecord, writeDeployment, writeFunctionsSection } from "../../scripts/lib/deployments";
import { deployGovernance } from "../../scripts/lib/governance";
import { DeploymentFileError, connectMeshwork, deploymentPath, parseDeployment } from "../../sdk/deployment";
import { FaultKind, Param } from "../../sdk/enums";
import { buildFaultsTree, buildRewardsTree, type FaultLeaf } from "../../sdk/trees";
import { H3_CELL } from "../helpers/devices";
import { DAY, MESH, registerDevice } from "../helpers/fixtures";
import { makeVerdict, oracleWallets, signedBy } from "../helpers/verdicts";

/**
 * The integrator's entry point (`connectMeshwork`) against a deployment made the way `scripts/deploy.ts` makes it
 * (protocol, then governance, then the deployments file), and the example built on it
 * (`scripts/examples/integrator.ts`). File parsing and `checkDeployment` alone are covered in
 * test/oracles/chain.test.ts.
 */
describe("sdk/deployment: connectMeshwork and the integrator example", function () {
  const dirs: string[] = [];
  function tmp(): string {
    const dir = mkdtempSync(join(tmpdir(), "meshwork-sdk-"));
    dirs.push(dir);
    return dir;
  }
  after(function () {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** The deployment of scripts/deploy.ts, handed to governance and written to a tmp dir; alice stakes 1,000 MESH. */
  async function deployed() {
    const [deployer, alice, bob, guardian, arbitrator, outsider] = await ethers.getSigners();
    const oracles = oracleWallets(5);
    const block = (await ethers.provider.getBlockNumber()) + 1;
    const protocol = await deployProtocol(deployer, {
      genesisRecipient: deployer.address,
      genesisSupply: 100_000_000n * MESH,
      oracles: oracles.map((o) => o.address),
    });
    const governance = await deployGovernance(deployer, protocol, {
      guardian: guardian.address,
      arbitrator: arbitrator.address,
    });
    for (const operator of [alice, bob]) {
      await protocol.token.transfer(operator.address, 10_000n * MESH);
      await protocol.token.connect(operator).approve(protocol.staking, ethers.MaxUint256);
      await protocol.staking.connect(operator).stake(1_000n * MESH);
    }
    const record = await deploymentRecord(protocol, governance, {
      chainId: 31337,
      deployer: deployer.address,
      block,
      guardian: guardian.address,
      arbitrator: arbitrator.address,
    });
    const dir = tmp();
    const file = writeDeployment(record, dir);
    return { ...protocol, governance, record, dir, file, oracles, deployer, alice, bob, outsider };
  }

  /** Writes `content` as JSON to a fresh tmp file; returns its path. */
  function writeJson(content: unknown): string {
    const file = join(tmp(), "deployment.json");
    writeFileSync(file, JSON.stringify(content));
    return file;
  }

  async function failure(promise: Promise<unknown>): Promise<Error> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof Error) return error;
      throw error;
    }
    throw new Error("expected a failure");
  }

  describe("connectMeshwork", function () {
    it("finds deployments/<chainId>.json in `dir` and connects every contract, governance included", async function () {
      const f = await loadFixture(deployed);
      expect(f.file).to.equal(deploymentPath(31337, f.dir));
      const meshwork = await connectMeshwork(f.alice, { dir: f.dir });

      expect(meshwork.deployment.block).to.equal(f.record.block);
      expect(meshwork.deployment.MeshGovernor).to.equal(f.record.MeshGovernor);
      expect(meshwork.registry.runner).to.equal(f.alice);
      expect(await meshwork.token.balanceOf(f.alice.address)).to.equal(9_000n * MESH);
      expect(await meshwork.staking.selfStake(f.alice.address)).to.equal(1_000n * MESH);
      expect(await meshwork.config.epochLength()).to.equal(DAY);
      expect((await meshwork.hub.committeeAt(0)).threshold).to.equal(3n);
      expect(await meshwork.distributor.totalMinted()).to.equal(0n);
      expect(await meshwork.schedule.emissionBudget()).to.equal(await f.schedule.emissionBudget());
      expect(await meshwork.seeds.hasSeed(0)).to.equal(false);

      const gov = meshwork.governance;
      if (gov === null) throw new Error("expected governance");
      const timelock = await gov.timelock.getAddress();
      expect(await meshwork.config.owner()).to.equal(timelock);
      expect(await meshwork.registry.hasRole(ethers.ZeroHash, timelock)).to.equal(true);
      expect(await meshwork.registry.hasRole(ethers.ZeroHash, f.deployer.address)).to.equal(false);
      expect(await gov.governor.timelock()).to.equal(timelock);
      expect(await gov.governor.token()).to.equal(await gov.votes.getAddress());
      const unbonding = await meshwork.config.param(Param.UnbondingPeriod);
      expect(await gov.timelock.getMinDelay()).to.equal(unbonding + DAY);

      // A signer can send through it.
      await expect(meshwork.staking.stake(1n * MESH)).to.emit(meshwork.staking, "Staked");
    });

    it("reads a file given by path; one without governance keys connects with governance null", async function () {
      const f = await loadFixture(deployed);
      const { VotingPower: _v, MeshTimelock: _t, MeshGovernor: _g, ...bare } = f.record;
      void [_v, _t, _g];
      const meshwork = await connectMeshwork(ethers.provider, { file: writeJson(bare) });
      expect(meshwork.governance).to.equal(null);
      expect(await meshwork.registry.getAddress()).to.equal(f.record.ProviderRegistry);
      expect(await meshwork.token.totalSupply()).to.equal(100_000_000n * MESH);
    });

    it("reads an optional Functions section, kept by writeFunctionsSection, and names a malformed field", async function () {
      const f = await loadFixture(deployed);
      const section = {
        router: f.outsider.address.toLowerCase(),
        coordinator: f.alice.address,
        linkToken: f.alice.address,
        donId: ethers.id("don").toUpperCase().replace("0X", "0x"),
        confirmer: f.alice.address,
        subscriptionId: "18446744073709551615",
        block: 3,
      };
      const file = writeJson(f.record);
      writeFunctionsSection(file, section);
      const read = parseDeployment(JSON.parse(readFileSync(file, "utf8")), file);
      expect(read.Functions).to.deep.equal({ ...section, router: f.outsider.address, donId: ethers.id("don") });
      expect(read.OracleHub).to.equal(f.record.OracleHub);
      expect(parseDeployment(f.record).Functions).to.equal(undefined);

      const bad = (patch: object): string => {
        try {
          parseDeployment({ ...f.record, Functions: { ...section, ...patch } }, "d.json");
        } catch (error) {
          return (error as Error).message;
        }
        return "parsed";
      };
      expect(bad({ subscriptionId: "18446744073709551616" })).to.equal("deployment file d.json: Functions.subscriptionId must fit uint64");
      expect(bad({ subscriptionId: 1 })).to.equal("deployment file d.json: Functions.subscriptionId must be a decimal string");
      expect(bad({ donId: "0x12" })).to.equal("deployment file d.json: Functions.donId must be bytes32 hex");
      expect(() => writeFunctionsSection(file, { ...section, confirmer: "0x1" })).to.throw(DeploymentFileError, "Functions.confirmer");
    });

    it("rejects a file for another chain", async function () {
      const f = await loadFixture(deployed);
      const error = await failure(connectMeshwork(f.alice, { file: writeJson({ ...f.record, chainId: 1 }) }));
      expect(error).to.be.instanceOf(DeploymentFileError);
      expect(error.message).to.equal("deployment is for chain 1, the provider is on chain 31337");
    });

    it("names the missing file's path", async function () {
      await loadFixture(deployed);
      const empty = tmp();
      const error = await failure(connectMeshwork(ethers.provider, { dir: empty }));
      expect(error).to.be.instanceOf(DeploymentFileError);
      expect(error.message).to.equal(`deployment file ${join(empty, "31337.json")}: cannot be read`);
      const elsewhere = join(empty, "sub", "nope.json");
      expect((await failure(connectMeshwork(ethers.provider, { file: elsewhere }))).message).to.include(elsewhere);
    });

    it("rejects an address without code", async function () {
      const f = await loadFixture(deployed);
      const file = writeJson({ ...f.record, RewardsDistributor: f.outsider.address });
      const error = await failure(connectMeshwork(ethers.provider, { file }));
      expect(error).to.be.instanceOf(DeploymentFileError);
      expect(error.message).to.equal(`deployment: no contract at distributor ${f.outsider.address}`);
    });

    it("rejects a runner without a provider", async function () {
      const f = await loadFixture(deployed);
      const error = await failure(connectMeshwork(ethers.Wallet.createRandom(), { dir: f.dir }));
      expect(error).to.be.instanceOf(DeploymentFileError);
      expect(error.message).to.include("no provider");
    });
  });

  describe("scripts/examples/integrator", function () {
    const REWARDS = { a1: 300n * MESH, a2: 200n * MESH, b1: 100n * MESH };
    const EVIDENCE = ethers.id("bad proof");

    /** alice runs a1 and a2, bob b1; epoch 0's verdict (rewards and two faults) is finalised. */
    async function finalised() {
      const f = await loadFixture(deployed);
      const a1 = await registerDevice(f.registry, f.alice, { label: "sdk-a1" });
      const a2 = await registerDevice(f.registry, f.alice, { label: "sdk-a2" });
      const b1 = await registerDevice(f.registry, f.bob, { label: "sdk-b1" });
      const rewards = buildRewardsTree([
        { device: a1, cumulativeAmount: REWARDS.a1 },
        { device: a2, cumulativeAmount: REWARDS.a2 },
        { device: b1, cumulativeAmount: REWARDS.b1 },
      ]);
      const faultLeaves: FaultLeaf[] = [
        { device: a2, kind: FaultKind.InvalidProof, evidence: EVIDENCE },
        { device: a1, kind: FaultKind.MissedDuty, evidence: EVIDENCE },
      ];
      const faults = buildFaultsTree(faultLeaves);
      await time.increaseTo(await f.config.epochEnd(0));
      const verdict = makeVerdict(0n, { rewardsRoot: rewards.root, faultsRoot: faults.root, devicesCounted: 3n });
      await f.hub.connect(f.outsider).submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
      await time.increase(await f.config.param(Param.VerdictChallengeWindow));
      await f.hub.connect(f.outsider).finaliseVerdict(0);
      // The verdict file an oracle serves (oracles/aggregate format, the fields a claimant reads).
      const verdictFile = {
        version: 2,
        epoch: "0",
        rewardsRoot: rewards.root,
        faultsRoot: faults.root,
        leasesRoot: ethers.ZeroHash,
        rewards: [...rewards.entries()].map(([i, [device, cumulative]]) => ({
          device,
          cumulative: cumulative.toString(),
          leaf: rewards.leafHash([device, cumulative]),
          proof: rewards.getProof(i),
        })),
      };
      const faultProof = (i: number): string[] => {
        const { device, kind, evidence } = faultLeaves[i];
        return faults.getProof([device, kind, evidence]);
      };
      const meshwork = await connectMeshwork(ethers.provider, { dir: f.dir });
      return { ...f, a1, a2, b1, rewards, verdictFile, faultLeaves, faultProof, meshwork };
    }

    /** An oracle node's verdict route: `GET /v1/verdicts/0/file` answers `body()`; anything else is a 404. */
    let server: Server;
    let oracleUrl: string;
    let body: () => unknown = () => ({});
    before(async function () {
      server = createServer((request, response) => {
        if (request.method === "GET" && request.url === "/v1/verdicts/0/file") {
          response.writeHead(200, { "content-type": "application/json" });
          response.end(JSON.stringify(body()));
        } else {
          response.writeHead(404, { "content-type": "application/json" });
          response.end(JSON.stringify({ error: "not found" }));
        }
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      oracleUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    after(async function () {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("deviceStatus reports a registered device and rejects an unknown one", async function () {
      const f = await loadFixture(deployed);
      const meshwork = await connectMeshwork(ethers.provider, { dir: f.dir });
      expect(await firstDevice(meshwork)).to.equal(null);
      const device = await registerDevice(f.registry, f.alice, { label: "sdk-status", metadataURI: "ipfs://x" });
      expect(await firstDevice(meshwork)).to.equal(device);

      const status = await deviceStatus(meshwork, device.toLowerCase());
      expect(status).to.deep.equal({
        device,
        operator: f.alice.address,
        resourceClass: "Coverage",
        status: "Active",
        location: "0x" + H3_CELL.toString(16),
        capacity: 1n,
        jailedUntil: null,
        metadataURI: "ipfs://x",
        operatorSelfStake: 1_000n * MESH,
        operatorRequiredStake: 100n * MESH,
      });
      const unknown = await failure(deviceStatus(meshwork, f.outsider.address));
      expect(unknown).to.be.instanceOf(IntegratorError);
      expect(unknown.message).to.equal(`device ${f.outsider.address} is not registered`);
      expect((await failure(deviceStatus(meshwork, "0x1234"))).message).to.equal("device 0x1234 is not an address");
    });

    it("claimable before any verdict: the devices, nothing to claim", async function () {
      const f = await loadFixture(deployed);
      const meshwork = await connectMeshwork(ethers.provider, { dir: f.dir });
      const device = await registerDevice(f.registry, f.alice, { label: "sdk-early" });
      const withOracle = await claimable(meshwork, f.alice.address, oracleUrl);
      expect(withOracle).to.deep.equal({
        operator: f.alice.address,
        epoch: null,
        devices: [{ device, cumulative: 0n, claimed: 0n, unclaimed: 0n }],
        unclaimedTotal: 0n,
        stakingRewards: 0n,
      });
      const without = await claimable(meshwork, f.alice.address);
      expect(without.devices).to.deep.equal([{ device, cumulative: null, claimed: 0n, unclaimed: null }]);
      expect(without.unclaimedTotal).to.equal(null);
    });

    it("claimable: verdict file cumulative minus claimed, plus the staking pool", async function () {
      const f = await loadFixture(finalised);
      body = () => f.verdictFile;
      expect(await operatorDevices(f.meshwork, f.alice.address)).to.deep.equal(
        [f.a1, f.a2].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)),
      );

      const before = await claimable(f.meshwork, f.alice.address, oracleUrl);
      expect(before.epoch).to.equal(0n);
      expect(before.unclaimedTotal).to.equal(REWARDS.a1 + REWARDS.a2);
      expect(before.stakingRewards).to.equal(0n);

      // Claiming a1 moves its rewards into alice's staking pool (no delegators: all of it is hers).
      const proof = f.rewards.getProof([f.a1, REWARDS.a1]);
      await f.distributor.connect(f.outsider).claim(f.a1, REWARDS.a1, proof);
      const after = await claimable(f.meshwork, f.alice.address, oracleUrl);
      const row = (device: string) => after.devices.find((d) => d.device === device);
      expect(row(f.a1)).to.deep.equal({ device: f.a1, cumulative: REWARDS.a1, claimed: REWARDS.a1, unclaimed: 0n });
      expect(row(f.a2)).to.deep.equal({ device: f.a2, cumulative: REWARDS.a2, claimed: 0n, unclaimed: REWARDS.a2 });
      expect(after.unclaimedTotal).to.equal(REWARDS.a2);
      expect(after.stakingRewards).to.equal(REWARDS.a1);
      expect(after.stakingRewards).to.equal(await f.staking.pendingRewards(f.alice.address, f.alice.address));

      const bob = await claimable(f.meshwork, f.bob.address, oracleUrl);
      expect(bob.devices.map((d) => [d.device, d.unclaimed])).to.deep.equal([[f.b1, REWARDS.b1]]);
    });

    it("claimable rejects an oracle file that does not match the chain, and reports HTTP failures", async function () {
      const f = await loadFixture(finalised);
      const inflated = {
        ...f.verdictFile,
        rewards: f.verdictFile.rewards.map((r) => (r.device === f.a2 ? { ...r, cumulative: "999" } : r)),
      };
      body = () => inflated;
      const badProof = await failure(claimable(f.meshwork, f.alice.address, oracleUrl));
      expect(badProof).to.be.instanceOf(IntegratorError);
      expect(badProof.message).to.equal(`oracle ${oracleUrl}: bad Merkle proof for device ${f.a2}`);

      body = () => ({ ...f.verdictFile, rewardsRoot: ethers.id("other") });
      expect((await failure(claimable(f.meshwork, f.alice.address, oracleUrl))).message).to.match(/has root 0x/);
      body = () => ({ epoch: "0" });
      expect((await failure(claimable(f.meshwork, f.alice.address, oracleUrl))).message).to.match(/not a verdict file/);
      const missing = await failure(claimable(f.meshwork, f.alice.address, oracleUrl + "elsewhere"));
      expect(missing.message).to.equal(`oracle ${oracleUrl}elsewhere/v1/verdicts/0/file: HTTP 404`);
    });

    it("watchSlashing delivers FaultPenalised until stopped", async function () {
      const f = await loadFixture(finalised);
      const seen: PenaltyEvent[] = [];
      const stop = await watchSlashing(f.meshwork, (event) => seen.push(event));
      const expected = await f.slashing.previewPenalty(f.a2, FaultKind.InvalidProof);
      expect(expected).to.equal(50n * MESH); // 5% of alice's 1,000 MESH
      const { device, kind, evidence } = f.faultLeaves[0];
      const tx = await f.hub.connect(f.outsider).applyFault(0, device, kind, evidence, f.faultProof(0));
      for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen).to.have.length(1);
      expect(seen[0]).to.deep.include({
        device: f.a2,
        operator: f.alice.address,
        kind: "InvalidProof",
        epoch: 0n,
        slashed: expected,
        evidence: EVIDENCE,
        transactionHash: tx.hash,
      });

      await stop();
      const second = f.faultLeaves[1];
      await f.hub.connect(f.outsider).applyFault(0, second.device, second.kind, second.evidence, f.faultProof(1));
      await new Promise((r) => setTimeout(r, 500));
      expect(seen).to.have.length(1);
      expect(await f.slashing.penalised(await f.slashing.faultId(second.device, second.kind, 0))).to.equal(true);
    });
  });
});
