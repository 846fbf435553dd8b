import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import { LEASE_LEAF_ENCODING } from "../../sdk/trees";
import type { OrderTermsStruct } from "../../typechain-types/contracts/Marketplace";
import { MESH, ResourceClass, protocolFixture, registerDevice, type ProtocolFixture } from "./fixtures";
import { makeVerdict, signedBy } from "./verdicts";

export { LEASE_LEAF_ENCODING };

export const HOUR = 3_600n;
export const BPS = 10_000n;
/** ProtocolConfig defaults the marketplace reads. */
export const CHALLENGE_WINDOW = 12n * HOUR; // VerdictChallengeWindow
export const MARKET_FEE_BPS = 100n;
export const BID_DEPOSIT = 5n * MESH;
export const COMMIT_WINDOW = HOUR;
export const REVEAL_WINDOW = HOUR;
export const UNREVEALED_FORFEIT_BPS = 2_000n;
export const SETTLEMENT_BOUNTY_BPS = 50n;
export const LEASE_NOTICE_EPOCHS = 1n;
export const SLA_BREACH_EPOCHS = 3n;
/** Marketplace constants. */
export const SETTLEMENT_GRACE = 30n * 86_400n;
export const FAULT_LEAF_ENCODING = ["address", "uint8", "bytes32"];

export { LeaseStatus, OrderStatus } from "../../sdk/enums";

export type MarketFixture = ProtocolFixture & {
  /** alice's Storage disks (1,000 and 500 GiB, no location), sorted by address. */
  aliceDisks: string[];
  /** bob's Storage disk (1,000 GiB, no location) and ComputeCpu device (8 vCPU). */
  bobDisk: string;
  bobCpu: string;
};

/**
 * protocolFixture plus: alice (1,000 MESH self-stake) runs two Storage disks besides her Coverage device; bob stakes
 * 1,000 MESH and runs a Storage disk and a ComputeCpu device; carol (customer) and alice, bob, dave, fisher approved
 * the marketplace for MESH.
 */
export async function marketFixture(): Promise<MarketFixture> {
  const f = await protocolFixture();
  const disk1 = await registerDevice(f.registry, f.alice, {
    label: "market-alice-disk-1",
    resourceClass: ResourceClass.Storage,
    capacity: 1_000n,
  });
  const disk2 = await registerDevice(f.registry, f.alice, {
    label: "market-alice-disk-2",
    resourceClass: ResourceClass.Storage,
    capacity: 500n,
  });
  await f.staking.connect(f.bob).stake(1_000n * MESH);
  const bobDisk = await registerDevice(f.registry, f.bob, {
    label: "market-bob-disk",
    resourceClass: ResourceClass.Storage,
    capacity: 1_000n,
  });
  const bobCpu = await registerDevice(f.registry, f.bob, {
    label: "market-bob-cpu",
    resourceClass: ResourceClass.ComputeCpu,
    capacity: 8n,
  });
  for (const actor of [f.alice, f.bob, f.carol, f.dave, f.fisher]) {
    await f.token.connect(actor).approve(f.marketplace, ethers.MaxUint256);
  }
  return { ...f, aliceDisks: sortAddresses([disk1, disk2]), bobDisk, bobCpu };
}

export function sortAddresses(addresses: string[]): string[] {
  return [...addresses].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}

/** Order terms with defaults: Storage, 90 % service level, 10 epochs, 500 GiB, MESH, at most 10 MESH per epoch. */
export function orderTerms(f: ProtocolFixture, overrides: Partial<OrderTermsStruct> = {}): OrderTermsStruct {
  return {
    resourceClass: ResourceClass.Storage,
    minDeliveryBps: 9_000,
    durationEpochs: 10,
    capacity: 500n,
    token: f.token.target as string,
    maxPricePerEpoch: 10n * MESH,
    minStake: 100n * MESH,
    region: [],
    ...overrides,
  };
}

/** Posts an order for `customer` and returns its id. */
export async function postOrder(
  f: ProtocolFixture,
  customer: HardhatEthersSigner,
  overrides: Partial<OrderTermsStruct> = {},
  escrow: bigint = 100n * MESH,
): Promise<bigint> {
  await f.marketplace.connect(customer).postOrder(orderTerms(f, overrides), escrow);
  return f.marketplace.orderCount();
}

/** keccak256(abi.encode(orderId, provider, pricePerEpoch, devices, salt)), computed off-chain. */
export function bidCommitment(
  orderId: bigint,
  provider: string,
  pricePerEpoch: bigint,
  devices: readonly string[],
  salt: string,
): string {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(
      ["uint256", "address", "uint128", "address[]", "bytes32"],
      [orderId, provider, pricePerEpoch, devices, salt],
    ),
  );
}

/** A sealed bid as its provider keeps it until the reveal. */
export interface SealedBid {
  provider: HardhatEthersSigner;
  price: bigint;
  devices: string[];
  salt: string;
}

