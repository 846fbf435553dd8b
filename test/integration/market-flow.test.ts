import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { aggregateEpoch, type AggregateOutput, type DeviceState, type ProofOutcome } from "../../oracles/aggregate";
import { readLeases } from "../../oracles/chain";
import { ProofKind } from "../../oracles/proof";
import { verified } from "../../oracles/verify/result";
import { DeviceStatus, FaultKind, Param, ResourceClass } from "../../sdk/enums";
import { MESH } from "../helpers/fixtures";
import { CHALLENGE_WINDOW, commitBid, marketFixture, postOrder, runAuction, type MarketFixture } from "../helpers/market";
import { signedBy } from "../helpers/verdicts";

const PRICE = 8n * MESH;
const SPLIT = [3_000, 2_500, 1_500, 1_000, 1_000, 1_000];

/**
 * The whole demand-side path with the real aggregator: a storage lease whose provider delivers two epochs and then
 * stops. The oracles' verdicts (aggregateEpoch over the epoch's proof outcomes and the chain's leases) carry the
 * cumulative delivery; one settlement with the last leaf pays exactly the verified epochs, the customer closes the
 * lease for breach and gets the rest back, and the verdict's ServiceLevelBreach fault slashes the provider.
 */
describe("integration: marketplace lease paid from verdicts", function () {
  /** bob's disk wins a 6-epoch storage order of carol's; the service level breaks after 2 epochs below it. */
  async function leaseFixture(): Promise<MarketFixture & { leaseId: bigint }> {
    const f = await loadFixture(marketFixture);
    await f.config.connect(f.governance).setParam(Param.SlaBreachEpochs, 2n);
    const leaseId = await postOrder(f, f.carol, { durationEpochs: 6, capacity: 1_000n }, 6n * PRICE);
    await runAuction(f, leaseId, [await commitBid(f, leaseId, f.bob, PRICE, [f.bobDisk])]);
    return { ...f, leaseId };
  }

  /** The chain state the oracles read at epoch close (the fixture's devices). */
  async function deviceStates(f: MarketFixture): Promise<DeviceState[]> {
    const devices = [f.aliceDevice, ...f.aliceDisks, f.bobDisk, f.bobCpu];
    return Promise.all(
      devices.map(async (device) => {
        const d = await f.registry.getDevice(device);
        return {
          device,
          operator: d.operator,
          resourceClass: Number(d.resourceClass) as ResourceClass,
          status: Number(d.status) as DeviceStatus,
          capacity: d.capacity,
        };
      }),
    );
  }

  /** bob's disk in `epoch`: a heartbeat and a passed storage challenge, or nothing at all. */
  function diskOutcomes(f: MarketFixture, epoch: bigint, delivering: boolean): ProofOutcome[] {
    if (!delivering) return [];
    const evidence = (n: number) => ethers.id(`disk:${epoch}:${n}`);
    return [
      { device: f.bobDisk, kind: ProofKind.Heartbeat, nonce: epoch * 2n, result: verified(0n), evidence: evidence(0) },
      { device: f.bobDisk, kind: ProofKind.StorageChallenge, nonce: epoch * 2n + 1n, result: verified(1_000n), evidence: evidence(1) },
    ];
  }

  /** Aggregates `epoch` as an oracle would, relays the verdict with 3 of 5 signatures and finalises it. */
  async function verdictFor(
    f: MarketFixture,
    epoch: bigint,
    delivering: boolean,
    previous: AggregateOutput | null,
  ): Promise<AggregateOutput> {
    await time.increaseTo(await f.config.epochEnd(epoch));
    const out = aggregateEpoch({
      epoch,
      devices: await deviceStates(f),
      outcomes: diskOutcomes(f, epoch, delivering),
      emission: 0n,
      classSplitBps: SPLIT,
      previous: new Map(previous?.cumulative.map((l) => [l.device, l.cumulativeAmount]) ?? []),
      leases: await readLeases(f.marketplace, epoch),
      previousLeases: new Map(previous?.leases.map((l) => [l.leaseId, l]) ?? []),
      slaBreachEpochs: Number(await f.config.param(Param.SlaBreachEpochs)),
    });
    await f.hub.submitVerdict(out.verdict, await signedBy(f.hub, out.verdict, f.oracles.slice(0, 3)));
    await time.increase(CHALLENGE_WINDOW);
    await f.hub.finaliseVerdict(epoch);
    return out;
  }

  it("pays only the verified epochs, refunds the rest, and faults the provider that stopped delivering", async function () {
    const f = await loadFixture(leaseFixture);
    const { marketplace, token, leaseId } = f;
    const lease = await marketplace.getLease(leaseId);
    const escrowBefore = await token.balanceOf(marketplace);

    // Epochs start, start + 1 delivered; start + 2, start + 3 not: two breaches reach SlaBreachEpochs = 2.
    let out: AggregateOutput | null = null;
    const start = lease.startEpoch;
    for (const [epoch, delivering] of [[start, true], [start + 1n, true], [start + 2n, false], [start + 3n, false]] as const) {
      out = await verdictFor(f, epoch, delivering, out);
    }
    const leaf = out!.leases.find((l) => l.leaseId === leaseId)!;
    expect([leaf.delivered, leaf.breaches, leaf.deliveredBps]).to.deep.equal([20_000n, 2n, 0]);
    const fault = out!.faults.find((x) => x.device === f.bobDisk && x.kind === FaultKind.ServiceLevelBreach)!;
    expect(fault.evidence).to.equal(ethers.zeroPadValue(ethers.toBeHex(leaseId), 32));

    // A keeper settles the four epochs with one leaf; carol then closes the lease for breach.
    const lastEpoch = start + 3n;
    await expect(marketplace.connect(f.dave).settle(leaseId, lastEpoch, leaf.delivered, leaf.breaches, leaf.proof))
      .to.emit(marketplace, "LeaseSettled")
      .withArgs(leaseId, lastEpoch, lastEpoch, 2n * PRICE, 2n * PRICE, (2n * PRICE) / 100n, (2n * PRICE * 50n) / 10_000n, f.dave.address);
    await expect(marketplace.connect(f.carol).closeForBreach(leaseId))
      .to.emit(marketplace, "LeaseClosedForBreach")
      .withArgs(leaseId, 2, lastEpoch)
      .and.to.emit(marketplace, "LeaseEnded")
      .withArgs(leaseId, 0n, false);
    expect(await marketplace.leaseOfDevice(f.bobDisk)).to.equal(0n);

    // Paid: 2 of 6 epochs, less fee and bounty. Refunded: 2 undelivered epochs plus 2 never run.
    const paid = 2n * PRICE;
    const fee = paid / 100n;
    const bounty = (paid * 50n) / 10_000n;
    expect(await marketplace.credit(f.bob, token)).to.equal(paid - fee - bounty + 5n * MESH); // + its bid deposit
    expect(await marketplace.credit(f.carol, token)).to.equal(4n * PRICE);
    expect(await marketplace.credit(f.dave, token)).to.equal(bounty);
    expect(await marketplace.feesAccrued(token)).to.equal(fee);
    // Every escrowed token is accounted for: the credits and fees are exactly what the marketplace holds.
    const credits = [f.bob, f.carol, f.dave].map((a) => marketplace.credit(a, token));
    const held = (await Promise.all(credits)).reduce((x, y) => x + y, 0n) + (await marketplace.feesAccrued(token));
    expect(held).to.equal(await token.balanceOf(marketplace));
    expect(await token.balanceOf(marketplace)).to.equal(escrowBefore);

    // The breach is a fault of the verdict: anyone applies it and bob's stake is slashed.
    const stakeBefore = await f.staking.selfStake(f.bob);
    await expect(f.hub.applyFault(lastEpoch, fault.device, fault.kind, fault.evidence, fault.proof)).to.emit(
      f.hub,
      "FaultApplied",
    );
    expect(await f.staking.selfStake(f.bob)).to.be.lessThan(stakeBefore);
  });
});
