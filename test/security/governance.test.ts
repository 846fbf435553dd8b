/**
 * Attacks 7-9: flash-loan style vote power, a pause used to trap stake, and out-of-bound parameter proposals.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import {
  DAY,
  GOV_DAVE_STAKED,
  MESH,
  Param,
  governanceFixture,
  passProposal,
  registerDevice,
  type GovernanceFixture,
  type Proposal,
} from "../helpers/fixtures";

const UNBONDING_PERIOD = 7n * DAY; // ProtocolConfig default
const MAX_PAUSE = 7n * DAY; // ExpiringPause
const PAUSE_COOLDOWN = 7n * DAY;
const TIMELOCK_DELAY = UNBONDING_PERIOD + DAY; // governanceFixture
const VoteType = { Against: 0, For: 1, Abstain: 2 } as const;
const ProposalState = { Active: 1, Queued: 5 } as const;
/** Shares of an unslashed delegation pool: exactly 1e6 per token wei (SharesMath virtual shares). */
const sharesOf = (tokens: bigint): bigint => tokens * 10n ** 6n;

/** A harmless in-bounds proposal (MinUnbondAmount 1 -> 2 MESH). */
async function harmless(f: GovernanceFixture, description = "raise MinUnbondAmount"): Promise<Proposal> {
  return {
    targets: [await f.config.getAddress()],
    values: [0n],
    calldatas: [f.config.interface.encodeFunctionData("setParam", [Param.MinUnbondAmount, 2n * MESH])],
    description,
  };
}

/** carol proposes `proposal`; returns its id once voting is open (just past the snapshot). */
async function openVote(f: GovernanceFixture, proposal: Proposal): Promise<bigint> {
  const { targets, values, calldatas, description } = proposal;
  await f.governor.connect(f.carol).propose(targets, values, calldatas, description);
  const id = await f.governor.hashProposal(targets, values, calldatas, ethers.id(description));
  await time.increaseTo((await f.governor.proposalSnapshot(id)) + 1n);
  expect(await f.governor.state(id)).to.equal(ProposalState.Active);
  return id;
}

