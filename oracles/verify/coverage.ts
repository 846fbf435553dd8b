/**
 * COVERAGE class (Helium-style proof of coverage): pure checks of witness reports for one beacon.
 *
 * A device (the beaconer) sends a radio beacon from its asserted H3 cell at its asserted tx power; other devices
 * (witnesses) report hearing it with an RSSI and SNR from their own asserted cells. Physics bounds what a witness can
 * hear: no signal arrives stronger than free space allows, so an RSSI above `tx - FSPL(d) + margin` means at least one
 * of the two asserted locations is false.
 *
 * Signatures and replay protection are checked by `oracles/proof`; these functions take already-authenticated data.
 * Nothing here throws for bad data: every data error becomes a `Rejected` result with a reason.
 */
import { cellToLatLng, greatCircleDistance, isValidCell } from "h3-js";

import { FaultKind } from "../../sdk/enums";
import { rejected, verified, type VerifyResult } from "./result";

/** Tunable rules of the coverage verifier; `COVERAGE_PARAMS` holds the defaults. */
export interface CoverageParams {
  /** A witness closer than this (metres between cell centres) is likely co-located gaming: rejected, no fault. */
  minWitnessDistanceM: number;
  /** A witness farther than this is beyond any plausible LoRa link: LocationSpoofing. */
  maxWitnessDistanceM: number;
  /** Carrier frequency for the free-space path-loss bound. */
  frequencyMHz: number;
  /** Allowance above the free-space bound (antenna gains, calibration error) before an RSSI is impossible. */
  rssiMarginDb: number;
  /** Below this the radio could not have decoded the packet: rejected, no fault. */
  minRssiDbm: number;
  /** Range of SNR a LoRa radio can report; outside it the report is malformed: rejected, no fault. */
  minSnrDb: number;
  maxSnrDb: number;
  /** Range of tx power (EIRP) a beaconer may assert. */
  minTxPowerDbm: number;
  maxTxPowerDbm: number;
  /** At most this many valid witnesses count per beacon (Helium's witness limit). */
  maxWitnesses: number;
  /** This many valid witnesses, all in one cell, evidence a spoofing cluster. */
  minWitnessesForClusterCheck: number;
  /** This many physically impossible witnesses (and at least half of all) evidence the beaconer's location is false. */
  minImpossibleWitnesses: number;
}

export const COVERAGE_PARAMS: Readonly<CoverageParams> = Object.freeze({
  minWitnessDistanceM: 300,
  maxWitnessDistanceM: 50_000,
  frequencyMHz: 915,
  rssiMarginDb: 8,
  minRssiDbm: -140,
  minSnrDb: -20,
  maxSnrDb: 15,
  minTxPowerDbm: 0,
  maxTxPowerDbm: 36,
  maxWitnesses: 10,
  minWitnessesForClusterCheck: 3,
  minImpossibleWitnesses: 2,
});

/** One witness report of one beacon, with the beaconer's asserted data. */
export interface WitnessInput {
  /** Beaconer's asserted H3 cell (hex string). */
  beaconerCell: string;
  /** Beaconer's asserted tx power (EIRP), dBm. */
  txPowerDbm: number;
  /** Witness's asserted H3 cell (hex string). */
  witnessCell: string;
  /** Received signal strength reported by the witness, dBm. */
  rssiDbm: number;
  /** Signal-to-noise ratio reported by the witness, dB. */
  snrDb: number;
}

/** A beacon: who sent it, from where, at what power. */
export interface Beacon {
  beaconer: string;
  cell: string;
  txPowerDbm: number;
}

/** One witness of a beacon as the beacon's scorer sees it. */
export interface BeaconWitness {
  witness: string;
  cell: string;
  rssiDbm: number;
  snrDb: number;
}

const isFiniteNumber = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const isCell = (x: unknown): x is string => typeof x === "string" && isValidCell(x);

