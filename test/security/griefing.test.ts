/**
 * Attacks 5-6: griefing the unbonding queue with dust, and dispute spam (verdict disputes and fisherman challenges).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { VerdictStatus } from "../../sdk/enums";
import { DAY, FaultKind, MESH, protocolFixture, type ProtocolFixture } from "../helpers/fixtures";
import { makeVerdict, signedBy, type EpochVerdict } from "../helpers/verdicts";
import { faultOf, gasOf } from "./helpers";

const UNBONDING_PERIOD = 7n * DAY; // ProtocolConfig defaults
const MIN_UNBOND = 1n * MESH;
const MAX_PENDING = 32n;
const CHALLENGE_WINDOW = 12n * 3_600n;
const DISPUTE_WINDOW = 3n * DAY;
const VERDICT_DISPUTE_BOND = 1_000n * MESH;
const CHALLENGE_BOND = 100n * MESH;
const JAILER_ROLE = ethers.id("JAILER_ROLE");
/** Shares of an unslashed delegation pool: exactly 1e6 per token wei (SharesMath virtual shares). */
const sharesOf = (tokens: bigint): bigint => tokens * 10n ** 6n;
/** What one honest withdraw of a full queue (32 requests) may cost at most. */
const FULL_QUEUE_WITHDRAW_GAS = 600_000n;

/**
 * protocolFixture plus: carol (honest) and bob (bystander) each delegated 500 MESH to alice and queued 100 MESH;
 * dave (the attacker) delegated 1,000 MESH to alice.
 */
async function queueFixture(): Promise<ProtocolFixture> {
  const f = await protocolFixture();
  for (const honest of [f.carol, f.bob]) {
    await f.staking.connect(honest).delegate(f.alice.address, 500n * MESH);
    await f.staking.connect(honest).undelegate(f.alice.address, sharesOf(100n * MESH));
  }
  await f.staking.connect(f.dave).delegate(f.alice.address, 1_000n * MESH);
  return f;
}

/** Fills dave's queue with MAX_PENDING minimum-size requests. */
async function fillAttackerQueue(f: ProtocolFixture): Promise<void> {
  for (let i = 0n; i < MAX_PENDING; ++i) {
    await f.staking.connect(f.dave).undelegate(f.alice.address, sharesOf(MIN_UNBOND));
  }
}

