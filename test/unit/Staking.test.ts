import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { ProviderRegistry__factory, Staking__factory } from "../../typechain-types";
import type { UnbondingRequestStruct, UnbondingRequestStructOutput } from "../../typechain-types/contracts/Staking";
import { Param, ClassParam } from "../../sdk/enums";
import { DAY, MESH, ResourceClass, operatorFixture, registerDevice, type CoreFixture } from "../helpers/fixtures";

/* ------------------------------------------------------------------------------------------------------------ */
/* Constants mirroring the contracts                                                                             */
/* ------------------------------------------------------------------------------------------------------------ */

const UNBONDING_PERIOD = 7n * DAY; // ProtocolConfig default
const COMMISSION_DELAY = 7n * DAY; // ProtocolConfig default
const MIN_UNBOND = 1n * MESH; // ProtocolConfig default
const REWARD_SCALE = 10n ** 36n;
const SLASHER_ROLE = ethers.id("SLASHER_ROLE");
const DISTRIBUTOR_ROLE = ethers.id("DISTRIBUTOR_ROLE");
const JAILER_ROLE = ethers.id("JAILER_ROLE");

/** SharesMath: virtual shares and tokens. An untouched pool mints exactly 1e6 shares per token wei. */
const VIRTUAL_SHARES = 10n ** 6n;
const VIRTUAL_TOKENS = 1n;
const sharesOf = (tokens: bigint): bigint => tokens * VIRTUAL_SHARES;
interface PoolValue {
  tokens: bigint;
  shares: bigint;
}
/** SharesMath.toTokensDown. */
const toTokensDown = (pool: PoolValue, shares: bigint): bigint =>
  (shares * (pool.tokens + VIRTUAL_TOKENS)) / (pool.shares + VIRTUAL_SHARES);

/** A queue entry as returned by `pendingUnbondings` (a frozen ethers Result) copied into a call argument. */
const plain = (r: UnbondingRequestStructOutput): UnbondingRequestStruct => ({
  operator: r.operator,
  releaseAt: r.releaseAt,
  delegated: r.delegated,
  shares: r.shares,
  generation: r.generation,
});

/* ------------------------------------------------------------------------------------------------------------ */
/* Fixtures                                                                                                      */
/* ------------------------------------------------------------------------------------------------------------ */

type Fixture = CoreFixture & { aliceDevice: string };

/** alice: 1,000 MESH self-stake and one Coverage device (100 MESH required); governance holds SLASHER and JAILER. */
async function baseFixture(): Promise<Fixture> {
  const f = await operatorFixture();
  await f.staking.grantRole(SLASHER_ROLE, f.governance.address);
  await f.registry.grantRole(JAILER_ROLE, f.governance.address);
  return f;
}

/** Base plus carol delegating 3,000 MESH and dave 1,000 MESH to alice (commission 0). */
async function delegatedFixture(): Promise<Fixture> {
  const f = await baseFixture();
  await f.staking.connect(f.carol).delegate(f.alice.address, 3_000n * MESH);
  await f.staking.connect(f.dave).delegate(f.alice.address, 1_000n * MESH);
  return f;
}

