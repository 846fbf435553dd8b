/**
 * The fleet simulator: thousands of devices, honest and dishonest in chosen proportions, deterministic from a seed.
 *
 * - Keys: device i's key is keccak256("<seed>/device/<i>"); a forger's second key keccak256("<seed>/forger/<i>").
 * - Classes: device i has `classes[i % classes.length]`.
 * - Behaviours: counts from the proportions by largest remainder (they sum to `count`; ties go to the earlier
 *   behaviour in `BEHAVIOURS`), assigned to devices in a seeded shuffled order.
 * - Places: uniform in a disc around `center` whose radius grows with sqrt(count) (about 0.6 km² per device), so the
 *   coverage density stays similar at any fleet size. A spoofer asserts a cell SPOOF_OFFSET_M away in a seeded
 *   direction while staying where it is.
 * - Storage: `STORAGE_POOL_CHUNKS` distinct 4 KiB chunks repeated to the declared capacity (`periodicStore`).
 * - Radio: every coverage device that sends this epoch beacons; each sending coverage device witnesses the nearest
 *   `MAX_WITNESSED` beacons whose physical distance is in [MIN_LINK_M, MAX_LINK_M].
 */
import { ethers, type BaseWallet, type TypedDataDomain } from "ethers";

import { ResourceClass } from "../../sdk/enums";
import { proofDomain, type ProofRecord } from "../proof";
import { COVERAGE_PARAMS } from "../verify/coverage";
import type { EpochWindow } from "../verify/mapping";
import { BEHAVIOURS, behaviourProofs, isOnline, type Behaviour } from "./behaviours";
import { periodicStore, pseudoRandomChunks } from "./chunks";
import { Device, walletFromSeed, type HeardBeacon } from "./device";
import { MAX_LINK_M, cellCenter, distanceM, offset, toCell, unitHash, type LatLng } from "./radio";

export const STORAGE_POOL_CHUNKS = 64;
export const CHUNKS_PER_GIB = 262_144;
/** Beacons a coverage device reports per epoch at most. */
export const MAX_WITNESSED = 8;
/** Witnesses closer than the verifier's minimum earn nothing, so devices do not report them. */
export const MIN_LINK_M = COVERAGE_PARAMS.minWitnessDistanceM + 50;
/** How far from its real place a spoofer claims to be. */
export const SPOOF_OFFSET_M = 80_000;
/** Default centre of the simulated area (San Francisco). */
export const DEFAULT_CENTER: LatLng = { lat: 37.7749, lng: -122.4194 };
/** Default proof domain: Hardhat's chain id and a placeholder registry; pass the deployed one in real runs. */
export const DEFAULT_DOMAIN: TypedDataDomain = proofDomain(31337n, ethers.ZeroAddress);

/** Default capacity per class: GiB for STORAGE, kW for ENERGY, 1 elsewhere. */
const DEFAULT_CAPACITY: Readonly<Record<ResourceClass, number>> = {
  [ResourceClass.Coverage]: 1,
  [ResourceClass.Storage]: 1,
  [ResourceClass.ComputeGpu]: 1,
  [ResourceClass.ComputeCpu]: 1,
  [ResourceClass.Mapping]: 1,
  [ResourceClass.Energy]: 5,
};

export type Proportions = Partial<Record<Behaviour, number>>;

export interface FleetOptions {
  count: number;
  seed: string;
  /** Non-negative weights per behaviour (normalised; missing = 0). */
  proportions: Proportions;
  /** Classes assigned round-robin; defaults to all classes. */
  classes?: readonly ResourceClass[];
  domain?: TypedDataDomain;
  center?: LatLng;
  /** Capacity per class (GiB for STORAGE, kW for ENERGY). */
  capacity?: Partial<Record<ResourceClass, number>>;
}

export interface FleetMember {
  index: number;
  device: Device;
  behaviour: Behaviour;
  /** The other key a forging device signs with. */
  forger?: BaseWallet;
}

export interface Fleet {
  readonly seed: string;
  readonly domain: TypedDataDomain;
  readonly members: readonly FleetMember[];
}

/** Behaviour counts for `count` devices (largest remainder; rules in the module comment). */
export function behaviourCounts(count: number, proportions: Proportions): Record<Behaviour, number> {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError("count must be a non-negative integer");
  const weights = BEHAVIOURS.map((b) => proportions[b] ?? 0);
  if (weights.some((w) => !Number.isFinite(w) || w < 0)) throw new RangeError("proportions must be finite and >= 0");
  const total = weights.reduce((s, w) => s + w, 0);
  if (total <= 0) throw new RangeError("proportions must not all be zero");
  const exact = weights.map((w) => (w / total) * count);
  const counts = exact.map(Math.floor);
  let left = count - counts.reduce((s, c) => s + c, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k++, left--) counts[order[k % order.length].i]++;
  return Object.fromEntries(BEHAVIOURS.map((b, i) => [b, counts[i]])) as Record<Behaviour, number>;
}

