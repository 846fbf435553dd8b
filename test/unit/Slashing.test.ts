import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { Param, FaultParam } from "../../sdk/enums";
import {
  DAY,
  DeviceStatus,
  FaultKind,
  MESH,
  ResourceClass,
  operatorFixture,
  registerDevice,
  type CoreFixture,
} from "../helpers/fixtures";

/** `ChallengeStatus` of ISlashing. */
const ChallengeStatus = { None: 0, Open: 1, Upheld: 2, Rejected: 3, Expired: 4 } as const;

const REPORTER_ROLE = ethers.id("REPORTER_ROLE");
const ARBITRATOR_ROLE = ethers.id("ARBITRATOR_ROLE");
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

const EVIDENCE = ethers.id("evidence: proof bundle #1");
const BOND = 100n * MESH; // default ChallengeBond
const UNBONDING_PERIOD = 7n * DAY;
const DISPUTE_WINDOW = 3n * DAY;
const ALICE_STAKE = 1_000n * MESH; // operatorFixture

/** keccak256(abi.encode(device, kind, epoch)), as Slashing.faultId. */
function faultIdOf(device: string, kind: number, epoch: bigint): string {
  return ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint8", "uint64"], [device, kind, epoch]));
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

type F = CoreFixture & { aliceDevice: string; epoch: bigint };

/** operatorFixture (alice: 1,000 MESH self-stake, one Coverage device) in its first epoch. */
async function slashingFixture(): Promise<F> {
  const f = await operatorFixture();
  return { ...f, epoch: await f.config.currentEpoch() };
}

/** As slashingFixture, six epochs later, so that several past epochs can be reported. */
async function laterFixture(): Promise<F> {
  const f = await operatorFixture();
  await time.increase(6n * DAY);
  return { ...f, epoch: await f.config.currentEpoch() };
}

/** Alice also has 3,000 MESH delegated by carol and 2,000 by dave, half of dave's unbonding. */
async function delegatedFixture(): Promise<F> {
  const f = await slashingFixture();
  await f.staking.connect(f.carol).delegate(f.alice.address, 3_000n * MESH);
  await f.staking.connect(f.dave).delegate(f.alice.address, 2_000n * MESH);
  const [daveShares] = await f.staking.delegationOf(f.alice.address, f.dave.address);
  await f.staking.connect(f.dave).undelegate(f.alice.address, daveShares / 2n);
  return f;
}

/** Fisher has opened challenge 1: alice's device, InvalidProof, the current epoch. */
async function challengeFixture(): Promise<F & { challengeId: bigint; openedAt: bigint; fid: string }> {
  const f = await slashingFixture();
  await f.slashing.connect(f.fisher).openChallenge(f.aliceDevice, FaultKind.InvalidProof, f.epoch, EVIDENCE);
  return {
    ...f,
    challengeId: 1n,
    openedAt: BigInt(await time.latest()),
    fid: faultIdOf(f.aliceDevice, FaultKind.InvalidProof, f.epoch),
  };
}

describe("Slashing", function () {
  describe("deployment and roles", function () {
    it("is wired to the core and starts empty", async function () {
      const f = await loadFixture(slashingFixture);
      const { slashing } = f;
      expect(await slashing.REPORTER_ROLE()).to.equal(REPORTER_ROLE);
      expect(await slashing.ARBITRATOR_ROLE()).to.equal(ARBITRATOR_ROLE);
      expect(await slashing.token()).to.equal(await f.token.getAddress());
      expect(await slashing.config()).to.equal(await f.config.getAddress());
      expect(await slashing.registry()).to.equal(await f.registry.getAddress());
      expect(await slashing.staking()).to.equal(await f.staking.getAddress());
      expect(await slashing.hasRole(DEFAULT_ADMIN_ROLE, f.governance.address)).to.equal(true);
      expect(await slashing.hasRole(REPORTER_ROLE, f.reporter.address)).to.equal(true);
      expect(await slashing.hasRole(ARBITRATOR_ROLE, f.arbitrator.address)).to.equal(true);
      expect(await slashing.hasRole(REPORTER_ROLE, f.arbitrator.address)).to.equal(false);
      expect(await slashing.challengeCount()).to.equal(0n);
      expect(await slashing.slashedInEpoch(f.epoch)).to.equal(0n);

      const fid = faultIdOf(f.aliceDevice, FaultKind.MissedDuty, f.epoch);
      expect(await slashing.penalised(fid)).to.equal(false);
      expect(await slashing.openChallengeOf(fid)).to.equal(0n);

      const missed = await slashing.missedDuty(f.aliceDevice);
      expect(missed.lastEpoch).to.equal(0n);
      expect(missed.consecutive).to.equal(0n);
      expect(missed.reported).to.equal(false);

      const c = await slashing.getChallenge(1n);
      expect(c.challenger).to.equal(ethers.ZeroAddress);
      expect(c.status).to.equal(ChallengeStatus.None);
      expect(c.bond).to.equal(0n);
      // IAccessControl and ERC165 interface ids
      expect(await slashing.supportsInterface("0x7965db0b")).to.equal(true);
      expect(await slashing.supportsInterface("0x01ffc9a7")).to.equal(true);
      expect(await slashing.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("lets governance (and only governance) grant and revoke the reporter role", async function () {
      const { slashing, governance, outsider, alice, reporter, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await expect(slashing.connect(alice).grantRole(REPORTER_ROLE, outsider.address))
        .to.be.revertedWithCustomError(slashing, "AccessControlUnauthorizedAccount")
        .withArgs(alice.address, DEFAULT_ADMIN_ROLE);

      await expect(slashing.connect(governance).grantRole(REPORTER_ROLE, outsider.address))
        .to.emit(slashing, "RoleGranted")
        .withArgs(REPORTER_ROLE, outsider.address, governance.address);
      await expect(slashing.connect(outsider).penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch, EVIDENCE)).to.emit(
        slashing,
        "FaultPenalised",
      );

      await expect(slashing.connect(governance).revokeRole(REPORTER_ROLE, reporter.address))
        .to.emit(slashing, "RoleRevoked")
        .withArgs(REPORTER_ROLE, reporter.address, governance.address);
      await expect(slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "AccessControlUnauthorizedAccount")
        .withArgs(reporter.address, REPORTER_ROLE);
    });
  });

  describe("faultId", function () {
    it("is keccak256(abi.encode(device, kind, epoch)) and distinguishes every component", async function () {
      const { slashing, aliceDevice, bob } = await loadFixture(slashingFixture);
      const id = await slashing.faultId(aliceDevice, FaultKind.InvalidProof, 7n);
      expect(id).to.equal(faultIdOf(aliceDevice, FaultKind.InvalidProof, 7n));
      expect(await slashing.faultId(aliceDevice, FaultKind.LocationSpoofing, 7n)).to.not.equal(id);
      expect(await slashing.faultId(aliceDevice, FaultKind.InvalidProof, 8n)).to.not.equal(id);
      expect(await slashing.faultId(bob.address, FaultKind.InvalidProof, 7n)).to.not.equal(id);
    });
  });

  describe("previewPenalty", function () {
    it("takes each kind's rate of a small stake (1,000 MESH)", async function () {
      const { slashing, aliceDevice } = await loadFixture(slashingFixture);
      // Default rates: 10, 500, 1,000 and 200 bps; caps not reached.
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.MissedDuty)).to.equal(1n * MESH);
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.InvalidProof)).to.equal(50n * MESH);
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.LocationSpoofing)).to.equal(100n * MESH);
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.DoubleRegistration)).to.equal(20n * MESH);
    });

    it("rounds the rate up to the wei", async function () {
      const { slashing, staking, alice, aliceDevice } = await loadFixture(slashingFixture);
      await staking.connect(alice).stake(1n); // slashable 1,000 MESH + 1 wei
      const slashable = ALICE_STAKE + 1n;
      expect(await staking.slashableStake(alice.address)).to.equal(slashable);
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.MissedDuty)).to.equal(ceilDiv(slashable * 10n, 10_000n));
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.MissedDuty)).to.equal(1n * MESH + 1n);
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.InvalidProof)).to.equal(50n * MESH + 1n);
    });

    it("caps each kind at its MaxPerIncident for a large stake (500,000 MESH)", async function () {
      const { slashing, staking, registry, bob } = await loadFixture(slashingFixture);
      await staking.connect(bob).stake(500_000n * MESH);
      const bobDevice = await registerDevice(registry, bob, { label: "bob-big" });
      // By rate these would be 500, 25,000, 50,000 and 10,000 MESH.
      expect(await slashing.previewPenalty(bobDevice, FaultKind.MissedDuty)).to.equal(100n * MESH);
      expect(await slashing.previewPenalty(bobDevice, FaultKind.InvalidProof)).to.equal(10_000n * MESH);
      expect(await slashing.previewPenalty(bobDevice, FaultKind.LocationSpoofing)).to.equal(20_000n * MESH);
      expect(await slashing.previewPenalty(bobDevice, FaultKind.DoubleRegistration)).to.equal(5_000n * MESH);
    });

    it("counts delegated and unbonding stake as slashable", async function () {
      const { slashing, staking, alice, aliceDevice } = await loadFixture(delegatedFixture);
      // 1,000 self + 4,000 delegated + 1,000 delegated unbonding
      expect(await staking.slashableStake(alice.address)).to.equal(6_000n * MESH);
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.InvalidProof)).to.equal(300n * MESH);
    });

    it("follows governance's fault parameters", async function () {
      const { slashing, config, aliceDevice } = await loadFixture(slashingFixture);
      await config.setFaultParam(FaultKind.InvalidProof, FaultParam.RateBps, 1_234n);
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.InvalidProof)).to.equal(1234n * MESH / 10n);
      await config.setFaultParam(FaultKind.InvalidProof, FaultParam.MaxPerIncident, 7n * MESH);
      expect(await slashing.previewPenalty(aliceDevice, FaultKind.InvalidProof)).to.equal(7n * MESH);
    });

    it("is zero for an unknown device", async function () {
      const { slashing, outsider } = await loadFixture(slashingFixture);
      expect(await slashing.previewPenalty(outsider.address, FaultKind.LocationSpoofing)).to.equal(0n);
    });
  });

  describe("penaliseFault", function () {
    it("slashes a small stake by rate, sends the proceeds to the treasury and records the fault", async function () {
      const { slashing, staking, token, alice, reporter, treasury, aliceDevice, epoch } = await loadFixture(slashingFixture);
      const fid = faultIdOf(aliceDevice, FaultKind.InvalidProof, epoch);
      const amount = 50n * MESH; // 5% of 1,000 MESH

      expect(
        await slashing.connect(reporter).penaliseFault.staticCall(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE),
      ).to.equal(amount);

      const tx = slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE);
      await expect(tx)
        .to.emit(slashing, "FaultPenalised")
        .withArgs(fid, aliceDevice, alice.address, FaultKind.InvalidProof, epoch, amount, EVIDENCE);
      await expect(tx)
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, amount, 0n, await slashing.getAddress());
      await expect(tx).to.emit(slashing, "ProceedsReleased").withArgs(treasury.address, amount);
      await expect(tx).to.changeTokenBalances(token, [staking, slashing, treasury], [-amount, 0n, amount]);
      await expect(tx).to.not.emit(slashing, "MissedDutyRecorded");

      expect(await slashing.penalised(fid)).to.equal(true);
      expect(await slashing.slashedInEpoch(epoch)).to.equal(amount);
      expect(await staking.selfStake(alice.address)).to.equal(ALICE_STAKE - amount);
      expect(await staking.totalStaked()).to.equal(ALICE_STAKE - amount);
      // Non-MissedDuty faults leave the missed-duty record alone.
      expect((await slashing.missedDuty(aliceDevice)).reported).to.equal(false);
    });

    it("rounds the real slash up, like the preview", async function () {
      const { slashing, staking, token, alice, reporter, treasury, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await staking.connect(alice).stake(1n);
      const tx = slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch, EVIDENCE);
      await expect(tx)
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, 1n * MESH + 1n, 0n, await slashing.getAddress());
      await expect(tx).to.changeTokenBalance(token, treasury, 1n * MESH + 1n);
      expect(await staking.selfStake(alice.address)).to.equal(999n * MESH);
    });

    it("caps the real slash of a large stake at MaxPerIncident", async function () {
      const { slashing, staking, token, registry, bob, reporter, treasury, epoch } = await loadFixture(slashingFixture);
      await staking.connect(bob).stake(500_000n * MESH);
      const bobDevice = await registerDevice(registry, bob, { label: "bob-big" });
      const cap = 10_000n * MESH; // InvalidProof cap; 5% would be 25,000 MESH

      const tx = slashing.connect(reporter).penaliseFault(bobDevice, FaultKind.InvalidProof, epoch, EVIDENCE);
      await expect(tx)
        .to.emit(slashing, "FaultPenalised")
        .withArgs(faultIdOf(bobDevice, FaultKind.InvalidProof, epoch), bobDevice, bob.address, FaultKind.InvalidProof, epoch, cap, EVIDENCE);
      await expect(tx).to.changeTokenBalances(token, [staking, treasury], [-cap, cap]);
      expect(await staking.selfStake(bob.address)).to.equal(490_000n * MESH);
      expect(await slashing.slashedInEpoch(epoch)).to.equal(cap);
    });

    it("takes nothing and releases nothing when the rate is zero, but still marks the fault", async function () {
      const { slashing, staking, token, config, alice, reporter, treasury, aliceDevice, epoch } =
        await loadFixture(slashingFixture);
      await config.setFaultParam(FaultKind.DoubleRegistration, FaultParam.RateBps, 0n);
      const fid = faultIdOf(aliceDevice, FaultKind.DoubleRegistration, epoch);
      const tx = slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.DoubleRegistration, epoch, EVIDENCE);
      await expect(tx)
        .to.emit(slashing, "FaultPenalised")
        .withArgs(fid, aliceDevice, alice.address, FaultKind.DoubleRegistration, epoch, 0n, EVIDENCE);
      await expect(tx).to.not.emit(slashing, "ProceedsReleased");
      await expect(tx).to.changeTokenBalances(token, [staking, treasury], [0n, 0n]);
      expect(await slashing.penalised(fid)).to.equal(true);
      expect(await staking.selfStake(alice.address)).to.equal(ALICE_STAKE);
    });

    it("burns the proceeds when the treasury is unset", async function () {
      const { slashing, token, config, staking, reporter, treasury, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await expect(config.setTreasury(ethers.ZeroAddress)).to.emit(config, "TreasurySet").withArgs(ethers.ZeroAddress);
      const supplyBefore = await token.totalSupply();

      const tx = slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE);
      await expect(tx).to.emit(slashing, "ProceedsReleased").withArgs(ethers.ZeroAddress, 50n * MESH);
      await expect(tx)
        .to.emit(token, "Transfer")
        .withArgs(await slashing.getAddress(), ethers.ZeroAddress, 50n * MESH);
      await expect(tx).to.changeTokenBalances(token, [staking, slashing, treasury], [-50n * MESH, 0n, 0n]);
      expect(await token.totalSupply()).to.equal(supplyBefore - 50n * MESH);
    });

    it("is reserved to REPORTER_ROLE", async function () {
      const { slashing, outsider, arbitrator, governance, fisher, aliceDevice, epoch } = await loadFixture(slashingFixture);
      for (const caller of [outsider, arbitrator, governance, fisher]) {
        await expect(slashing.connect(caller).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
          .to.be.revertedWithCustomError(slashing, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, REPORTER_ROLE);
      }
    });

    it("penalises each fault once: FaultAlreadyPenalised", async function () {
      const { slashing, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      const s = slashing.connect(reporter);
      await s.penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE);
      await expect(s.penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, ethers.id("other evidence")))
        .to.be.revertedWithCustomError(slashing, "FaultAlreadyPenalised")
        .withArgs(faultIdOf(aliceDevice, FaultKind.InvalidProof, epoch));
      // Another kind in the same epoch, or the same kind in another epoch, is another fault.
      await expect(s.penaliseFault(aliceDevice, FaultKind.LocationSpoofing, epoch, EVIDENCE)).to.emit(slashing, "FaultPenalised");
      await expect(s.penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch - 1n, EVIDENCE)).to.emit(slashing, "FaultPenalised");
    });

    it("reverts with UnknownDevice for an unregistered key", async function () {
      const { slashing, reporter, outsider, epoch } = await loadFixture(slashingFixture);
      await expect(slashing.connect(reporter).penaliseFault(outsider.address, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "UnknownDevice")
        .withArgs(outsider.address);
    });

    it("reverts with FaultInFuture for an epoch that has not started", async function () {
      const { slashing, reporter, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await expect(slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch + 1n, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "FaultInFuture")
        .withArgs(epoch + 1n, epoch);
    });

    it("accepts a fault up to UnbondingPeriod after its epoch ended, then FaultTooOld", async function () {
      const { slashing, config, reporter, aliceDevice, epoch } = await loadFixture(slashingFixture);
      const expiredAt = (await config.epochEnd(epoch)) + UNBONDING_PERIOD;
      const s = slashing.connect(reporter);

      await time.setNextBlockTimestamp(expiredAt);
      await expect(s.penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch, EVIDENCE)).to.emit(slashing, "FaultPenalised");

      await time.setNextBlockTimestamp(expiredAt + 1n);
      await expect(s.penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "FaultTooOld")
        .withArgs(epoch, expiredAt);
    });

    it("stops at the per-epoch circuit breaker and applies the penalty in a later epoch", async function () {
      const { slashing, config, staking, alice, reporter, aliceDevice, epoch } = await loadFixture(slashingFixture);
      const cap = 100n * MESH;
      await expect(config.setParam(Param.MaxSlashPerEpoch, cap)).to.emit(config, "ParamSet").withArgs(Param.MaxSlashPerEpoch, cap);
      const s = slashing.connect(reporter);

      await s.penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE); // 50 MESH
      // 10% of the remaining 950 MESH = 95 MESH; 50 + 95 > 100
      await expect(s.penaliseFault(aliceDevice, FaultKind.LocationSpoofing, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "EpochSlashCapExceeded")
        .withArgs(epoch, 145n * MESH, cap);
      expect(await slashing.penalised(faultIdOf(aliceDevice, FaultKind.LocationSpoofing, epoch))).to.equal(false);
      expect(await staking.selfStake(alice.address)).to.equal(950n * MESH);

      await time.increase(DAY);
      const next = await config.currentEpoch();
      expect(next).to.equal(epoch + 1n);
      // The fault still belongs to `epoch`; the breaker counts the epoch in which slashing happens.
      await expect(s.penaliseFault(aliceDevice, FaultKind.LocationSpoofing, epoch, EVIDENCE))
        .to.emit(slashing, "FaultPenalised")
        .withArgs(faultIdOf(aliceDevice, FaultKind.LocationSpoofing, epoch), aliceDevice, alice.address, FaultKind.LocationSpoofing, epoch, 95n * MESH, EVIDENCE);
      expect(await slashing.slashedInEpoch(epoch)).to.equal(50n * MESH);
      expect(await slashing.slashedInEpoch(next)).to.equal(95n * MESH);
      expect(await staking.selfStake(alice.address)).to.equal(855n * MESH);
    });

    it("lets the epoch's total reach the circuit breaker exactly", async function () {
      const { slashing, config, reporter, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await config.setParam(Param.MaxSlashPerEpoch, 51n * MESH);
      const s = slashing.connect(reporter);
      await s.penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE); // 50 MESH
      // 0.1% of 950 MESH = 0.95 MESH: 50.95 <= 51
      await expect(s.penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch, EVIDENCE)).to.emit(slashing, "FaultPenalised");
      expect(await slashing.slashedInEpoch(epoch)).to.equal(5095n * MESH / 100n);
      // 2% of 949.05 = 18.981 MESH: over the cap
      await expect(s.penaliseFault(aliceDevice, FaultKind.DoubleRegistration, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "EpochSlashCapExceeded")
        .withArgs(epoch, 5095n * MESH / 100n + 18981n * MESH / 1000n, 51n * MESH);
    });
  });

  describe("whose stake is slashed", function () {
    it("takes active self-stake, then the operator's unbonding stake, before any delegator", async function () {
      const { slashing, staking, config, alice, carol, reporter, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await staking.connect(alice).unstake(500n * MESH); // 500 active, 500 unbonding
      await staking.connect(carol).delegate(alice.address, 3_000n * MESH);
      await config.setFaultParam(FaultKind.InvalidProof, FaultParam.RateBps, 2_500n); // 25% of 4,000 = 1,000 MESH

      const stakedBefore = await staking.totalStaked();
      const unbondingBefore = await staking.totalUnbonding();
      await expect(slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, 1_000n * MESH, 0n, await slashing.getAddress());

      const op = await staking.getOperatorStake(alice.address);
      expect(op.selfStake).to.equal(0n);
      expect(op.selfUnbonding.tokens).to.equal(0n);
      expect(op.delegated.tokens).to.equal(3_000n * MESH);
      expect((await staking.delegationOf(alice.address, carol.address))[1]).to.equal(3_000n * MESH);
      expect(await staking.totalStaked()).to.equal(stakedBefore - 500n * MESH);
      expect(await staking.totalUnbonding()).to.equal(unbondingBefore - 500n * MESH);
    });

    it("then takes delegators pro rata over active and unbonding delegated stake", async function () {
      const { slashing, staking, config, alice, carol, dave, reporter, aliceDevice, epoch } = await loadFixture(delegatedFixture);
      // slashable: 1,000 self + 4,000 delegated (carol 3,000, dave 1,000) + 1,000 delegated unbonding (dave)
      await config.setFaultParam(FaultKind.InvalidProof, FaultParam.RateBps, 5_000n); // 50% of 6,000 = 3,000 MESH
      const stakedBefore = await staking.totalStaked();
      const unbondingBefore = await staking.totalUnbonding();

      // 1,000 from self; the other 2,000 split 4,000 : 1,000 → 1,600 active, 400 unbonding
      await expect(slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, 1_000n * MESH, 2_000n * MESH, await slashing.getAddress());

      const op = await staking.getOperatorStake(alice.address);
      expect(op.selfStake).to.equal(0n);
      expect(op.delegated.tokens).to.equal(2_400n * MESH);
      expect(op.delegatedUnbonding.tokens).to.equal(600n * MESH);
      expect(await staking.totalStaked()).to.equal(stakedBefore - 2_600n * MESH);
      expect(await staking.totalUnbonding()).to.equal(unbondingBefore - 400n * MESH);

      // Every delegator loses the same 40%.
      expect((await staking.delegationOf(alice.address, carol.address))[1]).to.equal(1_800n * MESH);
      expect((await staking.delegationOf(alice.address, dave.address))[1]).to.equal(600n * MESH);
      const [r] = await staking.pendingUnbondings(dave.address);
      const request = {
        operator: r.operator,
        releaseAt: r.releaseAt,
        delegated: r.delegated,
        shares: r.shares,
        generation: r.generation,
      };
      expect(await staking.unbondingValue(request)).to.equal(600n * MESH);
    });
  });

  describe("missed duty", function () {
    it("records a first miss", async function () {
      const { slashing, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      await expect(slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch - 4n, EVIDENCE))
        .to.emit(slashing, "MissedDutyRecorded")
        .withArgs(aliceDevice, epoch - 4n, 1n);
      const m = await slashing.missedDuty(aliceDevice);
      expect(m.lastEpoch).to.equal(epoch - 4n);
      expect(m.consecutive).to.equal(1n);
      expect(m.reported).to.equal(true);
    });

    it("jails the device after JailAfterMissedEpochs consecutive misses, for JailCooldown", async function () {
      const { slashing, registry, staking, alice, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      const s = slashing.connect(reporter);
      const first = epoch - 5n;

      await expect(s.penaliseFault(aliceDevice, FaultKind.MissedDuty, first, EVIDENCE))
        .to.emit(slashing, "MissedDutyRecorded")
        .withArgs(aliceDevice, first, 1n);
      const second = s.penaliseFault(aliceDevice, FaultKind.MissedDuty, first + 1n, EVIDENCE);
      await expect(second).to.emit(slashing, "MissedDutyRecorded").withArgs(aliceDevice, first + 1n, 2n);
      await expect(second).to.not.emit(registry, "DeviceJailed");
      expect((await registry.getDevice(aliceDevice)).status).to.equal(DeviceStatus.Active);
      expect(await staking.isStalled(alice.address)).to.equal(false);

      const third = await s.penaliseFault(aliceDevice, FaultKind.MissedDuty, first + 2n, EVIDENCE);
      const now = BigInt(await time.latest());
      await expect(third).to.emit(slashing, "MissedDutyRecorded").withArgs(aliceDevice, first + 2n, 3n);
      await expect(third).to.emit(registry, "DeviceJailed").withArgs(aliceDevice, now + DAY);
      await expect(third).to.emit(registry, "StatusChanged").withArgs(aliceDevice, DeviceStatus.Active, DeviceStatus.Jailed);

      const device = await registry.getDevice(aliceDevice);
      expect(device.status).to.equal(DeviceStatus.Jailed);
      expect(device.jailedUntil).to.equal(now + DAY);
      expect(await registry.jailedDevices(alice.address)).to.equal(1n);
      expect(await staking.isStalled(alice.address)).to.equal(true);
      // The run restarts after the jailing.
      const m = await slashing.missedDuty(aliceDevice);
      expect(m.lastEpoch).to.equal(first + 2n);
      expect(m.consecutive).to.equal(0n);
      expect(m.reported).to.equal(true);
      // Each miss also cost 0.1% of the slashable stake, rounded up.
      let stake = ALICE_STAKE;
      for (let i = 0; i < 3; i++) stake -= ceilDiv(stake * 10n, 10_000n);
      expect(await staking.selfStake(alice.address)).to.equal(stake);
    });

    it("honours the configured JailCooldown and JailAfterMissedEpochs", async function () {
      const { slashing, registry, config, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      await config.setParam(Param.JailAfterMissedEpochs, 1n);
      await config.setParam(Param.JailCooldown, 5n * DAY);
      const tx = await slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch, EVIDENCE);
      const now = BigInt(await time.latest());
      await expect(tx).to.emit(registry, "DeviceJailed").withArgs(aliceDevice, now + 5n * DAY);
      expect((await registry.getDevice(aliceDevice)).jailedUntil).to.equal(now + 5n * DAY);
    });

    it("restarts the count after a gap", async function () {
      const { slashing, registry, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      const s = slashing.connect(reporter);
      const e0 = epoch - 6n;
      await s.penaliseFault(aliceDevice, FaultKind.MissedDuty, e0, EVIDENCE);
      await expect(s.penaliseFault(aliceDevice, FaultKind.MissedDuty, e0 + 1n, EVIDENCE))
        .to.emit(slashing, "MissedDutyRecorded")
        .withArgs(aliceDevice, e0 + 1n, 2n);
      // e0 + 2 was served: the run is broken.
      const afterGap = s.penaliseFault(aliceDevice, FaultKind.MissedDuty, e0 + 3n, EVIDENCE);
      await expect(afterGap).to.emit(slashing, "MissedDutyRecorded").withArgs(aliceDevice, e0 + 3n, 1n);
      await expect(afterGap).to.not.emit(registry, "DeviceJailed");
      await expect(s.penaliseFault(aliceDevice, FaultKind.MissedDuty, e0 + 4n, EVIDENCE))
        .to.emit(slashing, "MissedDutyRecorded")
        .withArgs(aliceDevice, e0 + 4n, 2n);
      expect((await registry.getDevice(aliceDevice)).status).to.equal(DeviceStatus.Active);
      await expect(s.penaliseFault(aliceDevice, FaultKind.MissedDuty, e0 + 5n, EVIDENCE)).to.emit(registry, "DeviceJailed");
      expect((await registry.getDevice(aliceDevice)).status).to.equal(DeviceStatus.Jailed);
    });

    it("penalises a late report of an older epoch without extending the streak", async function () {
      const { slashing, staking, alice, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      const s = slashing.connect(reporter);
      await s.penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch - 2n, EVIDENCE);
      const stake = await staking.selfStake(alice.address);

      const late = s.penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch - 3n, EVIDENCE);
      await expect(late).to.emit(slashing, "FaultPenalised");
      await expect(late).to.not.emit(slashing, "MissedDutyRecorded");
      expect(await slashing.penalised(faultIdOf(aliceDevice, FaultKind.MissedDuty, epoch - 3n))).to.equal(true);
      expect(await staking.selfStake(alice.address)).to.be.lessThan(stake);
      const record = await slashing.missedDuty(aliceDevice);
      expect([record.lastEpoch, record.consecutive]).to.deep.equal([epoch - 2n, 1n]);
    });

    it("counts misses of a device that is not Active without calling jail", async function () {
      const { slashing, registry, alice, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      await registry.connect(alice).beginExit(aliceDevice); // Exiting: still slashable, not jailable
      const s = slashing.connect(reporter);
      for (let i = 0n; i < 3n; i++) {
        const tx = s.penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch - 3n + i, EVIDENCE);
        await expect(tx)
          .to.emit(slashing, "MissedDutyRecorded")
          .withArgs(aliceDevice, epoch - 3n + i, i + 1n);
        await expect(tx).to.not.emit(registry, "DeviceJailed");
      }
      expect((await registry.getDevice(aliceDevice)).status).to.equal(DeviceStatus.Exiting);
      expect(await registry.jailedDevices(alice.address)).to.equal(0n);
      expect((await slashing.missedDuty(aliceDevice)).consecutive).to.equal(3n);
    });

    it("does not jail an already jailed device again (registry.jail would revert)", async function () {
      const { slashing, registry, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      const s = slashing.connect(reporter);
      for (let e = epoch - 5n; e <= epoch - 3n; e++) await s.penaliseFault(aliceDevice, FaultKind.MissedDuty, e, EVIDENCE);
      const jailedUntil = (await registry.getDevice(aliceDevice)).jailedUntil;
      expect((await registry.getDevice(aliceDevice)).status).to.equal(DeviceStatus.Jailed);

      for (let e = epoch - 2n; e <= epoch; e++) {
        const tx = s.penaliseFault(aliceDevice, FaultKind.MissedDuty, e, EVIDENCE);
        await expect(tx).to.emit(slashing, "MissedDutyRecorded").withArgs(aliceDevice, e, e - (epoch - 3n));
        await expect(tx).to.not.emit(registry, "DeviceJailed");
      }
      expect((await registry.getDevice(aliceDevice)).jailedUntil).to.equal(jailedUntil);
      expect((await slashing.missedDuty(aliceDevice)).consecutive).to.equal(3n);
    });

    it("keeps a separate count per device", async function () {
      const { slashing, registry, alice, reporter, aliceDevice, epoch } = await loadFixture(laterFixture);
      const second = await registerDevice(registry, alice, { label: "alice-2", resourceClass: ResourceClass.Storage, capacity: 10n });
      const s = slashing.connect(reporter);
      await s.penaliseFault(aliceDevice, FaultKind.MissedDuty, epoch - 1n, EVIDENCE);
      await expect(s.penaliseFault(second, FaultKind.MissedDuty, epoch, EVIDENCE))
        .to.emit(slashing, "MissedDutyRecorded")
        .withArgs(second, epoch, 1n);
      expect((await slashing.missedDuty(aliceDevice)).lastEpoch).to.equal(epoch - 1n);
    });
  });

  describe("openChallenge", function () {
    it("pulls the bond and opens the challenge", async function () {
      const { slashing, token, fisher, aliceDevice, epoch } = await loadFixture(slashingFixture);
      const fid = faultIdOf(aliceDevice, FaultKind.InvalidProof, epoch);
      expect(
        await slashing.connect(fisher).openChallenge.staticCall(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE),
      ).to.equal(1n);

      const tx = await slashing.connect(fisher).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE);
      const openedAt = BigInt(await time.latest());
      await expect(tx)
        .to.emit(slashing, "ChallengeOpened")
        .withArgs(1n, fisher.address, aliceDevice, FaultKind.InvalidProof, epoch, BOND, EVIDENCE);
      await expect(tx).to.changeTokenBalances(token, [fisher, slashing], [-BOND, BOND]);

      expect(await slashing.challengeCount()).to.equal(1n);
      expect(await slashing.openChallengeOf(fid)).to.equal(1n);
      expect(await slashing.penalised(fid)).to.equal(false);
      const c = await slashing.getChallenge(1n);
      expect(c.challenger).to.equal(fisher.address);
      expect(c.status).to.equal(ChallengeStatus.Open);
      expect(c.kind).to.equal(FaultKind.InvalidProof);
      expect(c.epoch).to.equal(epoch);
      expect(c.device).to.equal(aliceDevice);
      expect(c.openedAt).to.equal(openedAt);
      expect(c.bond).to.equal(BOND);
      expect(c.evidence).to.equal(EVIDENCE);
    });

    it("numbers challenges and bonds each at the ChallengeBond in force when opened", async function () {
      const { slashing, config, token, fisher, dave, aliceDevice, epoch } = await loadFixture(challengeFixture);
      await config.setParam(Param.ChallengeBond, 250n * MESH);
      const tx = slashing.connect(dave).openChallenge(aliceDevice, FaultKind.LocationSpoofing, epoch, EVIDENCE);
      await expect(tx)
        .to.emit(slashing, "ChallengeOpened")
        .withArgs(2n, dave.address, aliceDevice, FaultKind.LocationSpoofing, epoch, 250n * MESH, EVIDENCE);
      await expect(tx).to.changeTokenBalance(token, dave, -250n * MESH);
      expect((await slashing.getChallenge(1n)).bond).to.equal(BOND);
      expect((await slashing.getChallenge(1n)).challenger).to.equal(fisher.address);
      expect((await slashing.getChallenge(2n)).bond).to.equal(250n * MESH);
      expect(await slashing.challengeCount()).to.equal(2n);
    });

    it("needs the bond's allowance", async function () {
      const { slashing, token, outsider, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await expect(slashing.connect(outsider).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await slashing.getAddress(), 0n, BOND);
    });

    it("reverts with FaultAlreadyPenalised once the oracles penalised the fault", async function () {
      const { slashing, reporter, fisher, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE);
      await expect(slashing.connect(fisher).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "FaultAlreadyPenalised")
        .withArgs(faultIdOf(aliceDevice, FaultKind.InvalidProof, epoch));
    });

    it("reverts with FaultUnderChallenge for a second challenge of the same fault", async function () {
      const { slashing, fisher, dave, aliceDevice, epoch, fid } = await loadFixture(challengeFixture);
      for (const challenger of [dave, fisher]) {
        await expect(slashing.connect(challenger).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, ethers.id("more")))
          .to.be.revertedWithCustomError(slashing, "FaultUnderChallenge")
          .withArgs(fid, 1n);
      }
    });

    it("reverts with UnknownDevice for an unregistered key", async function () {
      const { slashing, fisher, outsider, epoch } = await loadFixture(slashingFixture);
      await expect(slashing.connect(fisher).openChallenge(outsider.address, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "UnknownDevice")
        .withArgs(outsider.address);
    });

    it("reverts with FaultInFuture for an epoch that has not started", async function () {
      const { slashing, fisher, aliceDevice, epoch } = await loadFixture(slashingFixture);
      await expect(slashing.connect(fisher).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch + 2n, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "FaultInFuture")
        .withArgs(epoch + 2n, epoch);
    });

    it("accepts a fault up to UnbondingPeriod after its epoch ended, then FaultTooOld", async function () {
      const { slashing, config, fisher, aliceDevice, epoch } = await loadFixture(slashingFixture);
      const expiredAt = (await config.epochEnd(epoch)) + UNBONDING_PERIOD;
      await time.setNextBlockTimestamp(expiredAt);
      await expect(slashing.connect(fisher).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE)).to.emit(
        slashing,
        "ChallengeOpened",
      );
      await time.setNextBlockTimestamp(expiredAt + 1n);
      await expect(slashing.connect(fisher).openChallenge(aliceDevice, FaultKind.LocationSpoofing, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "FaultTooOld")
        .withArgs(epoch, expiredAt);
    });

    it("does not block the oracle path", async function () {
      const { slashing, reporter, aliceDevice, epoch, fid } = await loadFixture(challengeFixture);
      await expect(slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE)).to.emit(
        slashing,
        "FaultPenalised",
      );
      expect(await slashing.penalised(fid)).to.equal(true);
      expect(await slashing.openChallengeOf(fid)).to.equal(1n);
    });
  });

  describe("resolveChallenge", function () {
    it("is reserved to ARBITRATOR_ROLE", async function () {
      const { slashing, fisher, reporter, governance, challengeId } = await loadFixture(challengeFixture);
      for (const caller of [fisher, reporter, governance]) {
        await expect(slashing.connect(caller).resolveChallenge(challengeId, true))
          .to.be.revertedWithCustomError(slashing, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ARBITRATOR_ROLE);
      }
    });

    it("upheld: penalises the fault, pays bond + ChallengerRewardBps of the slash, the rest to the treasury", async function () {
      const { slashing, staking, token, alice, fisher, arbitrator, treasury, aliceDevice, epoch, challengeId, fid } =
        await loadFixture(challengeFixture);
      const slashed = 50n * MESH; // 5% of 1,000 MESH
      const reward = 25n * MESH; // 50% of it

      const tx = slashing.connect(arbitrator).resolveChallenge(challengeId, true);
      await expect(tx).to.emit(slashing, "ChallengeResolved").withArgs(challengeId, true, slashed, reward);
      await expect(tx)
        .to.emit(slashing, "FaultPenalised")
        .withArgs(fid, aliceDevice, alice.address, FaultKind.InvalidProof, epoch, slashed, EVIDENCE);
      await expect(tx).to.emit(slashing, "ProceedsReleased").withArgs(treasury.address, slashed - reward);
      await expect(tx).to.changeTokenBalances(
        token,
        [fisher, treasury, staking, slashing],
        [BOND + reward, slashed - reward, -slashed, -BOND],
      );

      expect(await slashing.penalised(fid)).to.equal(true);
      expect(await slashing.openChallengeOf(fid)).to.equal(0n);
      expect(await slashing.slashedInEpoch(epoch)).to.equal(slashed);
      expect((await slashing.getChallenge(challengeId)).status).to.equal(ChallengeStatus.Upheld);
      expect(await staking.selfStake(alice.address)).to.equal(ALICE_STAKE - slashed);
      // The fault is settled: no new challenge, no oracle penalty.
      await expect(slashing.connect(fisher).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.be.revertedWithCustomError(slashing, "FaultAlreadyPenalised")
        .withArgs(fid);
    });

    it("upheld with no treasury: pays the challenger and burns the rest", async function () {
      const { slashing, token, config, fisher, arbitrator, challengeId } = await loadFixture(challengeFixture);
      await config.setTreasury(ethers.ZeroAddress);
      await config.setParam(Param.ChallengerRewardBps, 2_000n);
      const supply = await token.totalSupply();
      const tx = slashing.connect(arbitrator).resolveChallenge(challengeId, true);
      await expect(tx).to.emit(slashing, "ChallengeResolved").withArgs(challengeId, true, 50n * MESH, 10n * MESH);
      await expect(tx).to.emit(slashing, "ProceedsReleased").withArgs(ethers.ZeroAddress, 40n * MESH);
      await expect(tx).to.changeTokenBalance(token, fisher, BOND + 10n * MESH);
      expect(await token.totalSupply()).to.equal(supply - 40n * MESH);
    });

    it("upheld after the oracles penalised the fault meanwhile: bond back, no reward, no second slash", async function () {
      const { slashing, staking, token, alice, reporter, fisher, arbitrator, treasury, aliceDevice, epoch, challengeId, fid } =
        await loadFixture(challengeFixture);
      await slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE);
      expect(await staking.selfStake(alice.address)).to.equal(950n * MESH);

      const tx = slashing.connect(arbitrator).resolveChallenge(challengeId, true);
      await expect(tx).to.emit(slashing, "ChallengeResolved").withArgs(challengeId, true, 0n, 0n);
      await expect(tx).to.not.emit(slashing, "FaultPenalised");
      await expect(tx).to.not.emit(slashing, "ProceedsReleased");
      await expect(tx).to.changeTokenBalances(token, [fisher, treasury, staking, slashing], [BOND, 0n, 0n, -BOND]);
      expect(await staking.selfStake(alice.address)).to.equal(950n * MESH);
      expect((await slashing.getChallenge(challengeId)).status).to.equal(ChallengeStatus.Upheld);
      expect(await slashing.openChallengeOf(fid)).to.equal(0n);
      expect(await slashing.slashedInEpoch(epoch)).to.equal(50n * MESH);
    });

    it("rejected: forfeits the bond to the treasury and leaves the fault open to a new challenge", async function () {
      const { slashing, staking, token, alice, fisher, dave, arbitrator, treasury, aliceDevice, epoch, challengeId, fid } =
        await loadFixture(challengeFixture);
      const tx = slashing.connect(arbitrator).resolveChallenge(challengeId, false);
      await expect(tx).to.emit(slashing, "ChallengeResolved").withArgs(challengeId, false, 0n, 0n);
      await expect(tx).to.emit(slashing, "ProceedsReleased").withArgs(treasury.address, BOND);
      await expect(tx).to.not.emit(slashing, "FaultPenalised");
      await expect(tx).to.changeTokenBalances(token, [fisher, treasury, slashing, staking], [0n, BOND, -BOND, 0n]);

      expect(await slashing.penalised(fid)).to.equal(false);
      expect(await slashing.openChallengeOf(fid)).to.equal(0n);
      expect((await slashing.getChallenge(challengeId)).status).to.equal(ChallengeStatus.Rejected);
      expect(await staking.selfStake(alice.address)).to.equal(ALICE_STAKE);

      await expect(slashing.connect(dave).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.emit(slashing, "ChallengeOpened")
        .withArgs(2n, dave.address, aliceDevice, FaultKind.InvalidProof, epoch, BOND, EVIDENCE);
      expect(await slashing.openChallengeOf(fid)).to.equal(2n);
    });

    it("rejected with no treasury: burns the bond", async function () {
      const { slashing, token, config, arbitrator, challengeId } = await loadFixture(challengeFixture);
      await config.setTreasury(ethers.ZeroAddress);
      const supply = await token.totalSupply();
      await expect(slashing.connect(arbitrator).resolveChallenge(challengeId, false))
        .to.emit(slashing, "ProceedsReleased")
        .withArgs(ethers.ZeroAddress, BOND);
      expect(await token.totalSupply()).to.equal(supply - BOND);
    });

    it("rules up to the end of the dispute window, then DisputeWindowClosed", async function () {
      const f = await loadFixture(challengeFixture);
      const closesAt = f.openedAt + DISPUTE_WINDOW;
      await f.slashing.connect(f.dave).openChallenge(f.aliceDevice, FaultKind.LocationSpoofing, f.epoch, EVIDENCE); // id 2
      const closesAt2 = (await f.slashing.getChallenge(2n)).openedAt + DISPUTE_WINDOW;

      await time.setNextBlockTimestamp(closesAt);
      await expect(f.slashing.connect(f.arbitrator).resolveChallenge(1n, false)).to.emit(f.slashing, "ChallengeResolved");

      await time.setNextBlockTimestamp(closesAt2 + 1n);
      await expect(f.slashing.connect(f.arbitrator).resolveChallenge(2n, true))
        .to.be.revertedWithCustomError(f.slashing, "DisputeWindowClosed")
        .withArgs(2n, closesAt2);
    });

    it("reverts with ChallengeNotOpen for unknown, resolved and expired challenges", async function () {
      const { slashing, arbitrator, dave, aliceDevice, epoch, challengeId } = await loadFixture(challengeFixture);
      for (const id of [0n, 99n]) {
        await expect(slashing.connect(arbitrator).resolveChallenge(id, true))
          .to.be.revertedWithCustomError(slashing, "ChallengeNotOpen")
          .withArgs(id);
      }
      await slashing.connect(arbitrator).resolveChallenge(challengeId, false);
      for (const upheld of [true, false]) {
        await expect(slashing.connect(arbitrator).resolveChallenge(challengeId, upheld))
          .to.be.revertedWithCustomError(slashing, "ChallengeNotOpen")
          .withArgs(challengeId);
      }

      await slashing.connect(dave).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE); // id 2
      await time.increase(DISPUTE_WINDOW + 1n);
      await slashing.expireChallenge(2n);
      await expect(slashing.connect(arbitrator).resolveChallenge(2n, true))
        .to.be.revertedWithCustomError(slashing, "ChallengeNotOpen")
        .withArgs(2n);
    });

    it("cannot uphold past the per-epoch circuit breaker; the challenge stays open for a later epoch", async function () {
      const { slashing, config, staking, token, alice, reporter, fisher, arbitrator, aliceDevice, epoch, challengeId, fid } =
        await loadFixture(challengeFixture);
      await config.setParam(Param.MaxSlashPerEpoch, 60n * MESH);
      await slashing.connect(reporter).penaliseFault(aliceDevice, FaultKind.DoubleRegistration, epoch, EVIDENCE); // 20 MESH
      // 5% of 980 MESH = 49 MESH: 69 > 60
      await expect(slashing.connect(arbitrator).resolveChallenge(challengeId, true))
        .to.be.revertedWithCustomError(slashing, "EpochSlashCapExceeded")
        .withArgs(epoch, 69n * MESH, 60n * MESH);
      expect((await slashing.getChallenge(challengeId)).status).to.equal(ChallengeStatus.Open);
      expect(await slashing.openChallengeOf(fid)).to.equal(challengeId);

      await time.increase(DAY);
      const tx = slashing.connect(arbitrator).resolveChallenge(challengeId, true);
      await expect(tx).to.emit(slashing, "ChallengeResolved").withArgs(challengeId, true, 49n * MESH, 245n * MESH / 10n);
      await expect(tx).to.changeTokenBalance(token, fisher, BOND + 245n * MESH / 10n);
      expect(await slashing.slashedInEpoch(epoch + 1n)).to.equal(49n * MESH);
      expect(await staking.selfStake(alice.address)).to.equal(931n * MESH);
    });

    it("cannot uphold once the fault passed the statute of limitations; the bond comes back on expiry", async function () {
      const { slashing, config, token, fisher, arbitrator, outsider, aliceDevice, epoch } = await loadFixture(slashingFixture);
      const expiredAt = (await config.epochEnd(epoch)) + UNBONDING_PERIOD;
      await time.setNextBlockTimestamp(expiredAt - DAY);
      await slashing.connect(fisher).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE);

      await time.setNextBlockTimestamp(expiredAt + 1n); // inside the dispute window, past the statute
      await expect(slashing.connect(arbitrator).resolveChallenge(1n, true))
        .to.be.revertedWithCustomError(slashing, "FaultTooOld")
        .withArgs(epoch, expiredAt);

      await time.increase(DISPUTE_WINDOW);
      await expect(slashing.connect(outsider).expireChallenge(1n)).to.changeTokenBalance(token, fisher, BOND);
    });
  });

  describe("expireChallenge", function () {
    it("reverts with DisputeWindowOpen until the window has passed", async function () {
      const { slashing, outsider, challengeId, openedAt } = await loadFixture(challengeFixture);
      const closesAt = openedAt + DISPUTE_WINDOW;
      await expect(slashing.connect(outsider).expireChallenge(challengeId))
        .to.be.revertedWithCustomError(slashing, "DisputeWindowOpen")
        .withArgs(challengeId, closesAt);
      await time.setNextBlockTimestamp(closesAt);
      await expect(slashing.connect(outsider).expireChallenge(challengeId))
        .to.be.revertedWithCustomError(slashing, "DisputeWindowOpen")
        .withArgs(challengeId, closesAt);
    });

    it("returns the bond to the challenger after the window, whoever calls", async function () {
      const { slashing, token, fisher, outsider, treasury, dave, aliceDevice, epoch, challengeId, openedAt, fid } =
        await loadFixture(challengeFixture);
      await time.setNextBlockTimestamp(openedAt + DISPUTE_WINDOW + 1n);
      const tx = slashing.connect(outsider).expireChallenge(challengeId);
      await expect(tx).to.emit(slashing, "ChallengeExpired").withArgs(challengeId);
      await expect(tx).to.not.emit(slashing, "ProceedsReleased");
      await expect(tx).to.changeTokenBalances(token, [fisher, slashing, treasury, outsider], [BOND, -BOND, 0n, 0n]);

      const c = await slashing.getChallenge(challengeId);
      expect(c.status).to.equal(ChallengeStatus.Expired);
      expect(c.challenger).to.equal(fisher.address);
      expect(c.bond).to.equal(BOND);
      expect(await slashing.openChallengeOf(fid)).to.equal(0n);
      expect(await slashing.penalised(fid)).to.equal(false);
      // The fault can be challenged again (still within the statute).
      await expect(slashing.connect(dave).openChallenge(aliceDevice, FaultKind.InvalidProof, epoch, EVIDENCE))
        .to.emit(slashing, "ChallengeOpened")
        .withArgs(2n, dave.address, aliceDevice, FaultKind.InvalidProof, epoch, BOND, EVIDENCE);
    });

    it("reverts with ChallengeNotOpen for unknown, expired and resolved challenges", async function () {
      const { slashing, arbitrator, dave, aliceDevice, epoch, challengeId } = await loadFixture(challengeFixture);
      await expect(slashing.expireChallenge(42n)).to.be.revertedWithCustomError(slashing, "ChallengeNotOpen").withArgs(42n);

      await slashing.connect(dave).openChallenge(aliceDevice, FaultKind.LocationSpoofing, epoch, EVIDENCE); // id 2
      await slashing.connect(arbitrator).resolveChallenge(2n, true);
      await time.increase(DISPUTE_WINDOW + 1n);
      await expect(slashing.expireChallenge(2n)).to.be.revertedWithCustomError(slashing, "ChallengeNotOpen").withArgs(2n);

      await slashing.expireChallenge(challengeId);
      await expect(slashing.expireChallenge(challengeId))
        .to.be.revertedWithCustomError(slashing, "ChallengeNotOpen")
        .withArgs(challengeId);
    });
  });
});