/** Base plus a 10% commission for alice (set before any delegation, so at once), then carol 3,000 and dave 1,000. */
async function commissionFixture(): Promise<Fixture> {
  const f = await baseFixture();
  await f.staking.connect(f.alice).setCommission(1_000);
  await f.staking.connect(f.carol).delegate(f.alice.address, 3_000n * MESH);
  await f.staking.connect(f.dave).delegate(f.alice.address, 1_000n * MESH);
  return f;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Helpers                                                                                                       */
/* ------------------------------------------------------------------------------------------------------------ */

/** Pins the timestamp of the next block (and so of the next transaction) and returns it. */
async function nextTimestamp(offset = 1n): Promise<bigint> {
  const t = BigInt(await time.latest()) + offset;
  await time.setNextBlockTimestamp(t);
  return t;
}

/** Jails `device` (governance holds JAILER_ROLE in these fixtures) for one day. */
async function jail(f: Fixture, device: string): Promise<void> {
  await f.registry.jail(device, BigInt(await time.latest()) + DAY);
}

/**
 * After 1,000 MESH of rewards for alice in the commission fixture (10 % commission; 1,000 self-stake, 4,000 delegated):
 * alice 280 (commission and her stake's share), delegators 720, carol and dave 3 : 1 by their shares.
 */
async function expectSplitOf1000(f: Fixture): Promise<void> {
  const { staking, alice, carol, dave } = f;
  const s = await staking.getOperatorStake(alice.address);
  expect(s.operatorRewards).to.equal(280n * MESH);
  expect(s.rewardPerShare).to.equal((720n * MESH * REWARD_SCALE) / sharesOf(4_000n * MESH));
  expect(await staking.pendingRewards(alice.address, carol.address)).to.equal(540n * MESH);
  expect(await staking.pendingRewards(alice.address, dave.address)).to.equal(180n * MESH);
  expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(280n * MESH);
}

/**
 * The contract's books balance: its token balance equals totalStaked + totalUnbonding + rewardsReserved, and the
 * totals equal the sums of the operators' pools (alice and bob are the only operators in these tests).
 */
async function expectAccounting(f: Fixture): Promise<void> {
  const { staking, token } = f;
  const [balance, staked, unbonding, reserved] = await Promise.all([
    token.balanceOf(staking),
    staking.totalStaked(),
    staking.totalUnbonding(),
    staking.rewardsReserved(),
  ]);
  expect(balance).to.equal(staked + unbonding + reserved, "balance != totalStaked + totalUnbonding + rewardsReserved");
  let sumStaked = 0n;
  let sumUnbonding = 0n;
  for (const op of [f.alice, f.bob]) {
    const s = await staking.getOperatorStake(op.address);
    sumStaked += s.selfStake + s.delegated.tokens;
    sumUnbonding += s.selfUnbonding.tokens + s.delegatedUnbonding.tokens;
  }
  expect(staked).to.equal(sumStaked, "totalStaked != sum of active pools");
  expect(unbonding).to.equal(sumUnbonding, "totalUnbonding != sum of unbonding pools");
  // Every claimable reward is backed by the reserve.
  let claimable = 0n;
  for (const op of [f.alice, f.bob]) {
    for (const account of [f.alice, f.bob, f.carol, f.dave]) {
      if (account.address === op.address || ![f.alice.address, f.bob.address].includes(account.address)) {
        claimable += await staking.pendingRewards(op.address, account.address);
      }
    }
  }
  expect(reserved >= claimable).to.equal(true, "rewardsReserved below the claimable rewards");
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Tests                                                                                                         */
/* ------------------------------------------------------------------------------------------------------------ */

describe("Staking", function () {
  describe("constructor", function () {
    it("reverts with RegistryMismatch when the registry names another staking contract", async function () {
      const f = await loadFixture(baseFixture);
      const factory = new Staking__factory(f.governance);
      // The deployed registry points at the deployed Staking, not at the one about to be created.
      await expect(factory.deploy(f.token, f.config, f.registry, f.governance.address))
        .to.be.revertedWithCustomError(factory, "RegistryMismatch")
        .withArgs(await f.registry.getAddress());

      // A fresh registry that names an unrelated address.
      const other = await new ProviderRegistry__factory(f.governance).deploy(
        f.config,
        f.outsider.address,
        f.governance.address,
      );
      await expect(factory.deploy(f.token, f.config, other, f.governance.address))
        .to.be.revertedWithCustomError(factory, "RegistryMismatch")
        .withArgs(await other.getAddress());
    });

    it("deploys against a registry that points back at it and wires token, config, registry and admin", async function () {
      const f = await loadFixture(baseFixture);
      const nonce = await f.governance.getNonce();
      const predicted = ethers.getCreateAddress({ from: f.governance.address, nonce: nonce + 1 });
      const registry = await new ProviderRegistry__factory(f.governance).deploy(
        f.config,
        predicted,
        f.governance.address,
      );
      const staking = await new Staking__factory(f.governance).deploy(f.token, f.config, registry, f.bob.address);
      expect(await staking.getAddress()).to.equal(predicted);
      expect(await staking.registry()).to.equal(await registry.getAddress());
      expect(await staking.token()).to.equal(await f.token.getAddress());
      expect(await staking.config()).to.equal(await f.config.getAddress());
      expect(await staking.hasRole(await staking.DEFAULT_ADMIN_ROLE(), f.bob.address)).to.equal(true);
      expect(await staking.hasRole(await staking.DEFAULT_ADMIN_ROLE(), f.governance.address)).to.equal(false);
      expect(await staking.SLASHER_ROLE()).to.equal(SLASHER_ROLE);
      expect(await staking.DISTRIBUTOR_ROLE()).to.equal(DISTRIBUTOR_ROLE);
      expect(await staking.hasRole(DISTRIBUTOR_ROLE, f.bob.address)).to.equal(false);
      expect(await staking.REWARD_SCALE()).to.equal(REWARD_SCALE);
      expect(await staking.totalStaked()).to.equal(0n);
      expect(await staking.totalUnbonding()).to.equal(0n);
      expect(await staking.rewardsReserved()).to.equal(0n);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("stake", function () {
    it("adds self-stake, pulls the tokens and emits Staked", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, token, bob } = f;
      const tx = staking.connect(bob).stake(250n * MESH);
      await expect(tx).to.emit(staking, "Staked").withArgs(bob.address, 250n * MESH);
      await expect(tx).to.changeTokenBalances(token, [bob, staking], [-250n * MESH, 250n * MESH]);
      expect(await staking.selfStake(bob.address)).to.equal(250n * MESH);
      expect((await staking.getOperatorStake(bob.address)).selfStake).to.equal(250n * MESH);
      expect(await staking.totalStaked()).to.equal(1_250n * MESH); // alice's 1,000 + bob's 250
      expect(await staking.slashableStake(bob.address)).to.equal(250n * MESH);
      await expectAccounting(f);
    });

    it("accumulates repeated stakes", async function () {
      const f = await loadFixture(baseFixture);
      await f.staking.connect(f.alice).stake(500n * MESH);
      await expect(f.staking.connect(f.alice).stake(1n))
        .to.emit(f.staking, "Staked")
        .withArgs(f.alice.address, 1n);
      expect(await f.staking.selfStake(f.alice.address)).to.equal(1_500n * MESH + 1n);
      expect(await f.staking.totalStaked()).to.equal(1_500n * MESH + 1n);
      await expectAccounting(f);
    });

    it("reverts with ZeroAmount", async function () {
      const { staking, bob } = await loadFixture(baseFixture);
      await expect(staking.connect(bob).stake(0)).to.be.revertedWithCustomError(staking, "ZeroAmount").withArgs();
    });

    it("reverts when the staker has not approved the tokens", async function () {
      const { staking, token, outsider } = await loadFixture(baseFixture);
      await expect(staking.connect(outsider).stake(1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await staking.getAddress(), 0n, 1n);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("unstake", function () {
    it("moves self-stake into the unbonding queue without paying out, release at now + UnbondingPeriod", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, token, alice } = f;
      const t = await nextTimestamp();
      const tx = staking.connect(alice).unstake(400n * MESH);
      await expect(tx)
        .to.emit(staking, "Unstaked")
        .withArgs(alice.address, 400n * MESH, sharesOf(400n * MESH), t + UNBONDING_PERIOD);
      await expect(tx).to.changeTokenBalances(token, [alice, staking], [0n, 0n]);

      expect(await staking.selfStake(alice.address)).to.equal(600n * MESH);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.selfUnbonding.tokens).to.equal(400n * MESH);
      expect(s.selfUnbonding.shares).to.equal(sharesOf(400n * MESH));
      expect(await staking.totalStaked()).to.equal(600n * MESH);
      expect(await staking.totalUnbonding()).to.equal(400n * MESH);
      expect(await staking.slashableStake(alice.address)).to.equal(1_000n * MESH); // still slashable

      const queue = await staking.pendingUnbondings(alice.address);
      expect(queue.length).to.equal(1);
      expect(queue[0].operator).to.equal(alice.address);
      expect(queue[0].releaseAt).to.equal(t + UNBONDING_PERIOD);
      expect(queue[0].delegated).to.equal(false);
      expect(queue[0].shares).to.equal(sharesOf(400n * MESH));
      expect(await staking.unbondingValue(plain(queue[0]))).to.equal(400n * MESH);
      await expectAccounting(f);
    });

    it("reverts with ZeroAmount", async function () {
      const { staking, alice, outsider } = await loadFixture(baseFixture);
      await expect(staking.connect(alice).unstake(0)).to.be.revertedWithCustomError(staking, "ZeroAmount");
      await expect(staking.connect(outsider).unstake(0)).to.be.revertedWithCustomError(staking, "ZeroAmount");
    });

    it("reverts with InsufficientSelfStake above the self-stake", async function () {
      const { staking, alice, outsider } = await loadFixture(baseFixture);
      await expect(staking.connect(alice).unstake(1_000n * MESH + 1n))
        .to.be.revertedWithCustomError(staking, "InsufficientSelfStake")
        .withArgs(alice.address, 1_000n * MESH, 1_000n * MESH + 1n);
      await expect(staking.connect(outsider).unstake(1n))
        .to.be.revertedWithCustomError(staking, "InsufficientSelfStake")
        .withArgs(outsider.address, 0n, 1n);
    });

    it("reverts with StakeBelowRequired when the rest would not back the declared capacity", async function () {
      const { staking, registry, alice } = await loadFixture(baseFixture);
      expect(await registry.requiredStake(alice.address)).to.equal(100n * MESH);
      await expect(staking.connect(alice).unstake(950n * MESH))
        .to.be.revertedWithCustomError(staking, "StakeBelowRequired")
        .withArgs(alice.address, 50n * MESH, 100n * MESH);
      // A full exit is no exception while devices need stake.
      await expect(staking.connect(alice).unstake(1_000n * MESH))
        .to.be.revertedWithCustomError(staking, "StakeBelowRequired")
        .withArgs(alice.address, 0n, 100n * MESH);
      // Exactly the required stake may remain.
      await expect(staking.connect(alice).unstake(900n * MESH))
        .to.emit(staking, "Unstaked")
        .withArgs(alice.address, 900n * MESH, sharesOf(900n * MESH), (v: bigint) => v > 0n);
      expect(await staking.selfStake(alice.address)).to.equal(100n * MESH);
    });

    it("reverts with UnbondBelowMinimum for a partial exit below MinUnbondAmount, allows exactly the minimum", async function () {
      const { staking, alice } = await loadFixture(baseFixture);
      await expect(staking.connect(alice).unstake(MIN_UNBOND - 1n))
        .to.be.revertedWithCustomError(staking, "UnbondBelowMinimum")
        .withArgs(MIN_UNBOND - 1n, MIN_UNBOND);
      await expect(staking.connect(alice).unstake(MIN_UNBOND))
        .to.emit(staking, "Unstaked")
        .withArgs(alice.address, MIN_UNBOND, sharesOf(MIN_UNBOND), (v: bigint) => v > 0n);
    });

    it("allows a full exit below the minimum", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, bob } = f;
      await staking.connect(bob).stake(MESH / 2n);
      await expect(staking.connect(bob).unstake(MESH / 2n))
        .to.emit(staking, "Unstaked")
        .withArgs(bob.address, MESH / 2n, sharesOf(MESH / 2n), (v: bigint) => v > 0n);
      expect(await staking.selfStake(bob.address)).to.equal(0n);
      expect(await staking.isStalled(bob.address)).to.equal(true);
      await expectAccounting(f);
    });

    it("reverts with TooManyPendingUnbondings at MaxPendingUnbondings, and frees a slot once one is withdrawn", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, config, alice } = f;
      await config.setParam(Param.MaxPendingUnbondings, 2);
      await staking.connect(alice).unstake(MIN_UNBOND);
      await staking.connect(alice).unstake(MIN_UNBOND);
      await expect(staking.connect(alice).unstake(MIN_UNBOND))
        .to.be.revertedWithCustomError(staking, "TooManyPendingUnbondings")
        .withArgs(alice.address, 2n);

      await time.increase(UNBONDING_PERIOD);
      await staking.connect(alice).withdraw(1);
      await expect(staking.connect(alice).unstake(MIN_UNBOND)).to.emit(staking, "Unstaked");
      expect((await staking.pendingUnbondings(alice.address)).length).to.equal(2);
      await expect(staking.connect(alice).unstake(MIN_UNBOND))
        .to.be.revertedWithCustomError(staking, "TooManyPendingUnbondings")
        .withArgs(alice.address, 2n);
    });

    it("uses the UnbondingPeriod in force when the request is made", async function () {
      const { staking, config, alice } = await loadFixture(baseFixture);
      await config.setParam(Param.UnbondingPeriod, DAY);
      const t = await nextTimestamp();
      await expect(staking.connect(alice).unstake(10n * MESH))
        .to.emit(staking, "Unstaked")
        .withArgs(alice.address, 10n * MESH, sharesOf(10n * MESH), t + DAY);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("delegate", function () {
    it("mints pool shares, pulls the tokens and emits Delegated", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, token, alice, carol } = f;
      expect(await staking.connect(carol).delegate.staticCall(alice.address, 2_000n * MESH)).to.equal(
        sharesOf(2_000n * MESH),
      );
      const tx = staking.connect(carol).delegate(alice.address, 2_000n * MESH);
      await expect(tx)
        .to.emit(staking, "Delegated")
        .withArgs(carol.address, alice.address, 2_000n * MESH, sharesOf(2_000n * MESH));
      await expect(tx).to.changeTokenBalances(token, [carol, staking], [-2_000n * MESH, 2_000n * MESH]);

      const [shares, tokens] = await staking.delegationOf(alice.address, carol.address);
      expect(shares).to.equal(sharesOf(2_000n * MESH));
      expect(tokens).to.equal(2_000n * MESH);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.delegated.tokens).to.equal(2_000n * MESH);
      expect(s.delegated.shares).to.equal(sharesOf(2_000n * MESH));
      expect(s.selfStake).to.equal(1_000n * MESH);
      expect(await staking.totalStaked()).to.equal(3_000n * MESH);
      expect(await staking.slashableStake(alice.address)).to.equal(3_000n * MESH);
      await expectAccounting(f);
    });

    it("adds to an existing delegation and keeps separate delegators apart", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol, dave } = f;
      await expect(staking.connect(carol).delegate(alice.address, 500n * MESH))
        .to.emit(staking, "Delegated")
        .withArgs(carol.address, alice.address, 500n * MESH, sharesOf(500n * MESH));
      const [carolShares, carolTokens] = await staking.delegationOf(alice.address, carol.address);
      expect(carolShares).to.equal(sharesOf(3_500n * MESH));
      expect(carolTokens).to.equal(3_500n * MESH);
      const [daveShares, daveTokens] = await staking.delegationOf(alice.address, dave.address);
      expect(daveShares).to.equal(sharesOf(1_000n * MESH));
      expect(daveTokens).to.equal(1_000n * MESH);
      expect((await staking.getOperatorStake(alice.address)).delegated.tokens).to.equal(4_500n * MESH);
      expect(await staking.totalStaked()).to.equal(5_500n * MESH);
      await expectAccounting(f);
    });

    it("reverts with SelfDelegation", async function () {
      const { staking, alice } = await loadFixture(baseFixture);
      await expect(staking.connect(alice).delegate(alice.address, 1n))
        .to.be.revertedWithCustomError(staking, "SelfDelegation")
        .withArgs(alice.address);
    });

    it("reverts with ZeroAmount", async function () {
      const { staking, alice, carol } = await loadFixture(baseFixture);
      await expect(staking.connect(carol).delegate(alice.address, 0)).to.be.revertedWithCustomError(
        staking,
        "ZeroAmount",
      );
    });

    it("reverts with OperatorStalled for an operator without self-stake", async function () {
      const { staking, bob, carol } = await loadFixture(baseFixture);
      expect(await staking.isStalled(bob.address)).to.equal(true);
      await expect(staking.connect(carol).delegate(bob.address, 100n * MESH))
        .to.be.revertedWithCustomError(staking, "OperatorStalled")
        .withArgs(bob.address);
    });

    it("reverts with OperatorStalled while the operator has a jailed device, and accepts again after unjail", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, registry, alice, carol, aliceDevice } = f;
      expect(await staking.isStalled(alice.address)).to.equal(false);
      await jail(f, aliceDevice);
      expect(await registry.jailedDevices(alice.address)).to.equal(1n);
      expect(await staking.isStalled(alice.address)).to.equal(true);
      await expect(staking.connect(carol).delegate(alice.address, 100n * MESH))
        .to.be.revertedWithCustomError(staking, "OperatorStalled")
        .withArgs(alice.address);

      await time.increase(DAY);
      await registry.connect(alice).unjail(aliceDevice);
      expect(await staking.isStalled(alice.address)).to.equal(false);
      await expect(staking.connect(carol).delegate(alice.address, 100n * MESH)).to.emit(staking, "Delegated");
    });

    it("reverts with OperatorStalled when the operator's capacity is no longer backed", async function () {
      const { staking, config, registry, alice, carol } = await loadFixture(baseFixture);
      await config.setClassParam(ResourceClass.Coverage, ClassParam.StakePerUnit, 2_000n * MESH);
      expect(await registry.requiredStake(alice.address)).to.equal(2_000n * MESH);
      expect(await staking.isStalled(alice.address)).to.equal(true);
      await expect(staking.connect(carol).delegate(alice.address, 100n * MESH))
        .to.be.revertedWithCustomError(staking, "OperatorStalled")
        .withArgs(alice.address);
    });

    it("reverts with DelegationCapExceeded above MaxDelegationRatio (16) x self-stake", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, alice, carol, dave } = f;
      const cap = 16_000n * MESH;
      await expect(staking.connect(carol).delegate(alice.address, cap + 1n))
        .to.be.revertedWithCustomError(staking, "DelegationCapExceeded")
        .withArgs(alice.address, cap + 1n, cap);
      await expect(staking.connect(carol).delegate(alice.address, cap - 1n)).to.emit(staking, "Delegated");
      // Exactly the cap is allowed, across delegators.
      await expect(staking.connect(dave).delegate(alice.address, 1n)).to.emit(staking, "Delegated");
      await expect(staking.connect(dave).delegate(alice.address, 1n))
        .to.be.revertedWithCustomError(staking, "DelegationCapExceeded")
        .withArgs(alice.address, cap + 1n, cap);
      // More self-stake raises the cap.
      await staking.connect(alice).stake(1n);
      await expect(staking.connect(dave).delegate(alice.address, 16n)).to.emit(staking, "Delegated");
      expect((await staking.getOperatorStake(alice.address)).delegated.tokens).to.equal(cap + 16n);
      await expectAccounting(f);
    });

    it("follows MaxDelegationRatio from the config", async function () {
      const { staking, config, alice, carol } = await loadFixture(baseFixture);
      await config.setParam(Param.MaxDelegationRatio, 2);
      await expect(staking.connect(carol).delegate(alice.address, 2_000n * MESH + 1n))
        .to.be.revertedWithCustomError(staking, "DelegationCapExceeded")
        .withArgs(alice.address, 2_000n * MESH + 1n, 2_000n * MESH);
      await config.setParam(Param.MaxDelegationRatio, 0);
      await expect(staking.connect(carol).delegate(alice.address, 1n))
        .to.be.revertedWithCustomError(staking, "DelegationCapExceeded")
        .withArgs(alice.address, 1n, 0n);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("undelegate", function () {
    it("queues the value of the shares and emits Undelegated (not forced)", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, alice, carol } = f;
      const shares = sharesOf(1_000n * MESH);
      expect(await staking.connect(carol).undelegate.staticCall(alice.address, shares)).to.equal(1_000n * MESH);
      const t = await nextTimestamp();
      const tx = staking.connect(carol).undelegate(alice.address, shares);
      await expect(tx)
        .to.emit(staking, "Undelegated")
        .withArgs(carol.address, alice.address, 1_000n * MESH, sharesOf(1_000n * MESH), t + UNBONDING_PERIOD, false);
      await expect(tx).to.changeTokenBalances(token, [carol, staking], [0n, 0n]);

      const [left, leftTokens] = await staking.delegationOf(alice.address, carol.address);
      expect(left).to.equal(sharesOf(2_000n * MESH));
      expect(leftTokens).to.equal(2_000n * MESH);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.delegated.tokens).to.equal(3_000n * MESH);
      expect(s.delegated.shares).to.equal(sharesOf(3_000n * MESH));
      expect(s.delegatedUnbonding.tokens).to.equal(1_000n * MESH);
      expect(s.delegatedUnbonding.shares).to.equal(sharesOf(1_000n * MESH));
      expect(await staking.totalStaked()).to.equal(4_000n * MESH);
      expect(await staking.totalUnbonding()).to.equal(1_000n * MESH);
      expect(await staking.slashableStake(alice.address)).to.equal(5_000n * MESH);

      const queue = await staking.pendingUnbondings(carol.address);
      expect(queue.length).to.equal(1);
      expect(queue[0].operator).to.equal(alice.address);
      expect(queue[0].delegated).to.equal(true);
      expect(queue[0].releaseAt).to.equal(t + UNBONDING_PERIOD);
      expect(queue[0].shares).to.equal(sharesOf(1_000n * MESH));
      expect(await staking.unbondingValue(plain(queue[0]))).to.equal(1_000n * MESH);
      await expectAccounting(f);
    });

    it("allows a full exit and empties the delegation", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol } = f;
      await expect(staking.connect(carol).undelegate(alice.address, sharesOf(3_000n * MESH)))
        .to.emit(staking, "Undelegated")
        .withArgs(carol.address, alice.address, 3_000n * MESH, sharesOf(3_000n * MESH), (v: bigint) => v > 0n, false);
      const [shares, tokens] = await staking.delegationOf(alice.address, carol.address);
      expect(shares).to.equal(0n);
      expect(tokens).to.equal(0n);
      expect((await staking.getOperatorStake(alice.address)).delegated.shares).to.equal(sharesOf(1_000n * MESH));
      await expectAccounting(f);
    });

    it("reverts with ZeroAmount for zero shares", async function () {
      const { staking, alice, carol } = await loadFixture(delegatedFixture);
      await expect(staking.connect(carol).undelegate(alice.address, 0)).to.be.revertedWithCustomError(
        staking,
        "ZeroAmount",
      );
    });

    it("reverts with InsufficientShares above the delegator's shares", async function () {
      const { staking, alice, bob, carol, outsider } = await loadFixture(delegatedFixture);
      const have = sharesOf(3_000n * MESH);
      await expect(staking.connect(carol).undelegate(alice.address, have + 1n))
        .to.be.revertedWithCustomError(staking, "InsufficientShares")
        .withArgs(carol.address, alice.address, have, have + 1n);
      await expect(staking.connect(outsider).undelegate(alice.address, 1n))
        .to.be.revertedWithCustomError(staking, "InsufficientShares")
        .withArgs(outsider.address, alice.address, 0n, 1n);
      await expect(staking.connect(carol).undelegate(bob.address, 1n))
        .to.be.revertedWithCustomError(staking, "InsufficientShares")
        .withArgs(carol.address, bob.address, 0n, 1n);
    });

    it("reverts with UnbondBelowMinimum for a partial exit below the minimum", async function () {
      const { staking, alice, carol } = await loadFixture(delegatedFixture);
      const shares = sharesOf(MIN_UNBOND) - 1n; // worth MIN_UNBOND - 1 wei
      await expect(staking.connect(carol).undelegate(alice.address, shares))
        .to.be.revertedWithCustomError(staking, "UnbondBelowMinimum")
        .withArgs(MIN_UNBOND - 1n, MIN_UNBOND);
      await expect(staking.connect(carol).undelegate(alice.address, sharesOf(MIN_UNBOND)))
        .to.emit(staking, "Undelegated")
        .withArgs(carol.address, alice.address, MIN_UNBOND, sharesOf(MIN_UNBOND), (v: bigint) => v > 0n, false);
    });

    it("allows a full exit below the minimum", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, alice, carol } = f;
      await staking.connect(carol).delegate(alice.address, MESH / 4n);
      await expect(staking.connect(carol).undelegate(alice.address, sharesOf(MESH / 4n)))
        .to.emit(staking, "Undelegated")
        .withArgs(carol.address, alice.address, MESH / 4n, sharesOf(MESH / 4n), (v: bigint) => v > 0n, false);
      expect((await staking.delegationOf(alice.address, carol.address))[0]).to.equal(0n);
      await expectAccounting(f);
    });

    it("reverts with TooManyPendingUnbondings at MaxPendingUnbondings", async function () {
      const { staking, config, alice, carol } = await loadFixture(delegatedFixture);
      await config.setParam(Param.MaxPendingUnbondings, 2);
      await staking.connect(carol).undelegate(alice.address, sharesOf(100n * MESH));
      await staking.connect(carol).undelegate(alice.address, sharesOf(100n * MESH));
      await expect(staking.connect(carol).undelegate(alice.address, sharesOf(100n * MESH)))
        .to.be.revertedWithCustomError(staking, "TooManyPendingUnbondings")
        .withArgs(carol.address, 2n);
    });

    it("pays less per share after a slash of the pool", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol, governance } = f;
      await staking.connect(governance).slash(alice.address, 3_000n * MESH); // 1,000 self + 2,000 of delegators
      const pool = (await staking.getOperatorStake(alice.address)).delegated;
      expect(pool.tokens).to.equal(2_000n * MESH);
      const shares = sharesOf(1_500n * MESH);
      const expected = toTokensDown(pool, shares);
      expect(expected).to.equal(750n * MESH);
      await expect(staking.connect(carol).undelegate(alice.address, shares))
        .to.emit(staking, "Undelegated")
        .withArgs(carol.address, alice.address, expected, (v: bigint) => v > 0n, (v: bigint) => v > 0n, false);
      await expectAccounting(f);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("forceExit", function () {
    it("reverts with OperatorNotStalled for a healthy operator", async function () {
      const { staking, alice, carol, outsider } = await loadFixture(delegatedFixture);
      await expect(staking.connect(outsider).forceExit(alice.address, carol.address))
        .to.be.revertedWithCustomError(staking, "OperatorNotStalled")
        .withArgs(alice.address);
    });

    it("reverts with NoDelegation for an account without a delegation", async function () {
      const f = await loadFixture(delegatedFixture);
      await jail(f, f.aliceDevice);
      await expect(f.staking.connect(f.outsider).forceExit(f.alice.address, f.outsider.address))
        .to.be.revertedWithCustomError(f.staking, "NoDelegation")
        .withArgs(f.outsider.address, f.alice.address);
    });

    it("lets anyone move a delegator of a jailed operator into the queue, flagged forced", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, alice, carol, outsider } = f;
      await jail(f, f.aliceDevice);
      expect(await staking.connect(outsider).forceExit.staticCall(alice.address, carol.address)).to.equal(
        3_000n * MESH,
      );
      const t = await nextTimestamp();
      const tx = staking.connect(outsider).forceExit(alice.address, carol.address);
      await expect(tx)
        .to.emit(staking, "Undelegated")
        .withArgs(carol.address, alice.address, 3_000n * MESH, sharesOf(3_000n * MESH), t + UNBONDING_PERIOD, true);
      await expect(tx).to.changeTokenBalances(token, [carol, outsider, staking], [0n, 0n, 0n]);

      expect((await staking.delegationOf(alice.address, carol.address))[0]).to.equal(0n);
      const queue = await staking.pendingUnbondings(carol.address);
      expect(queue.length).to.equal(1);
      expect(queue[0].operator).to.equal(alice.address);
      expect(queue[0].delegated).to.equal(true);
      expect(queue[0].shares).to.equal(sharesOf(3_000n * MESH));
      expect((await staking.pendingUnbondings(outsider.address)).length).to.equal(0);
      expect(await staking.totalStaked()).to.equal(2_000n * MESH);
      expect(await staking.totalUnbonding()).to.equal(3_000n * MESH);

      // The delegator, not the caller, collects after the cooldown.
      await time.increaseTo(t + UNBONDING_PERIOD);
      await expect(staking.connect(carol).withdraw(1)).to.changeTokenBalances(
        token,
        [carol, staking],
        [3_000n * MESH, -3_000n * MESH],
      );
      await expectAccounting(f);
    });

    it("works when the operator has left (no self-stake)", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, bob, dave, outsider } = f;
      await staking.connect(bob).stake(100n * MESH);
      await staking.connect(dave).delegate(bob.address, 800n * MESH);
      await expect(staking.connect(outsider).forceExit(bob.address, dave.address))
        .to.be.revertedWithCustomError(staking, "OperatorNotStalled")
        .withArgs(bob.address);
      await staking.connect(bob).unstake(100n * MESH);
      expect(await staking.isStalled(bob.address)).to.equal(true);
      await expect(staking.connect(outsider).forceExit(bob.address, dave.address))
        .to.emit(staking, "Undelegated")
        .withArgs(dave.address, bob.address, 800n * MESH, sharesOf(800n * MESH), (v: bigint) => v > 0n, true);
      await expectAccounting(f);
    });

    it("works when the operator's capacity is unbacked", async function () {
      const f = await loadFixture(delegatedFixture);
      await f.config.setClassParam(ResourceClass.Coverage, ClassParam.StakePerUnit, 1_001n * MESH);
      await expect(f.staking.connect(f.outsider).forceExit(f.alice.address, f.dave.address))
        .to.emit(f.staking, "Undelegated")
        .withArgs(f.dave.address, f.alice.address, 1_000n * MESH, sharesOf(1_000n * MESH), (v: bigint) => v > 0n, true);
    });

    it("bypasses the queue cap", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, config, alice, carol } = f;
      await config.setParam(Param.MaxPendingUnbondings, 1);
      await staking.connect(carol).undelegate(alice.address, sharesOf(100n * MESH));
      await expect(staking.connect(carol).undelegate(alice.address, sharesOf(100n * MESH)))
        .to.be.revertedWithCustomError(staking, "TooManyPendingUnbondings")
        .withArgs(carol.address, 1n);
      await jail(f, f.aliceDevice);
      await expect(staking.connect(carol).forceExit(alice.address, carol.address))
        .to.emit(staking, "Undelegated")
        .withArgs(carol.address, alice.address, 2_900n * MESH, sharesOf(2_900n * MESH), (v: bigint) => v > 0n, true);
      expect((await staking.pendingUnbondings(carol.address)).length).to.equal(2);
      await expectAccounting(f);
    });

    it("has nothing to take out once the delegation was slashed to zero (the wiped shares are void)", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol, outsider } = f;
      await staking.connect(f.governance).slash(alice.address, 5_000n * MESH); // everything
      expect(await staking.isStalled(alice.address)).to.equal(true);
      expect(await staking.delegationOf(alice.address, carol.address)).to.deep.equal([0n, 0n]);
      await expect(staking.connect(outsider).forceExit(alice.address, carol.address))
        .to.be.revertedWithCustomError(staking, "NoDelegation")
        .withArgs(carol.address, alice.address);
      await expectAccounting(f);
    });

  });

  describe("withdraw", function () {
    /** alice unstakes 100, 200 and 300 MESH one day apart; returns the three release times. */
    async function queueThree(f: Fixture): Promise<bigint[]> {
      const releases: bigint[] = [];
      for (const amount of [100n, 200n, 300n]) {
        const t = await nextTimestamp();
        await f.staking.connect(f.alice).unstake(amount * MESH);
        releases.push(t + UNBONDING_PERIOD);
        await time.increase(DAY);
      }
      return releases;
    }

    it("reverts with NothingToWithdraw with an empty queue", async function () {
      const { staking, alice, outsider } = await loadFixture(baseFixture);
      await expect(staking.connect(alice).withdraw(10))
        .to.be.revertedWithCustomError(staking, "NothingToWithdraw")
        .withArgs(alice.address);
      await expect(staking.connect(outsider).withdraw(1))
        .to.be.revertedWithCustomError(staking, "NothingToWithdraw")
        .withArgs(outsider.address);
    });

    it("reverts with NothingToWithdraw before the release time and pays at exactly now + UnbondingPeriod", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, token, alice } = f;
      const t = await nextTimestamp();
      await staking.connect(alice).unstake(100n * MESH);
      const releaseAt = t + UNBONDING_PERIOD;
      expect((await staking.pendingUnbondings(alice.address))[0].releaseAt).to.equal(releaseAt);

      await time.setNextBlockTimestamp(releaseAt - 1n);
      await expect(staking.connect(alice).withdraw(1))
        .to.be.revertedWithCustomError(staking, "NothingToWithdraw")
        .withArgs(alice.address);

      await time.setNextBlockTimestamp(releaseAt);
      const tx = staking.connect(alice).withdraw(1);
      await expect(tx).to.emit(staking, "Withdrawn").withArgs(alice.address, 100n * MESH, 1n);
      await expect(tx).to.changeTokenBalances(token, [alice, staking], [100n * MESH, -100n * MESH]);
      expect(await staking.totalUnbonding()).to.equal(0n);
      expect((await staking.pendingUnbondings(alice.address)).length).to.equal(0);
      const pool = (await staking.getOperatorStake(alice.address)).selfUnbonding;
      expect(pool.tokens).to.equal(0n);
      expect(pool.shares).to.equal(0n);
      await expectAccounting(f);
    });

    it("reverts with NothingToWithdraw for maxRequests = 0", async function () {
      const { staking, alice } = await loadFixture(baseFixture);
      await staking.connect(alice).unstake(100n * MESH);
      await time.increase(UNBONDING_PERIOD);
      await expect(staking.connect(alice).withdraw(0))
        .to.be.revertedWithCustomError(staking, "NothingToWithdraw")
        .withArgs(alice.address);
    });

    it("pays every released request at once", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, token, alice } = f;
      const releases = await queueThree(f);
      await time.increaseTo(releases[2]);
      expect(await staking.connect(alice).withdraw.staticCall(10)).to.equal(600n * MESH);
      const tx = staking.connect(alice).withdraw(10);
      await expect(tx).to.emit(staking, "Withdrawn").withArgs(alice.address, 600n * MESH, 3n);
      await expect(tx).to.changeTokenBalances(token, [alice, staking], [600n * MESH, -600n * MESH]);
      expect(await staking.totalUnbonding()).to.equal(0n);
      expect((await staking.pendingUnbondings(alice.address)).length).to.equal(0);
      await expect(staking.connect(alice).withdraw(10))
        .to.be.revertedWithCustomError(staking, "NothingToWithdraw")
        .withArgs(alice.address);
      await expectAccounting(f);
    });

    it("pays at most maxRequests, oldest first", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, token, alice } = f;
      const releases = await queueThree(f);
      await time.increaseTo(releases[2]);
      const tx = staking.connect(alice).withdraw(2);
      await expect(tx).to.emit(staking, "Withdrawn").withArgs(alice.address, 300n * MESH, 2n);
      await expect(tx).to.changeTokenBalances(token, [alice, staking], [300n * MESH, -300n * MESH]);
      const queue = await staking.pendingUnbondings(alice.address);
      expect(queue.length).to.equal(1);
      expect(queue[0].shares).to.equal(sharesOf(300n * MESH));
      expect(queue[0].releaseAt).to.equal(releases[2]);
      expect(await staking.totalUnbonding()).to.equal(300n * MESH);

      await expect(staking.connect(alice).withdraw(1))
        .to.emit(staking, "Withdrawn")
        .withArgs(alice.address, 300n * MESH, 1n);
      await expectAccounting(f);
    });

    it("stops at the first request not yet released (FIFO)", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, alice } = f;
      const releases = await queueThree(f);
      await time.setNextBlockTimestamp(releases[0]);
      await expect(staking.connect(alice).withdraw(10))
        .to.emit(staking, "Withdrawn")
        .withArgs(alice.address, 100n * MESH, 1n);
      let queue = await staking.pendingUnbondings(alice.address);
      expect(queue.map((r) => r.shares)).to.deep.equal([sharesOf(200n * MESH), sharesOf(300n * MESH)]);
      await expect(staking.connect(alice).withdraw(10))
        .to.be.revertedWithCustomError(staking, "NothingToWithdraw")
        .withArgs(alice.address);

      await time.setNextBlockTimestamp(releases[1]);
      await expect(staking.connect(alice).withdraw(10))
        .to.emit(staking, "Withdrawn")
        .withArgs(alice.address, 200n * MESH, 1n);
      queue = await staking.pendingUnbondings(alice.address);
      expect(queue.map((r) => r.shares)).to.deep.equal([sharesOf(300n * MESH)]);
      await expectAccounting(f);
    });

    it("pays a delegator's requests across operators and pools in one call", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, alice, bob, carol } = f;
      await staking.connect(bob).stake(1_000n * MESH);
      await staking.connect(carol).delegate(bob.address, 500n * MESH);
      await staking.connect(carol).undelegate(alice.address, sharesOf(1_000n * MESH));
      await staking.connect(carol).undelegate(bob.address, sharesOf(500n * MESH));
      await staking.connect(bob).unstake(1_000n * MESH); // bob's own queue is separate
      await time.increase(UNBONDING_PERIOD);
      const tx = staking.connect(carol).withdraw(5);
      await expect(tx).to.emit(staking, "Withdrawn").withArgs(carol.address, 1_500n * MESH, 2n);
      await expect(tx).to.changeTokenBalances(token, [carol, bob, staking], [1_500n * MESH, 0n, -1_500n * MESH]);
      expect(await staking.totalUnbonding()).to.equal(1_000n * MESH);
      expect((await staking.pendingUnbondings(bob.address)).length).to.equal(1);
      await expectAccounting(f);
    });

    it("accepts maxRequests = type(uint256).max after an earlier withdrawal", async function () {
      // `head + maxRequests` (Staking.sol, withdraw) must not overflow once the queue head has moved.
      const f = await loadFixture(baseFixture);
      const { staking, alice } = f;
      const releases = await queueThree(f);
      await time.increaseTo(releases[2]);
      await expect(staking.connect(alice).withdraw(ethers.MaxUint256)) // head == 0: fine
        .to.emit(staking, "Withdrawn")
        .withArgs(alice.address, 600n * MESH, 3n);
      await staking.connect(alice).unstake(50n * MESH);
      await time.increase(UNBONDING_PERIOD);
      await expect(staking.connect(alice).withdraw(ethers.MaxUint256)) // head == 3
        .to.emit(staking, "Withdrawn")
        .withArgs(alice.address, 50n * MESH, 1n);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("setCommission", function () {
    it("reverts with CommissionTooHigh above 100%, accepts exactly 100%", async function () {
      const { staking, alice } = await loadFixture(baseFixture);
      await expect(staking.connect(alice).setCommission(10_001))
        .to.be.revertedWithCustomError(staking, "CommissionTooHigh")
        .withArgs(10_001);
      await expect(staking.connect(alice).setCommission(10_000))
        .to.emit(staking, "CommissionSet")
        .withArgs(alice.address, 10_000);
      expect(await staking.commissionOf(alice.address)).to.equal(10_000n);
    });

    it("reverts with CommissionUnchanged", async function () {
      const { staking, alice } = await loadFixture(baseFixture);
      await expect(staking.connect(alice).setCommission(0))
        .to.be.revertedWithCustomError(staking, "CommissionUnchanged")
        .withArgs(0);
      await staking.connect(alice).setCommission(500);
      await expect(staking.connect(alice).setCommission(500))
        .to.be.revertedWithCustomError(staking, "CommissionUnchanged")
        .withArgs(500);
    });

    it("applies an increase at once while the operator has no delegators", async function () {
      const { staking, alice } = await loadFixture(baseFixture);
      await expect(staking.connect(alice).setCommission(2_000))
        .to.emit(staking, "CommissionSet")
        .withArgs(alice.address, 2_000)
        .and.not.to.emit(staking, "CommissionIncreaseAnnounced");
      expect(await staking.commissionOf(alice.address)).to.equal(2_000n);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.commissionBps).to.equal(2_000n);
      expect(s.pendingCommissionBps).to.equal(0n);
      expect(s.commissionEffectiveAt).to.equal(0n);
    });

    it("applies an increase at once again after every delegator has left", async function () {
      const { staking, alice, carol, dave } = await loadFixture(commissionFixture);
      await staking.connect(carol).undelegate(alice.address, sharesOf(3_000n * MESH));
      await staking.connect(dave).undelegate(alice.address, sharesOf(1_000n * MESH));
      await expect(staking.connect(alice).setCommission(5_000))
        .to.emit(staking, "CommissionSet")
        .withArgs(alice.address, 5_000);
      expect(await staking.commissionOf(alice.address)).to.equal(5_000n);
    });

    it("applies a decrease at once even with delegators", async function () {
      const { staking, alice } = await loadFixture(commissionFixture);
      await expect(staking.connect(alice).setCommission(400))
        .to.emit(staking, "CommissionSet")
        .withArgs(alice.address, 400)
        .and.not.to.emit(staking, "CommissionIncreaseAnnounced");
      expect(await staking.commissionOf(alice.address)).to.equal(400n);
    });

    it("delays an increase by CommissionIncreaseDelay once delegators exist", async function () {
      const { staking, alice } = await loadFixture(commissionFixture);
      const t = await nextTimestamp();
      await expect(staking.connect(alice).setCommission(2_500))
        .to.emit(staking, "CommissionIncreaseAnnounced")
        .withArgs(alice.address, 2_500, t + COMMISSION_DELAY)
        .and.not.to.emit(staking, "CommissionSet");
      const s = await staking.getOperatorStake(alice.address);
      expect(s.commissionBps).to.equal(1_000n);
      expect(s.pendingCommissionBps).to.equal(2_500n);
      expect(s.commissionEffectiveAt).to.equal(t + COMMISSION_DELAY);
      expect(await staking.commissionOf(alice.address)).to.equal(1_000n);

      await time.increaseTo(t + COMMISSION_DELAY - 1n);
      expect(await staking.commissionOf(alice.address)).to.equal(1_000n);
      await time.increaseTo(t + COMMISSION_DELAY);
      expect(await staking.commissionOf(alice.address)).to.equal(2_500n);
      // The increase in force is the current value now; asking for it again is a no-op.
      await expect(staking.connect(alice).setCommission(2_500))
        .to.be.revertedWithCustomError(staking, "CommissionUnchanged")
        .withArgs(2_500);
    });

    it("uses the old commission for rewards until the increase takes effect", async function () {
      const { staking, alice, governance } = await loadFixture(commissionFixture);
      const t = await nextTimestamp();
      await staking.connect(alice).setCommission(5_000);
      // 10%: 100 commission, 900 split 1,000 : 4,000 -> 720 to delegators, 280 to alice
      await expect(staking.connect(governance).addRewards(alice.address, 1_000n * MESH))
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, governance.address, 280n * MESH, 720n * MESH);
      await time.setNextBlockTimestamp(t + COMMISSION_DELAY);
      // 50%: 500 commission, 500 split -> 400 to delegators, 600 to alice
      await expect(staking.connect(governance).addRewards(alice.address, 1_000n * MESH))
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, governance.address, 600n * MESH, 400n * MESH);
    });

    it("replaces a pending announcement with a new one", async function () {
      const { staking, alice } = await loadFixture(commissionFixture);
      const t1 = await nextTimestamp();
      await staking.connect(alice).setCommission(3_000);
      const t2 = await nextTimestamp(3n * DAY);
      await expect(staking.connect(alice).setCommission(1_500))
        .to.emit(staking, "CommissionIncreaseAnnounced")
        .withArgs(alice.address, 1_500, t2 + COMMISSION_DELAY);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.pendingCommissionBps).to.equal(1_500n);
      expect(s.commissionEffectiveAt).to.equal(t2 + COMMISSION_DELAY);

      await time.increaseTo(t1 + COMMISSION_DELAY);
      expect(await staking.commissionOf(alice.address)).to.equal(1_000n); // the first announcement is gone
      await time.increaseTo(t2 + COMMISSION_DELAY);
      expect(await staking.commissionOf(alice.address)).to.equal(1_500n);
    });

    it("re-announcing the pending value restarts the delay", async function () {
      const { staking, alice } = await loadFixture(commissionFixture);
      await staking.connect(alice).setCommission(3_000);
      const t2 = await nextTimestamp(DAY);
      await expect(staking.connect(alice).setCommission(3_000))
        .to.emit(staking, "CommissionIncreaseAnnounced")
        .withArgs(alice.address, 3_000, t2 + COMMISSION_DELAY);
    });

    it("cancels a pending increase when set back to the current value", async function () {
      const { staking, alice } = await loadFixture(commissionFixture);
      const t = await nextTimestamp();
      await staking.connect(alice).setCommission(3_000);
      await expect(staking.connect(alice).setCommission(1_000))
        .to.emit(staking, "CommissionSet")
        .withArgs(alice.address, 1_000);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.commissionBps).to.equal(1_000n);
      expect(s.pendingCommissionBps).to.equal(0n);
      expect(s.commissionEffectiveAt).to.equal(0n);
      await time.increaseTo(t + COMMISSION_DELAY);
      expect(await staking.commissionOf(alice.address)).to.equal(1_000n);
    });

    it("applies a decrease at once while an increase is pending, dropping the increase", async function () {
      const { staking, alice } = await loadFixture(commissionFixture);
      const t = await nextTimestamp();
      await staking.connect(alice).setCommission(3_000);
      await expect(staking.connect(alice).setCommission(200))
        .to.emit(staking, "CommissionSet")
        .withArgs(alice.address, 200);
      expect(await staking.commissionOf(alice.address)).to.equal(200n);
      await time.increaseTo(t + COMMISSION_DELAY);
      expect(await staking.commissionOf(alice.address)).to.equal(200n);
    });

    it("builds a further increase on the increase already in force", async function () {
      const { staking, alice } = await loadFixture(commissionFixture);
      const t = await nextTimestamp();
      await staking.connect(alice).setCommission(2_000);
      const t2 = await nextTimestamp(COMMISSION_DELAY + DAY);
      expect(t2 > t + COMMISSION_DELAY).to.equal(true);
      await expect(staking.connect(alice).setCommission(3_000))
        .to.emit(staking, "CommissionIncreaseAnnounced")
        .withArgs(alice.address, 3_000, t2 + COMMISSION_DELAY);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.commissionBps).to.equal(2_000n); // the increase in force was recorded
      expect(await staking.commissionOf(alice.address)).to.equal(2_000n);
      // A decrease measured against 2,000 (not the stale 1,000) applies at once.
      await expect(staking.connect(alice).setCommission(1_500))
        .to.emit(staking, "CommissionSet")
        .withArgs(alice.address, 1_500);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("addRewards", function () {
    it("takes the commission first, then splits the rest pro rata between self-stake and delegators", async function () {
      const f = await loadFixture(commissionFixture);
      const { staking, token, alice, governance } = f;
      // 1,000 MESH: 10% = 100 commission; 900 split 1,000 (self) : 4,000 (delegated) -> 180 + 720.
      const tx = staking.connect(governance).addRewards(alice.address, 1_000n * MESH);
      await expect(tx)
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, governance.address, 280n * MESH, 720n * MESH);
      await expect(tx).to.changeTokenBalances(token, [governance, staking], [-1_000n * MESH, 1_000n * MESH]);

      expect(await staking.rewardsReserved()).to.equal(1_000n * MESH);
      await expectSplitOf1000(f);
      await expectAccounting(f);
    });

    it("splits without commission purely by stake", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol, dave, outsider, governance } = f;
      // self 1,000 : carol 3,000 : dave 1,000
      await expect(staking.connect(governance).addRewards(alice.address, 500n * MESH))
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, governance.address, 100n * MESH, 400n * MESH);
      expect(await staking.pendingRewards(alice.address, carol.address)).to.equal(300n * MESH);
      expect(await staking.pendingRewards(alice.address, dave.address)).to.equal(100n * MESH);
      expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(100n * MESH);
      expect(await staking.pendingRewards(alice.address, outsider.address)).to.equal(0n);
    });

    it("gives everything to the operator without delegators, or at 100% commission", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, alice, carol, governance } = f;
      await expect(staking.connect(governance).addRewards(alice.address, 77n * MESH))
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, governance.address, 77n * MESH, 0n);
      await staking.connect(alice).setCommission(10_000);
      await staking.connect(carol).delegate(alice.address, 1_000n * MESH);
      await expect(staking.connect(governance).addRewards(alice.address, 10n * MESH))
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, governance.address, 10n * MESH, 0n);
      expect(await staking.pendingRewards(alice.address, carol.address)).to.equal(0n);
      expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(87n * MESH);
      await expectAccounting(f);
    });

    it("rewards only active shares, not stake that is unbonding", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol, dave, governance } = f;
      await staking.connect(governance).addRewards(alice.address, 500n * MESH); // carol 300, dave 100, alice 100
      await staking.connect(dave).undelegate(alice.address, sharesOf(1_000n * MESH));
      await staking.connect(alice).unstake(200n * MESH); // alice's unbonding stake earns nothing either
      // self 800 : carol 3,000 -> 760 of 3,800 = 160 + 600
      await expect(staking.connect(governance).addRewards(alice.address, 760n * MESH))
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, governance.address, 160n * MESH, 600n * MESH);
      expect(await staking.pendingRewards(alice.address, carol.address)).to.equal(900n * MESH);
      expect(await staking.pendingRewards(alice.address, dave.address)).to.equal(100n * MESH); // kept, no more
      expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(260n * MESH);
      await expectAccounting(f);
    });

    it("does not pay a new delegator rewards added before it joined", async function () {
      const f = await loadFixture(baseFixture);
      const { staking, alice, carol, dave, governance } = f;
      await staking.connect(carol).delegate(alice.address, 1_000n * MESH);
      await staking.connect(governance).addRewards(alice.address, 200n * MESH); // 100 alice, 100 carol
      await staking.connect(dave).delegate(alice.address, 2_000n * MESH);
      expect(await staking.pendingRewards(alice.address, dave.address)).to.equal(0n);
      await staking.connect(governance).addRewards(alice.address, 400n * MESH); // 100 alice, 100 carol, 200 dave
      expect(await staking.pendingRewards(alice.address, carol.address)).to.equal(200n * MESH);
      expect(await staking.pendingRewards(alice.address, dave.address)).to.equal(200n * MESH);
      expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(200n * MESH);
      await expectAccounting(f);
    });

    it("reverts with ZeroAmount", async function () {
      const { staking, alice, governance } = await loadFixture(delegatedFixture);
      await expect(staking.connect(governance).addRewards(alice.address, 0)).to.be.revertedWithCustomError(
        staking,
        "ZeroAmount",
      );
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("reserveRewards and creditRewards", function () {
    /** commissionFixture plus `treasury` standing in for the rewards distributor (DISTRIBUTOR_ROLE). */
    async function distributorFixture(): Promise<Fixture> {
      const f = await commissionFixture();
      await f.staking.grantRole(DISTRIBUTOR_ROLE, f.treasury.address);
      return f;
    }

    /** What Staking owes before any reward: alice's 1,000 self-stake, carol's 3,000 and dave's 1,000. */
    const STAKED = 5_000n * MESH;

    it("revert for an account without DISTRIBUTOR_ROLE, the admin included", async function () {
      const f = await loadFixture(commissionFixture);
      const { staking, token, alice, outsider, governance } = f;
      await token.transfer(staking, 100n * MESH); // funded, so only the role is missing
      for (const account of [outsider, alice, governance]) {
        await expect(staking.connect(account).reserveRewards(100n * MESH))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, DISTRIBUTOR_ROLE);
        await expect(staking.connect(account).creditRewards(alice.address, 100n * MESH))
          .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, DISTRIBUTOR_ROLE);
      }
      expect(await staking.rewardsReserved()).to.equal(0n);
      expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(0n);
    });

    it("reserveRewards reserves tokens already sent in, moving none, and emits RewardsReserved", async function () {
      const f = await loadFixture(distributorFixture);
      const { staking, token, governance, treasury } = f;
      await token.connect(governance).transfer(staking, 600n * MESH); // as a mint into Staking would
      const tx = staking.connect(treasury).reserveRewards(400n * MESH);
      await expect(tx).to.emit(staking, "RewardsReserved").withArgs(treasury.address, 400n * MESH);
      await expect(tx).to.changeTokenBalances(token, [treasury, staking], [0n, 0n]);
      expect(await staking.rewardsReserved()).to.equal(400n * MESH);
      // The rest can be reserved later, and the books balance exactly once all of it is.
      await staking.connect(treasury).reserveRewards(200n * MESH);
      expect(await staking.rewardsReserved()).to.equal(600n * MESH);
      expect(await token.balanceOf(staking)).to.equal(STAKED + 600n * MESH);
      await expectAccounting(f);
    });

    it("reserveRewards reverts with RewardsUnfunded unless the tokens were sent in first", async function () {
      const f = await loadFixture(distributorFixture);
      const { staking, token, alice, governance, treasury } = f;
      // Nothing sent in: every token held backs stake.
      await expect(staking.connect(treasury).reserveRewards(1n))
        .to.be.revertedWithCustomError(staking, "RewardsUnfunded")
        .withArgs(STAKED, STAKED + 1n);
      // Short by one wei.
      await token.connect(governance).transfer(staking, 999n * MESH);
      await expect(staking.connect(treasury).reserveRewards(1_000n * MESH))
        .to.be.revertedWithCustomError(staking, "RewardsUnfunded")
        .withArgs(STAKED + 999n * MESH, STAKED + 1_000n * MESH);
      // Tokens already owed cannot be reserved again: the existing reserve and unbonding stake count as owed too.
      await staking.connect(treasury).reserveRewards(999n * MESH);
      await staking.connect(alice).unstake(100n * MESH);
      await staking.connect(governance).addRewards(alice.address, 50n * MESH);
      const held = STAKED + 1_049n * MESH;
      expect(await token.balanceOf(staking)).to.equal(held);
      await expect(staking.connect(treasury).reserveRewards(1n))
        .to.be.revertedWithCustomError(staking, "RewardsUnfunded")
        .withArgs(held, held + 1n);
      expect(await staking.rewardsReserved()).to.equal(1_049n * MESH);
      await expectAccounting(f);
    });

    it("creditRewards splits like addRewards and emits RewardsAdded with the distributor as funder, moving no tokens", async function () {
      const f = await loadFixture(distributorFixture);
      const { staking, token, alice, carol, governance, treasury } = f;
      await token.connect(governance).transfer(staking, 1_000n * MESH);
      await staking.connect(treasury).reserveRewards(1_000n * MESH);

      // As addRewards: 10% = 100 commission; 900 split 1,000 (self) : 4,000 (delegated) -> 180 + 720.
      const tx = staking.connect(treasury).creditRewards(alice.address, 1_000n * MESH);
      await expect(tx)
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, treasury.address, 280n * MESH, 720n * MESH);
      await expect(tx).to.changeTokenBalances(token, [treasury, staking], [0n, 0n]);
      await expect(tx).not.to.emit(staking, "RewardsReserved");
      expect(await staking.rewardsReserved()).to.equal(1_000n * MESH); // already reserved
      await expectSplitOf1000(f);
      await expectAccounting(f);

      // Paid out of the reserve like any reward.
      await expect(staking.connect(carol).claimRewards(alice.address)).to.changeTokenBalances(
        token,
        [carol, staking],
        [540n * MESH, -540n * MESH],
      );
      expect(await staking.rewardsReserved()).to.equal(460n * MESH);
      await expectAccounting(f);
    });

    it("creditRewards leaves the operator's pool exactly as addRewards of the same amount, rounding included", async function () {
      const amount = 1_234_567_891_234_567_891n; // not a round number: the delegators' part rounds down
      const stakeAfter = async (credit: boolean) => {
        const f = await loadFixture(distributorFixture);
        const { staking, token, alice, carol, dave, governance, treasury } = f;
        if (credit) {
          await token.connect(governance).transfer(staking, amount);
          await staking.connect(treasury).reserveRewards(amount);
          await staking.connect(treasury).creditRewards(alice.address, amount);
        } else {
          await staking.connect(governance).addRewards(alice.address, amount);
        }
        const s = await staking.getOperatorStake(alice.address);
        return {
          operatorRewards: s.operatorRewards,
          rewardPerShare: s.rewardPerShare,
          reserved: await staking.rewardsReserved(),
          pending: await Promise.all(
            [alice, carol, dave].map((account) => staking.pendingRewards(alice.address, account.address)),
          ),
        };
      };
      const added = await stakeAfter(false);
      expect(added.reserved).to.equal(amount);
      expect(added.operatorRewards).to.be.gt(0n);
      expect(await stakeAfter(true)).to.deep.equal(added);
    });

    it("creditRewards reverts with ZeroAmount", async function () {
      const { staking, alice, treasury } = await loadFixture(distributorFixture);
      await expect(staking.connect(treasury).creditRewards(alice.address, 0)).to.be.revertedWithCustomError(
        staking,
        "ZeroAmount",
      );
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("claimRewards", function () {
    async function rewardedFixture(): Promise<Fixture> {
      const f = await commissionFixture();
      await f.staking.addRewards(f.alice.address, 1_000n * MESH); // alice 280, carol 540, dave 180
      return f;
    }

    it("pays a delegator its rewards", async function () {
      const f = await loadFixture(rewardedFixture);
      const { staking, token, alice, carol } = f;
      expect(await staking.connect(carol).claimRewards.staticCall(alice.address)).to.equal(540n * MESH);
      const tx = staking.connect(carol).claimRewards(alice.address);
      await expect(tx).to.emit(staking, "RewardsClaimed").withArgs(carol.address, alice.address, 540n * MESH);
      await expect(tx).to.changeTokenBalances(token, [carol, staking], [540n * MESH, -540n * MESH]);
      expect(await staking.pendingRewards(alice.address, carol.address)).to.equal(0n);
      expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(280n * MESH);
      expect(await staking.rewardsReserved()).to.equal(460n * MESH);
      await expectAccounting(f);
    });

    it("pays the operator its commission and self-stake share", async function () {
      const f = await loadFixture(rewardedFixture);
      const { staking, token, alice } = f;
      const tx = staking.connect(alice).claimRewards(alice.address);
      await expect(tx).to.emit(staking, "RewardsClaimed").withArgs(alice.address, alice.address, 280n * MESH);
      await expect(tx).to.changeTokenBalances(token, [alice, staking], [280n * MESH, -280n * MESH]);
      expect((await staking.getOperatorStake(alice.address)).operatorRewards).to.equal(0n);
      expect(await staking.rewardsReserved()).to.equal(720n * MESH);
      await expectAccounting(f);
    });

    it("reverts with NothingToClaim", async function () {
      const f = await loadFixture(rewardedFixture);
      const { staking, alice, bob, carol, outsider } = f;
      await expect(staking.connect(outsider).claimRewards(alice.address))
        .to.be.revertedWithCustomError(staking, "NothingToClaim")
        .withArgs(outsider.address, alice.address);
      await expect(staking.connect(bob).claimRewards(bob.address))
        .to.be.revertedWithCustomError(staking, "NothingToClaim")
        .withArgs(bob.address, bob.address);
      await staking.connect(carol).claimRewards(alice.address);
      await expect(staking.connect(carol).claimRewards(alice.address))
        .to.be.revertedWithCustomError(staking, "NothingToClaim")
        .withArgs(carol.address, alice.address);
      await staking.connect(alice).claimRewards(alice.address);
      await expect(staking.connect(alice).claimRewards(alice.address))
        .to.be.revertedWithCustomError(staking, "NothingToClaim")
        .withArgs(alice.address, alice.address);
    });

    it("pays only the increment on a second claim", async function () {
      const f = await loadFixture(rewardedFixture);
      const { staking, token, alice, carol, governance } = f;
      await staking.connect(carol).claimRewards(alice.address);
      await staking.connect(alice).claimRewards(alice.address);
      await staking.connect(governance).addRewards(alice.address, 100n * MESH); // alice 28, carol 54, dave 18
      const tx = staking.connect(carol).claimRewards(alice.address);
      await expect(tx).to.emit(staking, "RewardsClaimed").withArgs(carol.address, alice.address, 54n * MESH);
      await expect(tx).to.changeTokenBalances(token, [carol, staking], [54n * MESH, -54n * MESH]);
      await expect(staking.connect(alice).claimRewards(alice.address))
        .to.emit(staking, "RewardsClaimed")
        .withArgs(alice.address, alice.address, 28n * MESH);
      expect(await staking.pendingRewards(alice.address, f.dave.address)).to.equal(198n * MESH);
      await expectAccounting(f);
    });

    it("keeps earned rewards claimable after the delegator has left", async function () {
      const f = await loadFixture(rewardedFixture);
      const { staking, alice, dave, governance } = f;
      await staking.connect(dave).undelegate(alice.address, sharesOf(1_000n * MESH));
      await staking.connect(governance).addRewards(alice.address, 1_000n * MESH);
      expect(await staking.pendingRewards(alice.address, dave.address)).to.equal(180n * MESH);
      await expect(staking.connect(dave).claimRewards(alice.address))
        .to.emit(staking, "RewardsClaimed")
        .withArgs(dave.address, alice.address, 180n * MESH);
      await expectAccounting(f);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("slash", function () {
    it("reverts for an account without SLASHER_ROLE", async function () {
      const { staking, alice, outsider } = await loadFixture(delegatedFixture);
      await expect(staking.connect(outsider).slash(alice.address, 1n))
        .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, SLASHER_ROLE);
      await expect(staking.connect(alice).slash(alice.address, 1n))
        .to.be.revertedWithCustomError(staking, "AccessControlUnauthorizedAccount")
        .withArgs(alice.address, SLASHER_ROLE);
    });

    it("takes active self-stake first and sends it to the slasher", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, alice, carol, governance } = f;
      expect(await staking.connect(governance).slash.staticCall(alice.address, 400n * MESH)).to.equal(400n * MESH);
      const tx = staking.connect(governance).slash(alice.address, 400n * MESH);
      await expect(tx).to.emit(staking, "Slashed").withArgs(alice.address, 400n * MESH, 0n, governance.address);
      await expect(tx).to.changeTokenBalances(token, [governance, staking], [400n * MESH, -400n * MESH]);
      expect(await staking.selfStake(alice.address)).to.equal(600n * MESH);
      expect((await staking.getOperatorStake(alice.address)).delegated.tokens).to.equal(4_000n * MESH);
      expect((await staking.delegationOf(alice.address, carol.address))[1]).to.equal(3_000n * MESH);
      expect(await staking.totalStaked()).to.equal(4_600n * MESH);
      expect(await staking.totalUnbonding()).to.equal(0n);
      expect(await staking.slashableStake(alice.address)).to.equal(4_600n * MESH);
      await expectAccounting(f);
    });

    it("then the operator's unbonding stake, which pays out less afterwards", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, alice, governance } = f;
      await staking.connect(alice).unstake(500n * MESH);
      const [request] = await staking.pendingUnbondings(alice.address);
      expect(await staking.unbondingValue(plain(request))).to.equal(500n * MESH);

      const tx = staking.connect(governance).slash(alice.address, 800n * MESH);
      await expect(tx).to.emit(staking, "Slashed").withArgs(alice.address, 800n * MESH, 0n, governance.address);
      await expect(tx).to.changeTokenBalances(token, [governance, staking], [800n * MESH, -800n * MESH]);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.selfStake).to.equal(0n);
      expect(s.selfUnbonding.tokens).to.equal(200n * MESH);
      expect(s.selfUnbonding.shares).to.equal(sharesOf(500n * MESH));
      expect(s.delegated.tokens).to.equal(4_000n * MESH);
      expect(await staking.totalStaked()).to.equal(4_000n * MESH);
      expect(await staking.totalUnbonding()).to.equal(200n * MESH);
      expect(await staking.isStalled(alice.address)).to.equal(true);

      const value = await staking.unbondingValue(plain(request));
      expect(value).to.equal(toTokensDown(s.selfUnbonding, request.shares));
      expect(value).to.equal(200n * MESH);
      await time.increaseTo(request.releaseAt);
      await expect(staking.connect(alice).withdraw(1)).to.changeTokenBalances(
        token,
        [alice, staking],
        [200n * MESH, -200n * MESH],
      );
      await expectAccounting(f);
    });

    it("then delegators pro rata over active and unbonding stake", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, alice, carol, dave, governance } = f;
      await staking.connect(dave).undelegate(alice.address, sharesOf(1_000n * MESH)); // 1,000 delegated unbonding
      await staking.connect(alice).unstake(200n * MESH); // self 800 active + 200 unbonding
      // 2,000: 1,000 from alice (800 + 200); 1,000 from delegators: 3,000 : 1,000 -> 750 active, 250 unbonding
      const tx = staking.connect(governance).slash(alice.address, 2_000n * MESH);
      await expect(tx)
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, 1_000n * MESH, 1_000n * MESH, governance.address);
      await expect(tx).to.changeTokenBalances(token, [governance, staking], [2_000n * MESH, -2_000n * MESH]);

      const s = await staking.getOperatorStake(alice.address);
      expect(s.selfStake).to.equal(0n);
      expect(s.selfUnbonding.tokens).to.equal(0n);
      expect(s.delegated.tokens).to.equal(2_250n * MESH);
      expect(s.delegatedUnbonding.tokens).to.equal(750n * MESH);
      expect(await staking.totalStaked()).to.equal(2_250n * MESH);
      expect(await staking.totalUnbonding()).to.equal(750n * MESH);
      expect(await staking.slashableStake(alice.address)).to.equal(3_000n * MESH);
      expect((await staking.delegationOf(alice.address, carol.address))[1]).to.equal(2_250n * MESH);
      const [daveRequest] = await staking.pendingUnbondings(dave.address);
      expect(await staking.unbondingValue(plain(daveRequest))).to.equal(750n * MESH);

      await time.increaseTo(daveRequest.releaseAt);
      await expect(staking.connect(dave).withdraw(1))
        .to.emit(staking, "Withdrawn")
        .withArgs(dave.address, 750n * MESH, 1n);
      await expectAccounting(f);
    });

    it("rounds the active pool's part up", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, dave, governance } = f;
      await staking.connect(dave).undelegate(alice.address, sharesOf(1_000n * MESH));
      await expect(staking.connect(governance).slash(alice.address, 1_000n * MESH + 1n))
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, 1_000n * MESH, 1n, governance.address);
      const s = await staking.getOperatorStake(alice.address);
      expect(s.delegated.tokens).to.equal(3_000n * MESH - 1n);
      expect(s.delegatedUnbonding.tokens).to.equal(1_000n * MESH);
      await expectAccounting(f);
    });

    it("caps the slash at the slashable stake", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, alice, carol, dave, governance } = f;
      await staking.connect(dave).undelegate(alice.address, sharesOf(1_000n * MESH));
      await staking.connect(alice).unstake(200n * MESH);
      expect(await staking.slashableStake(alice.address)).to.equal(5_000n * MESH);
      expect(await staking.connect(governance).slash.staticCall(alice.address, 1_000_000n * MESH)).to.equal(
        5_000n * MESH,
      );
      const tx = staking.connect(governance).slash(alice.address, 1_000_000n * MESH);
      await expect(tx)
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, 1_000n * MESH, 4_000n * MESH, governance.address);
      await expect(tx).to.changeTokenBalances(token, [governance, staking], [5_000n * MESH, -5_000n * MESH]);
      expect(await staking.slashableStake(alice.address)).to.equal(0n);
      expect(await staking.totalStaked()).to.equal(0n);
      expect(await staking.totalUnbonding()).to.equal(0n);
      expect((await staking.delegationOf(alice.address, carol.address))[1]).to.equal(0n);
      expect(await token.balanceOf(staking)).to.equal(0n);

      // Worthless requests still clear from the queue, paying nothing.
      const [daveRequest] = await staking.pendingUnbondings(dave.address);
      expect(await staking.unbondingValue(plain(daveRequest))).to.equal(0n);
      await time.increaseTo(daveRequest.releaseAt);
      await expect(staking.connect(dave).withdraw(1)).to.emit(staking, "Withdrawn").withArgs(dave.address, 0n, 1n);
      await expectAccounting(f);
    });

    it("takes nothing from an operator without stake", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, token, bob, governance } = f;
      expect(await staking.connect(governance).slash.staticCall(bob.address, 100n * MESH)).to.equal(0n);
      const tx = staking.connect(governance).slash(bob.address, 100n * MESH);
      await expect(tx).to.emit(staking, "Slashed").withArgs(bob.address, 0n, 0n, governance.address);
      await expect(tx).to.changeTokenBalances(token, [governance, staking], [0n, 0n]);
      expect(await staking.totalStaked()).to.equal(5_000n * MESH);
    });

    it("stalls the operator once its self-stake no longer backs its capacity", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol, governance, outsider } = f;
      await staking.connect(governance).slash(alice.address, 950n * MESH);
      expect(await staking.isStalled(alice.address)).to.equal(true);
      await expect(staking.connect(carol).delegate(alice.address, 1n))
        .to.be.revertedWithCustomError(staking, "OperatorStalled")
        .withArgs(alice.address);
      await expect(staking.connect(outsider).forceExit(alice.address, carol.address)).to.emit(staking, "Undelegated");
    });

    it("keeps the unbonding queue usable after a pool has been slashed to zero", async function () {
      // After a full slash the self-unbonding pool holds shares but no tokens; a new exit into it must still work.
      const f = await loadFixture(baseFixture);
      const { staking, bob, governance } = f;
      await staking.connect(bob).stake(1_000n * MESH);
      await staking.connect(bob).unstake(500n * MESH);
      await staking.connect(governance).slash(bob.address, 1_000n * MESH);
      expect((await staking.getOperatorStake(bob.address)).selfUnbonding.tokens).to.equal(0n);
      await staking.connect(bob).stake(1_000n * MESH);
      await expect(staking.connect(bob).unstake(100n * MESH)).to.emit(staking, "Unstaked");
      const queue = await staking.pendingUnbondings(bob.address);
      expect(queue.length).to.equal(2);
      // The worthless old request must not dilute the new one.
      expect(await staking.unbondingValue(plain(queue[1]))).to.be.closeTo(100n * MESH, 1_000_000n);
      await expectAccounting(f);
    });
    it("keeps rewards earned before a wipe claimable, and voids the wiped unbonding requests", async function () {
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol, dave, fisher, governance } = f;
      await staking.connect(governance).addRewards(alice.address, 1_000n * MESH); // 800 to delegators: 600 / 200
      await staking.connect(dave).undelegate(alice.address, sharesOf(1_000n * MESH));
      await staking.connect(governance).slash(alice.address, 5_000n * MESH); // wipes active and unbonding pools
      const op = await staking.getOperatorStake(alice.address);
      expect([op.delegated.generation, op.delegatedUnbonding.generation]).to.deep.equal([1n, 1n]);

      // A newcomer after the wipe earns on its own shares only; carol's earnings stop at the wipe.
      await staking.connect(alice).stake(1_000n * MESH);
      await staking.connect(fisher).delegate(alice.address, 100n * MESH);
      await staking.connect(governance).addRewards(alice.address, 1_100n * MESH); // 100 to the newcomer
      expect(await staking.pendingRewards(alice.address, carol.address)).to.be.closeTo(600n * MESH, 10n);
      expect(await staking.pendingRewards(alice.address, fisher.address)).to.be.closeTo(100n * MESH, 10n);
      await expect(staking.connect(carol).claimRewards(alice.address)).to.emit(staking, "RewardsClaimed");
      expect(await staking.delegationOf(alice.address, carol.address)).to.deep.equal([0n, 0n]);

      // dave's request belongs to the wiped unbonding generation: it is dropped from the queue and pays nothing.
      expect(await staking.unbondingValue(plain((await staking.pendingUnbondings(dave.address))[0]))).to.equal(0n);
      await time.increase(UNBONDING_PERIOD);
      await expect(staking.connect(dave).withdraw(1)).to.emit(staking, "Withdrawn").withArgs(dave.address, 0n, 1n);
      expect(await staking.pendingUnbondings(dave.address)).to.deep.equal([]);
      await expectAccounting(f);
    });

    it("accepts new delegations after the delegated pool has been slashed to zero", async function () {
      // carol's 3,000e24 shares survive a full slash with no tokens behind them; the operator recovers (restakes,
      // is healthy again) and a new delegator must still be able to join.
      const f = await loadFixture(delegatedFixture);
      const { staking, alice, carol, fisher, governance } = f;
      await staking.connect(governance).slash(alice.address, 5_000n * MESH);
      const wiped = (await staking.getOperatorStake(alice.address)).delegated;
      expect([wiped.tokens, wiped.shares, wiped.generation]).to.deep.equal([0n, 0n, 1n]);
      expect(await staking.delegationOf(alice.address, carol.address)).to.deep.equal([0n, 0n]);
      await staking.connect(alice).stake(1_000n * MESH);
      expect(await staking.isStalled(alice.address)).to.equal(false);
      await expect(staking.connect(fisher).delegate(alice.address, 100n * MESH)).to.emit(staking, "Delegated");
      // The worthless old shares must not dilute the newcomer.
      expect((await staking.delegationOf(alice.address, fisher.address))[1]).to.be.closeTo(100n * MESH, 1_000_000n);
      await expectAccounting(f);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("views", function () {
    it("report an operator's full record, delegations, queue and totals", async function () {
      const f = await loadFixture(commissionFixture);
      const { staking, alice, bob, carol, dave, outsider, governance } = f;
      await staking.connect(governance).addRewards(alice.address, 1_000n * MESH); // alice 280, carol 540, dave 180
      await staking.connect(dave).undelegate(alice.address, sharesOf(400n * MESH));
      const t = await nextTimestamp();
      await staking.connect(alice).unstake(300n * MESH);

      const s = await staking.getOperatorStake(alice.address);
      expect(s.selfStake).to.equal(700n * MESH);
      expect(s.commissionBps).to.equal(1_000n);
      expect(s.pendingCommissionBps).to.equal(0n);
      expect(s.commissionEffectiveAt).to.equal(0n);
      expect([s.selfUnbonding.tokens, s.selfUnbonding.shares]).to.deep.equal([300n * MESH, sharesOf(300n * MESH)]);
      expect([s.delegated.tokens, s.delegated.shares]).to.deep.equal([3_600n * MESH, sharesOf(3_600n * MESH)]);
      expect([s.delegatedUnbonding.tokens, s.delegatedUnbonding.shares]).to.deep.equal([
        400n * MESH,
        sharesOf(400n * MESH),
      ]);
      expect(s.rewardPerShare).to.equal((720n * MESH * REWARD_SCALE) / sharesOf(4_000n * MESH));
      expect(s.operatorRewards).to.equal(280n * MESH);

      expect(await staking.selfStake(alice.address)).to.equal(700n * MESH);
      expect(await staking.slashableStake(alice.address)).to.equal(5_000n * MESH);
      expect(await staking.slashableStake(bob.address)).to.equal(0n);
      expect(await staking.commissionOf(alice.address)).to.equal(1_000n);
      expect(await staking.commissionOf(bob.address)).to.equal(0n);
      expect(await staking.isStalled(alice.address)).to.equal(false);
      expect(await staking.isStalled(bob.address)).to.equal(true);

      expect(await staking.delegationOf(alice.address, carol.address)).to.deep.equal([
        sharesOf(3_000n * MESH),
        3_000n * MESH,
      ]);
      expect(await staking.delegationOf(alice.address, dave.address)).to.deep.equal([
        sharesOf(600n * MESH),
        600n * MESH,
      ]);
      expect(await staking.delegationOf(alice.address, outsider.address)).to.deep.equal([0n, 0n]);
      expect(await staking.delegationOf(bob.address, carol.address)).to.deep.equal([0n, 0n]);

      expect(await staking.pendingRewards(alice.address, carol.address)).to.equal(540n * MESH);
      expect(await staking.pendingRewards(alice.address, dave.address)).to.equal(180n * MESH);
      expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(280n * MESH);
      expect(await staking.pendingRewards(bob.address, carol.address)).to.equal(0n);

      const aliceQueue = await staking.pendingUnbondings(alice.address);
      expect(aliceQueue.length).to.equal(1);
      expect([aliceQueue[0].operator, aliceQueue[0].releaseAt, aliceQueue[0].delegated, aliceQueue[0].shares]).to.deep.equal(
        [alice.address, t + UNBONDING_PERIOD, false, sharesOf(300n * MESH)],
      );
      const daveQueue = await staking.pendingUnbondings(dave.address);
      expect(daveQueue.length).to.equal(1);
      expect(daveQueue[0].delegated).to.equal(true);
      expect(await staking.unbondingValue(plain(daveQueue[0]))).to.equal(400n * MESH);
      expect(await staking.pendingUnbondings(carol.address)).to.deep.equal([]);

      // unbondingValue prices any request at its pool's current rate.
      expect(
        await staking.unbondingValue({ operator: alice.address, releaseAt: 0, delegated: true, shares: sharesOf(100n * MESH), generation: 0 }),
      ).to.equal(100n * MESH);
      expect(
        await staking.unbondingValue({ operator: bob.address, releaseAt: 0, delegated: false, shares: sharesOf(5n), generation: 0 }),
      ).to.equal(5n); // empty pool: the virtual rate of 1 token per 1e6 shares

      expect(await staking.totalStaked()).to.equal(4_300n * MESH);
      expect(await staking.totalUnbonding()).to.equal(700n * MESH);
      expect(await staking.rewardsReserved()).to.equal(1_000n * MESH);
      await expectAccounting(f);
    });
  });

  /* ---------------------------------------------------------------------------------------------------------- */

  describe("accounting", function () {
    it("balances after a long mixed sequence and pays everyone out in full", async function () {
      const f = await loadFixture(commissionFixture);
      const { staking, registry, alice, bob, carol, dave, governance, outsider } = f;
      await staking.connect(bob).stake(2_000n * MESH);
      const bobDevice = await registerDevice(registry, bob, {
        label: "bob-1",
        resourceClass: ResourceClass.ComputeCpu,
        capacity: 10n,
      });
      expect(await registry.requiredStake(bob.address)).to.equal(50n * MESH);
      await staking.connect(carol).delegate(bob.address, 7_000n * MESH);
      await expectAccounting(f);

      await staking.connect(governance).addRewards(alice.address, 1_234n * MESH + 567n);
      await staking.connect(governance).addRewards(bob.address, 999n * MESH + 1n);
      await staking.connect(dave).undelegate(alice.address, sharesOf(333n * MESH));
      await staking.connect(alice).unstake(250n * MESH);
      await expectAccounting(f);

      await staking.connect(governance).slash(alice.address, 1_001n * MESH + 7n); // into delegators
      await staking.connect(governance).slash(bob.address, 123n * MESH);
      await expectAccounting(f);

      await staking.connect(governance).addRewards(alice.address, 77n * MESH + 3n);
      await staking.connect(carol).claimRewards(alice.address);
      await staking.connect(bob).claimRewards(bob.address);
      await jail(f, f.aliceDevice);
      await staking.connect(outsider).forceExit(alice.address, carol.address);
      await staking.connect(carol).undelegate(bob.address, sharesOf(1_000n * MESH));
      await expectAccounting(f);

      await time.increase(UNBONDING_PERIOD);
      for (const account of [alice, carol, dave]) await staking.connect(account).withdraw(10);
      await expectAccounting(f);

      // Everyone leaves and claims: only rounding dust may remain, and it is all accounted for.
      const [daveShares] = await staking.delegationOf(alice.address, dave.address);
      await staking.connect(outsider).forceExit(alice.address, dave.address);
      expect(daveShares > 0n).to.equal(true);
      const [carolBobShares] = await staking.delegationOf(bob.address, carol.address);
      await staking.connect(carol).undelegate(bob.address, carolBobShares);
      await registry.connect(bob).beginExit(bobDevice);
      await time.increase(UNBONDING_PERIOD);
      await registry.connect(bob).completeExit(bobDevice);
      await staking.connect(bob).unstake(await staking.selfStake(bob.address));
      for (const account of [alice, bob, carol, dave]) {
        for (const op of [alice, bob]) {
          if ((await staking.pendingRewards(op.address, account.address)) > 0n) {
            await staking.connect(account).claimRewards(op.address);
          }
        }
      }
      await time.increase(UNBONDING_PERIOD);
      for (const account of [bob, carol, dave]) await staking.connect(account).withdraw(10);
      await expectAccounting(f);
      // alice was slashed to zero self-stake; everyone else has left: only rounding dust (a few wei) remains.
      expect(await staking.selfStake(alice.address)).to.equal(0n);
      expect(await staking.totalStaked()).to.equal(0n);
      expect(await staking.totalUnbonding()).to.equal(0n);
      expect(await staking.rewardsReserved()).to.be.lessThan(10n);
    });
  });
});
