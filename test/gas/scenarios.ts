/**
 * Gas scenarios measured from transaction receipts (hardhat network, optimizer 200 runs, cancun). Shared by the gas
 * tests (test/gas/*.gas.test.ts), which assert the bounds, and by the benchmark (scripts/bench/gas.ts), which reports
 * the figures in BENCHMARKS.md.
 *
 * - `measureOperations`: one transaction of each user-facing operation, from the protocol fixture.
 * - `measureClaimsBySize`: relaying a 3-of-5 verdict, finalising it, `RewardsDistributor.sync` alone, the first claim
 *   after finalisation (which syncs), a single claim and a `claimMany` of 20 (per-claim figure), with rewards trees of
 *   the given sizes (built off-chain: 22 registered devices of alice plus deterministic random filler addresses). Each
 *   size starts from the same chain state and runs two epochs: in the first every claimed device claims for the first
 *   time (its `claimed` slot goes from zero to non-zero), in the second it claims again (the steady state).
 * - `measureMissedEpochs`: a claim after N epochs of finalised verdicts since the device's last claim.
 * - `measureMarketOperations`: an order's life in the Marketplace, from posting to withdrawing the earnings, and the
 *   closing of an auction with the most bids an order takes (its bounded loop's worst case).
 *
 * The claims fixture first runs one warm-up epoch (epoch 1; epoch 0 is skipped) whose rewards a separate device of
 * alice claims, so that protocol-wide slots (distributor totals, root epoch, Staking's reserve and alice's operator
 * rewards) are already non-zero, as they are in production after the first claim ever.
 */
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import type { ContractTransactionResponse } from "ethers";

import { buildFaultsTree, buildLeasesTree, buildRewardsTree, type RewardLeaf } from "../../sdk/trees";
import { signRegistration, deviceWallet } from "../helpers/devices";
import {
  DAY,
  FaultKind,
  governanceFixture,
  H3_CELL,
  MESH,
  Param,
  passProposal,
  protocolFixture,
  registerDevice,
  ResourceClass,
  type ProtocolFixture,
} from "../helpers/fixtures";
import { commitBid, marketFixture, orderTerms, postOrder, revealBid, toClose, toReveal } from "../helpers/market";
import { makeVerdict, signedBy } from "../helpers/verdicts";

/** The issue's targets, in gas. */
export const GAS_TARGETS = {
  register: 150_000n,
  stake: 100_000n,
  relay: 150_000n,
  /** Settling a lease for any number of epochs with one leaf of a 1,000-lease tree. */
  settle: 150_000n,
  claim: 80_000n,
  batchPerClaim: 50_000n,
} as const;

const CHALLENGE_WINDOW = 12n * 3_600n; // ProtocolConfig default
export const BATCH = 20;
const DEVICES = 2 + BATCH; // D0: first claim after finalisation (syncs); D1: single claim; D2..D21: claimMany of 20

export async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt.gasUsed;
}

/** `count` leaves of random addresses and amounts (xorshift32 seeded with `seed`): unregistered filler devices. */
export function filler(count: number, seed: number): RewardLeaf[] {
  let s = (seed * 0x9e3779b1) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return Array.from({ length: count }, () => ({
    device: "0x" + Array.from({ length: 5 }, () => next().toString(16).padStart(8, "0")).join(""),
    cumulativeAmount: BigInt(next()) * 10n ** 12n, // up to ~4,295 MESH
  }));
}

/** Relays (3 of 5 oracles) and finalises a verdict for the unsettled epoch `epoch`; returns both gas figures. */
async function settle(
  f: ProtocolFixture,
  epoch: bigint,
  roots: { rewardsRoot: string; faultsRoot?: string; leasesRoot?: string },
): Promise<{ relay: bigint; finalise: bigint }> {
  const endsAt = await f.config.epochEnd(epoch);
  if (BigInt(await time.latest()) < endsAt) await time.increaseTo(endsAt);
  const verdict = makeVerdict(epoch, roots);
  const signatures = await signedBy(f.hub, verdict, f.oracles.slice(0, 3));
  const relay = await gasOf(f.hub.connect(f.outsider).submitVerdict(verdict, signatures));
  await time.increase(CHALLENGE_WINDOW);
  const finalise = await gasOf(f.hub.connect(f.outsider).finaliseVerdict(epoch));
  return { relay, finalise };
}

/* OPERATIONS */

export interface OperationGas {
  operation: string;
  gas: bigint;
  /** The issue's target for this operation, if any. */
  target?: bigint;
}