describe("Security: griefing the unbonding queue with dust", function () {
  it("a partial unbond below MinUnbondAmount reverts UnbondBelowMinimum (undelegate and unstake)", async function () {
    const f = await loadFixture(queueFixture);
    await expect(f.staking.connect(f.dave).undelegate(f.alice.address, sharesOf(MIN_UNBOND - 1n)))
      .to.be.revertedWithCustomError(f.staking, "UnbondBelowMinimum")
      .withArgs(MIN_UNBOND - 1n, MIN_UNBOND);
    await expect(f.staking.connect(f.alice).unstake(1n))
      .to.be.revertedWithCustomError(f.staking, "UnbondBelowMinimum")
      .withArgs(1n, MIN_UNBOND);
  });

  it("the attacker's own queue stops at MaxPendingUnbondings (TooManyPendingUnbondings), 1-wei full exits included", async function () {
    const f = await loadFixture(queueFixture);
    await fillAttackerQueue(f);
    await expect(f.staking.connect(f.dave).undelegate(f.alice.address, sharesOf(MIN_UNBOND)))
      .to.be.revertedWithCustomError(f.staking, "TooManyPendingUnbondings")
      .withArgs(f.dave.address, MAX_PENDING);
    // A full exit skips the minimum, so 1-wei positions make dust requests, but the same cap stops them.
    for (let i = 0n; i < MAX_PENDING; ++i) {
      await f.staking.connect(f.fisher).delegate(f.alice.address, 1n);
      await f.staking.connect(f.fisher).undelegate(f.alice.address, sharesOf(1n));
    }
    await f.staking.connect(f.fisher).delegate(f.alice.address, 1n);
    await expect(f.staking.connect(f.fisher).undelegate(f.alice.address, sharesOf(1n)))
      .to.be.revertedWithCustomError(f.staking, "TooManyPendingUnbondings")
      .withArgs(f.fisher.address, MAX_PENDING);
    // Queues are per account: the honest delegators still hold exactly their one request each.
    expect(await f.staking.pendingUnbondings(f.carol.address)).to.have.length(1);
  });

  it("an honest withdraw costs the same gas with the attacker's queue full as without it, and pays in full", async function () {
    let f = await loadFixture(queueFixture);
    await time.increase(UNBONDING_PERIOD);
    const baseline = await gasOf(f.staking.connect(f.carol).withdraw(MAX_PENDING));

    f = await loadFixture(queueFixture);
    await fillAttackerQueue(f);
    await time.increase(UNBONDING_PERIOD);
    const tx = f.staking.connect(f.carol).withdraw(MAX_PENDING);
    await expect(tx).to.changeTokenBalance(f.token, f.carol, 100n * MESH);
    const attacked = (await (await tx).wait())!.gasUsed;
    expect(attacked, `honest withdraw gas: ${baseline} alone, ${attacked} with the attacker's queue full`).to.equal(
      baseline,
    );
  });

  it("the honest account's own full queue (32 requests) pays out in one bounded withdraw, or FIFO in chunks of maxRequests", async function () {
    const f = await loadFixture(queueFixture);
    for (let i = 1n; i < MAX_PENDING; ++i) {
      await f.staking.connect(f.carol).undelegate(f.alice.address, sharesOf(MIN_UNBOND));
    }
    await time.increase(UNBONDING_PERIOD);
    const snapshotQueue = await f.staking.pendingUnbondings(f.carol.address);
    expect(snapshotQueue).to.have.length(Number(MAX_PENDING));

    // FIFO, bounded: the oldest 8 (the 100 MESH request and seven of 1 MESH), then the rest.
    await expect(f.staking.connect(f.carol).withdraw(8n)).to.changeTokenBalance(f.token, f.carol, 107n * MESH);
    await expect(f.staking.connect(f.carol).withdraw(MAX_PENDING)).to.changeTokenBalance(f.token, f.carol, 24n * MESH);

    // The whole queue in one call stays well inside a block.
    const g = await loadFixture(queueFixture);
    for (let i = 1n; i < MAX_PENDING; ++i) {
      await g.staking.connect(g.carol).undelegate(g.alice.address, sharesOf(MIN_UNBOND));
    }
    await time.increase(UNBONDING_PERIOD);
    const gas = await gasOf(g.staking.connect(g.carol).withdraw(MAX_PENDING));
    expect(gas, `withdraw of 32 requests: ${gas} gas`).to.be.lessThan(FULL_QUEUE_WITHDRAW_GAS);
  });

  it("forceExit (uncapped, by anyone) cannot flood a delegator's queue: one exit per position, then NoDelegation", async function () {
    const f = await loadFixture(queueFixture);
    await f.registry.grantRole(JAILER_ROLE, f.governance.address);
    await f.registry.jail(f.aliceDevice, BigInt(await time.latest()) + DAY);
    await f.staking.connect(f.outsider).forceExit(f.alice.address, f.carol.address);
    await expect(f.staking.connect(f.outsider).forceExit(f.alice.address, f.carol.address))
      .to.be.revertedWithCustomError(f.staking, "NoDelegation")
      .withArgs(f.carol.address, f.alice.address);
    await expect(f.staking.connect(f.carol).delegate(f.alice.address, MIN_UNBOND))
      .to.be.revertedWithCustomError(f.staking, "OperatorStalled")
      .withArgs(f.alice.address);
    expect(await f.staking.pendingUnbondings(f.carol.address)).to.have.length(2);
  });
});

/* DISPUTE SPAM */

/** protocolFixture with epoch 0's honest verdict pending. */
async function verdictFixture(): Promise<ProtocolFixture> {
  const f = await protocolFixture();
  await time.increaseTo(await f.config.epochEnd(0n));
  const verdict = makeVerdict(0n);
  await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  return f;
}

