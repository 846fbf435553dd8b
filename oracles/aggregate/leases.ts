/**
 * Lease delivery (oracles/aggregate/README.md "Leases"): per device and per lease, the fraction of the epoch's duty
 * delivered in basis points, the cumulative (delivered, breaches) leaves of the leases tree the Marketplace settles
 * against, and the ServiceLevelBreach faults of leases whose breaches reach a multiple of `slaBreachEpochs`.
 * Pure and deterministic: the output does not depend on the order of the leases, their devices or the outcomes.
 */
import { toBeHex, zeroPadValue, ZeroHash } from "ethers";

import { DeviceStatus, FaultKind, type ResourceClass } from "../../sdk/enums";
import { buildLeasesTree } from "../../sdk/trees";
import { KIND_CLASSES, ProofKind } from "../proof";
import { AggregateInputError } from "./errors";
import { BPS, PPM, qualityPpm } from "./score";
import type { LeaseCumulative, LeaseDelivery, LeaseState, ProofOutcome } from "./types";

/** Most devices a lease binds (`Marketplace.MAX_LEASE_DEVICES`). */
export const MAX_LEASE_DEVICES = 8;

/** What the lease rules read of a device's chain state. */
export interface LeaseDevice {
  resourceClass: ResourceClass;
  status: DeviceStatus;
  capacity: bigint;
}

export interface LeaseDeliveryInput {
  epoch: bigint;
  leases: readonly LeaseState[];
  previousLeases: ReadonlyMap<bigint, LeaseCumulative>;
  slaBreachEpochs: number;
  /** Chain state by checksummed address. */
  devices: ReadonlyMap<string, LeaseDevice>;
  /** Deduplicated outcomes with checksummed devices (any order). */
  outcomes: readonly ProofOutcome[];
  /** Checksums an address (throws AggregateInputError on a bad one). */
  address: (value: string, what: string) => string;
}

export interface LeaseDeliveryResult {
  /** Listed leases sorted by lease id, each with its leaf and proof. */
  leases: LeaseDelivery[];
  /** `ZeroHash` when no lease is listed. */
  leasesRoot: string;
  /** ServiceLevelBreach faults, one per device (the lowest lease id's evidence), sorted by device. */
  faults: { device: string; kind: FaultKind; evidence: string }[];
}

/** `bytes32(leaseId)`: the evidence of a ServiceLevelBreach fault. */
export function serviceLevelEvidence(leaseId: bigint): string {
  return zeroPadValue(toBeHex(leaseId), 32);
}

/**
 * A device's delivered basis points for the epoch: 0 unless it is Active, has a verified Heartbeat and at least one
 * outcome of a non-Heartbeat kind its class may send; then floor(sum of qualityPpm over the verified ones x 10 000 /
 * (n x 10^6)), n = the number of those outcomes, verified or rejected.
 */
export function deviceDeliveredBps(device: LeaseDevice | undefined, outcomes: readonly ProofOutcome[]): number {
  if (device === undefined || device.status !== DeviceStatus.Active) return 0;
  let heartbeat = false;
  let n = 0n;
  let ppm = 0n;
  for (const o of outcomes) {
    if (o.kind === ProofKind.Heartbeat) {
      if (o.result.ok) heartbeat = true;
      continue;
    }
    if (!KIND_CLASSES[o.kind].includes(device.resourceClass)) continue;
    n += 1n;
    if (o.result.ok) ppm += qualityPpm(o.result.quality);
  }
  if (!heartbeat || n === 0n) return 0;
  return Number((ppm * BPS) / (n * PPM));
}

