/**
 * Attack 1: re-entrancy through a token callback or a contract account.
 *
 * MeshToken is a plain ERC20 (no transfer hooks), so with it no protocol contract ever hands control to a recipient.
 * To show the contracts would stay safe with a token that does, every contract that takes a token address at
 * construction is deployed on `ReentrantToken` (contracts/test/), which calls hooked accounts back from inside
 * transfers (ERC777-style: the sender before its balance moves, the recipient after). The attacker is a
 * `HostileDelegator` (contracts/test/) armed with a re-entrant call it fires from that callback. No contract uses a
 * ReentrancyGuard: each re-entry fails because the state was written before the transfer (checks-effects-interactions),
 * and the outer call pays exactly once.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { HostileDelegator__factory, ReentrantToken__factory } from "../../typechain-types";
import { buildRewardsTree } from "../../sdk/trees";
import { VerdictStatus } from "../../sdk/enums";
import { DAY, FaultKind, MESH, protocolFixture } from "../helpers/fixtures";
import { deviceWallet, signRegistration, H3_CELL } from "../helpers/devices";
import { orderTerms } from "../helpers/market";
import { makeVerdict, signedBy } from "../helpers/verdicts";
import { expectStakingSolvent, hostileProtocolFixture, type HostileFixture } from "./helpers";

const UNBONDING_PERIOD = 7n * DAY; // ProtocolConfig defaults
const DISPUTE_WINDOW = 3n * DAY;
const CHALLENGE_BOND = 100n * MESH;
const VERDICT_DISPUTE_BOND = 1_000n * MESH;
const VERDICT_DISPUTE_REWARD = 500n * MESH;
/** Shares of an untouched delegation pool: exactly 1e6 per token wei (SharesMath virtual shares). */
const sharesOf = (tokens: bigint): bigint => tokens * 10n ** 6n;

/** Hostile fixture where the attacker contract has delegated 1,000 MESH to alice. */
async function delegatedFixture(): Promise<HostileFixture> {
  const f = await hostileProtocolFixture();
  await f.attacker.execute(
    f.staking,
    f.staking.interface.encodeFunctionData("delegate", [f.alice.address, 1_000n * MESH]),
  );
  return f;
}

/** Hostile fixture with a pending epoch-0 verdict on the hostile hub. */
async function pendingVerdictFixture(): Promise<HostileFixture> {
  const f = await hostileProtocolFixture();
  await time.increaseTo(await f.config.epochEnd(0n));
  const verdict = makeVerdict(0n);
  await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  return f;
}

