import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { ProtocolConfig__factory } from "../../typechain-types";
import { Param, ClassParam, FaultParam } from "../../sdk/enums";
import { DAY, FaultKind, MESH, ResourceClass, coreFixture } from "../helpers/fixtures";

const HOUR = 3_600n;

interface Spec {
  value: bigint;
  min: bigint;
  max: bigint;
}

/** Default value and hard-coded bounds of every global parameter. */
const PARAMS: Record<keyof typeof Param, Spec> = {
  UnbondingPeriod: { value: 7n * DAY, min: DAY, max: 90n * DAY },
  MaxDelegationRatio: { value: 16n, min: 0n, max: 100n },
  CommissionIncreaseDelay: { value: 7n * DAY, min: DAY, max: 60n * DAY },
  MinUnbondAmount: { value: MESH, min: 0n, max: 1_000n * MESH },
  MaxPendingUnbondings: { value: 32n, min: 1n, max: 128n },
  LocationChangeCooldown: { value: DAY, min: HOUR, max: 30n * DAY },
  JailAfterMissedEpochs: { value: 3n, min: 1n, max: 30n },
  JailCooldown: { value: DAY, min: HOUR, max: 30n * DAY },
  MaxSlashPerEpoch: { value: 1_000_000n * MESH, min: MESH, max: 100_000_000n * MESH },
  ChallengeBond: { value: 100n * MESH, min: MESH, max: 1_000_000n * MESH },
  DisputeWindow: { value: 3n * DAY, min: DAY, max: 30n * DAY },
  VerdictSubmissionWindow: { value: DAY, min: HOUR, max: 7n * DAY },
  VerdictChallengeWindow: { value: 12n * HOUR, min: HOUR, max: 7n * DAY },
  VerdictDisputeBond: { value: 1_000n * MESH, min: MESH, max: 1_000_000n * MESH },
  VerdictDisputeReward: { value: 500n * MESH, min: 0n, max: 1_000_000n * MESH },
  ChallengerRewardBps: { value: 5_000n, min: 0n, max: 9_000n },
  ConfirmationCallbackGas: { value: 100_000n, min: 50_000n, max: 300_000n },
  ConfirmationRetryInterval: { value: 900n, min: 300n, max: DAY },
  MarketFeeBps: { value: 100n, min: 0n, max: 1_000n },
  BidDeposit: { value: 5n * MESH, min: 0n, max: 10_000n * MESH },
  BidCommitWindow: { value: HOUR, min: 600n, max: 7n * DAY },
  BidRevealWindow: { value: HOUR, min: 600n, max: 7n * DAY },
  UnrevealedForfeitBps: { value: 2_000n, min: 0n, max: 10_000n },
  SettlementBountyBps: { value: 50n, min: 0n, max: 500n },
  LeaseNoticeEpochs: { value: 1n, min: 1n, max: 30n },
  SlaBreachEpochs: { value: 3n, min: 1n, max: 30n },
};

/** Default [StakePerUnit, MaxCapacity] per class. */
const CLASSES: Record<keyof typeof ResourceClass, [bigint, bigint]> = {
  Coverage: [100n * MESH, 1n],
  Storage: [MESH / 10n, 1_000_000n],
  ComputeGpu: [50n * MESH, 10_000n],
  ComputeCpu: [5n * MESH, 1_024n],
  Mapping: [50n * MESH, 1n],
  Energy: [10n * MESH, 10_000n],
};
const CLASS_BOUNDS: Record<keyof typeof ClassParam, [bigint, bigint]> = {
  StakePerUnit: [0n, 1_000_000n * MESH],
  MaxCapacity: [1n, 1_000_000_000n],
};

/** Default [RateBps, MaxPerIncident] per fault kind. */
const FAULTS: Record<keyof typeof FaultKind, [bigint, bigint]> = {
  MissedDuty: [10n, 100n * MESH],
  InvalidProof: [500n, 10_000n * MESH],
  LocationSpoofing: [1_000n, 20_000n * MESH],
  DoubleRegistration: [200n, 5_000n * MESH],
  ServiceLevelBreach: [50n, 1_000n * MESH],
};
const FAULT_BOUNDS: Record<keyof typeof FaultParam, [bigint, bigint]> = {
  RateBps: [0n, 5_000n],
  MaxPerIncident: [0n, 10_000_000n * MESH],
};

