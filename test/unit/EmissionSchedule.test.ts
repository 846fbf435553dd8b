import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";

import { EmissionSchedule__factory, MeshToken__factory, type EmissionSchedule } from "../../typechain-types";
import type { SegmentStructOutput, ShapeParamsStructOutput } from "../../typechain-types/contracts/EmissionSchedule";
import { EmissionShape } from "../../sdk/enums";
import { DAY, MESH, coreFixture, type CoreFixture } from "../helpers/fixtures";
import {
  Dec,
  WAD,
  cappedExact,
  decay,
  decayExact,
  floorDec,
  halving,
  halvingExact,
  inflationExactSeries,
  rampRates,
  relativeError,
  segmentExact,
  targeted,
  toDec,
  type SegmentLike,
  type ShapeParams,
} from "../helpers/emissionReference";

const MAX_SUPPLY = 1_000_000_000n * MESH;
const GENESIS_SUPPLY = 100_000_000n * MESH; // coreFixture's genesis allocation
const BUDGET = MAX_SUPPLY - GENESIS_SUPPLY; // what the deploy will pass
const SPLIT = [3_000, 2_500, 1_500, 1_000, 1_000, 1_000]; // Coverage, Storage, ComputeGpu, ComputeCpu, Mapping, Energy
const FIFTY_YEARS = 18_250n; // daily epochs

const BOUNDS = {
  minPeriod: 30n,
  maxPeriod: 36_500n,
  minAmount: MESH,
  maxAmount: 1_000_000_000n * MESH,
  maxRate: 10n ** 15n,
  minTarget: 1_000n,
  maxTarget: 9_000n,
};

/** Helium-like: 300k MESH a day, halving every two years (asymptote 438M, under the budget). */
const HALVING = halving(300_000n * MESH, 730n);
/** Filecoin-like: 770M MESH over time, six-year half-life. */
const DECAY = decay(770_000_000n * MESH, 2_190n);
/** Livepeer-like: 0.01%/day rising by 0.0001%/day to 0.05%/day, target 50% bonded. Reaches the budget in year 50. */
const TARGETED = targeted(10n ** 14n, 10n ** 12n, 5n * 10n ** 14n, 5_000n);

/** Worst relative shortfall of `cumulativeEmission` per shape, printed when EMISSION_REPORT is set. */
const worst: Record<string, Dec> = {};

/* ----------------------------------------------------------------------------------------------------------------- */
/* Fixtures                                                                                                          */

async function deploySchedule(
  f: CoreFixture,
  params: ShapeParams,
  options: { budget?: bigint; token?: string } = {},
): Promise<EmissionSchedule> {
  const schedule = await new EmissionSchedule__factory(f.governance).deploy(
    f.config,
    options.token ?? (await f.token.getAddress()),
    f.staking,
    f.governance.address,
    options.budget ?? BUDGET,
    params,
    SPLIT,
  );
  await schedule.waitForDeployment();
  return schedule;
}

async function halvingFixture() {
  const f = await coreFixture();
  return { ...f, schedule: await deploySchedule(f, HALVING) };
}

async function decayFixture() {
  const f = await coreFixture();
  return { ...f, schedule: await deploySchedule(f, DECAY) };
}

async function targetedFixture() {
  const f = await coreFixture();
  return { ...f, schedule: await deploySchedule(f, TARGETED) };
}

/** Schedules whose asymptote exceeds the budget: halving (7M MESH a day) and decay (S = 1e9 MESH, T = 365). */
async function capFixture() {
  const f = await coreFixture();
  const halvingSchedule = await deploySchedule(f, halving(7_000_000n * MESH, 730n));
  const decaySchedule = await deploySchedule(f, decay(BOUNDS.maxAmount, 365n));
  return { ...f, halvingSchedule, decaySchedule };
}

/** A second MESH token with no genesis supply, so a budget can reach MAX_AMOUNT (1e9 MESH). */
async function fullBudgetFixture() {
  const f = await coreFixture();
  const freshToken = await new MeshToken__factory(f.governance).deploy(f.governance.address, f.governance.address, 0n);
  await freshToken.waitForDeployment();
  return { ...f, freshToken };
}

/* ----------------------------------------------------------------------------------------------------------------- */
/* Helpers                                                                                                           */

/** Moves the chain to the middle of `epoch`. */
async function goToEpoch(f: CoreFixture, epoch: bigint): Promise<void> {
  await time.increaseTo((await f.config.genesis()) + epoch * DAY + DAY / 2n);
}

function paramsOf(p: ShapeParamsStructOutput): ShapeParams {
  return {
    shape: Number(p.shape) as EmissionShape,
    period: p.period,
    targetBondedBps: p.targetBondedBps,
    initialRate: p.initialRate,
    rateStep: p.rateStep,
    maxRate: p.maxRate,
    initialEmission: p.initialEmission,
    totalEmission: p.totalEmission,
  };
}

function segmentOf(s: SegmentStructOutput): SegmentLike {
  return {
    params: paramsOf(s.params),
    startEpoch: s.startEpoch,
    direction: Number(s.direction),
    baseSupply: s.baseSupply,
    cumulativeAtStart: s.cumulativeAtStart,
  };
}