/**
 * Relays `verdict` (epoch 0), has the fisher dispute it, lets epoch 1's verdict finalise meanwhile, then has the
 * arbitrator rule (`upheld`) inside the DisputeWindow.
 */
async function disputeOutlastingNextEpoch(f: ProtocolFixture, verdict: EpochVerdict, upheld: boolean): Promise<void> {
  await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  await f.hub.connect(f.fisher).disputeVerdict(0n, ethers.id("dispute"));
  await time.increaseTo(await f.config.epochEnd(1n));
  const next = makeVerdict(1n);
  await f.hub.submitVerdict(next, await signedBy(f.hub, next, f.oracles.slice(0, 3)));
  await time.increase(CHALLENGE_WINDOW);
  await f.hub.finaliseVerdict(1n);
  await f.hub.connect(f.arbitrator).resolveDispute(0n, upheld);
}

describe("Security: dispute spam", function () {
  it("a spam dispute costs VerdictDisputeBond; a second dispute of the epoch reverts InvalidVerdictStatus(Disputed)", async function () {
    const f = await loadFixture(verdictFixture);
    await expect(f.hub.connect(f.fisher).disputeVerdict(0n, ethers.id("spam"))).to.changeTokenBalances(
      f.token,
      [f.fisher, f.hub],
      [-VERDICT_DISPUTE_BOND, VERDICT_DISPUTE_BOND],
    );
    await expect(f.hub.connect(f.bob).disputeVerdict(0n, ethers.id("more spam")))
      .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
      .withArgs(0n, VerdictStatus.Disputed);
  });

  it("a rejected spam dispute forfeits the bond to the treasury; re-disputing reverts ChallengeWindowClosed; the honest verdict finalises at once", async function () {
    const f = await loadFixture(verdictFixture);
    await f.hub.connect(f.fisher).disputeVerdict(0n, ethers.id("spam"));
    await expect(f.hub.connect(f.arbitrator).resolveDispute(0n, false)).to.changeTokenBalances(
      f.token,
      [f.hub, f.treasury],
      [-VERDICT_DISPUTE_BOND, VERDICT_DISPUTE_BOND],
    );
    const endedAt = (await f.hub.getVerdict(0n)).challengeEndsAt;
    await expect(f.hub.connect(f.fisher).disputeVerdict(0n, ethers.id("spam again")))
      .to.be.revertedWithCustomError(f.hub, "ChallengeWindowClosed")
      .withArgs(0n, endedAt);
    await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
  });

  it("a spam dispute nobody rules on delays finalisation by at most DisputeWindow: it expires (bond back), the verdict finalises, no second dispute", async function () {
    const f = await loadFixture(verdictFixture);
    await f.hub.connect(f.fisher).disputeVerdict(0n, ethers.id("spam"));
    const closesAt = BigInt(await time.latest()) + DISPUTE_WINDOW;
    await expect(f.hub.expireDispute(0n))
      .to.be.revertedWithCustomError(f.hub, "DisputeWindowOpen")
      .withArgs(0n, closesAt);
    await time.increaseTo(closesAt + 1n);
    await expect(f.hub.expireDispute(0n)).to.changeTokenBalance(f.token, f.fisher, VERDICT_DISPUTE_BOND);
    await expect(f.hub.connect(f.fisher).disputeVerdict(0n, ethers.id("spam again"))).to.be.revertedWithCustomError(
      f.hub,
      "ChallengeWindowClosed",
    );
    await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
  });

  it("RISK (by design): a committee member disputes for free, so one rogue oracle can hold each verdict until the arbitrator rules", async function () {
    const f = await loadFixture(verdictFixture);
    const rogue = f.oracles[4].connect(ethers.provider);
    await f.governance.sendTransaction({ to: rogue.address, value: ethers.parseEther("1") });
    await expect(f.hub.connect(rogue).disputeVerdict(0n, ethers.id("griefing")))
      .to.emit(f.hub, "VerdictDisputed")
      .withArgs(0n, rogue.address, 0n, ethers.id("griefing"));
    await expect(f.hub.connect(f.arbitrator).resolveDispute(0n, false)).to.changeTokenBalance(f.token, f.treasury, 0n);
    await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
  });

  it("a dispute held until the next epoch finalises cannot make the honest verdict unfinalisable: once the dispute is rejected it finalises and its faults apply (found by this suite, fixed in OracleHub)", async function () {
    const f = await loadFixture(protocolFixture);
    // Epoch 0's honest verdict proves a fault of alice-1.
    await time.increaseTo(await f.config.epochEnd(0n));
    const fault = faultOf(f.aliceDevice);
    const honest = makeVerdict(0n, { faultsRoot: fault.root });
    // A spammer disputes it (a committee member would not even bond); the arbitrator takes a day and a half, well
    // inside the 3-day DisputeWindow, and meanwhile epoch 1's verdict finalises. The spam is rejected...
    await disputeOutlastingNextEpoch(f, honest, false);

    // ...and the honest verdict still finalises (before the fix: EpochAlreadySettled(0, 1)), so its fault is applied.
    await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
    await expect(f.hub.applyFault(0n, f.aliceDevice, FaultKind.InvalidProof, fault.evidence, fault.proof)).to.emit(
      f.hub,
      "FaultApplied",
    );
  });

  it("a dispute upheld after the next epoch finalised reopens the epoch: its corrected verdict is taken and finalises, and its faults apply", async function () {
    const f = await loadFixture(protocolFixture);
    await time.increaseTo(await f.config.epochEnd(0n));
    const wrong = makeVerdict(0n, { faultsRoot: ethers.id("wrong faults root") });
    await disputeOutlastingNextEpoch(f, wrong, true);

    const fault = faultOf(f.aliceDevice);
    const corrected = makeVerdict(0n, { faultsRoot: fault.root });
    await expect(f.hub.submitVerdict(corrected, await signedBy(f.hub, corrected, f.oracles.slice(0, 3)))).to.emit(
      f.hub,
      "VerdictSubmitted",
    );
    await time.increase(CHALLENGE_WINDOW);
    await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
    expect((await f.hub.latestFinalised())[0]).to.equal(1n);
    await expect(f.hub.applyFault(0n, f.aliceDevice, FaultKind.InvalidProof, fault.evidence, fault.proof)).to.emit(
      f.hub,
      "FaultApplied",
    );
    // Once final, the epoch is closed again.
    await expect(f.hub.submitVerdict(wrong, await signedBy(f.hub, wrong, f.oracles.slice(0, 3))))
      .to.be.revertedWithCustomError(f.hub, "VerdictAlreadySubmitted")
      .withArgs(0n, VerdictStatus.Finalised);
  });
});