describe("Security: flash-loan style vote power", function () {
  it("tokens borrowed after the snapshot, delegated and even staked, give no votes: VoteCast weight 0, tally unchanged", async function () {
    const f = await loadFixture(governanceFixture);
    const id = await openVote(f, await harmless(f));
    const loan = 10_000_000n * MESH; // more than the 4 % quorum on its own
    await f.token.connect(f.governance).transfer(f.outsider.address, loan);
    await f.token.connect(f.outsider).delegate(f.outsider.address);
    await f.token.connect(f.outsider).approve(f.staking, loan / 2n);
    await f.staking.connect(f.outsider).stake(loan / 2n);
    expect(await f.votes.getVotes(f.outsider.address)).to.equal(loan); // live power, held plus staked...

    await expect(f.governor.connect(f.outsider).castVote(id, VoteType.For))
      .to.emit(f.governor, "VoteCast")
      .withArgs(f.outsider.address, id, VoteType.For, 0n, "");
    const { forVotes, againstVotes, abstainVotes } = await f.governor.proposalVotes(id);
    expect(forVotes + againstVotes + abstainVotes).to.equal(0n); // ...but nothing at the snapshot
  });

  it("borrowing, delegating and proposing in one block reverts GovernorInsufficientProposerVotes (threshold read at clock - 1)", async function () {
    const f = await loadFixture(governanceFixture);
    const { targets, values, calldatas, description } = await harmless(f, "flash proposal");
    const threshold = await f.governor.proposalThreshold();
    const gas = { gasLimit: 1_000_000n };
    await network.provider.send("evm_setAutomine", [false]);
    try {
      await f.token.connect(f.governance).transfer(f.outsider.address, 2n * threshold, gas);
      await f.token.connect(f.outsider).delegate(f.outsider.address, gas);
      await expect(
        f.governor
          .connect(f.outsider)
          .propose.staticCall(targets, values, calldatas, description, { blockTag: "pending" }),
      )
        .to.be.revertedWithCustomError(f.governor, "GovernorInsufficientProposerVotes")
        .withArgs(f.outsider.address, 0n, threshold);
      const propose = await f.governor.connect(f.outsider).propose(targets, values, calldatas, description, gas);
      await network.provider.send("evm_mine", []);
      expect((await ethers.provider.getTransactionReceipt(propose.hash))!.status).to.equal(0);
    } finally {
      await network.provider.send("evm_setAutomine", [true]);
    }
  });

  it("transfer-and-revote: tokens voted by carol then moved to bob count once; carol revoting reverts GovernorAlreadyCastVote", async function () {
    const f = await loadFixture(governanceFixture);
    await f.token.connect(f.bob).delegate(f.bob.address);
    const id = await openVote(f, await harmless(f));
    const snapshot = await f.governor.proposalSnapshot(id);
    const carolWeight = await f.votes.getPastVotes(f.carol.address, snapshot);
    const bobWeight = await f.votes.getPastVotes(f.bob.address, snapshot);

    await f.governor.connect(f.carol).castVote(id, VoteType.For);
    await f.token.connect(f.carol).transfer(f.bob.address, await f.token.balanceOf(f.carol.address));
    await expect(f.governor.connect(f.bob).castVote(id, VoteType.For))
      .to.emit(f.governor, "VoteCast")
      .withArgs(f.bob.address, id, VoteType.For, bobWeight, "");
    await expect(f.governor.connect(f.carol).castVote(id, VoteType.Against))
      .to.be.revertedWithCustomError(f.governor, "GovernorAlreadyCastVote")
      .withArgs(f.carol.address);
    expect((await f.governor.proposalVotes(id)).forVotes).to.equal(carolWeight + bobWeight);
  });

  it("staked votes are checkpointed at the snapshot: unstaking and re-staking through another account after it adds nothing", async function () {
    const f = await loadFixture(governanceFixture);
    const id = await openVote(f, await harmless(f));
    const snapshot = await f.governor.proposalSnapshot(id);
    const daveWeight = await f.votes.getPastVotes(f.dave.address, snapshot);
    expect(daveWeight).to.equal((await f.token.getPastVotes(f.dave.address, snapshot)) + GOV_DAVE_STAKED);

    // dave votes, then moves his staked voting power out of the delegation and into bob's self-stake.
    await f.governor.connect(f.dave).castVote(id, VoteType.For);
    await f.staking.connect(f.dave).undelegate(f.alice.address, sharesOf(1_000_000n * MESH));
    await f.staking.connect(f.bob).stake(1_000_000n * MESH);
    await expect(f.governor.connect(f.bob).castVote(id, VoteType.For))
      .to.emit(f.governor, "VoteCast")
      .withArgs(f.bob.address, id, VoteType.For, 0n, "");
    expect((await f.governor.proposalVotes(id)).forVotes).to.equal(daveWeight);
  });
});

