import { getAddress, keccak256, toUtf8Bytes, ZeroHash } from "ethers";

import { DeviceStatus, FaultKind, ResourceClass } from "../../sdk/enums";
import { buildFaultsTree, buildRewardsTree } from "../../sdk/trees";
import type { EpochVerdict } from "../../sdk/verdict";
import { KIND_CLASSES, type JsonValue } from "../proof";
import { AggregateInputError } from "./errors";
import { sealVerdictFile } from "./file";
import { leaseDelivery } from "./leases";
import { classPot, compareAddress, qualityPpm, shareOf } from "./score";
import type {
  AggregateInput,
  AggregateOutput,
  ClassSummary,
  CumulativeLeaf,
  DeviceReward,
  DeviceStatusInput,
  FaultEntry,
  ProofOutcome,
} from "./types";

/** Version of the verdict file layout (bump on any change of its fields). */
export const VERDICT_FILE_VERSION = 2;

const CLASS_COUNT = Object.keys(ResourceClass).length;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const UPPER_HEX = /[A-F]/;

/**
 * The epoch's verdict: a pure, deterministic function of its input (see oracles/aggregate/README.md for the rules).
 * The output does not depend on the order of `devices`, `outcomes` or `previous`; duplicate outcomes of one proof
 * (same device and nonce, as different oracles may all have seen it) count once.
 *
 * @throws AggregateInputError on inconsistent input (bad split, duplicate device, conflicting duplicate outcomes...).
 */