describe("Security: re-entrancy through a hostile token and a contract delegator", function () {
  describe("Staking on a re-entrant token", function () {
    it("re-entering withdraw from the payout callback reverts NothingToWithdraw: paid once, books balance", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, attacker, alice, carol } = f;
      const attackerAddress = await attacker.getAddress();
      await attacker.execute(
        staking,
        staking.interface.encodeFunctionData("undelegate", [alice.address, sharesOf(1_000n * MESH)]),
      );
      // An honest delegator's unbonding stake sits in the same pool and must come out whole.
      await staking.connect(carol).delegate(alice.address, 300n * MESH);
      await staking.connect(carol).undelegate(alice.address, sharesOf(300n * MESH));
      await time.increase(UNBONDING_PERIOD);

      await attacker.arm(staking, staking.interface.encodeFunctionData("withdraw", [10n]));
      const before = await token.balanceOf(attackerAddress);
      await expect(attacker.execute(staking, staking.interface.encodeFunctionData("withdraw", [10n])))
        .to.emit(attacker, "Reentered")
        .withArgs(
          await staking.getAddress(),
          false,
          staking.interface.encodeErrorResult("NothingToWithdraw", [attackerAddress]),
        );
      expect(await attacker.reentries()).to.equal(1n);
      expect((await token.balanceOf(attackerAddress)) - before).to.equal(1_000n * MESH);

      await expect(staking.connect(carol).withdraw(10n)).to.changeTokenBalance(token, carol, 300n * MESH);
      expect(await staking.totalUnbonding()).to.equal(0n);
      await expectStakingSolvent(staking, token);
    });

    it("re-entering claimRewards from the payout callback reverts NothingToClaim: rewards paid once", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, attacker, alice, governance } = f;
      const attackerAddress = await attacker.getAddress();
      await staking.connect(governance).addRewards(alice.address, 1_100n * MESH); // half to the delegated half
      const owed = await staking.pendingRewards(alice.address, attackerAddress);
      expect(owed).to.be.greaterThan(0n);
      const reservedBefore = await staking.rewardsReserved();

      await attacker.arm(staking, staking.interface.encodeFunctionData("claimRewards", [alice.address]));
      const before = await token.balanceOf(attackerAddress);
      await expect(attacker.execute(staking, staking.interface.encodeFunctionData("claimRewards", [alice.address])))
        .to.emit(attacker, "Reentered")
        .withArgs(
          await staking.getAddress(),
          false,
          staking.interface.encodeErrorResult("NothingToClaim", [attackerAddress, alice.address]),
        );
      expect((await token.balanceOf(attackerAddress)) - before).to.equal(owed);
      expect(reservedBefore - (await staking.rewardsReserved())).to.equal(owed);
      expect(await staking.pendingRewards(alice.address, attackerAddress)).to.equal(0n);
      await expectStakingSolvent(staking, token);
    });

    it("re-entering undelegate before delegate's tokens arrive (sender callback) only queues stake that is then paid in: books balance", async function () {
      const f = await loadFixture(hostileProtocolFixture);
      const { staking, token, attacker, alice } = f;
      const attackerAddress = await attacker.getAddress();
      const amount = 500n * MESH;
      // Delegate writes the position first, then pulls the tokens: the callback sees a complete position to exit.
      await attacker.arm(
        staking,
        staking.interface.encodeFunctionData("undelegate", [alice.address, sharesOf(amount)]),
      );
      const before = await token.balanceOf(attackerAddress);
      await expect(attacker.execute(staking, staking.interface.encodeFunctionData("delegate", [alice.address, amount])))
        .to.emit(attacker, "Reentered")
        .withArgs(await staking.getAddress(), true, ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [amount]));
      expect(before - (await token.balanceOf(attackerAddress))).to.equal(amount);
      expect(await staking.totalStaked()).to.equal(1_000n * MESH); // alice's self-stake only
      expect(await staking.totalUnbonding()).to.equal(amount);
      await expectStakingSolvent(staking, token);

      await time.increase(UNBONDING_PERIOD);
      await attacker.execute(staking, staking.interface.encodeFunctionData("withdraw", [10n]));
      expect(await token.balanceOf(attackerAddress)).to.equal(before); // no gain, no loss
      await expectStakingSolvent(staking, token);
    });
  });

  describe("Slashing on a re-entrant token", function () {
    it("re-opening the same challenge from the bond pull callback reverts FaultUnderChallenge; expiring twice reverts ChallengeNotOpen: one bond in, one bond out", async function () {
      const f = await loadFixture(hostileProtocolFixture);
      const { slashing, token, attacker, aliceDevice } = f;
      const attackerAddress = await attacker.getAddress();
      const open = slashing.interface.encodeFunctionData("openChallenge", [
        aliceDevice,
        FaultKind.InvalidProof,
        0n,
        ethers.id("evidence"),
      ]);
      const faultId = await slashing.faultId(aliceDevice, FaultKind.InvalidProof, 0n);
      await attacker.arm(slashing, open);
      await expect(attacker.execute(slashing, open))
        .to.emit(attacker, "Reentered")
        .withArgs(
          await slashing.getAddress(),
          false,
          slashing.interface.encodeErrorResult("FaultUnderChallenge", [faultId, 1n]),
        );
      expect(await slashing.challengeCount()).to.equal(1n);
      expect(await token.balanceOf(slashing)).to.equal(CHALLENGE_BOND);

      await time.increase(DISPUTE_WINDOW + 1n);
      const expire = slashing.interface.encodeFunctionData("expireChallenge", [1n]);
      await attacker.arm(slashing, expire);
      await expect(attacker.execute(slashing, expire))
        .to.emit(attacker, "Reentered")
        .withArgs(await slashing.getAddress(), false, slashing.interface.encodeErrorResult("ChallengeNotOpen", [1n]));
      expect(await token.balanceOf(slashing)).to.equal(0n);
      expect(await token.balanceOf(attackerAddress)).to.equal(1_000_000n * MESH);
    });

    it("re-entering from the upheld challenge's payout callback reverts ChallengeNotOpen: bond and reward paid once, one slash", async function () {
      const f = await loadFixture(hostileProtocolFixture);
      const { slashing, staking, token, attacker, aliceDevice, arbitrator, treasury, alice } = f;
      const attackerAddress = await attacker.getAddress();
      await attacker.execute(
        slashing,
        slashing.interface.encodeFunctionData("openChallenge", [
          aliceDevice,
          FaultKind.InvalidProof,
          0n,
          ethers.id("e"),
        ]),
      );
      const penalty = await slashing.previewPenalty(aliceDevice, FaultKind.InvalidProof);
      const reward = penalty / 2n; // ChallengerRewardBps 5,000
      await attacker.arm(slashing, slashing.interface.encodeFunctionData("expireChallenge", [1n]));
      const before = await token.balanceOf(attackerAddress);
      const treasuryBefore = await token.balanceOf(treasury.address);

      await expect(slashing.connect(arbitrator).resolveChallenge(1n, true))
        .to.emit(attacker, "Reentered")
        .withArgs(await slashing.getAddress(), false, slashing.interface.encodeErrorResult("ChallengeNotOpen", [1n]));
      expect((await token.balanceOf(attackerAddress)) - before).to.equal(CHALLENGE_BOND + reward);
      expect((await token.balanceOf(treasury.address)) - treasuryBefore).to.equal(penalty - reward);
      expect(await staking.selfStake(alice.address)).to.equal(1_000n * MESH - penalty);
      expect(await token.balanceOf(slashing)).to.equal(0n);
      await expectStakingSolvent(staking, token);
    });
  });

  describe("OracleHub on a re-entrant token", function () {
    it("re-disputing from the bond pull callback reverts InvalidVerdictStatus(Disputed); re-expiring from the refund reverts InvalidVerdictStatus(Pending)", async function () {
      const f = await loadFixture(pendingVerdictFixture);
      const { hub, token, attacker } = f;
      const attackerAddress = await attacker.getAddress();
      const dispute = hub.interface.encodeFunctionData("disputeVerdict", [0n, ethers.id("spam")]);
      await attacker.arm(hub, dispute);
      await expect(attacker.execute(hub, dispute))
        .to.emit(attacker, "Reentered")
        .withArgs(
          await hub.getAddress(),
          false,
          hub.interface.encodeErrorResult("InvalidVerdictStatus", [0n, VerdictStatus.Disputed]),
        );
      expect(await token.balanceOf(hub)).to.equal(VERDICT_DISPUTE_BOND);

      await time.increase(DISPUTE_WINDOW + 1n);
      const expire = hub.interface.encodeFunctionData("expireDispute", [0n]);
      await attacker.arm(hub, expire);
      await expect(attacker.execute(hub, expire))
        .to.emit(attacker, "Reentered")
        .withArgs(
          await hub.getAddress(),
          false,
          hub.interface.encodeErrorResult("InvalidVerdictStatus", [0n, VerdictStatus.Pending]),
        );
      expect(await token.balanceOf(hub)).to.equal(0n);
      expect(await token.balanceOf(attackerAddress)).to.equal(1_000_000n * MESH);
    });

    it("re-entering from an upheld dispute's payout callback reverts InvalidVerdictStatus(None): the reward leaves the reserve once", async function () {
      const f = await loadFixture(pendingVerdictFixture);
      const { hub, token, attacker, arbitrator, governance } = f;
      const attackerAddress = await attacker.getAddress();
      await hub.connect(governance).fundDisputeRewards(2n * VERDICT_DISPUTE_REWARD);
      await attacker.execute(hub, hub.interface.encodeFunctionData("disputeVerdict", [0n, ethers.id("wrong root")]));
      await attacker.arm(hub, hub.interface.encodeFunctionData("expireDispute", [0n]));

      await expect(hub.connect(arbitrator).resolveDispute(0n, true))
        .to.emit(attacker, "Reentered")
        .withArgs(
          await hub.getAddress(),
          false,
          hub.interface.encodeErrorResult("InvalidVerdictStatus", [0n, VerdictStatus.None]),
        );
      expect(await token.balanceOf(attackerAddress)).to.equal(1_000_000n * MESH + VERDICT_DISPUTE_REWARD);
      expect(await hub.disputeRewardReserve()).to.equal(VERDICT_DISPUTE_REWARD);
      expect(await token.balanceOf(hub)).to.equal(VERDICT_DISPUTE_REWARD);
    });
  });

  describe("RewardsDistributor on a re-entrant token, with a contract operator", function () {
    it("a double claim in one transaction reverts NothingToClaim; re-claiming from the staking payout callback reverts NothingToClaim: paid once", async function () {
      const f = await loadFixture(hostileProtocolFixture);
      const { registry, staking, distributor, hub, token, attacker, oracles, config } = f;
      const attackerAddress = await attacker.getAddress();
      // The attack contract operates a device of its own.
      await attacker.execute(staking, staking.interface.encodeFunctionData("stake", [100n * MESH]));
      const device = deviceWallet("mallory-1");
      const { registration, signature } = await signRegistration(registry, device, {
        operator: attackerAddress,
        resourceClass: 0,
        capacity: 1n,
        location: H3_CELL,
        deadline: BigInt(await time.latest()) + DAY,
      });
      await attacker.execute(
        registry,
        registry.interface.encodeFunctionData("registerDevice", [registration, signature]),
      );

      const earned = 1_000n * MESH;
      const tree = buildRewardsTree([
        { device: device.address, cumulativeAmount: earned },
        { device: f.aliceDevice, cumulativeAmount: 10n * MESH },
      ]);
      await time.increaseTo(await config.epochEnd(0n));
      const verdict = makeVerdict(0n, { rewardsRoot: tree.root, devicesCounted: 2n });
      await hub.submitVerdict(verdict, await signedBy(hub, verdict, oracles.slice(0, 3)));
      await time.increase(12n * 3_600n);
      await hub.finaliseVerdict(0n);
      const proof = tree.getProof(0);
      const claim = distributor.interface.encodeFunctionData("claim", [device.address, earned, proof]);

      const d = await distributor.getAddress();
      await expect(attacker.executeBatch([d, d], [claim, claim]))
        .to.be.revertedWithCustomError(distributor, "NothingToClaim")
        .withArgs(device.address, earned, earned);
      await attacker.execute(distributor, claim); // credits the attacker's pool in Staking; moves no tokens

      await attacker.arm(distributor, claim);
      const before = await token.balanceOf(attackerAddress);
      await expect(attacker.execute(staking, staking.interface.encodeFunctionData("claimRewards", [attackerAddress])))
        .to.emit(attacker, "Reentered")
        .withArgs(
          d,
          false,
          distributor.interface.encodeErrorResult("NothingToClaim", [device.address, earned, earned]),
        );
      expect((await token.balanceOf(attackerAddress)) - before).to.equal(earned);
      expect(await distributor.totalClaimed()).to.equal(earned);
      await expectStakingSolvent(staking, token);
    });
  });

  describe("Marketplace with a re-entrant payment token governance allowed", function () {
    it("re-entering withdraw from the payout callback reverts NothingToWithdraw; re-entering from the escrow pull leaves the books whole", async function () {
      const f = await loadFixture(protocolFixture);
      const { marketplace, config, governance, carol } = f;
      const token = await new ReentrantToken__factory(governance).deploy();
      await config.connect(governance).setPaymentToken(token, true);
      const attacker = await new HostileDelegator__factory(governance).deploy();
      const attackerAddress = await attacker.getAddress();
      const escrow = 100n * MESH;
      await token.mint(attackerAddress, escrow);
      await token.mint(carol.address, escrow);
      await token.connect(carol).approve(marketplace, escrow);
      await marketplace.connect(carol).postOrder(orderTerms(f, { token: await token.getAddress() }), escrow);
      const call = (fn: string, args: unknown[]) => marketplace.interface.encodeFunctionData(fn as never, args as never);
      await attacker.execute(token, token.interface.encodeFunctionData("approve", [await marketplace.getAddress(), escrow]));
      await attacker.execute(token, token.interface.encodeFunctionData("setHook", [true]));

      // From the escrow pull (sender callback, before its tokens move) the attacker cancels its own order: it is
      // credited the escrow its transfer then pays in.
      await attacker.arm(marketplace, call("cancelOrder", [2n]));
      await expect(attacker.execute(marketplace, call("postOrder", [orderTerms(f, { token: await token.getAddress() }), escrow])))
        .to.emit(attacker, "Reentered")
        .withArgs(await marketplace.getAddress(), true, "0x");
      expect(await marketplace.credit(attackerAddress, token)).to.equal(escrow);
      expect(await token.balanceOf(marketplace)).to.equal(2n * escrow);

      // From the payout (recipient callback, after the tokens moved) a second withdraw finds nothing.
      await attacker.arm(marketplace, call("withdraw", [await token.getAddress()]));
      await expect(attacker.execute(marketplace, call("withdraw", [await token.getAddress()])))
        .to.emit(attacker, "Reentered")
        .withArgs(
          await marketplace.getAddress(),
          false,
          marketplace.interface.encodeErrorResult("NothingToWithdraw", [await token.getAddress()]),
        );
      expect(await token.balanceOf(attackerAddress)).to.equal(escrow);
      expect(await token.balanceOf(marketplace)).to.equal(escrow); // carol's escrow, untouched
      expect((await marketplace.getOrder(1n)).escrow).to.equal(escrow);
    });
  });

  describe("a contract delegator on the real MeshToken", function () {
    it("gets no callback from MeshToken, and a double withdraw or double claim in one transaction reverts", async function () {
      const f = await loadFixture(protocolFixture);
      const { staking, token, alice, outsider, governance } = f;
      const attacker = await new HostileDelegator__factory(outsider).deploy();
      const s = await staking.getAddress();
      await token.connect(governance).transfer(attacker, 1_000n * MESH);
      await attacker.execute(token, token.interface.encodeFunctionData("approve", [s, ethers.MaxUint256]));
      await attacker.execute(staking, staking.interface.encodeFunctionData("delegate", [alice.address, 1_000n * MESH]));
      await staking.connect(governance).addRewards(alice.address, 100n * MESH);
      await attacker.execute(
        staking,
        staking.interface.encodeFunctionData("undelegate", [alice.address, sharesOf(400n * MESH)]),
      );
      await time.increase(UNBONDING_PERIOD);

      const withdraw = staking.interface.encodeFunctionData("withdraw", [10n]);
      await expect(attacker.executeBatch([s, s], [withdraw, withdraw]))
        .to.be.revertedWithCustomError(staking, "NothingToWithdraw")
        .withArgs(await attacker.getAddress());
      const claim = staking.interface.encodeFunctionData("claimRewards", [alice.address]);
      await expect(attacker.executeBatch([s, s], [claim, claim]))
        .to.be.revertedWithCustomError(staking, "NothingToClaim")
        .withArgs(await attacker.getAddress(), alice.address);

      const owed = await staking.pendingRewards(alice.address, attacker);
      await attacker.executeBatch([s, s], [withdraw, claim]);
      expect(await token.balanceOf(attacker)).to.equal(400n * MESH + owed);
      expect(await attacker.reentries()).to.equal(0n);
      await expectStakingSolvent(staking, token);
    });
  });
});