describe("Security: a pause used to trap stake", function () {
  /** governanceFixture plus: alice runs a device; dave's 100,000 MESH unbonding has matured; then the guardian pauses
   * the registry, slashing and the distributor for the longest pause allowed. */
  async function pausedFixture() {
    const f = await governanceFixture();
    const device = await registerDevice(f.registry, f.alice, { label: "alice-gov" });
    await f.staking.connect(f.dave).undelegate(f.alice.address, sharesOf(100_000n * MESH));
    await time.increase(UNBONDING_PERIOD);
    for (const c of [f.registry, f.slashing, f.distributor]) await c.connect(f.guardian).pause(MAX_PAUSE);
    const pausedUntil = await f.registry.pausedUntil();
    return { ...f, device, pausedUntil };
  }

  it("while paused, stakers still withdraw matured unbondings, undelegate, unstake and exit devices: Staking has no pause at all", async function () {
    const f = await loadFixture(pausedFixture);
    expect(await f.registry.paused()).to.equal(true);
    expect(ethers.Interface.from(f.staking.interface.fragments).getFunction("pause")).to.equal(null);
    await expect(f.staking.connect(f.dave).withdraw(10n)).to.changeTokenBalance(f.token, f.dave, 100_000n * MESH);
    await expect(f.staking.connect(f.dave).undelegate(f.alice.address, sharesOf(100_000n * MESH))).to.emit(
      f.staking,
      "Undelegated",
    );
    await expect(f.staking.connect(f.alice).unstake(1_000n * MESH)).to.emit(f.staking, "Unstaked");
    await expect(f.registry.connect(f.alice).beginExit(f.device)).to.emit(f.registry, "StatusChanged");
    // What the pause does stop: new registrations (and penalties, claims).
    await expect(registerDevice(f.registry, f.alice, { label: "alice-gov-2" }))
      .to.be.revertedWithCustomError(f.registry, "EnforcedPause")
      .withArgs(f.pausedUntil);
  });

  it("a pause longer than MAX_PAUSE_DURATION reverts InvalidPauseDuration; the maximal pause lifts itself at its end", async function () {
    const f = await loadFixture(governanceFixture);
    await expect(f.registry.connect(f.guardian).pause(MAX_PAUSE + 1n))
      .to.be.revertedWithCustomError(f.registry, "InvalidPauseDuration")
      .withArgs(MAX_PAUSE + 1n, MAX_PAUSE);
    await f.registry.connect(f.guardian).pause(MAX_PAUSE);
    const until = await f.registry.pausedUntil();
    await time.increaseTo(until);
    expect(await f.registry.paused()).to.equal(false);
    const device = await registerDevice(f.registry, f.alice, { label: "after-pause" }); // nobody had to act
    expect(await f.registry.operatorOf(device)).to.equal(f.alice.address);
  });

  it("re-pausing reverts PauseCoolingDown until PAUSE_COOLDOWN after the pause ended (also after an early unpause): at most half the time paused", async function () {
    const f = await loadFixture(governanceFixture);
    const r = f.registry.connect(f.guardian);
    await r.pause(MAX_PAUSE);
    const until = await f.registry.pausedUntil();
    await expect(r.pause(1n))
      .to.be.revertedWithCustomError(f.registry, "PauseCoolingDown")
      .withArgs(until + PAUSE_COOLDOWN);
    await time.increaseTo(until + PAUSE_COOLDOWN - 2n);
    await expect(r.pause(MAX_PAUSE)).to.be.revertedWithCustomError(f.registry, "PauseCoolingDown"); // a second early
    await expect(r.pause(MAX_PAUSE)).to.emit(f.registry, "Paused"); // this block is at the end of the cooldown

    await r.unpause(); // lifting early does not reset the clock in the guardian's favour
    const liftedAt = BigInt(await time.latest());
    await expect(r.pause(MAX_PAUSE))
      .to.be.revertedWithCustomError(f.registry, "PauseCoolingDown")
      .withArgs(liftedAt + PAUSE_COOLDOWN);
  });

  it("the guardian has no other power over stake: slashing or jailing reverts AccessControlUnauthorizedAccount", async function () {
    const f = await loadFixture(governanceFixture);
    await expect(f.staking.connect(f.guardian).slash(f.alice.address, 1n))
      .to.be.revertedWithCustomError(f.staking, "AccessControlUnauthorizedAccount")
      .withArgs(f.guardian.address, await f.staking.SLASHER_ROLE());
    await expect(f.registry.connect(f.guardian).jail(ethers.ZeroAddress, 0n))
      .to.be.revertedWithCustomError(f.registry, "AccessControlUnauthorizedAccount")
      .withArgs(f.guardian.address, await f.registry.JAILER_ROLE());
  });
});