/** Great-circle distance in metres between the centres of two valid H3 cells. */
export function cellDistanceM(a: string, b: string): number {
  return greatCircleDistance(cellToLatLng(a), cellToLatLng(b), "m");
}

/** Free-space path loss in dB at `distanceM` metres: 20 log10(d_km) + 20 log10(f_MHz) + 32.44. */
export function freeSpacePathLossDb(distanceM: number, frequencyMHz: number): number {
  return 20 * Math.log10(distanceM / 1000) + 20 * Math.log10(frequencyMHz) + 32.44;
}

/** The strongest RSSI a witness at `distanceM` can plausibly report: tx - FSPL + margin. */
export function maxPlausibleRssiDbm(
  distanceM: number,
  txPowerDbm: number,
  params: Readonly<CoverageParams> = COVERAGE_PARAMS,
): number {
  return txPowerDbm - freeSpacePathLossDb(distanceM, params.frequencyMHz) + params.rssiMarginDb;
}

/**
 * Checks one witness report. Rules, in order:
 * 1. both cells valid H3 cells; tx power, RSSI, SNR finite; tx power within [min, max]  -> else rejected, no fault
 * 2. distance between cell centres >= minWitnessDistanceM                               -> else rejected, no fault
 * 3. distance <= maxWitnessDistanceM                                                    -> else LocationSpoofing
 * 4. RSSI >= minRssiDbm (decodable)                                                     -> else rejected, no fault
 * 5. RSSI <= tx - FSPL(d) + rssiMarginDb                                                -> else LocationSpoofing
 * 6. SNR within [minSnrDb, maxSnrDb]                                                    -> else rejected, no fault
 * Quality: 1 while the RSSI is at or below the free-space bound; inside the margin it falls linearly to 0.5 at the
 * limit. Work units: 1 (one valid witness).
 */
export function verifyWitness(input: WitnessInput, params: Readonly<CoverageParams> = COVERAGE_PARAMS): VerifyResult {
  const { beaconerCell, txPowerDbm, witnessCell, rssiDbm, snrDb } = input;
  if (!isCell(beaconerCell)) return rejected(`invalid beaconer cell: ${String(beaconerCell)}`);
  if (!isCell(witnessCell)) return rejected(`invalid witness cell: ${String(witnessCell)}`);
  if (!isFiniteNumber(txPowerDbm)) return rejected("tx power is not a finite number");
  if (!isFiniteNumber(rssiDbm)) return rejected("RSSI is not a finite number");
  if (!isFiniteNumber(snrDb)) return rejected("SNR is not a finite number");
  if (txPowerDbm < params.minTxPowerDbm || txPowerDbm > params.maxTxPowerDbm) {
    return rejected(`tx power ${txPowerDbm} dBm outside [${params.minTxPowerDbm}, ${params.maxTxPowerDbm}]`);
  }

  const distanceM = cellDistanceM(beaconerCell, witnessCell);
  if (distanceM < params.minWitnessDistanceM) {
    return rejected(`witness too close: ${distanceM.toFixed(0)} m < ${params.minWitnessDistanceM} m`);
  }
  if (distanceM > params.maxWitnessDistanceM) {
    return rejected(
      `witness out of range: ${distanceM.toFixed(0)} m > ${params.maxWitnessDistanceM} m`,
      FaultKind.LocationSpoofing,
    );
  }
  if (rssiDbm < params.minRssiDbm) return rejected(`RSSI ${rssiDbm} dBm below sensitivity ${params.minRssiDbm} dBm`);

  const maxRssi = maxPlausibleRssiDbm(distanceM, txPowerDbm, params);
  if (rssiDbm > maxRssi) {
    return rejected(
      `RSSI ${rssiDbm} dBm stronger than free space allows at ${distanceM.toFixed(0)} m (max ${maxRssi.toFixed(1)} dBm)`,
      FaultKind.LocationSpoofing,
    );
  }
  if (snrDb < params.minSnrDb || snrDb > params.maxSnrDb) {
    return rejected(`SNR ${snrDb} dB outside [${params.minSnrDb}, ${params.maxSnrDb}]`);
  }

  const excessDb = rssiDbm - (maxRssi - params.rssiMarginDb);
  const quality = excessDb <= 0 || params.rssiMarginDb <= 0 ? 1 : 1 - (0.5 * excessDb) / params.rssiMarginDb;
  return verified(1n, quality);
}

