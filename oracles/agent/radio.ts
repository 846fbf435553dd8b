/**
 * The simulator's radio and motion model (pure). A witness hears a beacon with the free-space path loss at 915 MHz
 * (`freeSpacePathLossDb` of the coverage verifier), a fixed extra loss and a small deterministic noise, so an honest
 * report always lies below the verifier's free-space bound (extra loss 4 dB > noise 2 dB).
 */
import { ethers } from "ethers";
import { cellToLatLng, greatCircleDistance, latLngToCell } from "h3-js";

import { COVERAGE_PARAMS, freeSpacePathLossDb } from "../verify/coverage";

/** H3 resolution of device cells (res 12: edge ~9 m, so distances between cell centres are precise). */
export const DEVICE_CELL_RESOLUTION = 12;
/** Extra loss below free space (cables, obstacles), dB. */
export const EXTRA_LOSS_DB = 4;
/** Deterministic noise amplitude, ± dB. */
export const NOISE_DB = 2;
/** Thermal noise floor used for the SNR, dBm. */
export const NOISE_FLOOR_DBM = -120;
/** A LoRa link beyond this is not heard in the simulator (the verifier allows up to 50 km). */
export const MAX_LINK_M = 15_000;

export interface LatLng {
  lat: number;
  lng: number;
}

/** Uniform number in [0, 1) from keccak256 of the tags. */
export function unitHash(...tags: (string | number | bigint)[]): number {
  const h = ethers.keccak256(ethers.toUtf8Bytes(tags.map(String).join("/")));
  return parseInt(h.slice(2, 15), 16) / 2 ** 52;
}

export function cellCenter(cell: string): LatLng {
  const [lat, lng] = cellToLatLng(cell);
  return { lat, lng };
}

export function toCell(p: LatLng): string {
  return latLngToCell(p.lat, p.lng, DEVICE_CELL_RESOLUTION);
}

export function distanceM(a: LatLng, b: LatLng): number {
  return greatCircleDistance([a.lat, a.lng], [b.lat, b.lng], "m");
}

/** The point `distance` metres from `p` along `bearingRad` (flat-earth approximation, fine below ~100 km). */
export function offset(p: LatLng, distance: number, bearingRad: number): LatLng {
  const dLat = (distance * Math.cos(bearingRad)) / 111_320;
  const dLng = (distance * Math.sin(bearingRad)) / (111_320 * Math.cos((p.lat * Math.PI) / 180));
  return { lat: p.lat + dLat, lng: p.lng + dLng };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * What a radio at `to` measures of a beacon sent at `txPowerDbm` from `from` (cells, physical positions):
 * RSSI = tx − FSPL(d) − EXTRA_LOSS_DB + noise, noise in [−NOISE_DB, NOISE_DB] from `noiseTag`; SNR = RSSI − noise
 * floor clamped into the verifier's range. Both rounded to 0.1 dB.
 */
export function radioLink(
  from: string,
  to: string,
  txPowerDbm: number,
  noiseTag: string,
): { rssiDbm: number; snrDb: number } {
  const d = Math.max(distanceM(cellCenter(from), cellCenter(to)), 1);
  const noise = (unitHash(noiseTag) * 2 - 1) * NOISE_DB;
  const rssiDbm = round1(txPowerDbm - freeSpacePathLossDb(d, COVERAGE_PARAMS.frequencyMHz) - EXTRA_LOSS_DB + noise);
  const snr = Math.min(
    Math.max(rssiDbm - NOISE_FLOOR_DBM, COVERAGE_PARAMS.minSnrDb + 0.5),
    COVERAGE_PARAMS.maxSnrDb - 0.5,
  );
  return { rssiDbm, snrDb: round1(snr) };
}