/** Creates a deterministic fleet (rules in the module comment). */
export function createFleet(options: FleetOptions): Fleet {
  const { count, seed } = options;
  const classes = options.classes ?? Object.values(ResourceClass);
  if (classes.length === 0) throw new RangeError("classes must not be empty");
  const center = options.center ?? DEFAULT_CENTER;
  const counts = behaviourCounts(count, options.proportions);
  const behaviours: Behaviour[] = BEHAVIOURS.flatMap((b) => new Array<Behaviour>(counts[b]).fill(b));
  const order = Array.from({ length: count }, (_, i) => ({ i, k: ethers.id(`${seed}/order/${i}`) })).sort((a, b) =>
    a.k < b.k ? -1 : a.k > b.k ? 1 : 0,
  );
  const behaviourOf = new Array<Behaviour>(count);
  order.forEach(({ i }, rank) => (behaviourOf[i] = behaviours[rank]));
  const radiusM = Math.max(2_000, 440 * Math.sqrt(count));

  const members: FleetMember[] = [];
  for (let i = 0; i < count; i++) {
    const behaviour = behaviourOf[i];
    const resourceClass = classes[i % classes.length];
    const capacity = options.capacity?.[resourceClass] ?? DEFAULT_CAPACITY[resourceClass];
    const wallet = walletFromSeed(seed, "device", i);
    const r = radiusM * Math.sqrt(unitHash(seed, i, "r"));
    const physical = offset(center, r, unitHash(seed, i, "theta") * 2 * Math.PI);
    const claimed =
      behaviour === "spoofing" ? offset(physical, SPOOF_OFFSET_M, unitHash(seed, i, "spoof") * 2 * Math.PI) : physical;
    const storage =
      resourceClass === ResourceClass.Storage
        ? periodicStore(
            pseudoRandomChunks(`${seed}/data/${i}`, STORAGE_POOL_CHUNKS),
            Math.max(1, Math.round(capacity)) * CHUNKS_PER_GIB,
          )
        : undefined;
    const device = new Device({
      wallet,
      resourceClass,
      capacity,
      location: toCell(claimed),
      physicalLocation: toCell(physical),
      storage,
    });
    members.push({
      index: i,
      device,
      behaviour,
      ...(behaviour === "forging" ? { forger: walletFromSeed(seed, "forger", i) } : {}),
    });
  }
  return { seed, domain: options.domain ?? DEFAULT_DOMAIN, members };
}

/** Every proof the fleet sends in `epoch` (members in index order, each device's proofs in nonce order). */
export function fleetProofs(
  fleet: Fleet,
  epoch: bigint | number,
  epochSeed: string,
  window: EpochWindow,
): ProofRecord[] {
  const e = BigInt(epoch);
  const online = fleet.members.filter((m) => isOnline(m.behaviour, m.device.address, e));
  const heard = hearing(online, epochSeed, e);
  const out: ProofRecord[] = [];
  for (const m of online) {
    const ctx = { epoch: e, seed: epochSeed, window, domain: fleet.domain, heard: heard.get(m.index) ?? [] };
    out.push(...behaviourProofs(m.device, m.behaviour, ctx, m.forger));
  }
  return out;
}

/** Beacons each online coverage device hears (rules in the module comment). */
function hearing(online: readonly FleetMember[], seed: string, epoch: bigint): Map<number, HeardBeacon[]> {
  const radios = online
    .filter((m) => m.device.resourceClass === ResourceClass.Coverage)
    .map((m) => ({ m, at: cellCenter(m.device.physicalLocation), beaconId: m.device.beaconId(seed, epoch) }));
  const out = new Map<number, HeardBeacon[]>();
  for (const w of radios) {
    const near: { d: number; b: HeardBeacon }[] = [];
    for (const b of radios) {
      if (b === w) continue;
      const d = distanceM(w.at, b.at);
      if (d < MIN_LINK_M || d > MAX_LINK_M) continue;
      near.push({
        d,
        b: {
          beaconDevice: b.m.device.address,
          beaconId: b.beaconId,
          cell: b.m.device.physicalLocation,
          txPowerDbm: b.m.device.txPowerDbm,
        },
      });
    }
    near.sort((x, y) => x.d - y.d || (x.b.beaconDevice < y.b.beaconDevice ? -1 : 1));
    out.set(
      w.m.index,
      near.slice(0, MAX_WITNESSED).map((n) => n.b),
    );
  }
  return out;
}