/** The leases' delivery for the epoch (see the module comment). @throws AggregateInputError on inconsistent leases. */
export function leaseDelivery(input: LeaseDeliveryInput): LeaseDeliveryResult {
  const { epoch, devices, address } = input;
  const K = input.slaBreachEpochs;
  if (!Number.isSafeInteger(K) || K < 1) throw new AggregateInputError("slaBreachEpochs must be an integer >= 1", { details: { slaBreachEpochs: K } });
  const leases = normaliseLeases(input.leases, address);
  const previous = normalisePreviousLeases(input.previousLeases);

  const listed = leases.filter((l) => l.startEpoch <= epoch);
  // Outcomes of the listed leases' devices only (leases are few; an epoch has millions of outcomes).
  const wanted = new Set(listed.filter((l) => epoch <= l.endEpoch).flatMap((l) => l.devices));
  const byDevice = new Map<string, ProofOutcome[]>();
  if (wanted.size > 0) {
    for (const o of input.outcomes) {
      if (!wanted.has(o.device)) continue;
      const group = byDevice.get(o.device);
      if (group === undefined) byDevice.set(o.device, [o]);
      else group.push(o);
    }
  }
  const bpsOf = new Map<string, number>();
  for (const device of wanted) bpsOf.set(device, deviceDeliveredBps(devices.get(device), byDevice.get(device) ?? []));

  const rows: Omit<LeaseDelivery, "leaf" | "proof">[] = [];
  const faults = new Map<string, { device: string; kind: FaultKind; evidence: string }>();
  for (const lease of listed) {
    const prev = previous.get(lease.leaseId) ?? { delivered: 0n, breaches: 0n };
    if (epoch > lease.endEpoch) {
      rows.push({ leaseId: lease.leaseId, deliveredBps: null, delivered: prev.delivered, breaches: prev.breaches });
      continue;
    }
    let weighted = 0n;
    let capacity = 0n;
    let plain = 0n;
    for (const device of lease.devices) {
      const bps = BigInt(bpsOf.get(device)!);
      const cap = devices.get(device)?.capacity ?? 0n;
      weighted += cap * bps;
      capacity += cap;
      plain += bps;
    }
    const bps = Number(capacity > 0n ? weighted / capacity : plain / BigInt(lease.devices.length));
    const breached = bps < lease.minDeliveryBps;
    const breaches = prev.breaches + (breached ? 1n : 0n);
    rows.push({ leaseId: lease.leaseId, deliveredBps: bps, delivered: prev.delivered + BigInt(bps), breaches });
    if (!breached || breaches % BigInt(K) !== 0n) continue;
    for (const device of lease.devices) {
      const d = devices.get(device);
      if (d === undefined || d.status === DeviceStatus.Removed || d.status === DeviceStatus.None) continue;
      if (bpsOf.get(device)! >= lease.minDeliveryBps || faults.has(device)) continue; // leases in id order: lowest id wins
      faults.set(device, { device, kind: FaultKind.ServiceLevelBreach, evidence: serviceLevelEvidence(lease.leaseId) });
    }
  }

  const tree = rows.length === 0 ? null : buildLeasesTree(rows);
  return {
    leases: rows.map((r, i) => ({ ...r, leaf: tree!.leafHashAt(i), proof: tree!.getProof(i) })),
    leasesRoot: tree?.root ?? ZeroHash,
    faults: [...faults.values()],
  };
}

// ---------------------------------------------------------------------------------------------------------------

interface NormalLease {
  leaseId: bigint;
  devices: string[];
  startEpoch: bigint;
  endEpoch: bigint;
  minDeliveryBps: number;
}

const UINT64 = 1n << 64n;

/** Checked leases with checksummed devices, sorted by lease id. */
function normaliseLeases(leases: readonly LeaseState[], address: LeaseDeliveryInput["address"]): NormalLease[] {
  const seen = new Set<bigint>();
  const out: NormalLease[] = [];
  for (const l of leases) {
    const details = { leaseId: l.leaseId };
    if (typeof l.leaseId !== "bigint" || l.leaseId < 0n || l.leaseId >= 1n << 256n) throw new AggregateInputError("lease id out of uint256 range", { details });
    if (seen.has(l.leaseId)) throw new AggregateInputError("duplicate lease id", { details });
    seen.add(l.leaseId);
    if (!Number.isInteger(l.minDeliveryBps) || l.minDeliveryBps < 0 || l.minDeliveryBps > 10_000) {
      throw new AggregateInputError("lease minDeliveryBps must be an integer in [0, 10000]", { details: { ...details, minDeliveryBps: l.minDeliveryBps } });
    }
    if (l.startEpoch < 0n || l.endEpoch >= UINT64) throw new AggregateInputError("lease epochs out of uint64 range", { details });
    if (l.startEpoch > l.endEpoch) throw new AggregateInputError("lease starts after its end", { details: { ...details, startEpoch: l.startEpoch, endEpoch: l.endEpoch } });
    if (l.devices.length === 0 || l.devices.length > MAX_LEASE_DEVICES) {
      throw new AggregateInputError(`a lease binds 1 to ${MAX_LEASE_DEVICES} devices`, { details: { ...details, devices: l.devices.length } });
    }
    out.push({
      leaseId: l.leaseId,
      devices: l.devices.map((d) => address(d, "lease device")),
      startEpoch: l.startEpoch,
      endEpoch: l.endEpoch,
      minDeliveryBps: l.minDeliveryBps,
    });
  }
  return out.sort((a, b) => (a.leaseId < b.leaseId ? -1 : a.leaseId > b.leaseId ? 1 : 0));
}

function normalisePreviousLeases(previous: ReadonlyMap<bigint, LeaseCumulative>): Map<bigint, LeaseCumulative> {
  const out = new Map<bigint, LeaseCumulative>();
  for (const [leaseId, c] of previous) {
    if (c.delivered < 0n || c.breaches < 0n) {
      throw new AggregateInputError("negative previous lease cumulative", { details: { leaseId, delivered: c.delivered, breaches: c.breaches } });
    }
    out.set(leaseId, c);
  }
  return out;
}
