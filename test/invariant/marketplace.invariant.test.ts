/**
 * Model-based property test (fast-check) of the Marketplace's escrow accounting.
 *
 * Each run reverts the chain to `marketFixture` plus one more Storage disk for each provider (alice and bob run three
 * each) and plays a random sequence of steps:
 *
 *  - order: carol or dave posts an order (random term, maximum price with odd wei, escrow from one epoch to 1.5 x the
 *    term, service level, capacity, minimum stake); 0..2 providers commit bids (a random price up to the maximum, on
 *    a free disk) and reveal them or not; then the customer cancels (no bids) or the auction closes (lowest price
 *    wins, ties to the earlier commitment; unrevealed deposits lose `UnrevealedForfeitBps`);
 *  - epoch: the current epoch ends and is either skipped (no verdict) or gets a verdict, finalised after the
 *    challenge window, whose leases root holds, for every active lease that has started, the cumulative delivered
 *    bps (+ random 0..10,000 for the epoch, carried unchanged past the lease's end) and breaches (as the oracles
 *    compute them, spec leases.md);
 *  - settle (customer, provider or a third party, against any finalised verdict past the settled epochs), topUp
 *    (customer or third party, random amount), giveNotice (customer or provider), closeForBreach, expireLease, a time
 *    jump of days, withdraw (any account), sweepFees, and a governance change of MarketFeeBps / SettlementBountyBps.
 *
 * Every transaction's outcome is predicted (exact custom error, or exact credits, fees, bounties and lease fields).
 * After every step, from chain reads:
 *   M1 balanceOf(marketplace) == sum of credits (every account that ever got one) + feesAccrued + escrow of active
 *      leases + escrow of open orders + deposits of open orders' bids
 *   M2 each active lease's escrow pays exactly the epochs settledThrough + 1 .. endEpoch (plus less than one epoch of
 *      top-up dust); endEpoch <= termEndEpoch; its devices are bound to it; an ended lease holds nothing
 *   M3 per lease: escrow funded (order escrow + top-ups) == customer refunds + provider payments + fees + bounties +
 *      escrow still held, each term measured as a credit change on the chain
 *   M4 credits and fees equal the model's
 * At the end every lease is expired or settled, everyone withdraws and the fees are swept: the marketplace holds
 * nothing, and per lease: refunds + payments + fees + bounties == escrow funded; the provider's gross payment equals
 * the sum over settlements of floor(newly delivered bps x price / 10,000), never more than price x delivered / 10,000
 * nor price x settled epochs.
 *
 * Environment: MARKET_INVARIANT_RUNS (default 10), MARKET_INVARIANT_STEPS (max random steps per run after 1..3 orders, default 30),
 * MARKET_INVARIANT_SEED (replay a seed), INVARIANT_SHRINK_MS (shrinking budget, default 20 s), INVARIANT_STATS=1.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { MESH, Param, ResourceClass, registerDevice } from "../helpers/fixtures";
import {
  BPS,
  LeaseStatus,
  OrderStatus,
  SETTLEMENT_GRACE,
  bidCommitment,
  finaliseEpoch,
  leaseProof,
  marketFixture,
  orderTerms,
  sortAddresses,
  toClose,
  toReveal,
  type LeasesTree,
  type MarketFixture,
} from "../helpers/market";
import { assertScenarios, printStats } from "../helpers/property";

/* ------------------------------------------------------------------------------------------------------------------ */
/* Parameters                                                                                                          */
/* ------------------------------------------------------------------------------------------------------------------ */

const NUM_RUNS = Number(process.env.MARKET_INVARIANT_RUNS ?? 10);
const MAX_STEPS = Number(process.env.MARKET_INVARIANT_STEPS ?? 30);
const SHRINK_BUDGET_MS = Number(process.env.INVARIANT_SHRINK_MS ?? 20_000);
const DAY = 86_400n;
const HALF_DAY = DAY / 2n;

type InvFixture = MarketFixture & { disks: [string[], string[]] };

