import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import {
  ACTOR_BALANCE,
  DAY,
  DeviceStatus,
  FaultKind,
  MESH,
  ResourceClass,
  coreFixture,
  registerDevice,
  type CoreFixture,
} from "../helpers/fixtures";

/**
 * End to end on the Hardhat network: staking, devices of several classes, delegation, rewards with commission,
 * an oracle-reported fault, jailing after missed epochs, a forced delegator exit, unjailing after a top-up, and
 * unbonding through to withdrawal. The steps share one chain state and run in order.
 *
 * After every step the staking contract must hold exactly what it owes:
 *   token.balanceOf(staking) == totalStaked + totalUnbonding + rewardsReserved
 */
describe("Core flow (integration)", function () {
  const UNBONDING_PERIOD = 7n * DAY;

  let f: CoreFixture;
  let funder: HardhatEthersSigner; // pays rewards in (governance holds the undistributed supply)
  let aliceCoverage: string;
  let aliceStorage: string;
  let bobGpu: string;
  let bobCoverage: string;
  let faultEpoch: bigint;
  let jailedUntil: bigint;
  let aliceSelfStake: bigint; // tracked as the flow goes

  const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

  async function expectBooksBalance(): Promise<void> {
    const { token, staking } = f;
    const held = await token.balanceOf(staking);
    const owed = (await staking.totalStaked()) + (await staking.totalUnbonding()) + (await staking.rewardsReserved());
    expect(held).to.equal(owed, "staking balance != totalStaked + totalUnbonding + rewardsReserved");
  }

  async function expectTotals(staked: bigint, unbonding: bigint, reserved: bigint): Promise<void> {
    expect(await f.staking.totalStaked()).to.equal(staked, "totalStaked");
    expect(await f.staking.totalUnbonding()).to.equal(unbonding, "totalUnbonding");
    expect(await f.staking.rewardsReserved()).to.equal(reserved, "rewardsReserved");
    await expectBooksBalance();
  }

  before(async function () {
    f = await loadFixture(coreFixture);
    funder = f.governance;
  });

  afterEach(async function () {
    await expectBooksBalance();
  });

  it("1. operators stake and register devices of several classes", async function () {
    const { staking, registry, alice, bob } = f;

    await expect(staking.connect(alice).stake(700n * MESH)).to.emit(staking, "Staked").withArgs(alice.address, 700n * MESH);
    await expect(staking.connect(bob).stake(10_000n * MESH)).to.emit(staking, "Staked").withArgs(bob.address, 10_000n * MESH);
    await expectTotals(10_700n * MESH, 0n, 0n);

    // Alice: one hotspot (100 MESH) and 5,000 GiB of storage (0.1 MESH/GiB) = 600 MESH required.
    aliceCoverage = await registerDevice(registry, alice, { label: "flow-alice-hotspot" });
    aliceStorage = await registerDevice(registry, alice, {
      label: "flow-alice-disk",
      resourceClass: ResourceClass.Storage,
      capacity: 5_000n,
      metadataURI: "ipfs://alice-disk",
    });
    // Bob: 100 TFLOPS of GPU (50 MESH/TFLOPS) and a hotspot = 5,100 MESH required.
    bobGpu = await registerDevice(registry, bob, { label: "flow-bob-gpu", resourceClass: ResourceClass.ComputeGpu, capacity: 100n });
    bobCoverage = await registerDevice(registry, bob, { label: "flow-bob-hotspot" });

    expect(await registry.requiredStake(alice.address)).to.equal(600n * MESH);
    expect(await registry.requiredStake(bob.address)).to.equal(5_100n * MESH);
    expect(await registry.capacityOf(alice.address, ResourceClass.Storage)).to.equal(5_000n);
    expect(await registry.capacityOf(bob.address, ResourceClass.ComputeGpu)).to.equal(100n);
    for (const [device, operator, cls] of [
      [aliceCoverage, alice.address, ResourceClass.Coverage],
      [aliceStorage, alice.address, ResourceClass.Storage],
      [bobGpu, bob.address, ResourceClass.ComputeGpu],
      [bobCoverage, bob.address, ResourceClass.Coverage],
    ] as const) {
      const d = await registry.getDevice(device);
      expect(d.operator).to.equal(operator);
      expect(d.resourceClass).to.equal(cls);
      expect(d.status).to.equal(DeviceStatus.Active);
    }

    // Capacity must stay backed: 10 more TFLOPS would need 1,100 MESH of alice's 700.
    await expect(registerDevice(registry, alice, { label: "flow-alice-gpu", resourceClass: ResourceClass.ComputeGpu, capacity: 10n }))
      .to.be.revertedWithCustomError(registry, "InsufficientStake")
      .withArgs(alice.address, 700n * MESH, 1_100n * MESH);
    expect(await staking.isStalled(alice.address)).to.equal(false);
    expect(await staking.isStalled(bob.address)).to.equal(false);
    aliceSelfStake = 700n * MESH;
  });

  it("2. alice sets a 10% commission and delegators delegate", async function () {
    const { staking, alice, bob, carol, dave } = f;

    // No delegators yet, so the commission applies at once.
    await expect(staking.connect(alice).setCommission(1_000)).to.emit(staking, "CommissionSet").withArgs(alice.address, 1_000);
    expect(await staking.commissionOf(alice.address)).to.equal(1_000n);

    const shares = 6_000n * MESH * 1_000_000n; // first deposit into the pool: 1e6 virtual shares per wei
    await expect(staking.connect(carol).delegate(alice.address, 6_000n * MESH))
      .to.emit(staking, "Delegated")
      .withArgs(carol.address, alice.address, 6_000n * MESH, shares);
    await expect(staking.connect(dave).delegate(bob.address, 2_000n * MESH)).to.changeTokenBalances(
      f.token,
      [dave, staking],
      [-2_000n * MESH, 2_000n * MESH],
    );

    expect(await staking.delegationOf(alice.address, carol.address)).to.deep.equal([shares, 6_000n * MESH]);
    expect((await staking.delegationOf(bob.address, dave.address))[1]).to.equal(2_000n * MESH);
    expect(await staking.slashableStake(alice.address)).to.equal(6_700n * MESH);
    await expectTotals(18_700n * MESH, 0n, 0n);
  });

  it("3. a funder adds rewards, split by commission and then pro rata", async function () {
    const { staking, token, alice, bob, carol, dave } = f;

    // Alice: 670 MESH → 67 commission; the other 603 split 6,000 : 700 → 540 to carol, 63 to alice's self-stake.
    await expect(staking.connect(funder).addRewards(alice.address, 670n * MESH))
      .to.emit(staking, "RewardsAdded")
      .withArgs(alice.address, funder.address, 130n * MESH, 540n * MESH);
    // Bob: no commission; 600 MESH split 2,000 : 10,000 → 100 to dave, 500 to bob.
    await expect(staking.connect(funder).addRewards(bob.address, 600n * MESH))
      .to.emit(staking, "RewardsAdded")
      .withArgs(bob.address, funder.address, 500n * MESH, 100n * MESH);

    expect(await staking.pendingRewards(alice.address, carol.address)).to.equal(540n * MESH);
    expect(await staking.pendingRewards(alice.address, alice.address)).to.equal(130n * MESH);
    expect(await staking.pendingRewards(bob.address, dave.address)).to.equal(100n * MESH);
    expect(await staking.pendingRewards(bob.address, bob.address)).to.equal(500n * MESH);
    await expectTotals(18_700n * MESH, 0n, 1_270n * MESH);

    await expect(staking.connect(carol).claimRewards(alice.address))
      .to.emit(staking, "RewardsClaimed")
      .withArgs(carol.address, alice.address, 540n * MESH);
    expect(await token.balanceOf(carol.address)).to.equal(ACTOR_BALANCE - 6_000n * MESH + 540n * MESH);
    await expect(staking.connect(carol).claimRewards(alice.address))
      .to.be.revertedWithCustomError(staking, "NothingToClaim")
      .withArgs(carol.address, alice.address);
    await expectTotals(18_700n * MESH, 0n, 730n * MESH);
  });

  it("4. an invalid proof is penalised from alice's self-stake first", async function () {
    const { slashing, staking, token, alice, carol, reporter, treasury } = f;
    faultEpoch = await f.config.currentEpoch();

    // 5% of 6,700 MESH slashable; alice's 700 MESH self-stake covers it.
    const penalty = 335n * MESH;
    expect(await slashing.previewPenalty(aliceStorage, FaultKind.InvalidProof)).to.equal(penalty);
    const tx = slashing.connect(reporter).penaliseFault(aliceStorage, FaultKind.InvalidProof, faultEpoch, ethers.id("bad proof"));
    await expect(tx)
      .to.emit(slashing, "FaultPenalised")
      .withArgs(
        await slashing.faultId(aliceStorage, FaultKind.InvalidProof, faultEpoch),
        aliceStorage,
        alice.address,
        FaultKind.InvalidProof,
        faultEpoch,
        penalty,
        ethers.id("bad proof"),
      );
    await expect(tx).to.emit(staking, "Slashed").withArgs(alice.address, penalty, 0n, await slashing.getAddress());
    await expect(tx).to.changeTokenBalances(token, [staking, treasury], [-penalty, penalty]);

    aliceSelfStake -= penalty;
    expect(await staking.selfStake(alice.address)).to.equal(365n * MESH);
    expect((await staking.delegationOf(alice.address, carol.address))[1]).to.equal(6_000n * MESH);
    // 365 MESH no longer backs the 600 MESH of declared capacity.
    expect(await staking.isStalled(alice.address)).to.equal(true);
    await expectTotals(18_365n * MESH, 0n, 730n * MESH);
  });

  it("5. alice's hotspot misses three epochs in a row and is jailed", async function () {
    const { slashing, staking, registry, alice, carol, reporter } = f;
    await time.increase(3n * DAY);
    const now = await f.config.currentEpoch();
    expect(now).to.equal(faultEpoch + 3n);

    let staked = await staking.totalStaked();
    for (let i = 1n; i <= 3n; i++) {
      const epoch = faultEpoch + i;
      // 0.1% of the slashable stake, rounded up, all of it from alice's self-stake.
      const penalty = ceilDiv((aliceSelfStake + 6_000n * MESH) * 10n, 10_000n);
      expect(await slashing.previewPenalty(aliceCoverage, FaultKind.MissedDuty)).to.equal(penalty);
      const tx = slashing.connect(reporter).penaliseFault(aliceCoverage, FaultKind.MissedDuty, epoch, ethers.id(`missed ${epoch}`));
      await expect(tx).to.emit(slashing, "MissedDutyRecorded").withArgs(aliceCoverage, epoch, i);
      await expect(tx).to.emit(staking, "Slashed").withArgs(alice.address, penalty, 0n, await slashing.getAddress());
      if (i < 3n) await expect(tx).to.not.emit(registry, "DeviceJailed");
      else {
        jailedUntil = BigInt(await time.latest()) + DAY;
        await expect(tx).to.emit(registry, "DeviceJailed").withArgs(aliceCoverage, jailedUntil);
      }
      aliceSelfStake -= penalty;
      staked -= penalty;
      await expectBooksBalance();
    }

    // 365 - 6.365 - 6.358635 - 6.352276365
    expect(aliceSelfStake).to.equal(ethers.parseEther("345.924088635"));
    expect(await staking.selfStake(alice.address)).to.equal(aliceSelfStake);
    const device = await registry.getDevice(aliceCoverage);
    expect(device.status).to.equal(DeviceStatus.Jailed);
    expect(device.jailedUntil).to.equal(jailedUntil);
    expect(await registry.jailedDevices(alice.address)).to.equal(1n);
    expect((await registry.getDevice(aliceStorage)).status).to.equal(DeviceStatus.Active);
    expect((await slashing.missedDuty(aliceCoverage)).consecutive).to.equal(0n);

    // A stalled operator takes no new delegations.
    await expect(staking.connect(carol).delegate(alice.address, 1n * MESH))
      .to.be.revertedWithCustomError(staking, "OperatorStalled")
      .withArgs(alice.address);
    await expectTotals(staked, 0n, 730n * MESH);
  });

  it("6. anyone moves carol out of the stalled operator with forceExit", async function () {
    const { staking, alice, bob, carol, dave } = f;

    await expect(staking.connect(carol).forceExit(bob.address, dave.address))
      .to.be.revertedWithCustomError(staking, "OperatorNotStalled")
      .withArgs(bob.address);

    const staked = await staking.totalStaked();
    const tx = await staking.connect(dave).forceExit(alice.address, carol.address);
    const releaseAt = BigInt(await time.latest()) + UNBONDING_PERIOD;
    // Carol was not slashed: the faults were paid from alice's self-stake.
    await expect(tx)
      .to.emit(staking, "Undelegated")
      .withArgs(carol.address, alice.address, 6_000n * MESH, 6_000n * MESH * 1_000_000n, releaseAt, true);

    expect(await staking.delegationOf(alice.address, carol.address)).to.deep.equal([0n, 0n]);
    const queue = await staking.pendingUnbondings(carol.address);
    expect(queue.length).to.equal(1);
    expect(queue[0].operator).to.equal(alice.address);
    expect(queue[0].releaseAt).to.equal(releaseAt);
    expect(queue[0].delegated).to.equal(true);
    await expect(staking.connect(dave).forceExit(alice.address, carol.address))
      .to.be.revertedWithCustomError(staking, "NoDelegation")
      .withArgs(carol.address, alice.address);
    // Unbonding stake stays slashable.
    expect(await staking.slashableStake(alice.address)).to.equal(aliceSelfStake + 6_000n * MESH);
    await expectTotals(staked - 6_000n * MESH, 6_000n * MESH, 730n * MESH);
  });

  it("7. alice tops up and unjails her hotspot after the cooldown", async function () {
    const { staking, registry, alice } = f;

    await expect(registry.connect(alice).unjail(aliceCoverage))
      .to.be.revertedWithCustomError(registry, "StillJailed")
      .withArgs(aliceCoverage, jailedUntil);

    await time.increase(DAY);
    await expect(registry.connect(alice).unjail(aliceCoverage))
      .to.be.revertedWithCustomError(registry, "InsufficientStake")
      .withArgs(alice.address, aliceSelfStake, 600n * MESH);

    const staked = await staking.totalStaked();
    await expect(staking.connect(alice).stake(300n * MESH)).to.emit(staking, "Staked").withArgs(alice.address, 300n * MESH);
    aliceSelfStake += 300n * MESH;
    expect(aliceSelfStake).to.equal(ethers.parseEther("645.924088635"));

    await expect(registry.connect(alice).unjail(aliceCoverage))
      .to.emit(registry, "StatusChanged")
      .withArgs(aliceCoverage, DeviceStatus.Jailed, DeviceStatus.Active);
    const device = await registry.getDevice(aliceCoverage);
    expect(device.status).to.equal(DeviceStatus.Active);
    expect(device.jailedUntil).to.equal(0n);
    expect(await registry.jailedDevices(alice.address)).to.equal(0n);
    expect(await staking.isStalled(alice.address)).to.equal(false);
    await expectTotals(staked + 300n * MESH, 6_000n * MESH, 730n * MESH);
  });

  it("8. exits unbond, and withdrawals and reward claims pay out", async function () {
    const { staking, token, alice, bob, carol, dave } = f;

    // Bob keeps 8,000 MESH, above the 5,100 MESH his devices need; dave leaves bob entirely.
    await expect(staking.connect(bob).unstake(2_000n * MESH)).to.emit(staking, "Unstaked");
    const [daveShares] = await staking.delegationOf(bob.address, dave.address);
    const undelegation = await staking.connect(dave).undelegate(bob.address, daveShares);
    await expect(undelegation)
      .to.emit(staking, "Undelegated")
      .withArgs(dave.address, bob.address, 2_000n * MESH, daveShares, BigInt(await time.latest()) + UNBONDING_PERIOD, false);
    await expectTotals(aliceSelfStake + 8_000n * MESH, 10_000n * MESH, 730n * MESH);

    // Carol's forced exit was queued a day ago: not released yet.
    await expect(staking.connect(carol).withdraw(10)).to.be.revertedWithCustomError(staking, "NothingToWithdraw").withArgs(carol.address);

    await time.increase(UNBONDING_PERIOD);
    await expect(staking.connect(carol).withdraw(10))
      .to.emit(staking, "Withdrawn")
      .withArgs(carol.address, 6_000n * MESH, 1n);
    await expect(staking.connect(bob).withdraw(10)).to.changeTokenBalance(token, bob, 2_000n * MESH);
    await expect(staking.connect(dave).withdraw(10)).to.changeTokenBalance(token, dave, 2_000n * MESH);
    await expectTotals(aliceSelfStake + 8_000n * MESH, 0n, 730n * MESH);
    expect(await staking.pendingUnbondings(carol.address)).to.deep.equal([]);
    await expect(staking.connect(carol).withdraw(10)).to.be.revertedWithCustomError(staking, "NothingToWithdraw");

    // Rewards: dave's accrued on exit, the operators' commission and self-stake shares.
    await expect(staking.connect(dave).claimRewards(bob.address)).to.changeTokenBalance(token, dave, 100n * MESH);
    await expect(staking.connect(bob).claimRewards(bob.address)).to.changeTokenBalance(token, bob, 500n * MESH);
    await expect(staking.connect(alice).claimRewards(alice.address)).to.changeTokenBalance(token, alice, 130n * MESH);
    await expectTotals(aliceSelfStake + 8_000n * MESH, 0n, 0n);

    // Final positions: delegators whole plus rewards; operators down only what was slashed.
    expect(await token.balanceOf(carol.address)).to.equal(ACTOR_BALANCE + 540n * MESH);
    expect(await token.balanceOf(dave.address)).to.equal(ACTOR_BALANCE + 100n * MESH);
    expect(await token.balanceOf(bob.address)).to.equal(ACTOR_BALANCE - 8_000n * MESH + 500n * MESH);
    expect(await token.balanceOf(alice.address)).to.equal(ACTOR_BALANCE - 1_000n * MESH + 130n * MESH);
    expect(await staking.selfStake(alice.address)).to.equal(ethers.parseEther("645.924088635"));
    // The treasury got everything slashed: 700 MESH staked initially - 345.924088635 left before the top-up.
    expect(await token.balanceOf(f.treasury.address)).to.equal(ethers.parseEther("354.075911365"));
    expect(await token.balanceOf(f.staking)).to.equal(aliceSelfStake + 8_000n * MESH);
  });
});