describe("Security: out-of-bound parameter proposals", function () {
  /** Passes `call` on `target` through the whole vote and the timelock; returns the proposal and its id, unexecuted. */
  async function passed(f: GovernanceFixture, target: string, calldata: string, description: string) {
    const proposal: Proposal = { targets: [target], values: [0n], calldatas: [calldata], description };
    const { proposalId, descriptionHash } = await passProposal(f, proposal);
    expect(await f.governor.state(proposalId)).to.equal(ProposalState.Queued);
    const execute = () => f.governor.execute(proposal.targets, proposal.values, proposal.calldatas, descriptionHash);
    return { proposalId, execute };
  }

  it("MinUnbondAmount above its bound passes the vote but reverts ValueOutOfBounds at execution; nothing changes", async function () {
    const f = await loadFixture(governanceFixture);
    const value = 1_001n * MESH;
    const { proposalId, execute } = await passed(
      f,
      await f.config.getAddress(),
      f.config.interface.encodeFunctionData("setParam", [Param.MinUnbondAmount, value]),
      "MinUnbondAmount out of bounds",
    );
    await expect(execute())
      .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
      .withArgs(value, 0n, 1_000n * MESH);
    expect(await f.config.param(Param.MinUnbondAmount)).to.equal(1n * MESH);
    expect(await f.governor.state(proposalId)).to.equal(ProposalState.Queued);
  });

  it("an unbonding period at or above the timelock delay passes the vote but reverts UnbondingNotBelowTimelockDelay", async function () {
    const f = await loadFixture(governanceFixture);
    const { execute } = await passed(
      f,
      await f.config.getAddress(),
      f.config.interface.encodeFunctionData("setParam", [Param.UnbondingPeriod, TIMELOCK_DELAY]),
      "unbonding as long as the timelock",
    );
    await expect(execute())
      .to.be.revertedWithCustomError(f.config, "UnbondingNotBelowTimelockDelay")
      .withArgs(TIMELOCK_DELAY, TIMELOCK_DELAY);
    expect(await f.config.param(Param.UnbondingPeriod)).to.equal(UNBONDING_PERIOD);
  });

  it("a quorum above MeshGovernor's bound reverts SettingOutOfBounds; a timelock delay not above unbonding reverts DelayNotAboveUnbonding", async function () {
    const f = await loadFixture(governanceFixture);
    const quorum = await passed(
      f,
      await f.governor.getAddress(),
      f.governor.interface.encodeFunctionData("updateQuorumNumerator", [60n]),
      "quorum 60 %",
    );
    await expect(quorum.execute())
      .to.be.revertedWithCustomError(f.governor, "SettingOutOfBounds")
      .withArgs(60n, 1n, 50n);
    expect(await f.governor["quorumNumerator()"]()).to.equal(4n);

    const delay = await passed(
      f,
      await f.timelock.getAddress(),
      f.timelock.interface.encodeFunctionData("updateDelay", [UNBONDING_PERIOD]),
      "timelock delay down to the unbonding period",
    );
    await expect(delay.execute())
      .to.be.revertedWithCustomError(f.timelock, "DelayNotAboveUnbonding")
      .withArgs(UNBONDING_PERIOD, UNBONDING_PERIOD);
    expect(await f.timelock.getMinDelay()).to.equal(TIMELOCK_DELAY);
  });

  it("direct calls by any account but governance revert (OwnableUnauthorizedAccount, GovernorOnlyExecutor, TimelockUnauthorizedCaller)", async function () {
    const f = await loadFixture(governanceFixture);
    for (const caller of [f.governance, f.carol]) {
      // The deployer too: it handed everything to the timelock.
      await expect(f.config.connect(caller).setParam(Param.MinUnbondAmount, 2n * MESH))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(caller.address);
    }
    await expect(f.governor.connect(f.carol).updateQuorumNumerator(10n))
      .to.be.revertedWithCustomError(f.governor, "GovernorOnlyExecutor")
      .withArgs(f.carol.address);
    await expect(f.timelock.connect(f.carol).updateDelay(30n * DAY))
      .to.be.revertedWithCustomError(f.timelock, "TimelockUnauthorizedCaller")
      .withArgs(f.carol.address);
  });
});