/** marketFixture plus a third Storage disk for alice and two more for bob (three free disks each to lease). */
async function invariantFixture(): Promise<InvFixture> {
  const f = await marketFixture();
  const extra = async (op: HardhatEthersSigner, label: string) =>
    registerDevice(f.registry, op, { label, resourceClass: ResourceClass.Storage, capacity: 500n });
  const alice3 = await extra(f.alice, "market-inv-alice-3");
  const bob2 = await extra(f.bob, "market-inv-bob-2");
  const bob3 = await extra(f.bob, "market-inv-bob-3");
  return { ...f, disks: [sortAddresses([...f.aliceDisks, alice3]), sortAddresses([f.bobDisk, bob2, bob3])] };
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Steps                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

interface BidSpec {
  provider: 0 | 1; // alice, bob
  priceBps: number; // price = max(1, maxPrice x priceBps / 10,000)
  reveal: boolean;
}

type Step =
  | {
      t: "order";
      customer: 0 | 1; // carol, dave
      duration: number;
      maxPrice: bigint;
      escrowBps: number; // escrow = maxPrice + maxPrice x duration x escrowBps / 10,000
      minBps: number;
      capacity: bigint;
      minStake: bigint;
      bids: BidSpec[];
      cancel: boolean;
    }
  | { t: "epoch"; skip: boolean; bps: number[] }
  | { t: "settle"; lease: number; party: 0 | 1 | 2; pick: number }
  | { t: "topUp"; lease: number; byThirdParty: boolean; amountBps: number }
  | { t: "notice"; lease: number; byProvider: boolean }
  | { t: "breach"; lease: number }
  | { t: "expire"; lease: number }
  | { t: "jump"; days: number }
  | { t: "withdraw"; who: number }
  | { t: "sweep" }
  | { t: "params"; feeBps: number; bountyBps: number };

const bpsArb = fc.oneof(fc.constant(10_000), fc.constant(0), fc.integer({ min: 0, max: 10_000 }));

const orderArb: fc.Arbitrary<Step> = fc.record({
  t: fc.constant("order" as const),
  customer: fc.constantFrom(0 as const, 1 as const),
  duration: fc.integer({ min: 1, max: 6 }),
  maxPrice: fc.oneof(fc.bigInt({ min: 1n, max: 50n * MESH }), fc.bigInt({ min: 1n, max: 1_000n })),
  escrowBps: fc.oneof(fc.integer({ min: 0, max: 6_000 }), fc.integer({ min: 0, max: 15_000 })),
  minBps: fc.oneof(fc.constant(0), fc.constant(10_000), fc.integer({ min: 0, max: 10_000 })),
  capacity: fc.bigInt({ min: 1n, max: 500n }),
  minStake: fc.bigInt({ min: 0n, max: 1_000n * MESH }),
  bids: fc.array(
    fc.record({
      provider: fc.constantFrom(0 as const, 1 as const),
      priceBps: fc.integer({ min: 1, max: 10_000 }),
      reveal: fc.integer({ min: 0, max: 3 }).map((n) => n !== 0), // one bid in four is never revealed
    }),
    { maxLength: 3 },
  ),
  cancel: fc.boolean(),
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: orderArb, weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant("epoch" as const),
      skip: fc.integer({ min: 0, max: 3 }).map((n) => n === 0), // one epoch in four has no verdict
      bps: fc.array(bpsArb, { minLength: 4, maxLength: 4 }),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("settle" as const),
      lease: fc.nat(31),
      party: fc.constantFrom(0 as const, 1 as const, 2 as const),
      pick: fc.nat(7),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("topUp" as const),
      lease: fc.nat(31),
      byThirdParty: fc.boolean(),
      amountBps: fc.integer({ min: 0, max: 20_000 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ t: fc.constant("notice" as const), lease: fc.nat(31), byProvider: fc.boolean() }),
    weight: 1,
  },
  { arbitrary: fc.record({ t: fc.constant("breach" as const), lease: fc.nat(31) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("expire" as const), lease: fc.nat(31) }), weight: 1 },
  {
    arbitrary: fc.record({
      t: fc.constant("jump" as const),
      days: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 }, fc.integer({ min: 30, max: 40 })),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ t: fc.constant("withdraw" as const), who: fc.nat(4) }), weight: 1 },
  { arbitrary: fc.constant({ t: "sweep" as const }), weight: 1 },
  {
    arbitrary: fc.record({
      t: fc.constant("params" as const),
      feeBps: fc.integer({ min: 0, max: 1_000 }),
      bountyBps: fc.integer({ min: 0, max: 500 }),
    }),
    weight: 1,
  },
);

/** A few orders first (so that most runs have leases to settle), then random steps. */
const scenarioArb = fc
  .tuple(fc.array(orderArb, { minLength: 1, maxLength: 3 }), fc.array(stepArb, { minLength: 4, maxLength: MAX_STEPS }))
  .map(([orders, steps]) => [...orders, ...steps]);

