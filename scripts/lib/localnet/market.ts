/**
 * The demand side of `npm start`: a customer rents CPU compute and storage through the Marketplace. Each order runs
 * its sealed-bid reverse auction (two providers bid per order; the CLI provider bids through the operator CLI), the
 * winners' leases are settled against every finalised verdict's leases root (compute by the customer, storage by a
 * third-party keeper who earns the settlement bounty), and the providers withdraw what they earned.
 */
import { ethers, type HDNodeWallet } from "ethers";

import { LeaseStatus, ResourceClass } from "../../../sdk/enums";
import type { Fleet } from "../../../oracles/agent";
import type { VerdictFile } from "./epochs";
import { advanceTo, MESH, type Network, type RegisteredFleet } from "./network";

/** A rented resource: one order, its auction and its lease. */
export interface Rental {
  leaseId: bigint;
  resourceClass: ResourceClass;
  provider: string;
  device: string;
  pricePerEpoch: bigint;
  /** Bids committed and the best losing price (null: a single bid). */
  bids: number;
  losingPrice: bigint | null;
  /** Who settles this lease after each verdict. */
  settledBy: "customer" | "keeper";
}

/** A bidder: an operator and one of its Active devices of the order's class. */
interface Bidder {
  wallet: HDNodeWallet;
  device: string;
  price: bigint;
}

/** The operator CLI, run as the provider would (resolves with its output). */
export type ProviderCli = (...args: string[]) => Promise<string>;

export interface RentalOptions {
  customer: HDNodeWallet;
  /** Lease term in epochs (the leases start with the next epoch). */
  epochs: number;
  /** The CLI provider and its ComputeCpu device: it bids on the compute order through `cli`. */
  cliProvider: { address: string; device: string; cli: ProviderCli };
}

const COMPUTE_MAX_PRICE = 20n * MESH;
const STORAGE_MAX_PRICE = 10n * MESH;
const MIN_DELIVERY_BPS = 9_000;
/** MESH each fleet bidder gets for its bid deposit (its own MESH is all staked). */
const BID_FUNDS = 100n * MESH;

/**
 * Posts a compute order and, when the fleet has an honest storage device, a storage order; runs the auctions (moves
 * chain time through the commit and reveal windows, about two hours) and closes them. Fleet bidders are honest
 * devices of distinct operators.
 */
export async function rentResources(
  network: Network,
  fleet: Fleet,
  registered: RegisteredFleet,
  options: RentalOptions,
): Promise<Rental[]> {
  const { marketplace, token, registry } = network.contracts;
  const market = await marketplace.getAddress();
  const customer = options.customer;
  await (await network.deployer.sendTransaction({ to: customer.address, value: 10n * MESH })).wait();
  const budget = BigInt(options.epochs) * (COMPUTE_MAX_PRICE + STORAGE_MAX_PRICE);
  await (await token.connect(network.deployer).transfer(customer.address, budget)).wait();
  await (await token.connect(customer).approve(market, budget)).wait();

  const wallets = new Map(registered.operators.map((o) => [o.wallet.address, o.wallet]));
  const honest = (c: ResourceClass, exclude: readonly string[]): Bidder[] => {
    const out: Bidder[] = [];
    for (const m of fleet.members) {
      const operator = registered.operatorOf.get(m.device.address);
      if (m.behaviour !== "honest" || m.device.resourceClass !== c || operator === undefined) continue;
      if (exclude.includes(operator) || out.some((b) => b.wallet.address === operator)) continue;
      out.push({ wallet: wallets.get(operator)!, device: m.device.address, price: 0n });
    }
    return out;
  };
  // Two bidders per order where the fleet has them (a small fleet may leave one).
  const storageBidders = honest(ResourceClass.Storage, []).slice(0, 2);
  const computeRivals = honest(ResourceClass.ComputeCpu, [options.cliProvider.address]).slice(0, 1);
  storageBidders.forEach((b, i) => (b.price = (6n + 2n * BigInt(i)) * MESH));
  computeRivals.forEach((b) => (b.price = 18n * MESH));

  /** An order every bidder's device can serve: the smallest of their capacities. */
  const post = async (resourceClass: ResourceClass, devices: string[], maxPrice: bigint): Promise<bigint> => {
    const capacities = await Promise.all(devices.map(async (d) => (await registry.getDevice(d)).capacity));
    const capacity = capacities.reduce((a, b) => (a < b ? a : b));
    const terms = {
      resourceClass,
      minDeliveryBps: MIN_DELIVERY_BPS,
      durationEpochs: options.epochs,
      capacity,
      token: await token.getAddress(),
      maxPricePerEpoch: maxPrice,
      minStake: 0n,
      region: [],
    };
    const receipt = await (await marketplace.connect(customer).postOrder(terms, maxPrice * BigInt(options.epochs))).wait();
    const posted = receipt!.logs.map((l) => marketplace.interface.parseLog(l)).find((e) => e?.name === "OrderPosted");
    return posted!.args.orderId as bigint;
  };
  const computeDevices = [options.cliProvider.device, ...computeRivals.map((b) => b.device)];
  const computeOrder = await post(ResourceClass.ComputeCpu, computeDevices, COMPUTE_MAX_PRICE);
  // A fleet too small to hold an honest storage device rents compute only.
  const storageOrder =
    storageBidders.length === 0 ? null : await post(ResourceClass.Storage, storageBidders.map((b) => b.device), STORAGE_MAX_PRICE);

  // Commit: fleet bidders directly, the CLI provider with `market bid` (it keeps its salt in a bid file).
  const salts = new Map<string, string>();
  const commit = async (orderId: bigint, b: Bidder): Promise<void> => {
    const salt = ethers.hexlify(ethers.randomBytes(32));
    salts.set(`${orderId}:${b.wallet.address}`, salt);
    const commitment = await marketplace.bidCommitment(orderId, b.wallet.address, b.price, [b.device], salt);
    await (await token.connect(network.deployer).transfer(b.wallet.address, BID_FUNDS)).wait(); // the bid deposit
    await (await token.connect(b.wallet).approve(market, ethers.MaxUint256)).wait();
    await (await marketplace.connect(b.wallet).commitBid(orderId, commitment)).wait();
  };
  const cliPrice = "15";
  await options.cliProvider.cli("market", "bid", computeOrder.toString(), "--price", cliPrice, "--device", options.cliProvider.device);
  const fleetBids = [
    ...computeRivals.map((b) => [computeOrder, b] as const),
    ...storageBidders.map((b) => [storageOrder!, b] as const),
  ];
  for (const [orderId, b] of fleetBids) await commit(orderId, b);

  const order = await marketplace.getOrder(computeOrder);
  await advanceTo(network.provider, order.commitEndsAt);
  await options.cliProvider.cli("market", "reveal", computeOrder.toString());
  for (const [orderId, b] of fleetBids) {
    const salt = salts.get(`${orderId}:${b.wallet.address}`)!;
    await (await marketplace.connect(b.wallet).revealBid(orderId, b.price, [b.device], salt)).wait();
  }
  const orders = storageOrder === null ? [computeOrder] : [computeOrder, storageOrder];
  await advanceTo(network.provider, (await marketplace.getOrder(orders.at(-1)!)).revealEndsAt);
  for (const orderId of orders) {
    await (await marketplace.connect(network.deployer).closeAuction(orderId)).wait();
  }

  const rental = async (leaseId: bigint, resourceClass: ResourceClass, settledBy: Rental["settledBy"]): Promise<Rental> => {
    const lease = await marketplace.getLease(leaseId);
    const bids = await marketplace.getBids(leaseId);
    const losing = bids.filter((b) => b.provider !== lease.provider && b.revealed).map((b) => b.pricePerEpoch);
    return {
      leaseId,
      resourceClass,
      provider: lease.provider,
      device: lease.devices[0],
      pricePerEpoch: lease.pricePerEpoch,
      bids: bids.length,
      losingPrice: losing.length === 0 ? null : losing.reduce((a, b) => (a < b ? a : b)),
      settledBy,
    };
  };
  const rentals = [await rental(computeOrder, ResourceClass.ComputeCpu, "customer")];
  if (storageOrder !== null) rentals.push(await rental(storageOrder, ResourceClass.Storage, "keeper"));
  return rentals;
}

