/**
 * End to end: a Hardhat node and five oracle processes on 127.0.0.1, a fleet of 210 simulated devices (honest,
 * offline, flaky, lazy, forging, replaying and location-spoofing), epochs driven on chain time.
 *
 * Each epoch the test moves the chain to just before the epoch's end, has every online device send its proofs to one
 * oracle (a third of them to a second one as well; each oracle receives its share in its own shuffled order), then
 * ends the epoch and lets the oracles sync, verify, aggregate, sign, exchange signatures and relay. It then moves the
 * chain past the challenge window and waits for the oracles to finalise the verdict and apply its faults.
 *
 * The `it`s run in order on one network: 3 epochs with all oracles; 2 epochs with two oracles SIGKILLed mid-epoch and
 * restarted afterwards; 1 epoch with a byzantine member.
 */
import { expect } from "chai";
import { ethers, type HDNodeWallet } from "ethers";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { DeviceStatus, FaultKind, ResourceClass } from "../../sdk/enums";
import { hubDomain, signVerdict, verdictDigest, verdictToJson, type EpochVerdict } from "../../sdk/verdict";
import { createFleet, fleetProofs, type Behaviour, type Fleet } from "../../oracles/agent";
import { verdictFileDataHash } from "../../oracles/aggregate";
import { proofDomain, type ProofRecord } from "../../oracles/proof";
import {
  advanceTo,
  deployNetwork,
  epochBounds,
  freePort,
  hardhatAccount,
  registerFleet,
  startHardhatNode,
  type HardhatNode,
  type Network,
  type RegisteredFleet,
} from "../../scripts/lib/localnet/network";
import {
  deliverProofs,
  newDelivery,
  proofKey,
  settleEpoch,
  type Delivery,
  type OracleEndpoint,
  type VerdictFile,
} from "../../scripts/lib/localnet/epochs";
import { oracleUrl, startOracle, type OracleNetworkSpec, type OracleSpec } from "../../scripts/lib/localnet/oracles";
import { waitFor, type ServiceProcess } from "../../scripts/lib/localnet/process";

