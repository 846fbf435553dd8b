import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { EventLog, type BaseContract } from "ethers";

import { MeshGovernor__factory } from "../../typechain-types";
import {
  DAY,
  GOV_ALICE_STAKE,
  GOV_DAVE_STAKED,
  MESH,
  Param,
  VOTER_EXTRA,
  ACTOR_BALANCE,
  governanceFixture,
  passProposal,
  type GovernanceFixture,
} from "../helpers/fixtures";

const HOUR = 3_600n;
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
const ROLE_NAMES = [
  "MINTER_ROLE",
  "JAILER_ROLE",
  "PAUSER_ROLE",
  "SLASHER_ROLE",
  "DISTRIBUTOR_ROLE",
  "REPORTER_ROLE",
  "ARBITRATOR_ROLE",
  "PROPOSER_ROLE",
  "EXECUTOR_ROLE",
  "CANCELLER_ROLE",
];
const ROLE_NAME = new Map<string, string>([
  [DEFAULT_ADMIN_ROLE, "DEFAULT_ADMIN_ROLE"],
  ...ROLE_NAMES.map((n): [string, string] => [ethers.id(n), n]),
]);

/** MeshGovernor bounds. */
const MIN_VOTING_DELAY = 1n * HOUR;
const MAX_VOTING_DELAY = 14n * DAY;
const MIN_VOTING_PERIOD = 1n * DAY;
const MAX_VOTING_PERIOD = 30n * DAY;
const MAX_PROPOSAL_THRESHOLD = 10_000_000n * MESH;
const MIN_QUORUM = 1n;
const MAX_QUORUM = 50n;

const ACCESS_CONTROL_EVENTS = [
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
];

/**
 * Every role of an AccessControl contract and its holders, by replaying RoleGranted / RoleRevoked from genesis.
 * Keys are role names (or the raw hash of an unknown role); holders are sorted, empty roles dropped.
 */
async function roleHolders(contract: BaseContract): Promise<Record<string, string[]>> {
  const c = new ethers.Contract(await contract.getAddress(), ACCESS_CONTROL_EVENTS, ethers.provider);
  const events = [...(await c.queryFilter("RoleGranted", 0)), ...(await c.queryFilter("RoleRevoked", 0))].sort(
    (a, b) => a.blockNumber - b.blockNumber || a.index - b.index,
  );
  const holders = new Map<string, Set<string>>();
  for (const e of events) {
    if (!(e instanceof EventLog)) throw new Error("undecoded role event");
    const [role, account] = [e.args[0] as string, e.args[1] as string];
    if (!holders.has(role)) holders.set(role, new Set());
    if (e.eventName === "RoleGranted") holders.get(role)!.add(account);
    else holders.get(role)!.delete(account);
  }
  const out: Record<string, string[]> = {};
  for (const [role, set] of holders) {
    if (set.size > 0) out[ROLE_NAME.get(role) ?? role] = [...set].sort();
  }
  return out;
}

const sorted = (...addresses: string[]): string[] => [...addresses].sort();

