/**
 * ENERGY class (Powerledger-style): pure checks of one meter's cumulative readings in one epoch.
 *
 * Signatures over each reading are checked by `oracles/proof`; this module takes already-authenticated readings and
 * checks what signatures cannot: counters that only go up, time that only goes forward, and a delivery rate the
 * device's declared capacity can produce. Rate checks use exact bigint arithmetic, so limits are exact.
 * Nothing here throws for bad data: every data error becomes a `Rejected` result with a reason.
 */
import { FaultKind } from "../../sdk/enums";
import { rejected, verified, type VerifyResult } from "./result";

/** Tunable rules of the energy verifier; `ENERGY_PARAMS` holds the defaults. */
export interface EnergyParams {
  /** Allowed excess over declared capacity, in basis points (500 = 5%: meter accuracy, short peaks). */
  rateToleranceBps: number;
  /** A reading may be stamped at most this many seconds after `now` (meter clock drift). */
  clockSkewS: number;
}

export const ENERGY_PARAMS: Readonly<EnergyParams> = Object.freeze({
  rateToleranceBps: 500,
  clockSkewS: 120,
});

/** One signed meter reading: the cumulative counter at a time. */
export interface MeterReading {
  /** Unix seconds (integer). */
  at: number;
  /** Cumulative energy delivered since the meter's start, Wh. */
  whCumulative: bigint;
}

const isUnixSeconds = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const isCounter = (x: unknown): x is bigint => typeof x === "bigint" && x >= 0n;

/** Largest Wh delivery a capacity of `capacityKw` allows over `elapsedS` seconds with the tolerance (floored). */
export function maxDeliveryWh(capacityKw: number, elapsedS: number, params: Readonly<EnergyParams> = ENERGY_PARAMS): bigint {
  return (capacityMilliwatts(capacityKw) * BigInt(elapsedS) * BigInt(10_000 + Math.round(params.rateToleranceBps))) /
    (3_600n * 1_000n * 10_000n);
}

const capacityMilliwatts = (capacityKw: number): bigint => BigInt(Math.round(capacityKw * 1_000_000));

/**
 * Checks a meter's readings for one epoch (sorted by time), against `previous`, the last accepted reading before the
 * epoch (null for a new meter: then the first reading is only the baseline). Rules, in order:
 * 1. now finite; capacityKw finite and > 0; at least one reading                          -> else rejected, no fault
 * 2. each reading (and previous): `at` a non-negative integer, counter a non-negative bigint -> else rejected, no fault
 * 3. each reading's `at` <= now + clockSkewS                                               -> else rejected, no fault
 * 4. `at` strictly increasing (from previous on)                                           -> else rejected, no fault
 * 5. counters never decrease                                                               -> else InvalidProof
 * 6. each step: delta Wh <= capacityKw x elapsed h x (1 + tolerance), exact:
 *    deltaWh x 3600 x 1000 x 10000 <= capacity_mW x elapsed_s x (10000 + toleranceBps)     -> else InvalidProof
 * Work units: Wh delivered in the epoch = last counter - (previous ?? first) counter. Quality: 1 (the counter is
 * the measure; nothing about a plausible reading makes it better or worse).
 */
export function verifyReadings(
  readings: readonly MeterReading[],
  previous: MeterReading | null,
  capacityKw: number,
  now: number,
  params: Readonly<EnergyParams> = ENERGY_PARAMS,
): VerifyResult {
  if (typeof now !== "number" || !Number.isFinite(now)) return rejected("now is not a finite number");
  if (typeof capacityKw !== "number" || !Number.isFinite(capacityKw) || capacityKw <= 0) {
    return rejected(`invalid capacity ${capacityKw} kW`);
  }
  if (!Array.isArray(readings) || readings.length === 0) return rejected("no readings");

  const chain: { label: string; r: MeterReading }[] = [
    ...(previous === null ? [] : [{ label: "previous reading", r: previous }]),
    ...readings.map((r, i) => ({ label: `reading ${i}`, r })),
  ];
  for (const { label, r } of chain) {
    if (!isUnixSeconds(r.at)) return rejected(`${label}: timestamp ${String(r.at)} is not unix seconds`);
    if (!isCounter(r.whCumulative)) return rejected(`${label}: counter is not a non-negative bigint`);
  }
  for (const [i, r] of readings.entries()) {
    if (r.at > now + params.clockSkewS) {
      return rejected(`reading ${i}: timestamp ${r.at} in the future (now ${now}, skew ${params.clockSkewS} s)`);
    }
  }

  const capacityMw = capacityMilliwatts(capacityKw);
  for (let k = 1; k < chain.length; k++) {
    const { label, r } = chain[k];
    const prev = chain[k - 1].r;
    if (r.at <= prev.at) return rejected(`${label}: timestamp ${r.at} not after ${prev.at}`);
    if (r.whCumulative < prev.whCumulative) {
      return rejected(`${label}: counter decreased ${prev.whCumulative} -> ${r.whCumulative} Wh`, FaultKind.InvalidProof);
    }
    const deltaWh = r.whCumulative - prev.whCumulative;
    const elapsedS = BigInt(r.at - prev.at);
    if (deltaWh * 3_600n * 1_000n * 10_000n > capacityMw * elapsedS * BigInt(10_000 + Math.round(params.rateToleranceBps))) {
      return rejected(
        `${label}: implausible rate: ${deltaWh} Wh in ${elapsedS} s exceeds ${capacityKw} kW + ${params.rateToleranceBps} bps`,
        FaultKind.InvalidProof,
      );
    }
  }

  const first = chain[0].r.whCumulative;
  const last = chain[chain.length - 1].r.whCumulative;
  return verified(last - first, 1);
}