describe("Security: fisherman challenge spam", function () {
  it("a second challenge of the same fault reverts FaultUnderChallenge; a rejected one forfeits its bond; the oracle path still penalises meanwhile", async function () {
    const f = await loadFixture(protocolFixture);
    await f.slashing.grantRole(await f.slashing.REPORTER_ROLE(), f.reporter.address);
    const id = await f.slashing.faultId(f.aliceDevice, FaultKind.InvalidProof, 0n);
    await f.slashing.connect(f.fisher).openChallenge(f.aliceDevice, FaultKind.InvalidProof, 0n, ethers.id("spam"));
    await expect(f.slashing.connect(f.bob).openChallenge(f.aliceDevice, FaultKind.InvalidProof, 0n, ethers.id("spam")))
      .to.be.revertedWithCustomError(f.slashing, "FaultUnderChallenge")
      .withArgs(id, 1n);
    await expect(
      f.slashing.connect(f.reporter).penaliseFault(f.aliceDevice, FaultKind.MissedDuty, 0n, ethers.ZeroHash),
    ).to.emit(f.slashing, "FaultPenalised");
    await expect(f.slashing.connect(f.arbitrator).resolveChallenge(1n, false)).to.changeTokenBalances(
      f.token,
      [f.slashing, f.treasury],
      [-CHALLENGE_BOND, CHALLENGE_BOND],
    );
  });
});