describe("Governance", function () {
  describe("deployGovernance: who holds what", function () {
    it("leaves exactly the expected role holders on every AccessControl contract (replayed from events)", async function () {
      const f = await loadFixture(governanceFixture);
      const tl = await f.timelock.getAddress();
      const gov = await f.governor.getAddress();
      const slashing = await f.slashing.getAddress();
      const guardian = f.guardian.address;
      const arbitrator = f.arbitrator.address;
      const distributor = await f.distributor.getAddress();
      const expected: Record<string, Record<string, string[]>> = {
        token: { DEFAULT_ADMIN_ROLE: [tl], MINTER_ROLE: [distributor] },
        registry: { DEFAULT_ADMIN_ROLE: [tl], JAILER_ROLE: [slashing], PAUSER_ROLE: [guardian] },
        // The distributor reserves the emission it mints into Staking and credits claims there.
        staking: { DEFAULT_ADMIN_ROLE: [tl], SLASHER_ROLE: [slashing], DISTRIBUTOR_ROLE: [distributor] },
        slashing: {
          DEFAULT_ADMIN_ROLE: [tl],
          REPORTER_ROLE: [await f.hub.getAddress()],
          ARBITRATOR_ROLE: [arbitrator],
          PAUSER_ROLE: [guardian],
        },
        hub: { DEFAULT_ADMIN_ROLE: [tl], ARBITRATOR_ROLE: [arbitrator] },
        distributor: { DEFAULT_ADMIN_ROLE: [tl], PAUSER_ROLE: [guardian] },
        timelock: {
          DEFAULT_ADMIN_ROLE: [tl],
          PROPOSER_ROLE: [gov],
          CANCELLER_ROLE: [gov],
          EXECUTOR_ROLE: [ethers.ZeroAddress],
        },
      };
      const contracts: Record<string, BaseContract> = {
        token: f.token,
        registry: f.registry,
        staking: f.staking,
        slashing: f.slashing,
        hub: f.hub,
        distributor: f.distributor,
        timelock: f.timelock,
      };
      for (const [name, contract] of Object.entries(contracts)) {
        const actual = await roleHolders(contract);
        const want = Object.fromEntries(Object.entries(expected[name]).map(([r, a]) => [r, sorted(...a)]));
        expect(actual, name).to.deep.equal(want);
        // The replay agrees with the contract, and every role is administered by DEFAULT_ADMIN_ROLE (the timelock).
        const ac = new ethers.Contract(
          await contract.getAddress(),
          [
            "function hasRole(bytes32,address) view returns (bool)",
            "function getRoleAdmin(bytes32) view returns (bytes32)",
          ],
          ethers.provider,
        );
        for (const [roleName, holders] of Object.entries(actual)) {
          const role = roleName === "DEFAULT_ADMIN_ROLE" ? DEFAULT_ADMIN_ROLE : ethers.id(roleName);
          for (const h of holders) expect(await ac.hasRole(role, h), `${name} ${roleName} ${h}`).to.equal(true);
          expect(await ac.getRoleAdmin(role), `${name} admin of ${roleName}`).to.equal(DEFAULT_ADMIN_ROLE);
        }
        for (const roleName of ["DEFAULT_ADMIN_ROLE", ...ROLE_NAMES]) {
          const role = roleName === "DEFAULT_ADMIN_ROLE" ? DEFAULT_ADMIN_ROLE : ethers.id(roleName);
          expect(await ac.hasRole(role, f.governance.address), `deployer ${name} ${roleName}`).to.equal(false);
        }
      }
    });

    it("hands the Ownable contracts to the timelock with nothing pending", async function () {
      const { config, schedule, timelock } = await loadFixture(governanceFixture);
      for (const c of [config, schedule]) {
        expect(await c.owner()).to.equal(await timelock.getAddress());
        expect(await c.pendingOwner()).to.equal(ethers.ZeroAddress);
      }
    });

    it("sets a timelock delay above the unbonding period and wires the governor", async function () {
      const f = await loadFixture(governanceFixture);
      const unbonding = await f.config.param(Param.UnbondingPeriod);
      expect(await f.timelock.getMinDelay()).to.equal(unbonding + DAY);
      expect(await f.timelock.getMinDelay()).to.be.greaterThan(unbonding);
      expect(await f.timelock.config()).to.equal(await f.config.getAddress());
      expect(await f.governor.timelock()).to.equal(await f.timelock.getAddress());
      expect(await f.governor.token()).to.equal(await f.votes.getAddress());
      expect(await f.votes.token()).to.equal(await f.token.getAddress());
      expect(await f.votes.staking()).to.equal(await f.staking.getAddress());
      expect(await f.governor.votingDelay()).to.equal(DAY);
      expect(await f.governor.votingPeriod()).to.equal(5n * DAY);
      expect(await f.governor.proposalThreshold()).to.equal(100_000n * MESH);
      expect(await f.governor["quorumNumerator()"]()).to.equal(4n);
    });

    it("leaves the deployer unable to act on any contract", async function () {
      const f = await loadFixture(governanceFixture);
      const me = f.governance;
      await expect(f.config.connect(me).setParam(Param.ChallengeBond, 200n * MESH))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(me.address);
      await expect(f.staking.connect(me).grantRole(ethers.id("SLASHER_ROLE"), me.address))
        .to.be.revertedWithCustomError(f.staking, "AccessControlUnauthorizedAccount")
        .withArgs(me.address, DEFAULT_ADMIN_ROLE);
      await expect(f.timelock.connect(me).schedule(me.address, 0n, "0x", ethers.ZeroHash, ethers.ZeroHash, DAY * 30n))
        .to.be.revertedWithCustomError(f.timelock, "AccessControlUnauthorizedAccount")
        .withArgs(me.address, ethers.id("PROPOSER_ROLE"));
    });
  });

  describe("MeshGovernor settings bounds", function () {
    type Args = [bigint, bigint, bigint, bigint]; // votingDelay, votingPeriod, threshold, quorum
    const good: Args = [DAY, 5n * DAY, 0n, 4n];

    async function deployWith(f: GovernanceFixture, args: Args) {
      const factory = new MeshGovernor__factory(f.governance);
      return { factory, tx: factory.deploy(f.votes, f.timelock, ...args) };
    }

    it("the constructor accepts every bound itself", async function () {
      const f = await loadFixture(governanceFixture);
      for (const args of [
        [MIN_VOTING_DELAY, MIN_VOTING_PERIOD, 0n, MIN_QUORUM],
        [MAX_VOTING_DELAY, MAX_VOTING_PERIOD, MAX_PROPOSAL_THRESHOLD, MAX_QUORUM],
      ] as Args[]) {
        const { tx } = await deployWith(f, args);
        const g = await tx;
        expect(await g.votingDelay()).to.equal(args[0]);
        expect(await g.votingPeriod()).to.equal(args[1]);
        expect(await g.proposalThreshold()).to.equal(args[2]);
        expect(await g["quorumNumerator()"]()).to.equal(args[3]);
      }
    });

    const cases: [string, number, bigint, bigint, bigint][] = [
      ["voting delay below", 0, MIN_VOTING_DELAY - 1n, MIN_VOTING_DELAY, MAX_VOTING_DELAY],
      ["voting delay above", 0, MAX_VOTING_DELAY + 1n, MIN_VOTING_DELAY, MAX_VOTING_DELAY],
      ["voting period below", 1, MIN_VOTING_PERIOD - 1n, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD],
      ["voting period above", 1, MAX_VOTING_PERIOD + 1n, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD],
      ["proposal threshold above", 2, MAX_PROPOSAL_THRESHOLD + 1n, 0n, MAX_PROPOSAL_THRESHOLD],
      ["quorum below", 3, MIN_QUORUM - 1n, MIN_QUORUM, MAX_QUORUM],
      ["quorum above", 3, MAX_QUORUM + 1n, MIN_QUORUM, MAX_QUORUM],
    ];
    for (const [label, index, value, min, max] of cases) {
      it(`the constructor reverts SettingOutOfBounds for a ${label} its bound`, async function () {
        const f = await loadFixture(governanceFixture);
        const args = [...good] as Args;
        args[index] = value;
        const { factory, tx } = await deployWith(f, args);
        await expect(tx).to.be.revertedWithCustomError(factory, "SettingOutOfBounds").withArgs(value, min, max);
      });
    }

    it("setters are governance only (GovernorOnlyExecutor), even for the deployer and a voter", async function () {
      const f = await loadFixture(governanceFixture);
      const { governor } = f;
      for (const who of [f.governance, f.carol, f.outsider]) {
        const g = governor.connect(who);
        for (const call of [
          () => g.setVotingDelay(2n * DAY),
          () => g.setVotingPeriod(3n * DAY),
          () => g.setProposalThreshold(1n),
          () => g.updateQuorumNumerator(5n),
          () => g.relay(who.address, 0n, "0x"),
        ]) {
          await expect(call()).to.be.revertedWithCustomError(governor, "GovernorOnlyExecutor").withArgs(who.address);
        }
      }
    });

    it("a proposal setting the threshold above its bound passes the vote and reverts at execution", async function () {
      const f = await loadFixture(governanceFixture);
      const { governor } = f;
      const value = MAX_PROPOSAL_THRESHOLD + 1n;
      const proposal = {
        targets: [await governor.getAddress()],
        values: [0n],
        calldatas: [governor.interface.encodeFunctionData("setProposalThreshold", [value])],
        description: "threshold out of bounds",
      };
      const { proposalId, descriptionHash } = await passProposal(f, proposal);
      await expect(governor.execute(proposal.targets, proposal.values, proposal.calldatas, descriptionHash))
        .to.be.revertedWithCustomError(governor, "SettingOutOfBounds")
        .withArgs(value, 0n, MAX_PROPOSAL_THRESHOLD);
      expect(await governor.state(proposalId)).to.equal(5n); // Queued
      expect(await governor.proposalThreshold()).to.equal(100_000n * MESH);
    });

    it("a proposal setting quorum above 50 % reverts at execution; in-bounds settings land in one batch", async function () {
      const f = await loadFixture(governanceFixture);
      const { governor } = f;
      const target = await governor.getAddress();
      const bad = {
        targets: [target],
        values: [0n],
        calldatas: [governor.interface.encodeFunctionData("updateQuorumNumerator", [MAX_QUORUM + 1n])],
        description: "quorum out of bounds",
      };
      const r = await passProposal(f, bad);
      await expect(governor.execute(bad.targets, bad.values, bad.calldatas, r.descriptionHash))
        .to.be.revertedWithCustomError(governor, "SettingOutOfBounds")
        .withArgs(MAX_QUORUM + 1n, MIN_QUORUM, MAX_QUORUM);

      const good = {
        targets: [target, target, target, target],
        values: [0n, 0n, 0n, 0n],
        calldatas: [
          governor.interface.encodeFunctionData("setVotingDelay", [MAX_VOTING_DELAY]),
          governor.interface.encodeFunctionData("setVotingPeriod", [MIN_VOTING_PERIOD]),
          governor.interface.encodeFunctionData("setProposalThreshold", [MAX_PROPOSAL_THRESHOLD]),
          governor.interface.encodeFunctionData("updateQuorumNumerator", [MAX_QUORUM]),
        ],
        description: "settings at their bounds",
      };
      const g = await passProposal(f, good);
      await expect(governor.execute(good.targets, good.values, good.calldatas, g.descriptionHash))
        .to.emit(governor, "VotingDelaySet")
        .withArgs(DAY, MAX_VOTING_DELAY)
        .and.to.emit(governor, "VotingPeriodSet")
        .withArgs(5n * DAY, MIN_VOTING_PERIOD)
        .and.to.emit(governor, "ProposalThresholdSet")
        .withArgs(100_000n * MESH, MAX_PROPOSAL_THRESHOLD)
        .and.to.emit(governor, "QuorumNumeratorUpdated")
        .withArgs(4n, MAX_QUORUM);
      expect(await governor.votingDelay()).to.equal(MAX_VOTING_DELAY);
      expect(await governor.votingPeriod()).to.equal(MIN_VOTING_PERIOD);
      expect(await governor.proposalThreshold()).to.equal(MAX_PROPOSAL_THRESHOLD);
      expect(await governor["quorumNumerator()"]()).to.equal(MAX_QUORUM);
    });
  });

  describe("VotingPower", function () {
    it("getVotes is the token votes plus the stake votes", async function () {
      const f = await loadFixture(governanceFixture);
      const { votes, token, staking } = f;
      const daveHeld = ACTOR_BALANCE + VOTER_EXTRA - GOV_DAVE_STAKED;
      expect(await token.getVotes(f.dave.address)).to.equal(daveHeld);
      expect(await staking.stakeVotes(f.dave.address)).to.equal(GOV_DAVE_STAKED);
      expect(await votes.getVotes(f.dave.address)).to.equal(daveHeld + GOV_DAVE_STAKED);
      expect(await votes.getVotes(f.carol.address)).to.equal(ACTOR_BALANCE + VOTER_EXTRA);
      // alice never delegated on the token: her held MESH does not vote, her stake does.
      expect(await token.getVotes(f.alice.address)).to.equal(0n);
      expect(await votes.getVotes(f.alice.address)).to.equal(GOV_ALICE_STAKE);
      expect(await votes.getVotes(f.outsider.address)).to.equal(0n);
      for (const a of [f.alice, f.bob, f.carol, f.dave, f.outsider]) {
        expect(await votes.getVotes(a.address)).to.equal(
          (await token.getVotes(a.address)) + (await staking.stakeVotes(a.address)),
        );
      }
    });

    it("staking moves votes from the token side to the stake side without changing the total", async function () {
      const f = await loadFixture(governanceFixture);
      const before = await f.votes.getVotes(f.carol.address);
      await f.staking.connect(f.carol).delegate(f.alice.address, 500_000n * MESH);
      expect(await f.votes.getVotes(f.carol.address)).to.equal(before);
      expect(await f.staking.stakeVotes(f.carol.address)).to.equal(500_000n * MESH);
      // Token votes delegated elsewhere: staking takes them from the token delegatee and gives them to the staker.
      await f.token.connect(f.bob).delegate(f.carol.address);
      const carolWithBob = await f.votes.getVotes(f.carol.address);
      expect(carolWithBob).to.equal(before + ACTOR_BALANCE);
      await f.staking.connect(f.bob).stake(100_000n * MESH);
      expect(await f.votes.getVotes(f.carol.address)).to.equal(carolWithBob - 100_000n * MESH);
      expect(await f.votes.getVotes(f.bob.address)).to.equal(100_000n * MESH);
    });

    it("getPastVotes reads both sides at past timestamps", async function () {
      const f = await loadFixture(governanceFixture);
      const { votes, staking } = f;
      const t0 = BigInt(await time.latest());
      const total0 = await votes.getVotes(f.dave.address);
      await time.increase(100);
      const [shares] = await staking.delegationOf(f.alice.address, f.dave.address);
      await staking.connect(f.dave).undelegate(f.alice.address, shares / 5n); // 500k leaves stake, not yet held
      const t1 = BigInt(await time.latest());
      await time.increase(100);
      await f.token.connect(f.dave).transfer(f.outsider.address, 100_000n * MESH);
      const t2 = BigInt(await time.latest());
      await time.increase(1);
      expect(await votes.getPastVotes(f.dave.address, t0)).to.equal(total0);
      expect(await votes.getPastVotes(f.dave.address, t1)).to.equal(total0 - 500_000n * MESH);
      expect(await votes.getPastVotes(f.dave.address, t2)).to.equal(total0 - 600_000n * MESH);
      for (const t of [t0, t1, t2]) {
        expect(await votes.getPastVotes(f.dave.address, t)).to.equal(
          (await f.token.getPastVotes(f.dave.address, t)) + (await staking.getPastStakeVotes(f.dave.address, t)),
        );
      }
      expect(await votes.getPastVotes(f.dave.address, t1 - 1n)).to.equal(total0);
    });

    it("getPastVotes of a future time reverts (Staking's FutureLookup is evaluated first)", async function () {
      const f = await loadFixture(governanceFixture);
      const future = BigInt(await time.latest()) + 1_000n;
      // The right operand of `token.getPastVotes(..) + staking.getPastStakeVotes(..)` is evaluated first.
      await expect(f.votes.getPastVotes(f.dave.address, future)).to.be.revertedWithCustomError(
        f.staking,
        "FutureLookup",
      );
      await expect(f.token.getPastVotes(f.dave.address, future)).to.be.revertedWithCustomError(
        f.token,
        "ERC5805FutureLookup",
      );
    });

    it("getPastTotalSupply is the token's", async function () {
      const f = await loadFixture(governanceFixture);
      const t0 = BigInt(await time.latest());
      await time.increase(10);
      await f.token.connect(f.carol).burn(1_000n * MESH);
      const t1 = BigInt(await time.latest());
      await time.increase(1);
      for (const t of [t0, t1]) {
        expect(await f.votes.getPastTotalSupply(t)).to.equal(await f.token.getPastTotalSupply(t));
      }
      expect(await f.votes.getPastTotalSupply(t1)).to.equal((await f.votes.getPastTotalSupply(t0)) - 1_000n * MESH);
    });

    it("delegate and delegateBySig revert DelegateOnToken; delegates is the token's", async function () {
      const f = await loadFixture(governanceFixture);
      const { votes } = f;
      await expect(votes.connect(f.carol).delegate(f.dave.address)).to.be.revertedWithCustomError(
        votes,
        "DelegateOnToken",
      );
      await expect(
        votes.delegateBySig(f.dave.address, 0n, 0n, 27, ethers.ZeroHash, ethers.ZeroHash),
      ).to.be.revertedWithCustomError(votes, "DelegateOnToken");
      expect(await votes.delegates(f.carol.address)).to.equal(f.carol.address);
      expect(await votes.delegates(f.alice.address)).to.equal(ethers.ZeroAddress);
    });

    it("uses the token's timestamp clock", async function () {
      const f = await loadFixture(governanceFixture);
      expect(await f.votes.CLOCK_MODE()).to.equal(await f.token.CLOCK_MODE());
      expect(await f.votes.CLOCK_MODE()).to.equal("mode=timestamp");
      expect(await f.votes.clock()).to.equal(await f.token.clock());
      expect(await f.governor.clock()).to.equal(await f.token.clock());
      expect(await f.governor.CLOCK_MODE()).to.equal("mode=timestamp");
    });
  });
});
