import { ethers } from "ethers";

import { aggregateEpoch, type AggregateOutput, type DeviceState, type ProofOutcome } from "../../oracles/aggregate";
import { ProofKind } from "../../oracles/proof";
import { rejected, verified } from "../../oracles/verify/result";
import { FaultKind, ResourceClass } from "../../sdk/enums";

/** A checksummed device address derived from a label. */
export const deviceAddress = (label: string): string => ethers.getAddress(ethers.id(label).slice(0, 42));

/**
 * A real aggregated epoch (rewards and faults trees, verdict file) over `devices` Coverage devices: the first `paid`
 * send a verified proof (rewarded), the next one an invalid proof (InvalidProof and MissedDuty faults), the rest
 * nothing (MissedDuty); plus a Storage device whose class gets no emission (a rewards entry without a leaf) and, when
 * `paid` > 0, a device gone from the chain that keeps its previous cumulative.
 */
export function aggregatedEpoch(epoch: bigint, { devices = 6, paid = 4, salt = "" } = {}): AggregateOutput {
  const coverage = Array.from({ length: devices }, (_, i) => deviceAddress(`leaves:${salt}:${i}`));
  const storage = deviceAddress(`leaves:${salt}:storage`);
  const state = (device: string, resourceClass: ResourceClass): DeviceState => ({
    device,
    operator: deviceAddress("leaves:operator"),
    resourceClass,
    status: "Active",
    capacity: 100n,
  });
  const outcome = (device: string, kind: ProofKind, nonce: bigint, ok: boolean): ProofOutcome => ({
    device,
    kind,
    nonce,
    result: ok ? verified(10n * (nonce + 1n)) : rejected("bad", FaultKind.InvalidProof),
    evidence: ethers.id(`evidence:${device}:${nonce}`),
  });
  const outcomes = coverage
    .slice(0, paid + 1)
    .map((d, i) => outcome(d, ProofKind.CoverageBeacon, BigInt(i), i < paid));
  outcomes.push(outcome(storage, ProofKind.StorageChallenge, 99n, true));
  return aggregateEpoch({
    epoch,
    devices: [...coverage.map((d) => state(d, ResourceClass.Coverage)), state(storage, ResourceClass.Storage)],
    outcomes,
    emission: 10n ** 21n + 7n,
    classSplitBps: [10_000, 0, 0, 0, 0, 0],
    previous: paid > 0 ? { [deviceAddress(`leaves:${salt}:gone`)]: 5n * 10n ** 18n } : {},
    leases: [],
    previousLeases: new Map(),
    slaBreachEpochs: 3,
  });
}