/** Commits `provider`'s bid of `price` with `devices` on `orderId`; returns what the reveal needs. */
export async function commitBid(
  f: ProtocolFixture,
  orderId: bigint,
  provider: HardhatEthersSigner,
  price: bigint,
  devices: string[],
): Promise<SealedBid> {
  const salt = ethers.id(`salt:${orderId}:${provider.address}:${price}`);
  await f.marketplace.connect(provider).commitBid(orderId, bidCommitment(orderId, provider.address, price, devices, salt));
  return { provider, price, devices, salt };
}

export function revealBid(f: ProtocolFixture, orderId: bigint, bid: SealedBid) {
  return f.marketplace.connect(bid.provider).revealBid(orderId, bid.price, bid.devices, bid.salt);
}

/** Moves time to the opening of the reveal window of `orderId` (no-op if already there). */
export async function toReveal(f: ProtocolFixture, orderId: bigint): Promise<void> {
  const { commitEndsAt } = await f.marketplace.getOrder(orderId);
  if (BigInt(await time.latest()) < commitEndsAt) await time.increaseTo(commitEndsAt);
}

/** Moves time to the end of the reveal window of `orderId` (no-op if already there). */
export async function toClose(f: ProtocolFixture, orderId: bigint): Promise<void> {
  const { revealEndsAt } = await f.marketplace.getOrder(orderId);
  if (BigInt(await time.latest()) < revealEndsAt) await time.increaseTo(revealEndsAt);
}

/** Commits every bid, reveals them (in the given order) and closes the auction; returns the order (= lease) id. */
export async function runAuction(f: ProtocolFixture, orderId: bigint, bids: SealedBid[]): Promise<void> {
  await toReveal(f, orderId);
  for (const bid of bids) await revealBid(f, orderId, bid);
  await toClose(f, orderId);
  await f.marketplace.closeAuction(orderId);
}

export type LeaseValue = [bigint, bigint, bigint];
export type LeasesTree = StandardMerkleTree<LeaseValue>;
export type FaultValue = [string, number, string];

/** The leases tree of (leaseId, cumulative delivered bps, cumulative breaches) leaves. */
export function leasesTree(values: LeaseValue[]): LeasesTree {
  return StandardMerkleTree.of(values, LEASE_LEAF_ENCODING);
}

/** Proof of lease `leaseId`'s leaf in `tree`. */
export function leaseProof(tree: LeasesTree, leaseId: bigint): { delivered: bigint; breaches: bigint; proof: string[] } {
  for (const [i, [id, delivered, breaches]] of tree.entries()) {
    if (BigInt(id) === leaseId) return { delivered: BigInt(delivered), breaches: BigInt(breaches), proof: tree.getProof(i) };
  }
  throw new Error(`no leaf for lease ${leaseId}`);
}

/** Evidence of a ServiceLevelBreach fault: the lease id as bytes32 (as the aggregator makes it). */
export { serviceLevelEvidence as leaseEvidence } from "../../oracles/aggregate";

export interface FinaliseOptions {
  leases?: LeaseValue[];
  faults?: FaultValue[];
  /** Leave the verdict pending (submitted, challenge window open). */
  pending?: boolean;
}

export interface FinalisedTrees {
  leases?: LeasesTree;
  faults?: StandardMerkleTree<FaultValue>;
}

/**
 * Waits until `epoch` has ended, relays a verdict signed by 3 of the 5 oracles whose leasesRoot (and faultsRoot)
 * commit to the given leaves (ZeroHash when none), waits out the challenge window and finalises it.
 */
export async function finaliseEpoch(
  f: ProtocolFixture,
  epoch: bigint,
  options: FinaliseOptions = {},
): Promise<FinalisedTrees> {
  const endsAt = await f.config.epochEnd(epoch);
  if (BigInt(await time.latest()) < endsAt) await time.increaseTo(endsAt);
  const trees: FinalisedTrees = {};
  if (options.leases?.length) trees.leases = leasesTree(options.leases);
  if (options.faults?.length) trees.faults = StandardMerkleTree.of(options.faults, FAULT_LEAF_ENCODING);
  const verdict = makeVerdict(epoch, {
    leasesRoot: trees.leases?.root ?? ethers.ZeroHash,
    faultsRoot: trees.faults?.root ?? ethers.ZeroHash,
  });
  await f.hub.connect(f.outsider).submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  if (options.pending) return trees;
  await time.increase(CHALLENGE_WINDOW);
  await f.hub.connect(f.outsider).finaliseVerdict(epoch);
  return trees;
}

/** Settles `leaseId` against the leaf in `tree` (the finalised verdict of `epoch`). */
export function settleWith(
  f: ProtocolFixture,
  by: HardhatEthersSigner,
  leaseId: bigint,
  epoch: bigint,
  tree: LeasesTree,
) {
  const { delivered, breaches, proof } = leaseProof(tree, leaseId);
  return f.marketplace.connect(by).settle(leaseId, epoch, delivered, breaches, proof);
}
