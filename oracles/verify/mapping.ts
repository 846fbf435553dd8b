/**
 * MAPPING class (Hivemapper-style): pure checks of one device's track of captures in one epoch.
 *
 * Signatures over each capture are checked by `oracles/proof`; this module takes already-authenticated captures and
 * checks what signatures cannot: freshness, valid coordinates, a physically drivable track and unique images.
 * Nothing here throws for bad data: every data error becomes a `Rejected` result with a reason.
 */
import { greatCircleDistance, latLngToCell } from "h3-js";

import { FaultKind } from "../../sdk/enums";
import { rejected, verified, type VerifyResult } from "./result";

/** Tunable rules of the mapping verifier; `MAPPING_PARAMS` holds the defaults. */
export interface MappingParams {
  /** A capture may be stamped at most this many seconds after `now` (device clock drift). */
  clockSkewS: number;
  /** Fastest plausible ground speed between consecutive captures, m/s (60 m/s = 216 km/h). */
  maxSpeedMps: number;
  /** H3 resolution of the coverage cells that count as work (res 9: ~0.1 km^2, edge ~174 m). */
  coverageResolution: number;
}

export const MAPPING_PARAMS: Readonly<MappingParams> = Object.freeze({
  clockSkewS: 120,
  maxSpeedMps: 60,
  coverageResolution: 9,
});

/** One signed, time-stamped, located capture. */
export interface Capture {
  /** Hash of the image (hex string); compared case-insensitively. */
  imageHash: string;
  /** Unix seconds. */
  capturedAt: number;
  lat: number;
  lng: number;
}

/** The epoch a track belongs to: captures must satisfy start <= capturedAt < end (unix seconds). */
export interface EpochWindow {
  start: number;
  end: number;
}

const isFiniteNumber = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/** Great-circle distance in metres between two points in degrees. */
export function distanceM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  return greatCircleDistance([a.lat, a.lng], [b.lat, b.lng], "m");
}

/**
 * Checks a device's captures for one epoch (sorted by capturedAt). Rules, in order:
 * 1. now and window finite with start < end; at least one capture                     -> else rejected, no fault
 * 2. each capture: non-empty imageHash, finite capturedAt, lat in [-90, 90], lng in [-180, 180]
 *                                                                                     -> else rejected, no fault
 * 3. each capture fresh: start <= capturedAt < end, and capturedAt <= now + clockSkewS -> else rejected, no fault
 * 4. sorted: capturedAt never decreases                                               -> else rejected, no fault
 * 5. no imageHash twice                                                               -> else InvalidProof
 * 6. consecutive captures: distance / max(dt, 1 s) <= maxSpeedMps                     -> else LocationSpoofing
 *    (timestamps are whole seconds, so a same-second pair may be up to maxSpeedMps metres apart)
 * Work units: distinct H3 cells at `coverageResolution` (res 9, ~0.1 km^2) the captures fall in -- coverage, not
 * image count, so a parked device filming one spot earns one unit however many images it takes.
 * Quality: track regularity, 1 / (1 + cv) with cv the coefficient of variation of the intervals between captures
 * (1 for a steady cadence; 1 with fewer than 3 captures or a zero mean interval, where cadence is undefined).
 */
export function verifyTrack(
  captures: readonly Capture[],
  now: number,
  window: EpochWindow,
  params: Readonly<MappingParams> = MAPPING_PARAMS,
): VerifyResult {
  if (!isFiniteNumber(now)) return rejected("now is not a finite number");
  if (!isFiniteNumber(window.start) || !isFiniteNumber(window.end) || window.start >= window.end) {
    return rejected(`invalid epoch window [${window.start}, ${window.end})`);
  }
  if (!Array.isArray(captures) || captures.length === 0) return rejected("track has no captures");

  for (const [i, c] of captures.entries()) {
    if (typeof c.imageHash !== "string" || c.imageHash.length === 0) return rejected(`capture ${i}: missing imageHash`);
    if (!isFiniteNumber(c.capturedAt)) return rejected(`capture ${i}: capturedAt is not a finite number`);
    if (!isFiniteNumber(c.lat) || c.lat < -90 || c.lat > 90) return rejected(`capture ${i}: invalid latitude ${c.lat}`);
    if (!isFiniteNumber(c.lng) || c.lng < -180 || c.lng > 180) {
      return rejected(`capture ${i}: invalid longitude ${c.lng}`);
    }
    if (c.capturedAt < window.start || c.capturedAt >= window.end) {
      return rejected(`capture ${i}: capturedAt ${c.capturedAt} outside epoch [${window.start}, ${window.end})`);
    }
    if (c.capturedAt > now + params.clockSkewS) {
      return rejected(`capture ${i}: capturedAt ${c.capturedAt} in the future (now ${now}, skew ${params.clockSkewS} s)`);
    }
    if (i > 0 && c.capturedAt < captures[i - 1].capturedAt) return rejected(`capture ${i}: track not sorted by time`);
  }

  const hashes = new Set<string>();
  for (const [i, c] of captures.entries()) {
    const h = c.imageHash.toLowerCase();
    if (hashes.has(h)) return rejected(`capture ${i}: duplicate imageHash ${c.imageHash}`, FaultKind.InvalidProof);
    hashes.add(h);
  }

  for (let i = 1; i < captures.length; i++) {
    const d = distanceM(captures[i - 1], captures[i]);
    const dt = Math.max(captures[i].capturedAt - captures[i - 1].capturedAt, 1);
    const speed = d / dt;
    if (speed > params.maxSpeedMps) {
      return rejected(
        `teleport: captures ${i - 1}->${i} imply ${speed.toFixed(1)} m/s > ${params.maxSpeedMps} m/s`,
        FaultKind.LocationSpoofing,
      );
    }
  }

  const cells = new Set(captures.map((c) => latLngToCell(c.lat, c.lng, params.coverageResolution)));
  return verified(BigInt(cells.size), regularity(captures));
}

function regularity(captures: readonly Capture[]): number {
  if (captures.length < 3) return 1;
  const gaps = captures.slice(1).map((c, i) => c.capturedAt - captures[i].capturedAt);
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  if (mean <= 0) return 1;
  const variance = gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length;
  return 1 / (1 + Math.sqrt(variance) / mean);
}