/** Every 50th epoch of 50 years, the first epochs, and both sides of every multiple of `period` (if any). */
function sampleEpochs(period?: bigint): bigint[] {
  const set = new Set<bigint>([0n, 1n, 2n, 3n, FIFTY_YEARS - 1n, FIFTY_YEARS]);
  for (let n = 0n; n <= FIFTY_YEARS; n += 50n) set.add(n);
  if (period !== undefined) {
    for (let m = period; m <= FIFTY_YEARS; m += period) [m - 1n, m, m + 1n].forEach((n) => set.add(n));
  }
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function cumulatives(schedule: EmissionSchedule, epochs: bigint[]): Promise<bigint[]> {
  return Promise.all(epochs.map((n) => schedule.cumulativeEmission(n)));
}

/**
 * Checks `cumulativeEmission` at every sample against `min(budget, exact)`: never above it, relative shortfall below
 * 1e-9. Returns the worst relative shortfall.
 */
async function checkAgainstReference(
  schedule: EmissionSchedule,
  samples: bigint[],
  exactAt: (n: bigint) => Dec,
  budget = BUDGET,
): Promise<Dec> {
  const got = await cumulatives(schedule, samples);
  let worstError = new Dec(0);
  samples.forEach((n, i) => {
    const exact = cappedExact(exactAt(n), budget);
    expect(toDec(got[i]).lte(exact), `cumulativeEmission(${n}) = ${got[i]} above exact ${exact.toFixed(3)}`).to.equal(
      true,
    );
    const error = relativeError(exact, got[i]);
    expect(error.lt("1e-9"), `cumulativeEmission(${n}): relative error ${error.toExponential(3)}`).to.equal(true);
    if (error.gt(worstError)) worstError = error;
  });
  return worstError;
}

/** `epochEmission(e) == cumulativeEmission(e + 1) - cumulativeEmission(e)` at every `epochs` entry. */
async function checkEpochEmissions(schedule: EmissionSchedule, epochs: bigint[]): Promise<void> {
  const [emissions, before, after] = await Promise.all([
    Promise.all(epochs.map((e) => schedule.epochEmission(e))),
    cumulatives(schedule, epochs),
    cumulatives(
      schedule,
      epochs.map((e) => e + 1n),
    ),
  ]);
  epochs.forEach((e, i) => expect(emissions[i], `epochEmission(${e})`).to.equal(after[i] - before[i]));
}

function recordWorst(shape: string, error: Dec): void {
  worst[shape] = worst[shape] === undefined || error.gt(worst[shape]) ? error : worst[shape];
}

/* ----------------------------------------------------------------------------------------------------------------- */

describe("EmissionSchedule", function () {
  after(function () {
    if (!process.env.EMISSION_REPORT) return;
    for (const [shape, error] of Object.entries(worst)) {
      console.log(`      worst relative shortfall of cumulativeEmission, ${shape}: ${error.toExponential(3)}`);
    }
  });

  describe("deployment", function () {
    it("sets the wiring, owner, budget, segment 0 and split 0", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      expect(await s.config()).to.equal(await f.config.getAddress());
      expect(await s.token()).to.equal(await f.token.getAddress());
      expect(await s.staking()).to.equal(await f.staking.getAddress());
      expect(await s.owner()).to.equal(f.governance.address);
      expect(await s.pendingOwner()).to.equal(ethers.ZeroAddress);
      expect(await s.emissionBudget()).to.equal(BUDGET);
      expect(await s.segmentCount()).to.equal(1n);
      expect(segmentOf(await s.segment(0))).to.deep.equal({
        params: HALVING,
        startEpoch: 0n,
        direction: 0,
        baseSupply: 0n,
        cumulativeAtStart: 0n,
      });
      expect((await s.classSplitAt(0)).map(Number)).to.deep.equal(SPLIT);
      expect(await s.nextCheckpointEpoch()).to.equal(0n);
      expect(await s.cumulativeEmission(0)).to.equal(0n);
    });

    it("exposes its hard-coded bounds", async function () {
      const { schedule: s } = await loadFixture(halvingFixture);
      expect(await s.MIN_PERIOD()).to.equal(BOUNDS.minPeriod);
      expect(await s.MAX_PERIOD()).to.equal(BOUNDS.maxPeriod);
      expect(await s.MIN_AMOUNT()).to.equal(BOUNDS.minAmount);
      expect(await s.MAX_AMOUNT()).to.equal(BOUNDS.maxAmount);
      expect(await s.MAX_INFLATION_RATE()).to.equal(BOUNDS.maxRate);
      expect(await s.MIN_TARGET_BONDED_BPS()).to.equal(BOUNDS.minTarget);
      expect(await s.MAX_TARGET_BONDED_BPS()).to.equal(BOUNDS.maxTarget);
    });

    it("emits SegmentAdded and ClassSplitSet", async function () {
      const { schedule: s } = await loadFixture(halvingFixture);
      const tx = s.deploymentTransaction()!;
      await expect(tx).to.emit(s, "SegmentAdded").withArgs(0n, 0n, anyValue);
      await expect(tx).to.emit(s, "ClassSplitSet").withArgs(0n, SPLIT);
    });

    it("samples the supply and the bonded ratio for an initial TargetedInflation segment", async function () {
      const f = await loadFixture(targetedFixture);
      const seg = segmentOf(await f.schedule.segment(0));
      expect(seg.baseSupply).to.equal(GENESIS_SUPPLY);
      expect(seg.direction).to.equal(1); // nothing staked: below the 50% target
      expect(await f.schedule.bondedRatioBps()).to.equal(0n);
      expect(await f.schedule.inflationRateAt(0)).to.equal(TARGETED.initialRate);
    });

    it("accepts a budget of exactly what the token can still mint, up to MAX_AMOUNT", async function () {
      const f = await loadFixture(fullBudgetFixture);
      const s = await deploySchedule(f, HALVING, { budget: BUDGET });
      expect(await s.emissionBudget()).to.equal(BUDGET);
      const full = await deploySchedule(f, HALVING, { budget: MAX_SUPPLY, token: await f.freshToken.getAddress() });
      expect(await full.emissionBudget()).to.equal(MAX_SUPPLY);
    });

    it("reverts BudgetOutOfBounds for a zero budget or one above MAX_SUPPLY - totalMinted", async function () {
      const f = await loadFixture(halvingFixture);
      const factory = new EmissionSchedule__factory(f.governance);
      const deploy = (budget: bigint) =>
        factory.deploy(f.config, f.token, f.staking, f.governance.address, budget, HALVING, SPLIT);
      await expect(deploy(0n)).to.be.revertedWithCustomError(factory, "BudgetOutOfBounds").withArgs(0n, BUDGET);
      await expect(deploy(BUDGET + 1n))
        .to.be.revertedWithCustomError(factory, "BudgetOutOfBounds")
        .withArgs(BUDGET + 1n, BUDGET);
    });

    it("checks the initial shape, split and owner", async function () {
      const f = await loadFixture(halvingFixture);
      const factory = new EmissionSchedule__factory(f.governance);
      const args = [f.config, f.token, f.staking] as const;
      await expect(factory.deploy(...args, f.governance.address, BUDGET, halving(MESH, 29n), SPLIT))
        .to.be.revertedWithCustomError(factory, "PeriodOutOfBounds")
        .withArgs(29n, BOUNDS.minPeriod, BOUNDS.maxPeriod);
      await expect(factory.deploy(...args, f.governance.address, BUDGET, HALVING, [10_000, 0, 0, 0, 0, 1]))
        .to.be.revertedWithCustomError(factory, "SplitSumInvalid")
        .withArgs(10_001n);
      await expect(factory.deploy(...args, ethers.ZeroAddress, BUDGET, HALVING, SPLIT))
        .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
        .withArgs(ethers.ZeroAddress);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("Halving", function () {
    it("matches the reference over 50 years of daily epochs, rounded down exactly", async function () {
      const { schedule } = await loadFixture(halvingFixture);
      const samples = sampleEpochs(HALVING.period);
      const exactAt = (n: bigint) => halvingExact(HALVING.initialEmission, HALVING.period, n);
      recordWorst("Halving", await checkAgainstReference(schedule, samples, exactAt));
      const got = await cumulatives(schedule, samples);
      samples.forEach((n, i) => expect(got[i], `n = ${n}`).to.equal(floorDec(exactAt(n))));
    });

    it("emits R per epoch, then R/2 after a period; epochEmission is the difference", async function () {
      const { schedule } = await loadFixture(halvingFixture);
      const R = HALVING.initialEmission;
      const H = HALVING.period;
      expect(await schedule.epochEmission(0)).to.equal(R);
      expect(await schedule.epochEmission(H - 1n)).to.equal(R);
      expect(await schedule.epochEmission(H)).to.equal(R / 2n);
      expect(await schedule.epochEmission(3n * H + 5n)).to.equal(R / 8n);
      expect(await schedule.cumulativeEmission(H)).to.equal(H * R);
      expect(await schedule.cumulativeEmission(2n * H)).to.equal((3n * H * R) / 2n);
      await checkEpochEmissions(
        schedule,
        sampleEpochs(H).filter((_, i) => i % 5 === 0),
      );
    });

    it("converges to 2HR - 1 wei (k >= 128 halvings) and clamps epochs past 2^64", async function () {
      const { schedule } = await loadFixture(halvingFixture);
      const limit = 2n * HALVING.period * HALVING.initialEmission - 1n;
      expect(await schedule.cumulativeEmission(128n * HALVING.period)).to.equal(limit);
      expect(await schedule.cumulativeEmission(2n ** 64n)).to.equal(limit);
      expect(await schedule.cumulativeEmission(ethers.MaxUint256)).to.equal(limit);
      expect(await schedule.epochEmission(2n ** 64n - 1n)).to.equal(0n);
      expect(await schedule.epochEmission(ethers.MaxUint256)).to.equal(0n);
      // Just below 128 halvings the exact formula still applies and is one wei short of the limit or less.
      const before = await schedule.cumulativeEmission(128n * HALVING.period - 1n);
      expect(before).to.equal(floorDec(halvingExact(HALVING.initialEmission, HALVING.period, 128n * 730n - 1n)));
      expect(before <= limit).to.equal(true);
    });

    it("is the exact floor at the extremes of its bounds", async function () {
      const f = await loadFixture(fullBudgetFixture);
      const token = await f.freshToken.getAddress();
      const ns = fc.sample(fc.bigInt({ min: 0n, max: 200_000n }), { numRuns: 12, seed: 7 });
      for (const R of [BOUNDS.minAmount, 123_456_789_123_456_789_123n, BOUNDS.maxAmount]) {
        for (const H of [BOUNDS.minPeriod, 365n, BOUNDS.maxPeriod]) {
          const s = await deploySchedule(f, halving(R, H), { budget: MAX_SUPPLY, token });
          const samples = [0n, 1n, H - 1n, H, H + 1n, 127n * H + H - 1n, 128n * H, 2n ** 64n, ...ns];
          const got = await cumulatives(s, samples);
          samples.forEach((n, i) => {
            const exact = floorDec(halvingExact(R, H, n));
            expect(got[i], `R=${R} H=${H} n=${n}`).to.equal(exact < MAX_SUPPLY ? exact : MAX_SUPPLY);
          });
        }
      }
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("ExponentialDecay", function () {
    it("matches the reference over 50 years of daily epochs and never exceeds it", async function () {
      const { schedule } = await loadFixture(decayFixture);
      const exactAt = (n: bigint) => decayExact(DECAY.totalEmission, DECAY.period, n);
      recordWorst("ExponentialDecay", await checkAgainstReference(schedule, sampleEpochs(DECAY.period), exactAt));
    });

    it("is exact at whole half-lives: S - ceil(S / 2^k)", async function () {
      const { schedule } = await loadFixture(decayFixture);
      const S = DECAY.totalEmission;
      for (const k of [1n, 2n, 3n, 8n, 100n, 300n]) {
        const twoK = 2n ** k;
        expect(await schedule.cumulativeEmission(k * DECAY.period), `k=${k}`).to.equal(S - (S + twoK - 1n) / twoK);
      }
    });

    it("epochEmission is the difference of cumulatives and decreases", async function () {
      const { schedule } = await loadFixture(decayFixture);
      const epochs = sampleEpochs(DECAY.period).filter((_, i) => i % 5 === 0);
      await checkEpochEmissions(schedule, epochs);
      const emissions = await Promise.all(epochs.map((e) => schedule.epochEmission(e)));
      for (let i = 1; i < emissions.length; i++) expect(emissions[i] <= emissions[i - 1]).to.equal(true);
      // First epoch ~ S * (1 - 2^(-1/T)) ~ S * ln2 / T.
      const first = decayExact(DECAY.totalEmission, DECAY.period, 1n);
      expect(toDec(emissions[0]).lte(first) && relativeError(first, emissions[0]).lt("1e-12")).to.equal(true);
    });

    it("approaches S but stays below it", async function () {
      const { schedule } = await loadFixture(decayFixture);
      expect(await schedule.cumulativeEmission(2n ** 64n)).to.equal(DECAY.totalEmission - 1n);
      expect(await schedule.cumulativeEmission(ethers.MaxUint256)).to.equal(DECAY.totalEmission - 1n);
    });

    it("stays within the documented error bound at the extremes of its bounds", async function () {
      const f = await loadFixture(fullBudgetFixture);
      const token = await f.freshToken.getAddress();
      const ns = fc.sample(fc.bigInt({ min: 0n, max: 500_000n }), { numRuns: 16, seed: 11 });
      let worstError = new Dec(0);
      for (const S of [BOUNDS.minAmount, 123_456_789_123_456_789_123n, BOUNDS.maxAmount]) {
        for (const T of [BOUNDS.minPeriod, 2_190n, BOUNDS.maxPeriod]) {
          const s = await deploySchedule(f, decay(S, T), { budget: MAX_SUPPLY, token });
          const samples = [0n, 1n, 2n, T - 1n, T, T + 1n, 7n * T + 3n, 64n * T + 5n, 300n * T + 1n, 2n ** 64n, ...ns];
          const got = await cumulatives(s, samples);
          samples.forEach((n, i) => {
            const exact = decayExact(S, T, n);
            const tail = toDec(S).minus(exact);
            const shortfall = exact.minus(toDec(got[i]));
            const where = `S=${S} T=${T} n=${n}`;
            expect(shortfall.gte(0), `${where}: above exact`).to.equal(true);
            // EmissionMath: shortfall < S * 2^(-n/T) * 4e-18 + 2 wei.
            expect(shortfall.lt(tail.times("4e-18").plus(2)), `${where}: shortfall ${shortfall}`).to.equal(true);
            const error = relativeError(exact, got[i]);
            expect(error.lt("1e-9"), `${where}: relative error ${error}`).to.equal(true);
            if (error.gt(worstError)) worstError = error;
          });
        }
      }
      recordWorst("ExponentialDecay (bounds)", worstError);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("TargetedInflation", function () {
    it("matches the reference over 50 years (ramp, clamp at maxRate, then the budget)", async function () {
      const { schedule } = await loadFixture(targetedFixture);
      const series = inflationExactSeries(
        GENESIS_SUPPLY,
        TARGETED.initialRate,
        1,
        TARGETED.rateStep,
        TARGETED.maxRate,
        Number(FIFTY_YEARS),
      );
      const samples = sampleEpochs(400n); // the ramp reaches maxRate after 400 epochs
      const exactAt = (n: bigint) => series[Number(n)];
      recordWorst("TargetedInflation", await checkAgainstReference(schedule, samples, exactAt));
      // Integer arithmetic throughout: the floor of min(exact, budget), exactly.
      const got = await cumulatives(schedule, samples);
      samples.forEach((n, i) => expect(got[i], `n = ${n}`).to.equal(floorDec(cappedExact(exactAt(n), BUDGET))));
      expect(series[Number(FIFTY_YEARS)].gt(toDec(BUDGET))).to.equal(true);
      expect(await schedule.cumulativeEmission(FIFTY_YEARS)).to.equal(BUDGET);
      await checkEpochEmissions(
        schedule,
        samples.filter((_, i) => i % 5 === 0),
      );
    });

    it("matches the epoch-by-epoch reference for random ramps, up and down", async function () {
      const f = await loadFixture(targetedFixture);
      const ramps = fc.sample(
        fc.tuple(fc.bigInt({ min: 0n, max: BOUNDS.maxRate }), fc.bigInt(), fc.bigInt()).map(([maxRate, a, b]) => {
          const mod = (x: bigint) => (maxRate === 0n ? 0n : ((x % (maxRate + 1n)) + maxRate + 1n) % (maxRate + 1n));
          return { maxRate, rate0: mod(a), step: mod(b) / 50n }; // steps that take a while to reach a bound
        }),
        { numRuns: 6, seed: 3 },
      );
      ramps.push({ maxRate: 10n ** 15n, rate0: 10n ** 14n, step: 3n * 10n ** 12n }); // steps not dividing the range
      for (const direction of [1, -1]) {
        if (direction === -1) await f.staking.stake(60_000_000n * MESH); // bonded 60% > target: the rate falls
        for (const { maxRate, rate0, step } of ramps) {
          const s = await deploySchedule(f, targeted(rate0, step, maxRate, 5_000n));
          expect((await s.segment(0)).direction).to.equal(BigInt(direction));
          const bound = step === 0n ? 0n : (direction > 0 ? maxRate - rate0 + step - 1n : rate0 + step - 1n) / step;
          const samples = [0n, 1n, 2n, bound - 1n, bound, bound + 1n, 777n, 3_000n].filter(
            (n) => n >= 0n && n <= 3_000n,
          );
          const series = inflationExactSeries(GENESIS_SUPPLY, rate0, direction, step, maxRate, 3_000);
          const got = await cumulatives(s, samples);
          samples.forEach((n, i) => {
            const exact = series[Number(n)];
            expect(got[i], `rate0=${rate0} step=${step} max=${maxRate} dir=${direction} n=${n}`).to.equal(
              floorDec(cappedExact(exact, BUDGET)),
            );
          });
          const rates = rampRates(rate0, direction, step, maxRate, 3);
          expect(await s.inflationRateAt(2)).to.equal(rates[2]);
        }
      }
    });

    it("rises by rateStep per epoch while bonded < target and holds at maxRate", async function () {
      const { schedule } = await loadFixture(targetedFixture);
      const { initialRate, rateStep, maxRate } = TARGETED;
      expect(await schedule.inflationRateAt(0)).to.equal(initialRate);
      expect(await schedule.inflationRateAt(1)).to.equal(initialRate + rateStep);
      expect(await schedule.inflationRateAt(399)).to.equal(maxRate - rateStep);
      expect(await schedule.inflationRateAt(400)).to.equal(maxRate);
      expect(await schedule.inflationRateAt(10_000)).to.equal(maxRate);
      expect(await schedule.inflationRateAt(ethers.MaxUint256)).to.equal(maxRate);
      expect(await schedule.epochEmission(0)).to.equal((GENESIS_SUPPLY * initialRate) / WAD);
      expect(await schedule.epochEmission(1_000)).to.equal((GENESIS_SUPPLY * maxRate) / WAD);
    });

    it("checkpoint turns the rate down when bonded > target, clamped at 0", async function () {
      const f = await loadFixture(targetedFixture);
      const s = f.schedule;
      await f.staking.stake(60_000_000n * MESH); // 60% bonded
      await goToEpoch(f, 3n);
      const rate3 = await s.inflationRateAt(3);
      expect(rate3).to.equal(TARGETED.initialRate + 3n * TARGETED.rateStep);
      const before = await cumulatives(s, [0n, 1n, 2n, 3n, 4n]);

      await expect(s.connect(f.outsider).checkpoint())
        .to.emit(s, "Checkpointed")
        .withArgs(3n, 6_000n, GENESIS_SUPPLY, -1, rate3 - TARGETED.rateStep)
        .and.to.emit(s, "SegmentAdded")
        .withArgs(1n, 4n, anyValue);
      expect(await cumulatives(s, [0n, 1n, 2n, 3n, 4n])).to.deep.equal(before); // the past (and epoch 3) unchanged
      const seg = segmentOf(await s.segment(1));
      expect(seg).to.deep.equal({
        params: { ...TARGETED, initialRate: rate3 - TARGETED.rateStep },
        startEpoch: 4n,
        direction: -1,
        baseSupply: GENESIS_SUPPLY,
        cumulativeAtStart: before[4],
      });

      // Falls one step per epoch until it reaches 0 (after ceil(rate4 / step) epochs), then stays there.
      const rate4 = rate3 - TARGETED.rateStep;
      const steps = (rate4 + TARGETED.rateStep - 1n) / TARGETED.rateStep;
      expect(await s.inflationRateAt(5)).to.equal(rate4 - TARGETED.rateStep);
      expect(await s.inflationRateAt(4n + steps - 1n)).to.equal(rate4 - (steps - 1n) * TARGETED.rateStep);
      expect(await s.inflationRateAt(4n + steps)).to.equal(0n);
      expect(await s.inflationRateAt(100_000)).to.equal(0n);
      expect(await s.epochEmission(4n + steps)).to.equal(0n);
      const rates = rampRates(rate4, -1, TARGETED.rateStep, TARGETED.maxRate, Number(steps) + 10);
      const expected = rates.reduce((sum, r) => sum + r, 0n);
      expect(await s.cumulativeEmission(4n + steps + 10n)).to.equal(before[4] + (GENESIS_SUPPLY * expected) / WAD);
      expect(await s.cumulativeEmission(2n ** 64n)).to.equal(before[4] + (GENESIS_SUPPLY * expected) / WAD);
    });

    it("checkpoint holds the rate when bonded == target", async function () {
      const f = await loadFixture(targetedFixture);
      await f.staking.stake(50_000_000n * MESH); // exactly 50%
      const rate0 = await f.schedule.inflationRateAt(0);
      await expect(f.schedule.checkpoint())
        .to.emit(f.schedule, "Checkpointed")
        .withArgs(0n, 5_000n, GENESIS_SUPPLY, 0, rate0);
      for (const e of [1n, 2n, 500n]) expect(await f.schedule.inflationRateAt(e)).to.equal(rate0);
    });

    it("checkpoint every epoch follows Livepeer's per-round rule on the sampled supply", async function () {
      const f = await loadFixture(targetedFixture);
      const s = f.schedule;
      const step = TARGETED.rateStep;
      // Bonded: 0% (up), 60% (down), 60% (down), 40% (up), burn part of the supply (up, smaller base).
      const actions: Array<() => Promise<unknown>> = [
        async () => undefined,
        () => f.staking.stake(60_000_000n * MESH),
        async () => undefined,
        () => f.staking.unstake(20_000_000n * MESH),
        () => f.token.burn(10_000_000n * MESH),
      ];
      let rate = TARGETED.initialRate;
      let expected = 0n;
      for (let e = 0; e < actions.length; e++) {
        await goToEpoch(f, BigInt(e));
        await actions[e]();
        const supply = await f.token.totalSupply();
        const bonded = ((await f.staking.totalStaked()) * 10_000n) / supply;
        expect(await s.inflationRateAt(e)).to.equal(rate);
        await s.checkpoint();
        const direction = bonded < 5_000n ? 1n : -1n;
        const base = e === 0 ? GENESIS_SUPPLY : (await s.segment(e)).baseSupply; // base of the segment governing e
        expected += (base * rate) / WAD; // one epoch per segment: floors per epoch
        rate += direction * step;
        expect(await s.inflationRateAt(e + 1)).to.equal(rate);
        expect((await s.segment(e + 1)).baseSupply).to.equal(supply);
        expect(await s.cumulativeEmission(e + 1)).to.equal(expected);
      }
      expect(await s.segmentCount()).to.equal(BigInt(actions.length + 1));
    });

    it("checkpoint clamps the next rate to [0, maxRate]", async function () {
      const f = await loadFixture(halvingFixture);
      await f.schedule.scheduleShape(1n, targeted(BOUNDS.maxRate, BOUNDS.maxRate, BOUNDS.maxRate, 5_000n));
      await goToEpoch(f, 1n);
      await expect(f.schedule.checkpoint()) // bonded 0: up, already at maxRate
        .to.emit(f.schedule, "Checkpointed")
        .withArgs(1n, 0n, GENESIS_SUPPLY, 1, BOUNDS.maxRate);
      await f.staking.stake(90_000_000n * MESH);
      await goToEpoch(f, 2n);
      await expect(f.schedule.checkpoint()) // bonded 90%: down by a full maxRate step, to 0
        .to.emit(f.schedule, "Checkpointed")
        .withArgs(2n, 9_000n, GENESIS_SUPPLY, -1, 0n);
      expect(await f.schedule.inflationRateAt(3)).to.equal(0n);
      expect(await f.schedule.epochEmission(3)).to.equal(0n);
      await goToEpoch(f, 3n);
      await expect(f.schedule.checkpoint())
        .to.emit(f.schedule, "Checkpointed")
        .withArgs(3n, 9_000n, GENESIS_SUPPLY, -1, 0n);
    });

    it("checkpoint is allowed once per epoch (AlreadyCheckpointed)", async function () {
      const f = await loadFixture(targetedFixture);
      await f.schedule.checkpoint();
      expect(await f.schedule.nextCheckpointEpoch()).to.equal(1n);
      await expect(f.schedule.connect(f.alice).checkpoint())
        .to.be.revertedWithCustomError(f.schedule, "AlreadyCheckpointed")
        .withArgs(0n);
      await goToEpoch(f, 1n);
      await f.schedule.connect(f.alice).checkpoint();
      expect(await f.schedule.nextCheckpointEpoch()).to.equal(2n);
      await goToEpoch(f, 5n); // skipped epochs need no checkpoint
      await f.schedule.checkpoint();
      expect(await f.schedule.nextCheckpointEpoch()).to.equal(6n);
    });

    it("checkpoint reverts NotTargetedInflation under another shape", async function () {
      const f = await loadFixture(halvingFixture);
      await expect(f.schedule.checkpoint())
        .to.be.revertedWithCustomError(f.schedule, "NotTargetedInflation")
        .withArgs(0n, EmissionShape.Halving);
      await expect(f.schedule.inflationRateAt(0))
        .to.be.revertedWithCustomError(f.schedule, "NotTargetedInflation")
        .withArgs(0n, EmissionShape.Halving);
      // Switched to TargetedInflation later: allowed from then on, not before.
      await f.schedule.scheduleShape(3n, TARGETED);
      await goToEpoch(f, 2n);
      await expect(f.schedule.checkpoint())
        .to.be.revertedWithCustomError(f.schedule, "NotTargetedInflation")
        .withArgs(2n, EmissionShape.Halving);
      await goToEpoch(f, 3n);
      await expect(f.schedule.checkpoint()).to.emit(f.schedule, "Checkpointed");
    });

    it("checkpoint reverts SwitchPending while a governance switch has not started", async function () {
      const f = await loadFixture(targetedFixture);
      await f.schedule.scheduleShape(5n, HALVING);
      await expect(f.schedule.checkpoint()).to.be.revertedWithCustomError(f.schedule, "SwitchPending").withArgs(5n);
      await goToEpoch(f, 5n);
      await expect(f.schedule.checkpoint())
        .to.be.revertedWithCustomError(f.schedule, "NotTargetedInflation")
        .withArgs(5n, EmissionShape.Halving);
    });

    it("a governance switch replaces the segment a checkpoint added for the next epoch", async function () {
      const f = await loadFixture(targetedFixture);
      await goToEpoch(f, 2n);
      await f.schedule.checkpoint(); // segment 1 from epoch 3
      await expect(f.schedule.scheduleShape(3n, HALVING))
        .to.emit(f.schedule, "SegmentReplaced")
        .withArgs(1n, 3n)
        .and.to.emit(f.schedule, "SegmentAdded")
        .withArgs(1n, 3n, anyValue);
      expect(await f.schedule.segmentCount()).to.equal(2n);
      expect(paramsOf((await f.schedule.segment(1)).params)).to.deep.equal(HALVING);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("budget cap", function () {
    it("a halving schedule above the budget stops exactly at it", async function () {
      const { halvingSchedule: s } = await loadFixture(capFixture);
      const R = 7_000_000n * MESH;
      // 128 epochs emit 896M; the 129th would bring 903M: it gets the last 4M, and nothing follows.
      expect(await s.cumulativeEmission(128)).to.equal(128n * R);
      expect(await s.epochEmission(128)).to.equal(BUDGET - 128n * R);
      expect(await s.cumulativeEmission(129)).to.equal(BUDGET);
      for (const e of [129n, 130n, 730n, 18_249n, 2n ** 64n - 1n]) expect(await s.epochEmission(e)).to.equal(0n);
      expect(await s.cumulativeEmission(ethers.MaxUint256)).to.equal(BUDGET);
      const all = await Promise.all(Array.from({ length: 135 }, (_, e) => s.epochEmission(e)));
      expect(all.reduce((sum, x) => sum + x, 0n)).to.equal(BUDGET);
    });

    it("an exponential decay above the budget stops exactly at it", async function () {
      const { decaySchedule: s } = await loadFixture(capFixture);
      // S = 1e9 MESH, T = 365: the budget (9e8) is crossed at n = 365 * log2(10) ~ 1212.5.
      let low = 0n;
      let high = 2_000n;
      while (high - low > 1n) {
        const mid = (low + high) / 2n;
        if ((await s.cumulativeEmission(mid)) === BUDGET) high = mid;
        else low = mid;
      }
      expect(high).to.equal(1_213n);
      const exact = (n: bigint) => decayExact(BOUNDS.maxAmount, 365n, n);
      expect(exact(1_212n).lt(toDec(BUDGET)) && exact(1_213n).gt(toDec(BUDGET))).to.equal(true);
      const before = await s.cumulativeEmission(1_212n);
      expect(toDec(before).lte(exact(1_212n)) && relativeError(exact(1_212n), before).lt("1e-15")).to.equal(true);
      expect(await s.epochEmission(1_212n)).to.equal(BUDGET - before);
      for (const e of [1_213n, 1_214n, 5_000n, 2n ** 64n - 1n]) expect(await s.epochEmission(e)).to.equal(0n);
      expect(await s.cumulativeEmission(2n ** 64n)).to.equal(BUDGET);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("scheduleShape", function () {
    it("switches prospectively: the past is unchanged, the new shape counts from its start", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      await goToEpoch(f, 1_000n);
      const epochs = [0n, 1n, 729n, 730n, 999n, 1_000n, 1_001n, 1_010n];
      const before = await cumulatives(s, epochs);
      const emissionsBefore = await Promise.all(epochs.map((e) => s.epochEmission(e)));

      await expect(s.scheduleShape(1_010n, DECAY)).to.emit(s, "SegmentAdded").withArgs(1n, 1_010n, anyValue);
      expect(await cumulatives(s, epochs)).to.deep.equal(before); // up to and including the switch epoch's start
      const emissionsAfter = await Promise.all(epochs.map((e) => s.epochEmission(e)));
      expect(emissionsAfter.slice(0, -1)).to.deep.equal(emissionsBefore.slice(0, -1)); // epochs before 1,010

      const seg = segmentOf(await s.segment(1));
      expect(seg).to.deep.equal({
        params: DECAY,
        startEpoch: 1_010n,
        direction: 0,
        baseSupply: 0n,
        cumulativeAtStart: before[before.length - 1],
      });
      const [index, atSwitch] = await s.segmentAt(1_010n);
      expect(index).to.equal(1n);
      expect(segmentOf(atSwitch)).to.deep.equal(seg);
      expect((await s.segmentAt(1_009n))[0]).to.equal(0n);

      // After the switch: cumulative at the start + the decay counted from the start, never above it.
      for (const m of [1n, 2n, 100n, DECAY.period, 5_000n]) {
        const got = await s.cumulativeEmission(1_010n + m);
        const exact = toDec(seg.cumulativeAtStart).plus(segmentExact(seg, m));
        expect(toDec(got).lte(exact) && relativeError(exact, got).lt("1e-12"), `m=${m}`).to.equal(true);
      }
      await checkEpochEmissions(s, [1_008n, 1_009n, 1_010n, 1_011n, 3_000n]);
    });

    it("reverts SwitchNotInFuture for an epoch that has begun", async function () {
      const f = await loadFixture(halvingFixture);
      await goToEpoch(f, 10n);
      for (const start of [0n, 9n, 10n]) {
        await expect(f.schedule.scheduleShape(start, DECAY))
          .to.be.revertedWithCustomError(f.schedule, "SwitchNotInFuture")
          .withArgs(start, 10n);
      }
      await expect(f.schedule.scheduleShape(11n, DECAY)).to.emit(f.schedule, "SegmentAdded");
    });

    it("replaces a segment that has not started yet, earlier or later", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      await s.scheduleShape(200n, DECAY);
      await expect(s.scheduleShape(150n, DECAY))
        .to.emit(s, "SegmentReplaced")
        .withArgs(1n, 200n)
        .and.to.emit(s, "SegmentAdded")
        .withArgs(1n, 150n, anyValue);
      await expect(s.scheduleShape(300n, TARGETED)).to.emit(s, "SegmentReplaced").withArgs(1n, 150n);
      expect(await s.segmentCount()).to.equal(2n);
      const seg = segmentOf(await s.segment(1));
      expect([seg.startEpoch, seg.params.shape, seg.baseSupply, seg.direction]).to.deep.equal([
        300n,
        EmissionShape.TargetedInflation,
        GENESIS_SUPPLY,
        1,
      ]);
      expect(seg.cumulativeAtStart).to.equal(await s.cumulativeEmission(300n));
      expect(seg.cumulativeAtStart).to.equal(floorDec(halvingExact(HALVING.initialEmission, HALVING.period, 300n)));
    });

    it("reverts SwitchUnchanged for the pending segment's own start and parameters", async function () {
      const f = await loadFixture(halvingFixture);
      await f.schedule.scheduleShape(200n, DECAY);
      await expect(f.schedule.scheduleShape(200n, DECAY))
        .to.be.revertedWithCustomError(f.schedule, "SwitchUnchanged")
        .withArgs(200n);
      await expect(f.schedule.scheduleShape(201n, DECAY)).to.emit(f.schedule, "SegmentReplaced").withArgs(1n, 200n);
      await expect(f.schedule.scheduleShape(201n, decay(DECAY.totalEmission, 2_191n))).to.emit(
        f.schedule,
        "SegmentReplaced",
      );
    });

    it("appends once the pending segment has started, which can no longer be replaced", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      await s.scheduleShape(5n, DECAY);
      await goToEpoch(f, 5n);
      const first = segmentOf(await s.segment(1));
      await expect(s.scheduleShape(8n, HALVING)).to.emit(s, "SegmentAdded").withArgs(2n, 8n, anyValue);
      await expect(s.scheduleShape(9n, HALVING)).to.emit(s, "SegmentReplaced").withArgs(2n, 8n);
      expect(await s.segmentCount()).to.equal(3n);
      expect(segmentOf(await s.segment(1))).to.deep.equal(first);
      expect((await s.segmentAt(8n))[0]).to.equal(1n);
      expect((await s.segmentAt(9n))[0]).to.equal(2n);
      expect((await s.segmentAt(ethers.MaxUint256))[0]).to.equal(2n);
      // The halving restarts at its full rate in epoch 9.
      expect(await s.epochEmission(9n)).to.equal(HALVING.initialEmission);
    });

    it("accepts every parameter at its bounds", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      const accepted = [
        halving(BOUNDS.minAmount, BOUNDS.minPeriod),
        halving(BOUNDS.maxAmount, BOUNDS.maxPeriod),
        decay(BOUNDS.minAmount, BOUNDS.maxPeriod),
        decay(BOUNDS.maxAmount, BOUNDS.minPeriod),
        targeted(BOUNDS.maxRate, BOUNDS.maxRate, BOUNDS.maxRate, BOUNDS.minTarget),
        targeted(0n, 0n, 0n, BOUNDS.maxTarget),
      ];
      for (const params of accepted) {
        await expect(s.scheduleShape(10n, params)).to.emit(s, "SegmentAdded");
        expect(paramsOf((await s.segment(1)).params)).to.deep.equal(params);
      }
    });

    it("reverts with the bound that a parameter breaks", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      const { minPeriod, maxPeriod, minAmount, maxAmount, maxRate, minTarget, maxTarget } = BOUNDS;
      const cases: Array<[ShapeParams, string, unknown[]]> = [
        [halving(MESH, minPeriod - 1n), "PeriodOutOfBounds", [minPeriod - 1n, minPeriod, maxPeriod]],
        [halving(MESH, maxPeriod + 1n), "PeriodOutOfBounds", [maxPeriod + 1n, minPeriod, maxPeriod]],
        [decay(MESH, 0n), "PeriodOutOfBounds", [0n, minPeriod, maxPeriod]],
        [decay(MESH, maxPeriod + 1n), "PeriodOutOfBounds", [maxPeriod + 1n, minPeriod, maxPeriod]],
        [halving(minAmount - 1n, 730n), "AmountOutOfBounds", [minAmount - 1n, minAmount, maxAmount]],
        [halving(maxAmount + 1n, 730n), "AmountOutOfBounds", [maxAmount + 1n, minAmount, maxAmount]],
        [decay(0n, 730n), "AmountOutOfBounds", [0n, minAmount, maxAmount]],
        [decay(maxAmount + 1n, 730n), "AmountOutOfBounds", [maxAmount + 1n, minAmount, maxAmount]],
        [targeted(0n, 0n, maxRate + 1n, 5_000n), "MaxRateOutOfBounds", [maxRate + 1n, maxRate]],
        [targeted(11n, 0n, 10n, 5_000n), "InitialRateAboveMax", [11n, 10n]],
        [targeted(0n, 11n, 10n, 5_000n), "RateStepAboveMax", [11n, 10n]],
        [targeted(0n, 0n, 10n, minTarget - 1n), "TargetBondedOutOfBounds", [minTarget - 1n, minTarget, maxTarget]],
        [targeted(0n, 0n, 10n, maxTarget + 1n), "TargetBondedOutOfBounds", [maxTarget + 1n, minTarget, maxTarget]],
        [{ ...HALVING, totalEmission: 1n }, "UnusedParamNotZero", [EmissionShape.Halving]],
        [{ ...HALVING, maxRate: 1n }, "UnusedParamNotZero", [EmissionShape.Halving]],
        [{ ...HALVING, targetBondedBps: 5_000n }, "UnusedParamNotZero", [EmissionShape.Halving]],
        [{ ...DECAY, initialEmission: 1n }, "UnusedParamNotZero", [EmissionShape.ExponentialDecay]],
        [{ ...DECAY, initialRate: 1n }, "UnusedParamNotZero", [EmissionShape.ExponentialDecay]],
        [{ ...DECAY, rateStep: 1n }, "UnusedParamNotZero", [EmissionShape.ExponentialDecay]],
        [{ ...TARGETED, period: 730n }, "UnusedParamNotZero", [EmissionShape.TargetedInflation]],
        [{ ...TARGETED, initialEmission: 1n }, "UnusedParamNotZero", [EmissionShape.TargetedInflation]],
        [{ ...TARGETED, totalEmission: 1n }, "UnusedParamNotZero", [EmissionShape.TargetedInflation]],
      ];
      for (const [params, error, args] of cases) {
        await expect(s.scheduleShape(10n, params), error)
          .to.be.revertedWithCustomError(s, error)
          .withArgs(...args);
      }
      await expect(s.scheduleShape(10n, { ...HALVING, shape: 3 })).to.be.reverted; // not a shape
    });

    it("is owner only", async function () {
      const f = await loadFixture(halvingFixture);
      await expect(f.schedule.connect(f.alice).scheduleShape(10n, DECAY))
        .to.be.revertedWithCustomError(f.schedule, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("class split", function () {
    const NEXT = [2_000, 2_000, 2_000, 2_000, 1_000, 1_000];
    const LATER = [10_000, 0, 0, 0, 0, 0];

    const splitAt = async (s: EmissionSchedule, epoch: bigint) => (await s.classSplitAt(epoch)).map(Number);

    it("sums to 10,000 and applies from epoch 0", async function () {
      const { schedule } = await loadFixture(halvingFixture);
      for (const e of [0n, 1n, 1_000n, ethers.MaxUint256]) {
        const split = await splitAt(schedule, e);
        expect(split).to.deep.equal(SPLIT);
        expect(split.reduce((a, b) => a + b, 0)).to.equal(10_000);
      }
    });

    it("a new split applies from the next epoch; the history is kept", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      await goToEpoch(f, 4n);
      await expect(s.setClassSplit(NEXT)).to.emit(s, "ClassSplitSet").withArgs(5n, NEXT);
      expect(await splitAt(s, 4n)).to.deep.equal(SPLIT); // the current epoch keeps its split
      expect(await splitAt(s, 5n)).to.deep.equal(NEXT);
      await goToEpoch(f, 9n);
      await expect(s.setClassSplit(LATER)).to.emit(s, "ClassSplitSet").withArgs(10n, LATER);
      await goToEpoch(f, 20n);
      await expect(s.setClassSplit(SPLIT)).to.emit(s, "ClassSplitSet").withArgs(21n, SPLIT);
      const expected: Array<[bigint, number[]]> = [
        [0n, SPLIT],
        [4n, SPLIT],
        [5n, NEXT],
        [9n, NEXT],
        [10n, LATER],
        [20n, LATER],
        [21n, SPLIT],
        [ethers.MaxUint256, SPLIT],
      ];
      for (const [e, split] of expected) expect(await splitAt(s, e), `epoch ${e}`).to.deep.equal(split);
    });

    it("setting it again in the same epoch replaces the pending split, or drops it", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      await goToEpoch(f, 2n);
      await s.setClassSplit(NEXT);
      await expect(s.setClassSplit(LATER)).to.emit(s, "ClassSplitSet").withArgs(3n, LATER);
      expect(await splitAt(s, 2n)).to.deep.equal(SPLIT);
      expect(await splitAt(s, 3n)).to.deep.equal(LATER);
      await expect(s.setClassSplit(SPLIT)).to.emit(s, "ClassSplitSet").withArgs(3n, SPLIT); // back to the one in force
      expect(await splitAt(s, 3n)).to.deep.equal(SPLIT);
      await expect(s.setClassSplit(SPLIT)).to.be.revertedWithCustomError(s, "SplitUnchanged");
      await expect(s.setClassSplit(NEXT)).to.emit(s, "ClassSplitSet").withArgs(3n, NEXT);
      expect(await splitAt(s, 3n)).to.deep.equal(NEXT);
    });

    it("reverts SplitSumInvalid unless the split sums to 10,000", async function () {
      const { schedule: s } = await loadFixture(halvingFixture);
      const cases: Array<[number[], bigint]> = [
        [[1_000, 1_000, 1_000, 1_000, 1_000, 4_999], 9_999n],
        [[1_000, 1_000, 1_000, 1_000, 1_000, 5_001], 10_001n],
        [[0, 0, 0, 0, 0, 0], 0n],
        [[65_535, 65_535, 65_535, 65_535, 65_535, 65_535], 6n * 65_535n], // no uint16 wrap-around
      ];
      for (const [split, sum] of cases) {
        await expect(s.setClassSplit(split)).to.be.revertedWithCustomError(s, "SplitSumInvalid").withArgs(sum);
      }
    });

    it("reverts SplitUnchanged for the latest split", async function () {
      const { schedule: s } = await loadFixture(halvingFixture);
      await expect(s.setClassSplit(SPLIT)).to.be.revertedWithCustomError(s, "SplitUnchanged");
    });

    it("is owner only", async function () {
      const f = await loadFixture(halvingFixture);
      await expect(f.schedule.connect(f.alice).setClassSplit(NEXT))
        .to.be.revertedWithCustomError(f.schedule, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("Ownable2Step", function () {
    it("hands governance over only once the new owner accepts", async function () {
      const f = await loadFixture(halvingFixture);
      const s = f.schedule;
      await s.transferOwnership(f.alice.address);
      await expect(s.connect(f.alice).scheduleShape(10n, DECAY)).to.be.revertedWithCustomError(
        s,
        "OwnableUnauthorizedAccount",
      );
      await s.connect(f.alice).acceptOwnership();
      expect(await s.owner()).to.equal(f.alice.address);
      await expect(s.scheduleShape(10n, DECAY))
        .to.be.revertedWithCustomError(s, "OwnableUnauthorizedAccount")
        .withArgs(f.governance.address);
      await expect(s.connect(f.alice).scheduleShape(10n, DECAY)).to.emit(s, "SegmentAdded");
    });
  });
});