const paramNames = Object.keys(Param) as Array<keyof typeof Param>;
const classNames = Object.keys(ResourceClass) as Array<keyof typeof ResourceClass>;
const classParamNames = Object.keys(ClassParam) as Array<keyof typeof ClassParam>;
const faultNames = Object.keys(FaultKind) as Array<keyof typeof FaultKind>;
const faultParamNames = Object.keys(FaultParam) as Array<keyof typeof FaultParam>;

/** A standalone ProtocolConfig with epoch 0 starting in one day (the epoch clock is not running yet). */
async function futureGenesisFixture() {
  const [owner] = await ethers.getSigners();
  const genesis = BigInt(await time.latest()) + DAY;
  const config = await new ProtocolConfig__factory(owner).deploy(owner.address, genesis, 4n * HOUR, ethers.ZeroAddress);
  await config.waitForDeployment();
  return { config, genesis, owner };
}

describe("ProtocolConfig", function () {
  describe("deployment", function () {
    it("sets the owner, treasury and epoch clock", async function () {
      const f = await loadFixture(coreFixture);
      const deployBlock = await f.config.deploymentTransaction()!.getBlock();
      expect(await f.config.owner()).to.equal(f.governance.address);
      expect(await f.config.pendingOwner()).to.equal(ethers.ZeroAddress);
      expect(await f.config.treasury()).to.equal(f.treasury.address);
      expect(await f.config.genesis()).to.equal(BigInt(deployBlock!.timestamp)); // genesis 0: the deployment block
      expect(await f.config.epochLength()).to.equal(DAY);
      expect(await f.config.MIN_EPOCH_LENGTH()).to.equal(HOUR);
      expect(await f.config.MAX_EPOCH_LENGTH()).to.equal(30n * DAY);
    });

    it("keeps an explicit genesis and a zero treasury", async function () {
      const [owner] = await ethers.getSigners();
      const config = await new ProtocolConfig__factory(owner).deploy(owner.address, 1_000n, HOUR, ethers.ZeroAddress);
      expect(await config.genesis()).to.equal(1_000n);
      expect(await config.epochLength()).to.equal(HOUR);
      expect(await config.treasury()).to.equal(ethers.ZeroAddress);
    });

    it("initialises every global parameter", async function () {
      const f = await loadFixture(coreFixture);
      for (const name of paramNames) {
        expect(await f.config.param(Param[name]), name).to.equal(PARAMS[name].value);
      }
    });

    it("initialises every per-class parameter", async function () {
      const f = await loadFixture(coreFixture);
      for (const name of classNames) {
        const [stakePerUnit, maxCapacity] = CLASSES[name];
        expect(await f.config.classParam(ResourceClass[name], ClassParam.StakePerUnit), name).to.equal(stakePerUnit);
        expect(await f.config.classParam(ResourceClass[name], ClassParam.MaxCapacity), name).to.equal(maxCapacity);
      }
    });

    it("initialises every per-fault parameter", async function () {
      const f = await loadFixture(coreFixture);
      for (const name of faultNames) {
        const [rateBps, maxPerIncident] = FAULTS[name];
        expect(await f.config.faultParam(FaultKind[name], FaultParam.RateBps), name).to.equal(rateBps);
        expect(await f.config.faultParam(FaultKind[name], FaultParam.MaxPerIncident), name).to.equal(maxPerIncident);
      }
    });

    it("emits an event for every initial value", async function () {
      const f = await loadFixture(coreFixture);
      const tx = f.config.deploymentTransaction()!;
      await expect(tx).to.emit(f.config, "ParamSet").withArgs(Param.UnbondingPeriod, 7n * DAY);
      await expect(tx).to.emit(f.config, "ParamSet").withArgs(Param.ChallengerRewardBps, 5_000n);
      await expect(tx)
        .to.emit(f.config, "ClassParamSet")
        .withArgs(ResourceClass.Storage, ClassParam.StakePerUnit, MESH / 10n);
      await expect(tx)
        .to.emit(f.config, "FaultParamSet")
        .withArgs(FaultKind.LocationSpoofing, FaultParam.MaxPerIncident, 20_000n * MESH);
      const receipt = await tx.wait();
      const count = (name: string) =>
        receipt!.logs.filter((log) => f.config.interface.parseLog(log)?.name === name).length;
      expect(count("ParamSet")).to.equal(Object.keys(Param).length);
      expect(count("ClassParamSet")).to.equal(12);
      expect(count("FaultParamSet")).to.equal(2 * Object.keys(FaultKind).length);
    });

    it("starts every value inside its own bounds", async function () {
      const f = await loadFixture(coreFixture);
      for (const name of paramNames) {
        const [min, max] = await f.config.paramBounds(Param[name]);
        const value = await f.config.param(Param[name]);
        expect(value >= min && value <= max, name).to.equal(true);
      }
      for (const c of classNames) {
        for (const p of classParamNames) {
          const [min, max] = await f.config.classParamBounds(ClassParam[p]);
          const value = await f.config.classParam(ResourceClass[c], ClassParam[p]);
          expect(value >= min && value <= max, `${c}.${p}`).to.equal(true);
        }
      }
      for (const k of faultNames) {
        for (const p of faultParamNames) {
          const [min, max] = await f.config.faultParamBounds(FaultParam[p]);
          const value = await f.config.faultParam(FaultKind[k], FaultParam[p]);
          expect(value >= min && value <= max, `${k}.${p}`).to.equal(true);
        }
      }
    });

    it("reverts EpochLengthOutOfBounds for an epoch length outside [1 hour, 30 days]", async function () {
      const [owner] = await ethers.getSigners();
      const factory = new ProtocolConfig__factory(owner);
      for (const epochLength of [0n, HOUR - 1n, 30n * DAY + 1n, 2n ** 64n - 1n]) {
        await expect(factory.deploy(owner.address, 0n, epochLength, ethers.ZeroAddress))
          .to.be.revertedWithCustomError(factory, "EpochLengthOutOfBounds")
          .withArgs(epochLength, HOUR, 30n * DAY);
      }
      for (const epochLength of [HOUR, 30n * DAY]) {
        const config = await factory.deploy(owner.address, 0n, epochLength, ethers.ZeroAddress);
        expect(await config.epochLength()).to.equal(epochLength);
      }
    });

    it("reverts OwnableInvalidOwner for a zero owner", async function () {
      const [owner] = await ethers.getSigners();
      const factory = new ProtocolConfig__factory(owner);
      await expect(factory.deploy(ethers.ZeroAddress, 0n, DAY, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
        .withArgs(ethers.ZeroAddress);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("bounds", function () {
    for (const name of paramNames) {
      it(`paramBounds(${name})`, async function () {
        const f = await loadFixture(coreFixture);
        const [min, max] = await f.config.paramBounds(Param[name]);
        expect(min).to.equal(PARAMS[name].min);
        expect(max).to.equal(PARAMS[name].max);
      });
    }

    it("classParamBounds for StakePerUnit and MaxCapacity", async function () {
      const f = await loadFixture(coreFixture);
      for (const p of classParamNames) {
        const [min, max] = await f.config.classParamBounds(ClassParam[p]);
        expect([min, max], p).to.deep.equal(CLASS_BOUNDS[p]);
      }
    });

    it("faultParamBounds for RateBps and MaxPerIncident", async function () {
      const f = await loadFixture(coreFixture);
      for (const p of faultParamNames) {
        const [min, max] = await f.config.faultParamBounds(FaultParam[p]);
        expect([min, max], p).to.deep.equal(FAULT_BOUNDS[p]);
      }
    });

    it("rejects an enum value past the last member", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.paramBounds(Object.keys(Param).length)).to.be.reverted;
      await expect(f.config.classParamBounds(2)).to.be.reverted;
      await expect(f.config.faultParamBounds(2)).to.be.reverted;
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("setParam", function () {
    for (const name of paramNames) {
      const { value, min, max } = PARAMS[name];
      it(`sets ${name} at its bounds and rejects values outside them`, async function () {
        const f = await loadFixture(coreFixture);
        const p = Param[name];
        // Both ends of the range are accepted (skipping the one equal to the current value).
        for (const v of [min, max]) {
          if (v === value) continue;
          await expect(f.config.setParam(p, v)).to.emit(f.config, "ParamSet").withArgs(p, v);
          expect(await f.config.param(p)).to.equal(v);
        }
        await expect(f.config.setParam(p, max + 1n))
          .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
          .withArgs(max + 1n, min, max);
        if (min > 0n) {
          await expect(f.config.setParam(p, min - 1n))
            .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
            .withArgs(min - 1n, min, max);
        }
        await expect(f.config.setParam(p, ethers.MaxUint256))
          .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
          .withArgs(ethers.MaxUint256, min, max);
      });

      it(`reverts ValueUnchanged when ${name} is set to its current value`, async function () {
        const f = await loadFixture(coreFixture);
        await expect(f.config.setParam(Param[name], value))
          .to.be.revertedWithCustomError(f.config, "ValueUnchanged")
          .withArgs(value);
      });
    }

    it("changes only the parameter set", async function () {
      const f = await loadFixture(coreFixture);
      await f.config.setParam(Param.JailCooldown, 2n * DAY);
      expect(await f.config.param(Param.JailCooldown)).to.equal(2n * DAY);
      expect(await f.config.param(Param.LocationChangeCooldown)).to.equal(DAY);
      expect(await f.config.param(Param.UnbondingPeriod)).to.equal(7n * DAY);
    });

    it("checks the bounds before the unchanged value", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.setParam(Param.ChallengerRewardBps, 9_001n))
        .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
        .withArgs(9_001n, 0n, 9_000n);
    });

    it("is owner only", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.connect(f.alice).setParam(Param.UnbondingPeriod, 8n * DAY))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      expect(await f.config.param(Param.UnbondingPeriod)).to.equal(7n * DAY);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("setClassParam", function () {
    for (const c of classNames) {
      it(`sets both parameters of ${c} within bounds and rejects the rest`, async function () {
        const f = await loadFixture(coreFixture);
        const rc = ResourceClass[c];
        for (const p of classParamNames) {
          const [min, max] = CLASS_BOUNDS[p];
          const current = CLASSES[c][ClassParam[p]];
          await expect(f.config.setClassParam(rc, ClassParam[p], current))
            .to.be.revertedWithCustomError(f.config, "ValueUnchanged")
            .withArgs(current);
          await expect(f.config.setClassParam(rc, ClassParam[p], max + 1n))
            .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
            .withArgs(max + 1n, min, max);
          if (min > 0n) {
            await expect(f.config.setClassParam(rc, ClassParam[p], min - 1n))
              .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
              .withArgs(min - 1n, min, max);
          }
          for (const v of [min, max]) {
            if (v === current) continue;
            await expect(f.config.setClassParam(rc, ClassParam[p], v))
              .to.emit(f.config, "ClassParamSet")
              .withArgs(rc, ClassParam[p], v);
            expect(await f.config.classParam(rc, ClassParam[p])).to.equal(v);
          }
        }
      });
    }

    it("changes only the class and parameter set", async function () {
      const f = await loadFixture(coreFixture);
      await f.config.setClassParam(ResourceClass.Energy, ClassParam.StakePerUnit, 11n * MESH);
      expect(await f.config.classParam(ResourceClass.Energy, ClassParam.StakePerUnit)).to.equal(11n * MESH);
      expect(await f.config.classParam(ResourceClass.Energy, ClassParam.MaxCapacity)).to.equal(10_000n);
      expect(await f.config.classParam(ResourceClass.Mapping, ClassParam.StakePerUnit)).to.equal(50n * MESH);
    });

    it("is owner only", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.connect(f.outsider).setClassParam(ResourceClass.Coverage, ClassParam.MaxCapacity, 2n))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.outsider.address);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("setFaultParam", function () {
    for (const k of faultNames) {
      it(`sets both parameters of ${k} within bounds and rejects the rest`, async function () {
        const f = await loadFixture(coreFixture);
        const kind = FaultKind[k];
        for (const p of faultParamNames) {
          const [min, max] = FAULT_BOUNDS[p];
          const current = FAULTS[k][FaultParam[p]];
          await expect(f.config.setFaultParam(kind, FaultParam[p], current))
            .to.be.revertedWithCustomError(f.config, "ValueUnchanged")
            .withArgs(current);
          await expect(f.config.setFaultParam(kind, FaultParam[p], max + 1n))
            .to.be.revertedWithCustomError(f.config, "ValueOutOfBounds")
            .withArgs(max + 1n, min, max);
          for (const v of [min, max]) {
            await expect(f.config.setFaultParam(kind, FaultParam[p], v))
              .to.emit(f.config, "FaultParamSet")
              .withArgs(kind, FaultParam[p], v);
            expect(await f.config.faultParam(kind, FaultParam[p])).to.equal(v);
          }
        }
      });
    }

    it("changes only the kind and parameter set", async function () {
      const f = await loadFixture(coreFixture);
      await f.config.setFaultParam(FaultKind.MissedDuty, FaultParam.RateBps, 20n);
      expect(await f.config.faultParam(FaultKind.MissedDuty, FaultParam.RateBps)).to.equal(20n);
      expect(await f.config.faultParam(FaultKind.MissedDuty, FaultParam.MaxPerIncident)).to.equal(100n * MESH);
      expect(await f.config.faultParam(FaultKind.InvalidProof, FaultParam.RateBps)).to.equal(500n);
    });

    it("is owner only", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.connect(f.alice).setFaultParam(FaultKind.MissedDuty, FaultParam.RateBps, 20n))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("setTreasury", function () {
    it("sets a new treasury and emits TreasurySet", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.setTreasury(f.bob.address)).to.emit(f.config, "TreasurySet").withArgs(f.bob.address);
      expect(await f.config.treasury()).to.equal(f.bob.address);
    });

    it("accepts the zero address (slashed tokens are burned)", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.setTreasury(ethers.ZeroAddress))
        .to.emit(f.config, "TreasurySet")
        .withArgs(ethers.ZeroAddress);
      expect(await f.config.treasury()).to.equal(ethers.ZeroAddress);
      await expect(f.config.setTreasury(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.config, "TreasuryUnchanged")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts TreasuryUnchanged for the current treasury", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.setTreasury(f.treasury.address))
        .to.be.revertedWithCustomError(f.config, "TreasuryUnchanged")
        .withArgs(f.treasury.address);
    });

    it("is owner only", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.connect(f.treasury).setTreasury(f.treasury.address))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.treasury.address);
      await expect(f.config.connect(f.alice).setTreasury(f.alice.address))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("epoch clock", function () {
    it("numbers epochs from genesis with half-open intervals", async function () {
      const f = await loadFixture(coreFixture);
      const genesis = await f.config.genesis();
      expect(await f.config.epochAt(genesis)).to.equal(0n);
      expect(await f.config.epochAt(genesis + DAY - 1n)).to.equal(0n);
      expect(await f.config.epochAt(genesis + DAY)).to.equal(1n);
      expect(await f.config.epochAt(genesis + 10n * DAY + 5n)).to.equal(10n);
    });

    it("epochEnd is the first second of the next epoch", async function () {
      const f = await loadFixture(coreFixture);
      const genesis = await f.config.genesis();
      expect(await f.config.epochEnd(0n)).to.equal(genesis + DAY);
      expect(await f.config.epochEnd(9n)).to.equal(genesis + 10n * DAY);
      const end = await f.config.epochEnd(3n);
      expect(await f.config.epochAt(end - 1n)).to.equal(3n);
      expect(await f.config.epochAt(end)).to.equal(4n);
      // No overflow for the largest epoch number.
      const maxEpoch = 2n ** 64n - 1n;
      expect(await f.config.epochEnd(maxEpoch)).to.equal(genesis + 2n ** 64n * DAY);
    });

    it("currentEpoch follows the block time", async function () {
      const f = await loadFixture(coreFixture);
      const genesis = await f.config.genesis();
      expect(await f.config.currentEpoch()).to.equal(0n);
      await time.increaseTo(genesis + 5n * DAY + 100n);
      expect(await f.config.currentEpoch()).to.equal(5n);
      await time.increaseTo(genesis + 6n * DAY);
      expect(await f.config.currentEpoch()).to.equal(6n);
    });

    it("uses the epoch length given at deployment", async function () {
      const { config, genesis } = await loadFixture(futureGenesisFixture);
      expect(await config.epochLength()).to.equal(4n * HOUR);
      expect(await config.epochAt(genesis + 4n * HOUR - 1n)).to.equal(0n);
      expect(await config.epochAt(genesis + 4n * HOUR)).to.equal(1n);
      expect(await config.epochEnd(2n)).to.equal(genesis + 12n * HOUR);
    });

    it("reverts BeforeGenesis for a timestamp before a future genesis", async function () {
      const { config, genesis } = await loadFixture(futureGenesisFixture);
      expect(await config.genesis()).to.equal(genesis);
      await expect(config.epochAt(genesis - 1n))
        .to.be.revertedWithCustomError(config, "BeforeGenesis")
        .withArgs(genesis - 1n, genesis);
      await expect(config.epochAt(0n)).to.be.revertedWithCustomError(config, "BeforeGenesis").withArgs(0n, genesis);
      await expect(config.currentEpoch()).to.be.revertedWithCustomError(config, "BeforeGenesis");
      expect(await config.epochAt(genesis)).to.equal(0n);
      expect(await config.epochEnd(0n)).to.equal(genesis + 4n * HOUR);

      await time.increaseTo(genesis);
      expect(await config.currentEpoch()).to.equal(0n);
    });

    it("reverts BeforeGenesis from currentEpoch with the block time", async function () {
      const { config, genesis } = await loadFixture(futureGenesisFixture);
      // A transaction makes the block time exact (a view call's timestamp is up to the node).
      await time.setNextBlockTimestamp(genesis - 10n);
      await expect(config.currentEpoch.send())
        .to.be.revertedWithCustomError(config, "BeforeGenesis")
        .withArgs(genesis - 10n, genesis);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("Ownable2Step", function () {
    it("transfers ownership only once the new owner accepts", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.transferOwnership(f.alice.address))
        .to.emit(f.config, "OwnershipTransferStarted")
        .withArgs(f.governance.address, f.alice.address);
      expect(await f.config.owner()).to.equal(f.governance.address);
      expect(await f.config.pendingOwner()).to.equal(f.alice.address);

      // The pending owner has no power yet; the current owner keeps it.
      await expect(f.config.connect(f.alice).setTreasury(f.alice.address))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await f.config.setParam(Param.JailAfterMissedEpochs, 4n);

      await expect(f.config.connect(f.alice).acceptOwnership())
        .to.emit(f.config, "OwnershipTransferred")
        .withArgs(f.governance.address, f.alice.address);
      expect(await f.config.owner()).to.equal(f.alice.address);
      expect(await f.config.pendingOwner()).to.equal(ethers.ZeroAddress);

      await expect(f.config.setParam(Param.JailAfterMissedEpochs, 5n))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.governance.address);
      await expect(f.config.connect(f.alice).setParam(Param.JailAfterMissedEpochs, 5n))
        .to.emit(f.config, "ParamSet")
        .withArgs(Param.JailAfterMissedEpochs, 5n);
    });

    it("only the pending owner can accept", async function () {
      const f = await loadFixture(coreFixture);
      await f.config.transferOwnership(f.alice.address);
      for (const caller of [f.bob, f.governance]) {
        await expect(f.config.connect(caller).acceptOwnership())
          .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
          .withArgs(caller.address);
      }
    });

    it("a new offer replaces the pending one, and a zero offer cancels it", async function () {
      const f = await loadFixture(coreFixture);
      await f.config.transferOwnership(f.alice.address);
      await f.config.transferOwnership(f.bob.address);
      await expect(f.config.connect(f.alice).acceptOwnership())
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await f.config.transferOwnership(ethers.ZeroAddress);
      expect(await f.config.pendingOwner()).to.equal(ethers.ZeroAddress);
      await expect(f.config.connect(f.bob).acceptOwnership())
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.bob.address);
      expect(await f.config.owner()).to.equal(f.governance.address);
    });

    it("only the owner can start a transfer or renounce", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.connect(f.alice).transferOwnership(f.alice.address))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await expect(f.config.connect(f.alice).renounceOwnership())
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
    });

    it("renouncing leaves the parameters frozen", async function () {
      const f = await loadFixture(coreFixture);
      await expect(f.config.renounceOwnership())
        .to.emit(f.config, "OwnershipTransferred")
        .withArgs(f.governance.address, ethers.ZeroAddress);
      expect(await f.config.owner()).to.equal(ethers.ZeroAddress);
      await expect(f.config.setParam(Param.UnbondingPeriod, 8n * DAY))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.governance.address);
    });
  });
});