/* ------------------------------------------------------------------------------------------------------------------ */
/* Model                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

interface LeaseModel {
  id: bigint;
  customer: HardhatEthersSigner;
  provider: HardhatEthersSigner;
  price: bigint;
  minBps: bigint;
  start: bigint;
  /** The oracles' cumulative (delivered, breaches) through the last verdict. */
  cum: [bigint, bigint];
  /** Leaf values per finalised verdict epoch. */
  leaves: Map<bigint, [bigint, bigint]>;
  // Accounting, each measured as a change on the chain:
  funded: bigint; // order escrow + top-ups
  refunds: bigint; // customer credits
  providerNet: bigint; // provider credits
  fees: bigint;
  bounties: bigint;
  grossPaid: bigint; // sum of LeaseSettled.paid
  expectedGross: bigint; // sum of floor(newly delivered x price / BPS)
  settledEpochs: bigint;
}

const stats = new Map<string, number>();
const count = (key: string) => stats.set(key, (stats.get(key) ?? 0) + 1);

async function runScenario(steps: Step[]): Promise<void> {
  const f = await loadFixture(invariantFixture);
  const { marketplace: m, token, config } = f;
  const customers = [f.carol, f.dave];
  const providers = [f.alice, f.bob];
  const third = f.fisher;
  const accounts = [f.carol, f.dave, f.alice, f.bob, f.fisher];
  const feeTo = f.treasury;

  const genesis = await config.genesis();
  const epochLength = await config.epochLength();
  const leases: LeaseModel[] = [];
  const verdicts = new Map<bigint, LeasesTree | undefined>();
  const credit = new Map<string, bigint>(accounts.map((a) => [a.address, 0n]));
  let fees = 0n;

  /* chain reads */
  const creditsOf = async () => {
    const c = new Map<string, bigint>();
    for (const a of accounts) c.set(a.address, await m.credit(a.address, token));
    return { c, fees: await m.feesAccrued(token) };
  };
  const latest = async () => BigInt(await time.latest());
  const epochOfNextBlock = async () => config.epochAt((await latest()) + 1n);

  /** M1, M2, M3 and M4. */
  async function checkInvariants(where: string): Promise<void> {
    const { c, fees: chainFees } = await creditsOf();
    for (const a of accounts) expect(c.get(a.address), `${where}: credit of ${a.address}`).to.equal(credit.get(a.address));
    expect(chainFees, `${where}: fees`).to.equal(fees);

    let held = 0n;
    for (const v of c.values()) held += v;
    held += chainFees;
    for (const model of leases) {
      const l = await m.getLease(model.id);
      if (l.status === BigInt(LeaseStatus.Active)) {
        held += l.escrow;
        const epochs = l.endEpoch - l.settledThrough;
        expect(l.escrow >= epochs * l.pricePerEpoch, `${where}: lease ${model.id} escrow covers its epochs`).to.equal(true);
        expect(l.escrow - epochs * l.pricePerEpoch < l.pricePerEpoch, `${where}: lease ${model.id} dust`).to.equal(true);
        expect(l.endEpoch <= l.termEndEpoch).to.equal(true);
        expect(l.settledThrough <= l.endEpoch).to.equal(true);
        for (const d of l.devices) expect(await m.leaseOfDevice(d)).to.equal(model.id);
      } else {
        expect(l.escrow, `${where}: ended lease ${model.id} holds nothing`).to.equal(0n);
        for (const d of l.devices) expect(await m.leaseOfDevice(d)).to.not.equal(model.id);
      }
      // M3
      expect(
        model.refunds + model.providerNet + model.fees + model.bounties + l.escrow,
        `${where}: lease ${model.id} conservation`,
      ).to.equal(model.funded);
      expect(model.grossPaid).to.equal(model.providerNet + model.fees + model.bounties);
    }
    const orders = await m.orderCount();
    for (let id = 1n; id <= orders; id++) {
      const o = await m.getOrder(id);
      if (o.status === BigInt(OrderStatus.Open)) held += o.escrow + BigInt((await m.getBids(id)).length) * o.bidDeposit;
      else expect(o.escrow).to.equal(0n);
    }
    expect(await token.balanceOf(m), `${where}: M1 marketplace balance`).to.equal(held);
  }

  /** Runs a lease transaction and attributes the credit changes to `model`. */
  async function leaseTx(
    model: LeaseModel,
    send: () => Promise<unknown>,
    expected: { customer: bigint; provider: bigint; third: bigint; fee: bigint },
  ): Promise<void> {
    const before = await creditsOf();
    await send();
    const after = await creditsOf();
    const delta = (a: HardhatEthersSigner) => after.c.get(a.address)! - before.c.get(a.address)!;
    const d = { customer: delta(model.customer), provider: delta(model.provider), third: delta(third), fee: after.fees - before.fees };
    expect(d).to.deep.equal(expected);
    model.refunds += d.customer;
    model.providerNet += d.provider;
    model.bounties += d.third;
    model.fees += d.fee;
    credit.set(model.customer.address, credit.get(model.customer.address)! + d.customer);
    credit.set(model.provider.address, credit.get(model.provider.address)! + d.provider);
    credit.set(third.address, credit.get(third.address)! + d.third);
    fees += d.fee;
  }

  /**
   * Lease `i` (0..31) among those `useful` says the step can act on (active ones, by default), or among all leases for
   * i >= 24 or when none is useful (to check the step's refusal).
   */
  async function pickLease(
    i: number,
    useful: (model: LeaseModel, l: Awaited<ReturnType<typeof m.getLease>>) => boolean = (_, l) =>
      l.status === BigInt(LeaseStatus.Active),
  ): Promise<LeaseModel | undefined> {
    const candidates: LeaseModel[] = [];
    for (const model of leases) if (useful(model, await m.getLease(model.id))) candidates.push(model);
    const from = candidates.length === 0 || i >= 24 ? leases : candidates;
    return from.length === 0 ? undefined : from[i % from.length];
  }
  const active = (l: { status: bigint }) => l.status === BigInt(LeaseStatus.Active);
  const settleable = (model: LeaseModel, l: Awaited<ReturnType<typeof m.getLease>>) =>
    l.status === BigInt(LeaseStatus.Active) && [...model.leaves.keys()].some((e) => e > l.settledThrough);

  for (const [i, step] of steps.entries()) {
    const where = `step ${i} (${step.t})`;
    switch (step.t) {
      case "order": {
        const customer = customers[step.customer];
        const escrow = step.maxPrice + (step.maxPrice * BigInt(step.duration) * BigInt(step.escrowBps)) / BPS;
        const terms = orderTerms(f, {
          durationEpochs: step.duration,
          maxPricePerEpoch: step.maxPrice,
          minDeliveryBps: step.minBps,
          capacity: step.capacity,
          minStake: step.minStake,
        });
        await expect(m.connect(customer).postOrder(terms, escrow)).to.changeTokenBalance(token, customer, -escrow);
        const orderId = await m.orderCount();
        const deposit = (await m.getOrder(orderId)).bidDeposit;
        await checkInvariants(`${where} posted`);

        // Bids: one per provider, on a free disk (a provider without one commits and never reveals).
        const bids: { provider: HardhatEthersSigner; price: bigint; devices: string[]; salt: string; reveal: boolean }[] = [];
        const seen = new Set<number>();
        for (const b of step.bids) {
          if (seen.has(b.provider)) continue;
          seen.add(b.provider);
          const provider = providers[b.provider];
          let free: string | undefined;
          for (const d of f.disks[b.provider]) if ((await m.leaseOfDevice(d)) === 0n) free = free ?? d;
          const price = (step.maxPrice * BigInt(b.priceBps)) / BPS || 1n;
          const devices = free ? [free] : [];
          const salt = ethers.id(`inv:${orderId}:${b.provider}`);
          await m.connect(provider).commitBid(orderId, bidCommitment(orderId, provider.address, price, devices, salt));
          bids.push({ provider, price, devices, salt, reveal: b.reveal && free !== undefined });
          await checkInvariants(`${where} committed`);
        }
        if (bids.length === 0 && step.cancel) {
          await m.connect(customer).cancelOrder(orderId);
          credit.set(customer.address, credit.get(customer.address)! + escrow);
          await checkInvariants(`${where} cancelled`);
          count("order: cancelled");
          break;
        }
        await toReveal(f, orderId);
        for (const b of bids.filter((x) => x.reveal)) {
          await m.connect(b.provider).revealBid(orderId, b.price, b.devices, b.salt);
        }
        await checkInvariants(`${where} revealed`);
        await toClose(f, orderId);

        // Prediction: the lowest revealed price, ties to the earlier commitment.
        let winner: (typeof bids)[number] | undefined;
        for (const b of bids) if (b.reveal && (winner === undefined || b.price < winner.price)) winner = b;
        const forfeitBps = await config.param(Param.UnrevealedForfeitBps);
        for (const b of bids) {
          const forfeit = b.reveal ? 0n : (deposit * forfeitBps) / BPS;
          credit.set(b.provider.address, credit.get(b.provider.address)! + deposit - forfeit);
          fees += forfeit;
        }
        const start = (await epochOfNextBlock()) + 1n;
        const feeBps = await config.param(Param.MarketFeeBps);
        await m.connect(third).closeAuction(orderId);
        if (winner === undefined) {
          credit.set(customer.address, credit.get(customer.address)! + escrow);
          expect((await m.getOrder(orderId)).status).to.equal(OrderStatus.Unfilled);
          count("order: unfilled");
        } else {
          const epochs = BigInt(Math.min(step.duration, Number(escrow / winner.price)));
          const surplus = escrow - epochs * winner.price;
          credit.set(customer.address, credit.get(customer.address)! + surplus);
          const l = await m.getLease(orderId);
          expect(l.provider).to.equal(winner.provider.address);
          expect(l.pricePerEpoch).to.equal(winner.price);
          expect(l.startEpoch).to.equal(start);
          expect(l.endEpoch).to.equal(start + epochs - 1n);
          expect(l.termEndEpoch).to.equal(start + BigInt(step.duration) - 1n);
          expect(l.escrow).to.equal(epochs * winner.price);
          expect(l.feeBps).to.equal(feeBps);
          leases.push({
            id: orderId,
            customer,
            provider: winner.provider,
            price: winner.price,
            minBps: BigInt(step.minBps),
            start,
            cum: [0n, 0n],
            leaves: new Map(),
            funded: escrow,
            refunds: surplus,
            providerNet: 0n,
            fees: 0n,
            bounties: 0n,
            grossPaid: 0n,
            expectedGross: 0n,
            settledEpochs: 0n,
          });
          count(epochs < BigInt(step.duration) ? "order: leased (short escrow)" : "order: leased");
        }
        break;
      }

      case "epoch": {
        const epoch = await config.currentEpoch();
        await time.increaseTo(await config.epochEnd(epoch));
        if (step.skip) {
          await time.increase(HALF_DAY);
          count("epoch: skipped");
          break;
        }
        const values: [bigint, bigint, bigint][] = [];
        for (const [k, model] of leases.entries()) {
          const l = await m.getLease(model.id);
          if (l.status !== BigInt(LeaseStatus.Active) || model.start > epoch) continue;
          if (epoch <= l.endEpoch) {
            const bps = BigInt(step.bps[k % step.bps.length]);
            model.cum = [model.cum[0] + bps, model.cum[1] + (bps < model.minBps ? 1n : 0n)];
          }
          model.leaves.set(epoch, [...model.cum]);
          values.push([model.id, ...model.cum]);
        }
        const trees = await finaliseEpoch(f, epoch, { leases: values });
        verdicts.set(epoch, trees.leases);
        count(values.length ? "epoch: verdict with leases" : "epoch: verdict without leases");
        break;
      }

      case "settle": {
        const model = await pickLease(step.lease, settleable);
        if (!model) break;
        const l = await m.getLease(model.id);
        const by = [model.customer, model.provider, third][step.party];
        if (l.status !== BigInt(LeaseStatus.Active)) {
          await expect(m.connect(by).settle(model.id, l.settledThrough + 1n, 0n, 0n, []))
            .to.be.revertedWithCustomError(m, "LeaseNotActive")
            .withArgs(model.id, LeaseStatus.Ended);
          count("settle: LeaseNotActive");
          break;
        }
        const epochs = [...model.leaves.keys()].filter((e) => e > l.settledThrough).sort((a, b) => Number(a - b));
        if (epochs.length === 0) {
          count("settle: nothing to settle");
          break;
        }
        const epoch = epochs[step.pick % epochs.length];
        const tree = verdicts.get(epoch)!;
        const { delivered, breaches, proof } = leaseProof(tree, model.id);
        const through = epoch < l.endEpoch ? epoch : l.endEpoch;
        const due = through - l.settledThrough;
        const cost = due * l.pricePerEpoch;
        const paid = ((delivered - l.delivered) * l.pricePerEpoch) / BPS;
        const fee = (paid * l.feeBps) / BPS;
        const bounty = step.party === 2 ? (paid * (await config.param(Param.SettlementBountyBps))) / BPS : 0n;
        const ends = through === l.endEpoch;
        const dust = ends ? l.escrow - cost : 0n;
        await leaseTx(model, () => m.connect(by).settle(model.id, epoch, delivered, breaches, proof), {
          customer: cost - paid + dust,
          provider: paid - fee - bounty,
          third: bounty,
          fee,
        });
        model.grossPaid += paid;
        model.expectedGross += paid;
        model.settledEpochs += due;
        const after = await m.getLease(model.id);
        expect(after.settledThrough).to.equal(through);
        expect(after.delivered).to.equal(delivered);
        expect(after.breaches).to.equal(breaches);
        expect(after.status).to.equal(ends ? LeaseStatus.Ended : LeaseStatus.Active);
        count(`settle: by ${["customer", "provider", "third party"][step.party]}${ends ? " (ends)" : ""}`);
        break;
      }

      case "topUp": {
        const model = await pickLease(step.lease, (_, l) => active(l) && !l.closing && l.escrow < (l.termEndEpoch - l.settledThrough) * l.pricePerEpoch);
        if (!model) break;
        const l = await m.getLease(model.id);
        const funder = step.byThirdParty ? third : model.customer;
        const needed = (l.termEndEpoch - l.settledThrough) * l.pricePerEpoch - l.escrow;
        const amount = (needed * BigInt(step.amountBps)) / BPS + 1n;
        const tx = () => m.connect(funder).topUp(model.id, amount);
        if (l.status !== BigInt(LeaseStatus.Active)) {
          await expect(tx()).to.be.revertedWithCustomError(m, "LeaseNotActive");
          count("topUp: LeaseNotActive");
        } else if (l.closing) {
          await expect(tx()).to.be.revertedWithCustomError(m, "LeaseClosing").withArgs(model.id);
          count("topUp: LeaseClosing");
        } else if ((await epochOfNextBlock()) > l.endEpoch) {
          await expect(tx()).to.be.revertedWithCustomError(m, "LeaseRanOut").withArgs(model.id, l.endEpoch);
          count("topUp: LeaseRanOut");
        } else if (needed === 0n) {
          await expect(tx()).to.be.revertedWithCustomError(m, "LeaseFullyFunded").withArgs(model.id);
          count("topUp: LeaseFullyFunded");
        } else {
          const pulled = amount < needed ? amount : needed;
          await expect(tx()).to.changeTokenBalance(token, funder, -pulled);
          model.funded += pulled;
          const after = await m.getLease(model.id);
          expect(after.escrow).to.equal(l.escrow + pulled);
          expect(after.endEpoch).to.equal(l.settledThrough + (l.escrow + pulled) / l.pricePerEpoch);
          count(pulled === needed ? "topUp: to the term" : "topUp: partial");
        }
        break;
      }

      case "notice": {
        const model = await pickLease(step.lease, (_, l) => active(l) && !l.closing);
        if (!model) break;
        const l = await m.getLease(model.id);
        const by = step.byProvider ? model.provider : model.customer;
        if (l.status !== BigInt(LeaseStatus.Active)) {
          await expect(m.connect(by).giveNotice(model.id)).to.be.revertedWithCustomError(m, "LeaseNotActive");
          count("notice: LeaseNotActive");
        } else if (l.closing) {
          await expect(m.connect(by).giveNotice(model.id)).to.be.revertedWithCustomError(m, "LeaseClosing");
          count("notice: LeaseClosing");
        } else {
          const last = (await epochOfNextBlock()) + (await config.param(Param.LeaseNoticeEpochs));
          const cut = cutEnd(l, last);
          await leaseTx(model, () => m.connect(by).giveNotice(model.id), { customer: cut.refund, provider: 0n, third: 0n, fee: 0n });
          const after = await m.getLease(model.id);
          expect(after.closing).to.equal(true);
          expect(after.endEpoch).to.equal(cut.end);
          count(cut.refund > 0n ? "notice: cut" : "notice: nothing to cut");
        }
        break;
      }

      case "breach": {
        const model = await pickLease(step.lease, (_, l) => active(l) && l.breaches > 0n);
        if (!model) break;
        const l = await m.getLease(model.id);
        const required = await config.param(Param.SlaBreachEpochs);
        if (l.status !== BigInt(LeaseStatus.Active)) {
          await expect(m.connect(model.customer).closeForBreach(model.id)).to.be.revertedWithCustomError(m, "LeaseNotActive");
          count("breach: LeaseNotActive");
        } else if (l.breaches < required) {
          await expect(m.connect(model.customer).closeForBreach(model.id))
            .to.be.revertedWithCustomError(m, "NotEnoughBreaches")
            .withArgs(model.id, l.breaches, required);
          count("breach: NotEnoughBreaches");
        } else {
          const cut = cutEnd(l, (await epochOfNextBlock()) - 1n);
          const ends = cut.end === l.settledThrough;
          await leaseTx(model, () => m.connect(model.customer).closeForBreach(model.id), {
            customer: cut.refund + (ends ? cut.keep : 0n),
            provider: 0n,
            third: 0n,
            fee: 0n,
          });
          const after = await m.getLease(model.id);
          expect(after.status).to.equal(ends ? LeaseStatus.Ended : LeaseStatus.Active);
          count(ends ? "breach: closed and ended" : "breach: closed, epochs left to settle");
        }
        break;
      }

      case "expire": {
        const now = await latest();
        const model = await pickLease(
          step.lease,
          (_, l) => active(l) && genesis + (l.endEpoch + 1n) * epochLength + SETTLEMENT_GRACE <= now + 1n,
        );
        if (!model) break;
        const l = await m.getLease(model.id);
        if (l.status !== BigInt(LeaseStatus.Active)) {
          await expect(m.connect(third).expireLease(model.id)).to.be.revertedWithCustomError(m, "LeaseNotActive");
          count("expire: LeaseNotActive");
          break;
        }
        const endsAt = (await config.epochEnd(l.endEpoch)) + SETTLEMENT_GRACE;
        if ((await latest()) + 1n < endsAt) {
          await expect(m.connect(third).expireLease(model.id))
            .to.be.revertedWithCustomError(m, "SettlementGraceNotOver")
            .withArgs(model.id, endsAt);
          count("expire: SettlementGraceNotOver");
          break;
        }
        await leaseTx(model, () => m.connect(third).expireLease(model.id), {
          customer: l.escrow,
          provider: 0n,
          third: 0n,
          fee: 0n,
        });
        count("expire: expired");
        break;
      }

      case "jump": {
        await time.increase(BigInt(step.days) * DAY);
        count("jump");
        break;
      }

      case "withdraw": {
        const who = accounts[step.who % accounts.length];
        const owed = credit.get(who.address)!;
        if (owed === 0n) {
          await expect(m.connect(who).withdraw(token)).to.be.revertedWithCustomError(m, "NothingToWithdraw");
          count("withdraw: nothing");
        } else {
          await expect(m.connect(who).withdraw(token)).to.changeTokenBalances(token, [who, m], [owed, -owed]);
          credit.set(who.address, 0n);
          count("withdraw");
        }
        break;
      }

      case "sweep": {
        if (fees === 0n) {
          await expect(m.sweepFees(token)).to.be.revertedWithCustomError(m, "ZeroAmount");
          count("sweep: nothing");
        } else {
          await expect(m.connect(third).sweepFees(token)).to.changeTokenBalances(token, [feeTo, m], [fees, -fees]);
          fees = 0n;
          count("sweep");
        }
        break;
      }

      case "params": {
        if ((await config.param(Param.MarketFeeBps)) !== BigInt(step.feeBps)) {
          await config.setParam(Param.MarketFeeBps, step.feeBps);
        }
        if ((await config.param(Param.SettlementBountyBps)) !== BigInt(step.bountyBps)) {
          await config.setParam(Param.SettlementBountyBps, step.bountyBps);
        }
        count("params");
        break;
      }
    }
    await checkInvariants(where);
  }

  // Wind down: every lease expires (or already ended), everyone withdraws, the fees are swept.
  let last = await latest();
  for (const model of leases) {
    const l = await m.getLease(model.id);
    if (l.status !== BigInt(LeaseStatus.Active)) continue;
    const endsAt = (await config.epochEnd(l.endEpoch)) + SETTLEMENT_GRACE;
    if (endsAt > last) last = endsAt;
  }
  await time.increaseTo(last + 1n);
  for (const model of leases) {
    const l = await m.getLease(model.id);
    if (l.status !== BigInt(LeaseStatus.Active)) continue;
    await leaseTx(model, () => m.connect(third).expireLease(model.id), { customer: l.escrow, provider: 0n, third: 0n, fee: 0n });
  }
  await checkInvariants("wind-down: expired");
  for (const a of accounts) {
    if (credit.get(a.address)! === 0n) continue;
    await m.connect(a).withdraw(token);
    credit.set(a.address, 0n);
  }
  if (fees !== 0n) await m.sweepFees(token);
  fees = 0n;
  await checkInvariants("wind-down: withdrawn and swept");
  expect(await token.balanceOf(m)).to.equal(0n);

  for (const model of leases) {
    const l = await m.getLease(model.id);
    expect(l.status).to.equal(LeaseStatus.Ended);
    expect(model.refunds + model.providerNet + model.fees + model.bounties, `lease ${model.id}`).to.equal(model.funded);
    expect(model.grossPaid).to.equal(model.expectedGross);
    expect(model.grossPaid <= (model.price * l.delivered) / BPS, `lease ${model.id} paid <= delivered`).to.equal(true);
    expect(model.grossPaid <= model.price * model.settledEpochs).to.equal(true);
    expect(l.delivered <= model.cum[0]).to.equal(true);
    expect(l.delivered <= BPS * model.settledEpochs).to.equal(true);
  }
}