export function aggregateEpoch(input: AggregateInput): AggregateOutput {
  const { epoch, emission } = input;
  if (epoch < 0n || epoch >= 1n << 64n) throw new AggregateInputError("epoch out of uint64 range", { details: { epoch } });
  if (emission < 0n) throw new AggregateInputError("negative emission", { details: { emission } });
  const split = checkSplit(input.classSplitBps);
  const address = addressNormaliser();
  const devices = indexDevices(input, address);
  const outcomes = dedupeOutcomes(input.outcomes, address);
  const previous = normalisePrevious(input.previous, address);

  // Scores: Active devices only, verified proofs of a kind their class may send.
  const scores = new Map<string, bigint>();
  let totalWorkUnits = 0n;
  for (const o of outcomes) {
    const d = devices.get(o.device);
    if (d === undefined || d.status !== DeviceStatus.Active || !o.result.ok) continue;
    if (!KIND_CLASSES[o.kind].includes(d.resourceClass)) continue;
    if (o.result.workUnits < 0n) throw new AggregateInputError("negative workUnits", { details: { device: o.device } });
    scores.set(o.device, (scores.get(o.device) ?? 0n) + o.result.workUnits * qualityPpm(o.result.quality));
    totalWorkUnits += o.result.workUnits;
  }

  // Class pots and rewards.
  const totals = new Array<bigint>(CLASS_COUNT).fill(0n);
  for (const [device, score] of scores) totals[devices.get(device)!.resourceClass] += score;
  const pots = split.map((bps) => classPot(emission, bps));
  const classAllocated = new Array<bigint>(CLASS_COUNT).fill(0n);
  const rewardOf = new Map<string, bigint>();
  for (const [device, score] of scores) {
    const c = devices.get(device)!.resourceClass;
    const reward = shareOf(pots[c], score, totals[c]);
    rewardOf.set(device, reward);
    classAllocated[c] += reward;
  }
  const allocated = classAllocated.reduce((a, b) => a + b, 0n);
  const classes: ClassSummary[] = split.map((splitBps, c) => ({
    resourceClass: c as ResourceClass,
    splitBps,
    pot: pots[c],
    totalScore: totals[c],
    allocated: classAllocated[c],
  }));

  // Rewards list and cumulative tree.
  const listed = sortAddresses(new Set([...scores.keys(), ...previous.keys()]));
  const rewards: DeviceReward[] = listed.map((device) => {
    const reward = rewardOf.get(device) ?? 0n;
    return {
      device,
      resourceClass: devices.get(device)?.resourceClass ?? null,
      score: scores.get(device) ?? 0n,
      reward,
      cumulative: (previous.get(device) ?? 0n) + reward,
    };
  });
  const leafDevices = rewards.filter((r) => r.cumulative > 0n);
  const rewardsTree = leafDevices.length === 0 ? null : buildRewardsTree(leafDevices.map((r) => ({ device: r.device, cumulativeAmount: r.cumulative })));
  const cumulative: CumulativeLeaf[] = leafDevices.map((r, i) => ({
    device: r.device,
    cumulativeAmount: r.cumulative,
    leaf: rewardsTree!.leafHashAt(i),
    proof: rewardsTree!.getProof(i),
  }));
  const rewardsRoot = rewardsTree?.root ?? ZeroHash;

  // Leases: this epoch's delivery, the cumulative leases tree and the service-level faults.
  const leaseResult = leaseDelivery({
    epoch,
    leases: input.leases,
    previousLeases: input.previousLeases,
    slaBreachEpochs: input.slaBreachEpochs,
    devices,
    outcomes,
    address,
  });
  const { leases, leasesRoot } = leaseResult;

  // Faults and their tree.
  const faultList = collectFaults(epoch, devices, outcomes, scores, leaseResult.faults);
  const faultsTree = faultList.length === 0 ? null : buildFaultsTree(faultList);
  const faults: FaultEntry[] = faultList.map((f, i) => ({
    ...f,
    leaf: faultsTree!.leafHashAt(i),
    proof: faultsTree!.getProof(i),
  }));
  const faultsRoot = faultsTree?.root ?? ZeroHash;

  const devicesCounted = BigInt(countVerified(devices, outcomes));
  const leafByDevice = new Map(cumulative.map((l) => [l.device, l]));
  const body: { [key: string]: JsonValue } = {
    version: VERDICT_FILE_VERSION,
    epoch: epoch.toString(),
    emission: emission.toString(),
    allocated: allocated.toString(),
    unallocated: (emission - allocated).toString(),
    totalWorkUnits: totalWorkUnits.toString(),
    devicesCounted: devicesCounted.toString(),
    rewardsRoot,
    faultsRoot,
    leasesRoot,
    classes: classes.map((c) => ({
      resourceClass: c.resourceClass,
      splitBps: c.splitBps,
      pot: c.pot.toString(),
      totalScore: c.totalScore.toString(),
      allocated: c.allocated.toString(),
    })),
    rewards: rewards.map((r) => {
      const leaf = leafByDevice.get(r.device);
      return {
        device: r.device,
        resourceClass: r.resourceClass,
        score: r.score.toString(),
        reward: r.reward.toString(),
        cumulative: r.cumulative.toString(),
        leaf: leaf?.leaf ?? null,
        proof: leaf?.proof ?? [],
      };
    }),
    faults: faults.map((f) => ({ device: f.device, kind: f.kind, evidence: f.evidence, leaf: f.leaf, proof: f.proof })),
    leases: leases.map((l) => ({
      leaseId: l.leaseId.toString(),
      deliveredBps: l.deliveredBps,
      delivered: l.delivered.toString(),
      breaches: l.breaches.toString(),
      leaf: l.leaf,
      proof: l.proof,
    })),
  };
  const { file, dataHash } = sealVerdictFile(body);
  const verdict: EpochVerdict = { epoch, devicesCounted, rewardsRoot, faultsRoot, leasesRoot, totalWorkUnits, dataHash };
  return {
    epoch,
    rewards,
    classes,
    allocated,
    cumulative,
    rewardsRoot,
    faults,
    faultsRoot,
    leases,
    leasesRoot,
    totalWorkUnits,
    devicesCounted,
    verdict,
    file,
  };
}

