/**
 * Governance end to end on the Hardhat network: deployProtocol + deployGovernance, voters holding and staking MESH,
 * proposals through MeshGovernor and MeshTimelock changing ProtocolConfig and the timelock itself, including the
 * bounds and the unbonding-period / timelock-delay coupling enforced at execution.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";

import {
  ACTOR_BALANCE,
  DAY,
  FaultKind,
  FaultParam,
  GOV_DAVE_STAKED,
  MESH,
  Param,
  VOTER_EXTRA,
  governanceFixture,
  passProposal,
  type GovernanceFixture,
  type Proposal,
} from "../helpers/fixtures";

/** IGovernor.ProposalState. */
const State = { Pending: 0n, Active: 1n, Canceled: 2n, Defeated: 3n, Succeeded: 4n, Queued: 5n, Expired: 6n, Executed: 7n };
const For = 1;

const CAROL_VOTES = ACTOR_BALANCE + VOTER_EXTRA; // all held
const DAVE_VOTES = ACTOR_BALANCE + VOTER_EXTRA; // GOV_DAVE_STAKED of it staked

async function configProposal(f: GovernanceFixture, data: string, description: string): Promise<Proposal> {
  return { targets: [await f.config.getAddress()], values: [0n], calldatas: [data], description };
}

const execute = (f: GovernanceFixture, p: Proposal) =>
  f.governor.execute(p.targets, p.values, p.calldatas, ethers.id(p.description));

