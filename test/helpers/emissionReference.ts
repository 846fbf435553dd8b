import Decimal from "decimal.js";

import { EmissionShape } from "../../sdk/enums";

/**
 * High-precision reference of the emission schedule (contracts/EmissionSchedule.sol), written the slow, obvious way —
 * sums over halving periods and over epochs, decay by a 60-digit power — so it shares no formula with the closed
 * forms of contracts/libraries/EmissionMath.sol it checks.
 */

/** 60 significant digits: far below one wei on amounts of up to 1e27 wei. */
export const Dec = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_EVEN });
export type Dec = Decimal;

export const WAD = 10n ** 18n;

/** A segment's shape parameters, as `ShapeParams` in contracts/interfaces/IEmissionSchedule.sol. */
export interface ShapeParams {
  shape: EmissionShape;
  period: bigint;
  targetBondedBps: bigint;
  initialRate: bigint;
  rateStep: bigint;
  maxRate: bigint;
  initialEmission: bigint;
  totalEmission: bigint;
}

const ZERO_PARAMS: Omit<ShapeParams, "shape"> = {
  period: 0n,
  targetBondedBps: 0n,
  initialRate: 0n,
  rateStep: 0n,
  maxRate: 0n,
  initialEmission: 0n,
  totalEmission: 0n,
};

/** Halving parameters: `initialEmission` per epoch, halved every `period` epochs. */
export function halving(initialEmission: bigint, period: bigint): ShapeParams {
  return { ...ZERO_PARAMS, shape: EmissionShape.Halving, initialEmission, period };
}

/** Exponential-decay parameters: `totalEmission * (1 - 2^(-n / halfLife))`. */
export function decay(totalEmission: bigint, halfLife: bigint): ShapeParams {
  return { ...ZERO_PARAMS, shape: EmissionShape.ExponentialDecay, totalEmission, period: halfLife };
}

/** Targeted-inflation parameters (rates in WAD per epoch, target in basis points). */
export function targeted(initialRate: bigint, rateStep: bigint, maxRate: bigint, targetBondedBps: bigint): ShapeParams {
  return { ...ZERO_PARAMS, shape: EmissionShape.TargetedInflation, initialRate, rateStep, maxRate, targetBondedBps };
}

export function toDec(x: bigint | number): Dec {
  return new Dec(x.toString());
}

/** Largest integer not above `x` (x >= 0). */
export function floorDec(x: Dec): bigint {
  return BigInt(x.floor().toFixed(0));
}

/** Exact halving sum over the first `n` epochs: whole periods one by one, then the partial one. */
export function halvingExact(initialEmission: bigint, period: bigint, n: bigint): Dec {
  let total = new Dec(0);
  let rate = toDec(initialEmission);
  let left = n;
  while (left >= period && !rate.isZero()) {
    total = total.plus(rate.times(toDec(period)));
    rate = rate.div(2);
    left -= period;
    // Stop once the rest is below 1e-15 wei yet still visible at 60 digits: the value stays strictly below the
    // limit 2 * period * R, as the true one does, so its floor is right.
    if (rate.lt(new Dec("1e-20"))) return total;
  }
  return total.plus(rate.times(toDec(left)));
}

/** Exact exponential decay over the first `n` epochs: `total * (1 - 2^(-n / halfLife))`. */
export function decayExact(totalEmission: bigint, halfLife: bigint, n: bigint): Dec {
  const remaining = new Dec(2).pow(toDec(n).neg().div(toDec(halfLife)));
  return toDec(totalEmission).times(new Dec(1).minus(remaining));
}

/** Inflation rates of the first `count` epochs of a ramp, epoch by epoch: +-step per epoch, clamped to [0, max]. */
export function rampRates(rate0: bigint, direction: number, step: bigint, maxRate: bigint, count: number): bigint[] {
  const rates: bigint[] = [];
  let rate = rate0;
  for (let i = 0; i < count; i++) {
    rates.push(rate);
    rate += BigInt(direction) * step;
    if (rate < 0n) rate = 0n;
    if (rate > maxRate) rate = maxRate;
  }
  return rates;
}

/**
 * Exact targeted-inflation cumulatives on a fixed base, `result[n]` for n in [0, count]: `base * sum(rates) / WAD`,
 * summed epoch by epoch.
 */
export function inflationExactSeries(
  base: bigint,
  rate0: bigint,
  direction: number,
  step: bigint,
  maxRate: bigint,
  count: number,
): Dec[] {
  const series = [new Dec(0)];
  let sum = 0n;
  for (const rate of rampRates(rate0, direction, step, maxRate, count)) {
    sum += rate;
    series.push(toDec(base * sum).div(toDec(WAD)));
  }
  return series;
}

/** A segment as the contract stores it (`Segment`), reduced to what the emission depends on. */
export interface SegmentLike {
  params: ShapeParams;
  startEpoch: bigint;
  direction: number;
  baseSupply: bigint;
  cumulativeAtStart: bigint;
}

/** Exact (real-valued) emission of a segment over its first `n` epochs. */
export function segmentExact(segment: SegmentLike, n: bigint): Dec {
  const p = segment.params;
  switch (p.shape) {
    case EmissionShape.Halving:
      return halvingExact(p.initialEmission, p.period, n);
    case EmissionShape.ExponentialDecay:
      return decayExact(p.totalEmission, p.period, n);
    default: {
      const series = inflationExactSeries(
        segment.baseSupply,
        p.initialRate,
        segment.direction,
        p.rateStep,
        p.maxRate,
        Number(n),
      );
      return series[Number(n)];
    }
  }
}

/** Exact schedule value of epochs [0, n) for a single-segment schedule starting at 0: `min(budget, exact)`. */
export function cappedExact(exact: Dec, budget: bigint): Dec {
  const cap = toDec(budget);
  return exact.gt(cap) ? cap : exact;
}

/** Relative shortfall `(exact - got) / exact` (0 when both are 0). */
export function relativeError(exact: Dec, got: bigint): Dec {
  if (exact.isZero()) return got === 0n ? new Dec(0) : new Dec(Infinity);
  return exact.minus(toDec(got)).div(exact);
}