/** `keccak256(utf8("missed:" + epoch + ":" + device))`: the evidence of a MissedDuty fault the aggregate infers. */
export function missedDutyEvidence(epoch: bigint, device: string): string {
  return keccak256(toUtf8Bytes(`missed:${epoch.toString()}:${getAddress(device)}`));
}

// ---------------------------------------------------------------------------------------------------------------

interface KnownDevice {
  resourceClass: ResourceClass;
  status: DeviceStatus;
  capacity: bigint;
}

type AddressNormaliser = (value: string, what: string) => string;

/**
 * Checksums addresses, remembering each spelling seen: one epoch names each device in up to dozens of outcomes, and
 * `getAddress` hashes (keccak256) on every call.
 */
function addressNormaliser(): AddressNormaliser {
  const seen = new Map<string, string>();
  return (value, what) => {
    let checksummed = seen.get(value);
    if (checksummed === undefined) {
      try {
        checksummed = getAddress(value); // throws on anything isAddress rejects
      } catch (cause) {
        throw new AggregateInputError(`${what}: not an address`, { details: { value }, cause });
      }
      seen.set(value, checksummed);
    }
    return checksummed;
  };
}

/** Addresses ascending by value (`compareAddress` order), lowercasing each once. */
function sortAddresses(addresses: Iterable<string>): string[] {
  return [...addresses]
    .map((a) => ({ a, key: a.toLowerCase() }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
    .map((x) => x.a);
}

function checkSplit(bps: readonly number[]): number[] {
  if (bps.length !== CLASS_COUNT) {
    throw new AggregateInputError(`classSplitBps must have ${CLASS_COUNT} entries`, { details: { length: bps.length } });
  }
  let sum = 0;
  for (const b of bps) {
    if (!Number.isInteger(b) || b < 0 || b > 10_000) throw new AggregateInputError("bad split entry", { details: { b } });
    sum += b;
  }
  if (sum > 10_000) throw new AggregateInputError("classSplitBps sums above 10000", { details: { sum } });
  return [...bps];
}

function statusOf(s: DeviceStatusInput): DeviceStatus {
  const n = typeof s === "string" ? DeviceStatus[s] : s;
  if (!Object.values(DeviceStatus).includes(n)) throw new AggregateInputError("unknown device status", { details: { s } });
  return n;
}

function indexDevices(input: AggregateInput, address: AddressNormaliser): Map<string, KnownDevice> {
  const out = new Map<string, KnownDevice>();
  for (const d of input.devices) {
    const device = address(d.device, "device");
    if (out.has(device)) throw new AggregateInputError("duplicate device in chain state", { details: { device } });
    if (!Number.isInteger(d.resourceClass) || d.resourceClass < 0 || d.resourceClass >= CLASS_COUNT) {
      throw new AggregateInputError("unknown resource class", { details: { device, resourceClass: d.resourceClass } });
    }
    if (typeof d.capacity !== "bigint" || d.capacity < 0n) throw new AggregateInputError("negative capacity", { details: { device } });
    out.set(device, { resourceClass: d.resourceClass, status: statusOf(d.status), capacity: d.capacity });
  }
  return out;
}

/**
 * Normalised outcomes, one per (device, nonce) (the first seen), sorted by (device, nonce). Grouped per device rather
 * than keyed by a (device, nonce) string: an epoch of 100,000 devices has millions of outcomes.
 */
function dedupeOutcomes(outcomes: readonly ProofOutcome[], address: AddressNormaliser): ProofOutcome[] {
  const byDevice = new Map<string, ProofOutcome[]>();
  for (const raw of outcomes) {
    if (!BYTES32.test(raw.evidence)) throw new AggregateInputError("evidence must be bytes32 hex", { details: { evidence: raw.evidence } });
    const device = address(raw.device, "outcome device");
    const evidence = UPPER_HEX.test(raw.evidence) ? raw.evidence.toLowerCase() : raw.evidence; // no garbage copy
    // Copy only what normalisation changes (most outcomes arrive normalised).
    const o: ProofOutcome = device === raw.device && evidence === raw.evidence ? raw : { ...raw, device, evidence };
    const group = byDevice.get(device);
    if (group === undefined) byDevice.set(device, [o]);
    else group.push(o);
  }
  const out: ProofOutcome[] = [];
  for (const device of sortAddresses(byDevice.keys())) {
    const group = byDevice.get(device)!.sort((a, b) => (a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0)); // stable
    let kept: ProofOutcome | undefined;
    for (const o of group) {
      if (kept !== undefined && kept.nonce === o.nonce) {
        if (outcomeSignature(kept) !== outcomeSignature(o)) {
          throw new AggregateInputError("conflicting outcomes for one proof", { details: { key: `${device}|${o.nonce.toString()}` } });
        }
        continue;
      }
      kept = o;
      out.push(o);
    }
  }
  return out;
}

/** What copies of one proof's outcome must agree on (not the free-text reason). */
function outcomeSignature(o: ProofOutcome): string {
  const r = o.result;
  return [o.kind, o.evidence, r.ok, r.ok ? r.workUnits : "", r.ok ? r.quality : "", r.ok ? "" : r.fault].join("|");
}

function normalisePrevious(previous: AggregateInput["previous"], address: AddressNormaliser): Map<string, bigint> {
  const entries: [string, bigint][] = previous instanceof Map ? [...previous.entries()] : Object.entries(previous);
  const out = new Map<string, bigint>();
  for (const [key, amount] of entries) {
    const device = address(key, "previous");
    if (out.has(device)) throw new AggregateInputError("duplicate device in previous", { details: { device } });
    if (amount < 0n) throw new AggregateInputError("negative previous cumulative", { details: { device } });
    if (amount > 0n) out.set(device, amount);
  }
  return out;
}

function countVerified(devices: Map<string, KnownDevice>, outcomes: readonly ProofOutcome[]): number {
  const counted = new Set<string>();
  for (const o of outcomes) {
    const d = devices.get(o.device);
    if (d?.status === DeviceStatus.Active && o.result.ok && KIND_CLASSES[o.kind].includes(d.resourceClass)) counted.add(o.device);
  }
  return counted.size;
}

/**
 * One fault per (device, kind), evidence of the lowest nonce; MissedDuty for Active devices with no verified proof;
 * then the leases' ServiceLevelBreach faults (`leaseFaults`, one per device already) where no outcome gave that kind.
 */
function collectFaults(
  epoch: bigint,
  devices: Map<string, KnownDevice>,
  outcomes: readonly ProofOutcome[], // sorted by (device, nonce): the first hit per key has the lowest nonce
  scores: Map<string, bigint>,
  leaseFaults: readonly { device: string; kind: FaultKind; evidence: string }[],
): { device: string; kind: FaultKind; evidence: string }[] {
  const faults = new Map<string, { device: string; kind: FaultKind; evidence: string }>();
  for (const o of outcomes) {
    const d = devices.get(o.device);
    if (d === undefined || d.status === DeviceStatus.Removed || d.status === DeviceStatus.None) continue;
    if (o.result.ok || o.result.fault === null) continue;
    const key = `${o.device}|${o.result.fault}`;
    if (!faults.has(key)) faults.set(key, { device: o.device, kind: o.result.fault, evidence: o.evidence });
  }
  for (const [device, d] of devices) {
    if (d.status !== DeviceStatus.Active || scores.has(device)) continue;
    const key = `${device}|${FaultKind.MissedDuty}`;
    if (!faults.has(key)) faults.set(key, { device, kind: FaultKind.MissedDuty, evidence: missedDutyEvidence(epoch, device) });
  }
  for (const f of leaseFaults) {
    const key = `${f.device}|${f.kind}`;
    if (!faults.has(key)) faults.set(key, f);
  }
  return [...faults.values()].sort((a, b) => compareAddress(a.device, b.device) || a.kind - b.kind);
}