/** Registers a fresh device of `label` under `operator` and returns the transaction's gas. */
async function registrationGas(f: ProtocolFixture, operator: typeof f.alice, label: string): Promise<bigint> {
  const { registration, signature } = await signRegistration(f.registry, deviceWallet(label), {
    operator: operator.address,
    resourceClass: ResourceClass.Coverage,
    capacity: 1n,
    location: H3_CELL,
    deadline: BigInt(await time.latest()) + DAY,
  });
  return gasOf(f.registry.connect(operator).registerDevice(registration, signature));
}

/** One transaction of every user-facing operation, each measured in a realistic state. */
export async function measureOperations(): Promise<OperationGas[]> {
  const f = await loadFixture(protocolFixture);
  const rows: OperationGas[] = [];
  const add = (operation: string, gas: bigint, target?: bigint) => rows.push({ operation, gas, target });
  const { alice, bob, carol, fisher, arbitrator, outsider } = f;

  add("stake (operator's first)", await gasOf(f.staking.connect(bob).stake(1_000n * MESH)), GAS_TARGETS.stake);
  add("stake (top-up)", await gasOf(f.staking.connect(alice).stake(1_000n * MESH)), GAS_TARGETS.stake);
  add("register a device (operator's first)", await registrationGas(f, bob, "gas-bob-1"), GAS_TARGETS.register);
  add("register a device (operator's 2nd)", await registrationGas(f, alice, "gas-alice-2"), GAS_TARGETS.register);
  add("delegate (first)", await gasOf(f.staking.connect(carol).delegate(alice.address, 1_000n * MESH)));
  add("delegate (top-up)", await gasOf(f.staking.connect(carol).delegate(alice.address, 1_000n * MESH)));
  add("unbond self-stake (unstake)", await gasOf(f.staking.connect(alice).unstake(500n * MESH)));
  const [shares] = await f.staking.delegationOf(alice.address, carol.address);
  add("unbond delegation (undelegate)", await gasOf(f.staking.connect(carol).undelegate(alice.address, shares / 2n)));
  await time.increase(await f.config.param(Param.UnbondingPeriod));
  add("withdraw (one released request)", await gasOf(f.staking.connect(carol).withdraw(10)));

  // A verdict with a faults root: relay, finalise, then apply one proven fault (slashes alice).
  const evidence = ethers.id("gas: invalid proof evidence");
  const faults = buildFaultsTree([
    { device: f.aliceDevice, kind: FaultKind.InvalidProof, evidence },
    { device: f.aliceDevice, kind: FaultKind.LocationSpoofing, evidence: ethers.id("gas: spoofing evidence") },
  ]);
  let epoch = await f.config.currentEpoch();
  const settled = await settle(f, epoch, { rewardsRoot: ethers.id("gas: rewards"), faultsRoot: faults.root });
  add("relay a verdict (3 of 5 signatures)", settled.relay, GAS_TARGETS.relay);
  add("finalise a verdict", settled.finalise);
  add(
    "apply a proven fault (slash)",
    await gasOf(f.hub.connect(outsider).applyFault(epoch, f.aliceDevice, FaultKind.InvalidProof, evidence, faults.getProof(0))),
  );

  // The next verdict is disputed by a fisherman (bonded) and the dispute rejected by the arbitrator.
  epoch += 1n;
  await time.increaseTo(await f.config.epochEnd(epoch));
  const verdict = makeVerdict(epoch);
  await f.hub.connect(outsider).submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  add("dispute a verdict (bonded)", await gasOf(f.hub.connect(fisher).disputeVerdict(epoch, ethers.id("gas: wrong root"))));
  add("resolve a dispute (rejected)", await gasOf(f.hub.connect(arbitrator).resolveDispute(epoch, false)));

  // Governance: a parameter change taken through propose, vote, queue; the execution is measured.
  const g = await loadFixture(governanceFixture);
  const proposal = {
    targets: [await g.config.getAddress()],
    values: [0n],
    calldatas: [g.config.interface.encodeFunctionData("setParam", [Param.ChallengeBond, 200n * MESH])],
    description: "gas: raise the challenge bond",
  };
  const { descriptionHash } = await passProposal(g, proposal);
  add(
    "governance execute (one parameter)",
    await gasOf(g.governor.execute(proposal.targets, proposal.values, proposal.calldatas, descriptionHash)),
  );
  return rows;
}

/* MARKETPLACE */

/**
 * An order's life: post (MESH escrow), commit and reveal a bid, close the auction, settle three epochs with one leaf
 * of a 1,000-lease tree (by a third party, who earns the bounty), withdraw. Then an auction of `MAX_BIDS` sealed bids
 * nobody revealed is closed: the bounded loop's worst case (every deposit credited back, less the forfeit).
 */