/**
 * Scores one beacon from its witnesses. Rules, in order:
 * 1. beacon cell valid, at least one witness                                       -> else rejected, no fault
 * 2. witnesses deduplicated by id (first report counts); self-witnessing ignored
 * 3. each witness checked with `verifyWitness`
 * 4. >= minImpossibleWitnesses witnesses rejected for LocationSpoofing, and they are at least half of the distinct
 *    witnesses -> the common factor is the beaconer's asserted location: LocationSpoofing against the beaconer.
 *    (One lying witness alone only loses its own witness credit.)
 * 5. >= minWitnessesForClusterCheck valid witnesses, all in one cell -> LocationSpoofing (a co-located gaming ring)
 * 6. no valid witness -> rejected, no fault
 * Work units: valid witnesses, capped at maxWitnesses (the best by quality, ties by id, are kept).
 * Quality: mean witness quality x diversity, diversity = distinct cells / kept witnesses (1 when every witness sits
 * in its own cell, 1/n when n witnesses share one).
 */
export function scoreBeacon(
  beacon: Beacon,
  witnesses: readonly BeaconWitness[],
  params: Readonly<CoverageParams> = COVERAGE_PARAMS,
): VerifyResult {
  if (!isCell(beacon.cell)) return rejected(`invalid beacon cell: ${String(beacon.cell)}`);
  if (!Array.isArray(witnesses) || witnesses.length === 0) return rejected("beacon has no witnesses");

  const seen = new Set<string>();
  const checked: { witness: BeaconWitness; result: VerifyResult }[] = [];
  for (const w of witnesses) {
    if (w.witness === beacon.beaconer || seen.has(w.witness)) continue;
    seen.add(w.witness);
    const result = verifyWitness(
      { beaconerCell: beacon.cell, txPowerDbm: beacon.txPowerDbm, witnessCell: w.cell, rssiDbm: w.rssiDbm, snrDb: w.snrDb },
      params,
    );
    checked.push({ witness: w, result });
  }
  if (checked.length === 0) return rejected("beacon has no witnesses other than the beaconer");

  const impossible = checked.filter((c) => !c.result.ok && c.result.fault === FaultKind.LocationSpoofing).length;
  if (impossible >= params.minImpossibleWitnesses && impossible * 2 >= checked.length) {
    return rejected(
      `impossible geometry: ${impossible} of ${checked.length} witnesses report physically impossible signals`,
      FaultKind.LocationSpoofing,
    );
  }

  const valid = checked
    .flatMap((c) => (c.result.ok ? [{ id: c.witness.witness, cell: c.witness.cell, quality: c.result.quality }] : []))
    .sort((a, b) => b.quality - a.quality || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (valid.length >= params.minWitnessesForClusterCheck && new Set(valid.map((v) => v.cell)).size === 1) {
    return rejected(`all ${valid.length} witnesses assert the same cell ${valid[0].cell}`, FaultKind.LocationSpoofing);
  }
  if (valid.length === 0) return rejected(`no valid witnesses (${checked.length} rejected)`);

  const kept = valid.slice(0, Math.max(0, params.maxWitnesses));
  if (kept.length === 0) return rejected("witness limit is zero");
  const meanQuality = kept.reduce((s, v) => s + v.quality, 0) / kept.length;
  const diversity = new Set(kept.map((v) => v.cell)).size / kept.length;
  return verified(BigInt(kept.length), meanQuality * diversity);
}