/** What `_cutEnd(l, last)` does: the new end and the escrow kept for it, and the refund. */
function cutEnd(
  l: { endEpoch: bigint; settledThrough: bigint; pricePerEpoch: bigint; escrow: bigint },
  last: bigint,
): { end: bigint; keep: bigint; refund: bigint } {
  if (last >= l.endEpoch) return { end: l.endEpoch, keep: l.escrow, refund: 0n };
  const end = last > l.settledThrough ? last : l.settledThrough;
  const keep = (end - l.settledThrough) * l.pricePerEpoch;
  return { end, keep, refund: l.escrow - keep };
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Tests                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

describe("Marketplace invariants (fast-check, model-based escrow accounting)", function () {
  this.timeout(600_000);
  after(() => printStats(stats));

  it("conserves every escrow and never pays a provider more than the verified delivery", async function () {
    await assertScenarios(scenarioArb, runScenario, {
      numRuns: NUM_RUNS,
      shrinkBudgetMs: SHRINK_BUDGET_MS,
      seedVariable: "MARKET_INVARIANT_SEED",
    });
  });

  // A directed scenario through every path, checked like a random one whatever the seed.
  it("a directed scenario: short escrow, top-ups, skipped epochs, bounty, notice, breach close, expiry", async function () {
    const order = (over: Partial<Extract<Step, { t: "order" }>> = {}): Step => ({
      t: "order",
      customer: 0,
      duration: 6,
      maxPrice: 10n * MESH + 7n,
      escrowBps: 5_000,
      minBps: 9_000,
      capacity: 100n,
      minStake: 0n,
      bids: [
        { provider: 0, priceBps: 7_777, reveal: true },
        { provider: 1, priceBps: 7_777, reveal: true },
      ],
      cancel: false,
      ...over,
    });
    const epoch = (bps: number[], skip = false): Step => ({ t: "epoch", skip, bps });
    await runScenario([
      order(), // lease A: alice (tie, earlier commitment), 3.x of 6 epochs funded
      order({ customer: 1, bids: [{ provider: 1, priceBps: 5_000, reveal: true }, { provider: 0, priceBps: 1, reveal: false }] }), // B: bob
      order({ bids: [] }), // unfilled
      order({ bids: [], cancel: true }), // cancelled
      { t: "topUp", lease: 0, byThirdParty: true, amountBps: 3_000 },
      { t: "settle", lease: 0, party: 0, pick: 0 }, // nothing to settle yet
      epoch([0, 0, 0, 0]), // epoch 0: no lease has started
      epoch([10_000, 4_000, 0, 0]),
      { t: "settle", lease: 0, party: 2, pick: 0 },
      epoch([5_000, 0, 0, 0], true),
      epoch([7_000, 0, 0, 0]),
      { t: "settle", lease: 1, party: 1, pick: 1 },
      { t: "params", feeBps: 250, bountyBps: 500 },
      epoch([10_000, 0, 0, 0]),
      { t: "breach", lease: 1 },
      { t: "settle", lease: 1, party: 0, pick: 0 },
      { t: "breach", lease: 1 },
      { t: "settle", lease: 0, party: 0, pick: 5 },
      { t: "topUp", lease: 0, byThirdParty: false, amountBps: 20_000 },
      { t: "notice", lease: 0, byProvider: true },
      { t: "withdraw", who: 2 },
      { t: "sweep" },
      { t: "jump", days: 33 },
      { t: "expire", lease: 0 },
      { t: "expire", lease: 1 },
      { t: "settle", lease: 0, party: 2, pick: 0 },
    ]);
  });

  it("a directed scenario: breach close with unsettled epochs, a carried leaf past the end, a cutting notice", async function () {
    const zero: Step = { t: "epoch", skip: false, bps: [0, 0, 0, 0] };
    await runScenario([
      {
        t: "order",
        customer: 0,
        duration: 6,
        maxPrice: 3n * MESH + 1n,
        escrowBps: 10_000,
        minBps: 10_000,
        capacity: 500n,
        minStake: 1_000n * MESH,
        bids: [{ provider: 0, priceBps: 9_999, reveal: true }],
        cancel: false,
      },
      zero, // epoch 0
      zero,
      zero,
      zero, // epoch 3: three breaches
      { t: "settle", lease: 0, party: 1, pick: 2 },
      { t: "jump", days: 2 },
      { t: "breach", lease: 0 }, // ends at the last ended epoch; two unsettled epochs stay in escrow
      zero, // a leaf past the lease's end: carried
      { t: "settle", lease: 0, party: 2, pick: 0 }, // settles through the end: ends
      {
        t: "order",
        customer: 1,
        duration: 5,
        maxPrice: 1_000n,
        escrowBps: 10_000,
        minBps: 0,
        capacity: 1n,
        minStake: 0n,
        bids: [{ provider: 1, priceBps: 3_333, reveal: true }],
        cancel: false,
      },
      { t: "notice", lease: 1, byProvider: false },
      { t: "epoch", skip: false, bps: [0, 6_789, 0, 0] },
      { t: "epoch", skip: false, bps: [0, 6_789, 0, 0] },
      { t: "settle", lease: 1, party: 2, pick: 1 },
    ]);
  });
});