export async function measureMarketOperations(): Promise<OperationGas[]> {
  const f = await loadFixture(marketFixture);
  const rows: OperationGas[] = [];
  const add = (operation: string, gas: bigint, target?: bigint) => rows.push({ operation, gas, target });
  const price = 8n * MESH;

  add("post an order (MESH escrow)", await gasOf(f.marketplace.connect(f.carol).postOrder(orderTerms(f, { durationEpochs: 30 }), 30n * price)));
  const orderId = await f.marketplace.orderCount();
  const bid = await commitBid(f, orderId, f.bob, price, [f.bobDisk]);
  const losing = await commitBid(f, orderId, f.alice, price + MESH, [f.aliceDisks[0]]);
  add("commit a sealed bid", await gasOf(f.marketplace.connect(f.dave).commitBid(orderId, ethers.id("gas: sealed"))));
  await toReveal(f, orderId);
  add("reveal a bid (one device)", await gasOf(revealBid(f, orderId, bid)));
  await revealBid(f, orderId, losing);
  await toClose(f, orderId);
  add("close an auction (3 bids, one unrevealed)", await gasOf(f.marketplace.closeAuction(orderId)));

  const lease = await f.marketplace.getLease(orderId);
  const epoch = lease.startEpoch + 2n;
  const leaves = Array.from({ length: 1_000 }, (_, i) => ({ leaseId: BigInt(i + 1), delivered: 30_000n, breaches: 0n }));
  const tree = buildLeasesTree(leaves);
  await settle(f, epoch, { rewardsRoot: ethers.id("gas: rewards"), leasesRoot: tree.root });
  const i = leaves.findIndex((l) => l.leaseId === orderId);
  add(
    "settle a lease (3 epochs, one leaf of 1,000, third party)",
    await gasOf(f.marketplace.connect(f.fisher).settle(orderId, epoch, 30_000n, 0n, tree.getProof(i))),
    GAS_TARGETS.settle,
  );
  add("withdraw earnings", await gasOf(f.marketplace.connect(f.bob).withdraw(f.token)));

  // MAX_BIDS bidders, each a fresh funded account.
  const full = await postOrder(f, f.carol);
  const max = Number(await f.marketplace.MAX_BIDS());
  for (let k = 0; k < max; k++) {
    const bidder = ethers.Wallet.createRandom(ethers.provider);
    await f.governance.sendTransaction({ to: bidder.address, value: MESH });
    await f.token.connect(f.governance).transfer(bidder.address, 10n * MESH);
    await f.token.connect(bidder).approve(f.marketplace, ethers.MaxUint256);
    await f.marketplace.connect(bidder).commitBid(full, ethers.id(`gas: bid ${k}`));
  }
  await toClose(f, full);
  add(`close an auction (${max} bids, none revealed)`, await gasOf(f.marketplace.closeAuction(full)));
  return rows;
}

/* VERDICTS AND CLAIMS BY TREE SIZE */

async function claimsFixture() {
  const f = await protocolFixture();
  await f.staking.connect(f.alice).stake(3_000n * MESH); // 4,000 MESH: room for 40 Coverage devices
  const devices = [f.aliceDevice];
  for (let i = 1; i < DEVICES; i++) devices.push(await registerDevice(f.registry, f.alice, { label: `gas-${i}` }));
  const warm = await registerDevice(f.registry, f.alice, { label: "gas-warm-up" });

  // Warm-up: the current epoch is skipped (a distributor that adopted epoch 0 has a zero `_rootEpoch` slot, which
  // would make the next sync pay for a fresh slot); the next one gets a verdict whose only real leaf, `warm`, is claimed.
  const epoch = (await f.config.currentEpoch()) + 1n;
  const tree = buildRewardsTree([
    { device: warm, cumulativeAmount: MESH },
    { device: filler(1, 1)[0].device, cumulativeAmount: MESH },
  ]);
  await settle(f, epoch, { rewardsRoot: tree.root });
  await f.distributor.connect(f.outsider).claim(warm, MESH, tree.getProof(0));
  return { ...f, devices };
}
type ClaimsFixture = Awaited<ReturnType<typeof claimsFixture>>;

export interface EpochFigures {
  relay: bigint;
  finalise: bigint;
  /** sync() alone, right after finalisation. */
  sync: bigint;
  /** D0's claim, the first after finalisation, which syncs. */
  firstClaim: bigint;
  /** D1's claim. */
  claim: bigint;
  /** claimMany of the other devices. */
  batch: bigint;
  batchSize: number;
  proofD0: number;
  proofD1: number;
  meanProofBatch: number;
}

export interface SizeFigures {
  leaves: number;
  /** Milliseconds per tree built (two epochs). */
  buildMs: number[];
  /** Devices claim for the first time. */
  first: EpochFigures;
  /** The same devices claim again one epoch later. */
  again: EpochFigures;
}