describe("Governance flow", function () {
  it("staked MESH keeps its voting power and is needed for quorum", async function () {
    const f = await loadFixture(governanceFixture);
    expect(await f.votes.getVotes(f.dave.address)).to.equal(DAVE_VOTES);
    expect(await f.token.getVotes(f.dave.address)).to.equal(DAVE_VOTES - GOV_DAVE_STAKED);
    expect(await f.token.balanceOf(await f.staking.getAddress())).to.be.greaterThanOrEqual(GOV_DAVE_STAKED);
    const quorum = await f.governor.quorum(BigInt(await time.latest()) - 1n);
    expect(quorum).to.equal((100_000_000n * MESH * 4n) / 100n);
    // Without the staked part the two voters would miss quorum; with it they reach it.
    expect(CAROL_VOTES + DAVE_VOTES - GOV_DAVE_STAKED).to.be.lessThan(quorum);
    expect(CAROL_VOTES + DAVE_VOTES).to.be.greaterThanOrEqual(quorum);
  });

  it("runs a parameter change through propose, vote, queue and execute", async function () {
    const f = await loadFixture(governanceFixture);
    const { governor, timelock, config } = f;
    const newRate = 1_000n;
    expect(await config.faultParam(FaultKind.InvalidProof, FaultParam.RateBps)).to.equal(500n);
    const p = await configProposal(
      f,
      config.interface.encodeFunctionData("setFaultParam", [FaultKind.InvalidProof, FaultParam.RateBps, newRate]),
      "MIP-1: InvalidProof slashes 10 %",
    );
    const descriptionHash = ethers.id(p.description);
    const id = await governor.hashProposal(p.targets, p.values, p.calldatas, descriptionHash);

    // A voter below the proposal threshold cannot propose.
    await expect(governor.connect(f.outsider).propose(p.targets, p.values, p.calldatas, p.description))
      .to.be.revertedWithCustomError(governor, "GovernorInsufficientProposerVotes")
      .withArgs(f.outsider.address, 0n, 100_000n * MESH);

    await expect(governor.connect(f.carol).propose(p.targets, p.values, p.calldatas, p.description))
      .to.emit(governor, "ProposalCreated")
      .withArgs(id, f.carol.address, p.targets, p.values, [""], p.calldatas, anyValue, anyValue, p.description);
    expect(await governor.state(id)).to.equal(State.Pending);
    await expect(governor.connect(f.carol).castVote(id, For))
      .to.be.revertedWithCustomError(governor, "GovernorUnexpectedProposalState");

    await time.increase((await governor.votingDelay()) + 1n);
    expect(await governor.state(id)).to.equal(State.Active);
    await expect(governor.connect(f.carol).castVote(id, For))
      .to.emit(governor, "VoteCast")
      .withArgs(f.carol.address, id, For, CAROL_VOTES, "");
    // dave's weight includes the 2.5M MESH he has staked (delegated to alice in Staking).
    await expect(governor.connect(f.dave).castVote(id, For))
      .to.emit(governor, "VoteCast")
      .withArgs(f.dave.address, id, For, DAVE_VOTES, "");
    const [against, forVotes, abstain] = await governor.proposalVotes(id);
    expect([against, forVotes, abstain]).to.deep.equal([0n, CAROL_VOTES + DAVE_VOTES, 0n]);

    await time.increase(await governor.votingPeriod());
    expect(await governor.state(id)).to.equal(State.Succeeded);
    const delay = await timelock.getMinDelay();
    await expect(governor.queue(p.targets, p.values, p.calldatas, descriptionHash))
      .to.emit(governor, "ProposalQueued")
      .and.to.emit(timelock, "CallScheduled");
    expect(await governor.state(id)).to.equal(State.Queued);
    const eta = await governor.proposalEta(id);
    expect(eta).to.equal(BigInt(await time.latest()) + delay);

    // Not before the delay.
    await expect(execute(f, p)).to.be.revertedWithCustomError(timelock, "TimelockUnexpectedOperationState");
    await time.increaseTo(eta);
    await expect(execute(f, p))
      .to.emit(governor, "ProposalExecuted")
      .withArgs(id)
      .and.to.emit(timelock, "CallExecuted")
      .and.to.emit(config, "FaultParamSet")
      .withArgs(FaultKind.InvalidProof, FaultParam.RateBps, newRate);
    expect(await governor.state(id)).to.equal(State.Executed);
    expect(await config.faultParam(FaultKind.InvalidProof, FaultParam.RateBps)).to.equal(newRate);
  });

  it("a proposal the voters reject never reaches the timelock", async function () {
    const f = await loadFixture(governanceFixture);
    const p = await configProposal(
      f,
      f.config.interface.encodeFunctionData("setFaultParam", [FaultKind.InvalidProof, FaultParam.RateBps, 900n]),
      "MIP-2: rejected",
    );
    const descriptionHash = ethers.id(p.description);
    const id = await f.governor.hashProposal(p.targets, p.values, p.calldatas, descriptionHash);
    await f.governor.connect(f.carol).propose(p.targets, p.values, p.calldatas, p.description);
    await time.increase((await f.governor.votingDelay()) + 1n);
    await f.governor.connect(f.carol).castVote(id, 0); // Against
    await f.governor.connect(f.dave).castVote(id, For);
    await time.increase(await f.governor.votingPeriod());
    expect(await f.governor.state(id)).to.equal(State.Defeated);
    await expect(f.governor.queue(p.targets, p.values, p.calldatas, descriptionHash)).to.be.revertedWithCustomError(
      f.governor,
      "GovernorUnexpectedProposalState",
    );
  });

  it("an out-of-bounds change passes the vote but reverts at execution (ValueOutOfBounds through the timelock)", async function () {
    const f = await loadFixture(governanceFixture);
    const [, max] = await f.config.faultParamBounds(FaultParam.RateBps);
    const p = await configProposal(
      f,
      f.config.interface.encodeFunctionData("setFaultParam", [FaultKind.InvalidProof, FaultParam.RateBps, max + 1n]),
      "MIP-3: too harsh",
    );
    const { proposalId } = await passProposal(f, p);
    await expect(execute(f, p))
      .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
      .withArgs(max + 1n, 0n, max);
    expect(await f.governor.state(proposalId)).to.equal(State.Queued);
    expect(await f.config.faultParam(FaultKind.InvalidProof, FaultParam.RateBps)).to.equal(500n);
  });

  describe("unbonding period below the timelock delay", function () {
    it("an unbonding period at or above the timelock delay reverts at execution", async function () {
      const f = await loadFixture(governanceFixture);
      const delay = await f.timelock.getMinDelay(); // 8 days
      for (const value of [delay, delay + DAY]) {
        const p = await configProposal(
          f,
          f.config.interface.encodeFunctionData("setParam", [Param.UnbondingPeriod, value]),
          `unbonding ${value}`,
        );
        await passProposal(f, p);
        await expect(execute(f, p))
          .to.be.revertedWithCustomError(f.config, "UnbondingNotBelowTimelockDelay")
          .withArgs(value, delay);
      }
      expect(await f.config.param(Param.UnbondingPeriod)).to.equal(7n * DAY);
    });

    it("a timelock delay at or below the unbonding period reverts at execution (DelayNotAboveUnbonding)", async function () {
      const f = await loadFixture(governanceFixture);
      const { timelock } = f;
      const unbonding = await f.config.param(Param.UnbondingPeriod);
      const p: Proposal = {
        targets: [await timelock.getAddress()],
        values: [0n],
        calldatas: [timelock.interface.encodeFunctionData("updateDelay", [unbonding])],
        description: "delay down to the unbonding period",
      };
      await passProposal(f, p);
      await expect(execute(f, p))
        .to.be.revertedWithCustomError(timelock, "DelayNotAboveUnbonding")
        .withArgs(unbonding, unbonding);
      expect(await timelock.getMinDelay()).to.equal(unbonding + DAY);
      // Outside a timelocked operation, even a valid delay is refused.
      await expect(timelock.connect(f.carol).updateDelay(unbonding + 2n * DAY))
        .to.be.revertedWithCustomError(timelock, "TimelockUnauthorizedCaller")
        .withArgs(f.carol.address);
    });

    it("a valid unbonding change below the delay lands", async function () {
      const f = await loadFixture(governanceFixture);
      const p = await configProposal(
        f,
        f.config.interface.encodeFunctionData("setParam", [Param.UnbondingPeriod, 6n * DAY]),
        "MIP-4: six-day unbonding",
      );
      await passProposal(f, p);
      await expect(execute(f, p)).to.emit(f.config, "ParamSet").withArgs(Param.UnbondingPeriod, 6n * DAY);
      expect(await f.config.param(Param.UnbondingPeriod)).to.equal(6n * DAY);
    });

    it("raising both works only delay first, in one batch", async function () {
      const f = await loadFixture(governanceFixture);
      const tl = await f.timelock.getAddress();
      const cfg = await f.config.getAddress();
      const raiseDelay = f.timelock.interface.encodeFunctionData("updateDelay", [12n * DAY]);
      const raiseUnbonding = f.config.interface.encodeFunctionData("setParam", [Param.UnbondingPeriod, 10n * DAY]);
      const wrongOrder: Proposal = {
        targets: [cfg, tl],
        values: [0n, 0n],
        calldatas: [raiseUnbonding, raiseDelay],
        description: "unbonding then delay",
      };
      const rightOrder: Proposal = {
        targets: [tl, cfg],
        values: [0n, 0n],
        calldatas: [raiseDelay, raiseUnbonding],
        description: "delay then unbonding",
      };
      await passProposal(f, wrongOrder);
      await expect(execute(f, wrongOrder))
        .to.be.revertedWithCustomError(f.config, "UnbondingNotBelowTimelockDelay")
        .withArgs(10n * DAY, 8n * DAY);
      await passProposal(f, rightOrder);
      await expect(execute(f, rightOrder))
        .to.emit(f.timelock, "MinDelayChange")
        .withArgs(8n * DAY, 12n * DAY)
        .and.to.emit(f.config, "ParamSet")
        .withArgs(Param.UnbondingPeriod, 10n * DAY);
    });

    it("a staker who dislikes a queued decision can unbond and withdraw before it executes", async function () {
      const f = await loadFixture(governanceFixture);
      const p = await configProposal(
        f,
        f.config.interface.encodeFunctionData("setFaultParam", [FaultKind.InvalidProof, FaultParam.RateBps, 5_000n]),
        "MIP-5: harsh slashing",
      );
      const descriptionHash = ethers.id(p.description);
      const id = await f.governor.hashProposal(p.targets, p.values, p.calldatas, descriptionHash);
      await f.governor.connect(f.carol).propose(p.targets, p.values, p.calldatas, p.description);
      await time.increase((await f.governor.votingDelay()) + 1n);
      await f.governor.connect(f.carol).castVote(id, For);
      await f.governor.connect(f.dave).castVote(id, For);
      await time.increase(await f.governor.votingPeriod());
      await f.governor.queue(p.targets, p.values, p.calldatas, descriptionHash);
      const eta = await f.governor.proposalEta(id);

      const [shares] = await f.staking.delegationOf(f.alice.address, f.dave.address);
      await f.staking.connect(f.dave).undelegate(f.alice.address, shares);
      const [request] = await f.staking.pendingUnbondings(f.dave.address);
      expect(request.releaseAt).to.be.lessThan(eta);
      await time.increaseTo(request.releaseAt);
      await expect(f.staking.connect(f.dave).withdraw(1n)).to.changeTokenBalance(f.token, f.dave, GOV_DAVE_STAKED);
      expect(BigInt(await time.latest())).to.be.lessThan(eta);
      await time.increaseTo(eta);
      await execute(f, p);
      expect(await f.config.faultParam(FaultKind.InvalidProof, FaultParam.RateBps)).to.equal(5_000n);
    });
  });
});