const EPOCH_LENGTH = 7_200n;
const CHALLENGE_WINDOW = 3_600n;
const JAIL_AFTER = 2n;
const FLEET_SIZE = 210;
const PROPORTIONS = {
  honest: 0.55,
  offline: 0.07,
  flaky: 0.1,
  lazy: 0.08,
  forging: 0.06,
  replaying: 0.06,
  spoofing: 0.08,
};
describe("e2e: oracle network (Hardhat node + 5 oracle processes, 210 devices)", function () {
  this.timeout(20 * 60_000);

  let node: HardhatNode;
  let net: Network;
  let fleet: Fleet;
  let registered: RegisteredFleet;
  let dir: string;
  let spec: OracleNetworkSpec;
  const running = new Map<string, ServiceProcess>();
  const files = new Map<bigint, VerdictFile>();
  const deliveries = new Map<bigint, Delivery>();
  const behaviourOf = new Map<string, Behaviour>();
  const classOf = new Map<string, ResourceClass>();
  let oracleKeys: HDNodeWallet[];

  const live = (): OracleSpec[] => spec.oracles.filter((o) => running.has(o.id));
  const devicesWith = (b: Behaviour, classes?: readonly ResourceClass[]): string[] =>
    [...behaviourOf.entries()]
      .filter(([d, x]) => x === b && (classes === undefined || classes.includes(classOf.get(d)!)))
      .map(([d]) => d);

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), "meshwork-e2e-"));
    node = await startHardhatNode();
    oracleKeys = [1, 2, 3, 4, 5].map((i) => hardhatAccount(i));
    const deploymentFile = path.join(dir, "deployment.json");
    net = await deployNetwork(node.url, {
      oracles: oracleKeys.map((k) => k.address),
      epochLength: EPOCH_LENGTH,
      challengeWindow: CHALLENGE_WINDOW,
      jailAfterMissedEpochs: JAIL_AFTER,
      deploymentFile,
    });
    const registry = await net.contracts.registry.getAddress();
    fleet = createFleet({
      count: FLEET_SIZE,
      seed: "e2e-oracle-network",
      proportions: PROPORTIONS,
      domain: proofDomain(net.chainId, registry),
    });
    for (const m of fleet.members) {
      behaviourOf.set(m.device.address, m.behaviour);
      classOf.set(m.device.address, m.device.resourceClass);
    }
    registered = await registerFleet(net, fleet, { operators: 10 });
    console.log(
      `      registered ${FLEET_SIZE} devices in ${registered.elapsedMs} ms (${registered.transactions} txs)`,
    );

    const oracles: OracleSpec[] = [];
    for (const [i, key] of oracleKeys.entries()) {
      const id = `oracle-${i + 1}`;
      oracles.push({
        id,
        key,
        port: await freePort(),
        storePath: path.join(dir, `${id}.sqlite`),
        logFile: path.join(dir, `${id}.log`),
      });
    }
    spec = {
      rpcUrl: node.url,
      deploymentFile,
      oracles,
      env: { MESHWORK_POLL_MS: "300", MESHWORK_SYNC_INTERVAL_MS: "500", MESHWORK_STAGGER_MS: "2000" },
    };
    const started = Date.now();
    const processes = await Promise.all(oracles.map((o) => startOracle(spec, o)));
    oracles.forEach((o, i) => running.set(o.id, processes[i]));
    console.log(`      5 oracle processes up in ${Date.now() - started} ms; logs in ${dir}`);
  });

  after(async function () {
    await Promise.all([...running.values()].map((p) => p.stop()));
    await node?.stop();
    if (process.env.MESHWORK_E2E_KEEP === undefined && dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------------------------------

  const endpoints = (): OracleEndpoint[] => live().map((o) => ({ id: o.id, url: oracleUrl(o) }));

  /** Every device to one live oracle, a third of them to a second one, each oracle in its own order. */
  async function deliver(epoch: bigint, proofs: readonly ProofRecord[], delivery: Delivery): Promise<void> {
    const indexOf = new Map(fleet.members.map((m) => [m.device.address, m.index]));
    await deliverProofs(epoch, proofs, endpoints(), (d) => indexOf.get(d)!, delivery);
  }

  /** Waits for the epoch's seed, moves to 30 s before its end and makes the fleet's proofs. */
  async function epochProofs(epoch: bigint): Promise<ProofRecord[]> {
    const { seeds } = net.contracts;
    await waitFor(`seed of epoch ${epoch}`, async () => seeds.hasSeed(epoch));
    const seed = await seeds.seedOf(epoch);
    const bounds = await epochBounds(net.contracts.config, epoch);
    await advanceTo(net.provider, bounds.end - 30n);
    return fleetProofs(fleet, epoch, seed, bounds.window);
  }

  async function endEpoch(epoch: bigint): Promise<void> {
    const bounds = await epochBounds(net.contracts.config, epoch);
    await advanceTo(net.provider, bounds.end + 1n);
  }

  /**
   * Waits for the verdict (every live oracle serving the same file), checks it against the chain, finalises it (time
   * travel past the window) and waits for its faults.
   */
  async function settle(epoch: bigint): Promise<VerdictFile> {
    const { hub } = net.contracts;
    const { file, text, signers } = await settleEpoch(net.provider, net.contracts, epoch, endpoints());
    expect(signers).to.be.gte(3);
    const [event] = await hub.queryFilter(hub.filters.VerdictSubmitted(epoch));
    const record = await hub.getVerdict(epoch);
    expect(verdictFileDataHash(text)).to.equal(event.args.verdict.dataHash);
    expect(file.rewardsRoot).to.equal(record.rewardsRoot);
    expect(file.faultsRoot).to.equal(record.faultsRoot);
    expect(file.leasesRoot).to.equal(record.leasesRoot);
    files.set(epoch, file);
    return file;
  }

  async function runEpoch(epoch: bigint): Promise<VerdictFile> {
    const delivery = newDelivery();
    deliveries.set(epoch, delivery);
    const t0 = Date.now();
    const proofs = await epochProofs(epoch);
    const t1 = Date.now();
    await deliver(epoch, proofs, delivery);
    const t2 = Date.now();
    await endEpoch(epoch);
    const file = await settle(epoch);
    console.log(
      `      epoch ${epoch}: ${proofs.length} proofs made in ${t1 - t0} ms, delivered in ${t2 - t1} ms, ` +
        `verdict finalised and faults applied ${Date.now() - t2} ms later`,
    );
    return file;
  }

  /** Checks one epoch's file against the chain: emission, class pots, per-device shares, faults. */
  async function checkAccounting(epoch: bigint, file: VerdictFile): Promise<void> {
    const { schedule } = net.contracts;
    const previous = epoch === 0n ? undefined : files.get(epoch - 1n);
    const allocatedBefore = (previous?.rewards ?? []).reduce((s, r) => s + BigInt(r.cumulative), 0n);
    const emission = (await schedule.cumulativeEmission(epoch + 1n)) - allocatedBefore;
    expect(BigInt(file.emission)).to.equal(emission);
    const split = (await schedule.classSplitAt(epoch)).map(Number);
    let allocated = 0n;
    for (const c of file.classes) {
      const pot = (emission * BigInt(split[c.resourceClass])) / 10_000n;
      expect(BigInt(c.pot), `pot of class ${c.resourceClass}`).to.equal(pot);
      const members = file.rewards.filter((r) => r.resourceClass === c.resourceClass && BigInt(r.score) > 0n);
      const total = members.reduce((s, r) => s + BigInt(r.score), 0n);
      expect(BigInt(c.totalScore)).to.equal(total);
      let paid = 0n;
      for (const r of members) {
        expect(BigInt(r.reward), `reward of ${r.device}`).to.equal((pot * BigInt(r.score)) / total);
        paid += BigInt(r.reward);
      }
      expect(BigInt(c.allocated)).to.equal(paid);
      if (total > 0n) expect(pot - paid).to.be.lt(BigInt(members.length)); // rounding dust only
      allocated += paid;
    }
    expect(BigInt(file.allocated)).to.equal(allocated);
    for (const r of file.rewards) {
      const before = previous?.rewards.find((p) => p.device === r.device)?.cumulative ?? "0";
      expect(BigInt(r.cumulative)).to.equal(BigInt(before) + BigInt(r.reward));
    }
  }

  const faultsOf = (file: VerdictFile, device: string): number[] =>
    file.faults.filter((f) => f.device === device).map((f) => f.kind);

  // -------------------------------------------------------------------------------------------------------------

  it("finalises 3 epochs with 3-of-5 verdicts: honest devices paid, cheaters faulted and slashed, offline jailed", async function () {
    const { registry, slashing, distributor, staking } = net.contracts;
    const stakeBefore = await staking.totalStaked();
    for (const epoch of [0n, 1n, 2n]) {
      const started = Date.now();
      const file = await runEpoch(epoch);
      await checkAccounting(epoch, file);
      console.log(
        `      epoch ${epoch}: ${file.rewards.filter((r) => r.reward !== "0").length} devices paid, ` +
          `${file.faults.length} faults, ${Date.now() - started} ms`,
      );
    }

    // Ingest turned away forgeries and replays.
    const rejected = deliveries.get(1n)!.rejected;
    expect(rejected.get("invalid_signature") ?? 0).to.be.greaterThan(0);
    expect(rejected.get("replay") ?? 0).to.be.greaterThan(0);

    for (const epoch of [0n, 1n, 2n]) {
      const file = files.get(epoch)!;
      const paid = new Set(file.rewards.filter((r) => BigInt(r.reward) > 0n).map((r) => r.device));
      // Honest devices: paid, never faulted.
      for (const d of devicesWith("honest")) {
        expect(paid.has(d), `honest ${d} paid in epoch ${epoch}`).to.equal(true);
        expect(faultsOf(file, d), `honest ${d} faults`).to.deep.equal([]);
      }
      // Lazy storage/compute devices fail their challenges; spoofers are caught by geometry.
      for (const d of devicesWith("lazy", [
        ResourceClass.Storage,
        ResourceClass.ComputeGpu,
        ResourceClass.ComputeCpu,
      ])) {
        expect(faultsOf(file, d), `lazy ${d}`).to.include(FaultKind.InvalidProof);
      }
      for (const d of devicesWith("spoofing", [ResourceClass.Coverage, ResourceClass.Mapping])) {
        expect(faultsOf(file, d), `spoofing ${d}`).to.include(FaultKind.LocationSpoofing);
      }
    }
    // Offline devices miss epochs 0 and 1 and are jailed; jailed devices owe no duty in epoch 2.
    const offline = devicesWith("offline");
    expect(offline.length).to.be.greaterThan(0);
    for (const d of offline) {
      expect(faultsOf(files.get(0n)!, d)).to.deep.equal([FaultKind.MissedDuty]);
      expect(faultsOf(files.get(1n)!, d)).to.deep.equal([FaultKind.MissedDuty]);
      expect(faultsOf(files.get(2n)!, d)).to.deep.equal([]);
      expect((await registry.getDevice(d)).status).to.equal(BigInt(DeviceStatus.Jailed));
    }
    // Every fault of every epoch was penalised on-chain, and stake was slashed.
    const penalties = await slashing.queryFilter(slashing.filters.FaultPenalised());
    const applied = [0n, 1n, 2n].reduce((s, e) => s + files.get(e)!.faults.length, 0);
    expect(penalties.length).to.equal(applied);
    const slashed = penalties.reduce((s, e) => s + e.args.slashed, 0n);
    expect(slashed).to.be.greaterThan(0n);
    expect(await staking.totalStaked()).to.equal(stakeBefore - slashed);

    // Every device with a cumulative amount claims it; the distributor pays exactly the allocated emission.
    const last = files.get(2n)!;
    const claims = last.rewards
      .filter((r) => BigInt(r.cumulative) > 0n)
      .map((r) => ({ device: r.device, cumulativeAmount: BigInt(r.cumulative), proof: r.proof }));
    for (let k = 0; k < claims.length; k += 40) {
      await (await distributor.connect(net.deployer).claimMany(claims.slice(k, k + 40))).wait();
    }
    const total = claims.reduce((s, c) => s + c.cumulativeAmount, 0n);
    expect(await distributor.totalClaimed()).to.equal(total);
    expect(total).to.equal([0n, 1n, 2n].reduce((s, e) => s + BigInt(files.get(e)!.allocated), 0n));
  });

  it("finalises with 2 of 5 oracles SIGKILLed mid-epoch; restarted, they have lost no acknowledged proof and catch up", async function () {
    const killed = spec.oracles.slice(0, 2);
    const epoch = 3n;
    const delivery = newDelivery();
    deliveries.set(epoch, delivery);
    const proofs = await epochProofs(epoch);
    const half = Math.floor(proofs.length / 2);
    await deliver(epoch, proofs.slice(0, half), delivery);
    for (const o of killed) {
      await running.get(o.id)!.stop("SIGKILL");
      running.delete(o.id);
    }
    // Devices whose oracle is gone send to the live ones.
    await deliver(epoch, proofs.slice(half), delivery);
    await endEpoch(epoch);
    const file = await settle(epoch);
    await checkAccounting(epoch, file);

    // Restart both from their stores: every proof they acknowledged before the kill is still there.
    await Promise.all(killed.map(async (o) => running.set(o.id, await startOracle(spec, o))));
    for (const o of killed) {
      const response = await fetch(`${oracleUrl(o)}/v1/sync/proofs?epoch=${epoch}&limit=1000`);
      const page = (await response.json()) as { proofs: { device: string; nonce: string }[] };
      const stored = new Set(page.proofs.map(proofKey));
      const acked = delivery.acked.get(o.id)!;
      expect(acked.size).to.be.greaterThan(0);
      for (const key of acked) expect(stored.has(key), `${o.id} lost ${key}`).to.equal(true);
    }
    // They take part in the next epoch again: they fetch epoch 3's verdict file from a peer to build on it, and sign
    // the same verdict as the others.
    const next = await runEpoch(4n);
    await checkAccounting(4n, next);
    const status = (await (await fetch(`${oracleUrl(killed[0])}/v1/verdicts/4`)).json()) as {
      tally: { digest: string; signers: string[] }[];
      dissents: unknown[];
    };
    expect(status.dissents).to.deep.equal([]);
    expect(status.tally[0].signers.map((s) => s.toLowerCase())).to.include.members(
      killed.map((o) => o.key.address.toLowerCase()),
    );
  });

  it("a byzantine member signing another root cannot finalise alone, and shows as a dissent", async function () {
    const { hub } = net.contracts;
    const byzantine = spec.oracles[4];
    await running.get(byzantine.id)!.stop("SIGKILL");
    running.delete(byzantine.id);

    const epoch = 5n;
    const delivery = newDelivery();
    deliveries.set(epoch, delivery);
    await deliver(epoch, await epochProofs(epoch), delivery);
    await endEpoch(epoch);

    // The byzantine key signs a verdict that pays everything to one device, and shares it with everyone.
    const domain = hubDomain(net.chainId, await hub.getAddress());
    const forged: EpochVerdict = {
      epoch,
      devicesCounted: 1n,
      rewardsRoot: ethers.id("all to me"),
      faultsRoot: ethers.ZeroHash,
      leasesRoot: ethers.ZeroHash,
      totalWorkUnits: 1n,
      dataHash: ethers.id("forged file"),
    };
    const signature = await signVerdict(byzantine.key, domain, forged);
    for (const o of live()) {
      const response = await fetch(`${oracleUrl(o)}/v1/verdicts/${epoch}/signatures`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          signer: signature.signer,
          verdict: verdictToJson(forged),
          signature: signature.signature,
        }),
      });
      expect(response.status).to.equal(202);
    }
    await expect(
      hub.connect(byzantine.key.connect(net.provider)).submitVerdict(forged, [signature.signature]),
    ).to.be.revertedWithCustomError(hub, "QuorumNotReached");

    const file = await settle(epoch);
    const record = await hub.getVerdict(epoch);
    expect(record.digest).to.not.equal(verdictDigest(domain, forged));
    expect(file.rewardsRoot).to.not.equal(forged.rewardsRoot);
    for (const o of live()) {
      const status = (await (await fetch(`${oracleUrl(o)}/v1/verdicts/${epoch}`)).json()) as {
        submitted: string;
        dissents: { signer: string; digest: string }[];
      };
      expect(status.submitted).to.equal(record.digest.toLowerCase());
      expect(status.dissents).to.deep.equal([
        {
          signer: byzantine.key.address,
          digest: verdictDigest(domain, forged).toLowerCase(),
          verdict: verdictToJson(forged),
        },
      ]);
    }
  });
});