/** One epoch with a rewards tree of `leaves` leaves whose real devices get `amounts`; measures every step. */
async function measureEpoch(
  f: ClaimsFixture,
  leaves: number,
  amounts: bigint[],
  fill: RewardLeaf[],
  buildMs: number[],
): Promise<EpochFigures> {
  const real = amounts.length;
  const t0 = Date.now();
  const tree = buildRewardsTree([...amounts.map((cumulativeAmount, i) => ({ device: f.devices[i], cumulativeAmount })), ...fill]);
  buildMs.push(Date.now() - t0);
  if (tree.length !== leaves) throw new Error(`tree of ${tree.length} leaves, wanted ${leaves}`);

  const { relay, finalise } = await settle(f, await f.config.currentEpoch(), { rewardsRoot: tree.root });

  const snapshot = await takeSnapshot();
  const sync = await gasOf(f.distributor.connect(f.outsider).sync());
  await snapshot.restore();

  const d = f.distributor.connect(f.outsider);
  const args = (i: number) => ({ device: f.devices[i], cumulativeAmount: amounts[i], proof: tree.getProof(i) });
  const a0 = args(0);
  const firstClaim = await gasOf(d.claim(a0.device, a0.cumulativeAmount, a0.proof));
  const a1 = args(1);
  const claim = await gasOf(d.claim(a1.device, a1.cumulativeAmount, a1.proof));
  const batchArgs = Array.from({ length: real - 2 }, (_, k) => args(k + 2));
  const batch = await gasOf(d.claimMany(batchArgs));
  for (let i = 0; i < real; i++) {
    const claimed = await f.distributor.claimed(f.devices[i]);
    if (claimed !== amounts[i]) throw new Error(`device ${i} claimed ${claimed}, wanted ${amounts[i]}`);
  }
  return {
    relay,
    finalise,
    sync,
    firstClaim,
    claim,
    batch,
    batchSize: batchArgs.length,
    proofD0: a0.proof.length,
    proofD1: a1.proof.length,
    meanProofBatch: batchArgs.reduce((s, a) => s + a.proof.length, 0) / batchArgs.length,
  };
}

/** Verdict and claim gas for each tree size, each from the same chain state. */
export async function measureClaimsBySize(sizes: readonly number[]): Promise<SizeFigures[]> {
  const results: SizeFigures[] = [];
  for (const leaves of sizes) {
    const f = await loadFixture(claimsFixture);
    const real = Math.min(DEVICES, leaves); // a 10-leaf tree holds D0, D1 and a batch of 8
    const fill = filler(leaves - real, leaves);
    const buildMs: number[] = [];
    const amounts = (unit: bigint) => Array.from({ length: real }, (_, i) => BigInt(i + 1) * unit * MESH);
    const first = await measureEpoch(f, leaves, amounts(10n), fill, buildMs);
    const again = await measureEpoch(f, leaves, amounts(25n), fill, buildMs);
    results.push({ leaves, buildMs, first, again });
  }
  return results;
}

/* MISSED EPOCHS */

export interface MissedEpochsFigures {
  epochs: number;
  /** The first claim after the last finalisation (it syncs). */
  withSync: bigint;
  /** The same claim once synced. */
  synced: bigint;
}

/**
 * A device claims, then `epochs` more epochs are finalised (each with a new cumulative amount), then it claims the
 * last amount: the same calldata whatever `epochs` is (16-leaf trees, so every proof has 4 elements).
 */
export async function measureMissedEpochs(missed: readonly number[]): Promise<MissedEpochsFigures[]> {
  const results: MissedEpochsFigures[] = [];
  const FINAL = 100n * MESH;
  for (const epochs of missed) {
    const f = await loadFixture(claimsFixture);
    const d = f.distributor.connect(f.outsider);
    const fill = filler(15, 16);
    const treeFor = (amount: bigint) => buildRewardsTree([{ device: f.devices[0], cumulativeAmount: amount }, ...fill]);
    let epoch = await f.config.currentEpoch();
    const start = treeFor(MESH);
    await settle(f, epoch, { rewardsRoot: start.root });
    await d.claim(f.devices[0], MESH, start.getProof(0));
    for (let k = 1; k <= epochs; k++) {
      epoch += 1n;
      await settle(f, epoch, { rewardsRoot: treeFor(k === epochs ? FINAL : MESH + BigInt(k)).root });
    }
    const proof = treeFor(FINAL).getProof(0);
    if (proof.length !== 4) throw new Error(`proof of ${proof.length} elements, wanted 4`);
    const s = await takeSnapshot();
    const withSync = await gasOf(d.claim(f.devices[0], FINAL, proof));
    await s.restore();
    await d.sync();
    const synced = await gasOf(d.claim(f.devices[0], FINAL, proof));
    results.push({ epochs, withSync, synced });
  }
  return results;
}