/**
 * Settles every still-active rental against the finalised verdict of `file`'s epoch: the compute lease by the
 * customer, the storage lease by a keeper (`keeper`, earning the bounty). Returns the leases settled.
 */
export async function settleRentals(
  network: Network,
  rentals: readonly Rental[],
  file: VerdictFile,
  signers: { customer: HDNodeWallet; keeper: HDNodeWallet },
): Promise<bigint[]> {
  const { marketplace } = network.contracts;
  const settled: bigint[] = [];
  for (const r of rentals) {
    const lease = await marketplace.getLease(r.leaseId);
    const entry = file.leases.find((l) => BigInt(l.leaseId) === r.leaseId);
    if (Number(lease.status) !== LeaseStatus.Active || entry === undefined || BigInt(file.epoch) <= lease.settledThrough) continue;
    const by = r.settledBy === "customer" ? signers.customer : signers.keeper;
    const tx = await marketplace.connect(by).settle(r.leaseId, BigInt(file.epoch), BigInt(entry.delivered), BigInt(entry.breaches), entry.proof);
    await tx.wait();
    settled.push(r.leaseId);
  }
  return settled;
}

/** What a lease paid, from its `LeaseSettled` events. */
export interface RentalUsage {
  leaseId: string;
  resourceClass: string;
  provider: string;
  pricePerEpoch: string;
  bids: number;
  losingPrice: string | null;
  epochsSettled: number;
  /** Mean delivered fraction over the settled epochs, in percent. */
  deliveredPercent: number;
  paid: string;
  refunded: string;
  fees: string;
  bounties: string;
  status: string;
}

export async function rentalUsage(network: Network, rentals: readonly Rental[]): Promise<RentalUsage[]> {
  const { marketplace } = network.contracts;
  const out: RentalUsage[] = [];
  for (const r of rentals) {
    const lease = await marketplace.getLease(r.leaseId);
    const events = await marketplace.queryFilter(marketplace.filters.LeaseSettled(r.leaseId));
    const sum = (pick: (a: (typeof events)[number]["args"]) => bigint): bigint => events.reduce((s, e) => s + pick(e.args), 0n);
    const epochsSettled = Number(lease.settledThrough - lease.startEpoch + 1n);
    out.push({
      leaseId: r.leaseId.toString(),
      resourceClass: Object.keys(ResourceClass)[r.resourceClass],
      provider: r.provider,
      pricePerEpoch: r.pricePerEpoch.toString(),
      bids: r.bids,
      losingPrice: r.losingPrice?.toString() ?? null,
      epochsSettled,
      deliveredPercent: epochsSettled === 0 ? 0 : Number(lease.delivered) / epochsSettled / 100,
      paid: sum((a) => a.paid).toString(),
      refunded: sum((a) => a.refunded).toString(),
      fees: sum((a) => a.fee).toString(),
      bounties: sum((a) => a.bounty).toString(),
      status: Object.keys(LeaseStatus)[Number(lease.status)],
    });
  }
  return out;
}
