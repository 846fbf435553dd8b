/**
 * The verify stage of the oracle node (DESIGN.md section 3): one pure function from an epoch's stored proofs and the
 * chain facts at epoch close to one `ProofOutcome` per proof, which the aggregate stage (`aggregateEpoch`) consumes.
 * It only dispatches to the per-class verifiers of this folder; every physical or cryptographic rule lives there.
 *
 * Input selection:
 * - proofs of another epoch are ignored, as are proofs of devices absent from `devices` (not registered at close);
 * - signatures and replays are ingest's job: every record is taken as authentic. Records sharing a (device, nonce)
 *   (ingest should never let them through) are reduced to the one with the smallest digest, so the output stays a
 *   function of the set of proofs;
 * - the output does not depend on the order of `proofs` and is sorted by (device, nonce). Evidence is always the
 *   proof's own digest, lowercased.
 *
 * Rules per proof (every rejection is "no fault" unless a fault is named):
 * - class check first: a kind not allowed for the registered class (`KIND_CLASSES`), or a record whose
 *   `resourceClass` is not the registered one -> rejected.
 * - Heartbeat -> verified, 0 work units (liveness: the aggregate stage counts the device as present).
 * - CoverageBeacon: one per device and epoch, the lowest nonce (later ones rejected). Its `beaconId` must be
 *   keccak256(abi.encode(bytes32 seed, address device, uint64 epoch)), else InvalidProof. Otherwise `scoreBeacon` over
 *   the witness reports naming it (beaconDevice and beaconId), one per witness, from eligible coverage devices:
 *   work = valid witnesses (capped), quality = witness quality x diversity; impossible geometry -> LocationSpoofing.
 * - CoverageWitness: one report per (witness, beaconer), the lowest nonce (later ones rejected); self-witnessing
 *   rejected. The report earns only if the beacon it names was verified: then it gets its own `verifyWitness` result
 *   (1 work unit x the witness's quality), so a witness is paid for what it heard, the beaconer for being heard.
 *   Attribution of impossible reports:
 *   - beacon judged LocationSpoofing (a majority of impossible witnesses): the beaconer is blamed, its witnesses are
 *     rejected without fault (they reported honestly from where they are);
 *   - beacon verified (corroborated by at least one valid witness): an impossible report points at the witness's own
 *     asserted cell, so the witness gets `verifyWitness`'s LocationSpoofing;
 *   - beacon rejected otherwise (bad id, no valid witness, unknown beacon): rejected, no fault (nobody to believe).
 *   Limit (inherited from `scoreBeacon`): where spoofers are half of a beacon's witnesses they can frame it.
 * - StorageChallenge: grouped per device. All answers must name one data root (and the registered one, when
 *   `EpochDevice.dataRoot` is given), else InvalidProof; then `verifyStorageResponse` with chunkCount = capacity x
 *   `STORAGE_CHUNKS_PER_GIB` and capacityGiB = capacity (answering only part of the challenges is InvalidProof).
 * - ComputeChallenge: `verifyProduct`; a verified product whose `resultHash` is not `productDigest(result)` ->
 *   InvalidProof. ComputeReceipt: `verifyReceipt` under `receiptDomain`; without one, rejected.
 * - MappingCapture: grouped per device, sorted by (capturedAt, nonce), `verifyTrack` with now = window.end.
 * - EnergyReading: grouped per device, sorted by (readAt, nonce), `verifyReadings` with
 *   `previousReadings.get(device) ?? null`, capacityKw = Number(capacity), now = window.end.
 * - Groups (storage, mapping, energy): the group's result is attached to its lowest-nonce proof; the other proofs of
 *   the group get a verified 0-work outcome when the group verified, else a rejection without fault, so a group's
 *   work and fault count once.
 *
 * Consequence for the aggregate stage: a verified heartbeat makes a device "present", so a device whose class proofs
 * are all rejected without fault (e.g. an isolated hotspot whose beacon nobody heard) is unpaid but gets no
 * MissedDuty fault.
 */
import { AbiCoder, getAddress, isAddress, keccak256, type TypedDataDomain } from "ethers";

import { FaultKind, type ResourceClass } from "../../sdk/enums";
import type { ProofOutcome } from "../aggregate/types";
import { KIND_CLASSES, ProofKind, type ProofRecord } from "../proof";
import { productDigest, verifyProduct, verifyReceipt, type Matrix } from "./compute";
import { scoreBeacon, verifyWitness, type BeaconWitness } from "./coverage";
import { verifyReadings, type MeterReading } from "./energy";
import { verifyTrack, type Capture, type EpochWindow } from "./mapping";
import { rejected, verified, type VerifyResult } from "./result";
import { GIB, STORAGE_CHUNK_SIZE, verifyStorageResponse } from "./storage";

/** Committed 4 KiB chunks per GiB of declared storage capacity (2^30 / 4096 = 262 144). */
export const STORAGE_CHUNKS_PER_GIB = GIB / BigInt(STORAGE_CHUNK_SIZE);

/** A device's on-chain registration at epoch close. */
export interface EpochDevice {
  resourceClass: ResourceClass;
  /** Declared capacity: GiB for STORAGE, kW for ENERGY (informational for the other classes). */
  capacity: bigint;
  /** Registered storage commitment (bytes32), when the chain holds one: storage answers must name it. */
  dataRoot?: string;
}

/** A stored proof: the record and its EIP-712 digest (bytes32) as ingest stored it. */
export interface EpochProof {
  record: ProofRecord;
  digest: string;
}

export interface VerifyEpochInput {
  epoch: bigint;
  /** The epoch seed (bytes32) from `EpochSeed`. */
  seed: string;
  /** [start, end) of the epoch, unix seconds. */
  window: EpochWindow;
  /** Registered devices keyed by address (other spellings are normalised); proofs of absent devices are ignored. */
  devices: ReadonlyMap<string, EpochDevice>;
  /** Signature-checked proofs in any order; proofs of other epochs are ignored. */
  proofs: readonly EpochProof[];
  /** Last energy meter reading per device before this epoch (see `lastMeterReadings`). */
  previousReadings?: ReadonlyMap<string, MeterReading>;
  /** EIP-712 domain of client job receipts; ComputeReceipt proofs are rejected (no fault) without one. */
  receiptDomain?: TypedDataDomain;
}

type ProofOf<K extends ProofKind> = Extract<ProofRecord, { kind: K }>;
/** A selected proof (its record possibly narrowed to one kind), digest lowercased. */
interface Item<R extends ProofRecord = ProofRecord> {
  record: R;
  digest: string;
}

/** Shared, read-only context of one epoch's verification. */
interface EpochContext {
  epoch: bigint;
  seed: string;
  window: EpochWindow;
  devices: ReadonlyMap<string, EpochDevice>;
  previousReadings: ReadonlyMap<string, MeterReading>;
  receiptDomain: TypedDataDomain | null;
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const INT = /^-?[0-9]+$/;

/**
 * The outcome of every selected proof of the epoch (rules in the module comment), sorted by (device, nonce).
 *
 * @throws RangeError when a `devices` key is not an address or a digest is not bytes32 (node bugs, not device data).
 */
export function verifyEpoch(input: VerifyEpochInput): ProofOutcome[] {
  const ctx: EpochContext = {
    epoch: input.epoch,
    seed: input.seed,
    window: input.window,
    devices: byAddress(input.devices),
    previousReadings: byAddress(input.previousReadings ?? new Map<string, MeterReading>()),
    receiptDomain: input.receiptDomain ?? null,
  };
  const selected = selectProofs(input.proofs, ctx);
  const out: ProofOutcome[] = [];
  const eligible: Item[] = [];
  for (const p of selected) {
    const mismatch = classMismatch(p.record, ctx.devices.get(p.record.device)!);
    if (mismatch === null) eligible.push(p);
    else out.push(outcome(p, rejected(mismatch)));
  }
  out.push(
    ...ofKind(eligible, ProofKind.Heartbeat).map((p) => outcome(p, verified(0n))),
    ...coverageOutcomes(ofKind(eligible, ProofKind.CoverageBeacon), ofKind(eligible, ProofKind.CoverageWitness), ctx),
    ...perDevice(ofKind(eligible, ProofKind.StorageChallenge), (g) => storageResult(g, ctx)),
    ...ofKind(eligible, ProofKind.ComputeChallenge).map((p) => outcome(p, computeResult(p.record, ctx.seed))),
    ...ofKind(eligible, ProofKind.ComputeReceipt).map((p) => outcome(p, receiptResult(p.record, ctx.receiptDomain))),
    ...perDevice(ofKind(eligible, ProofKind.MappingCapture), (g) => mappingResult(g, ctx.window)),
    ...perDevice(ofKind(eligible, ProofKind.EnergyReading), (g) => energyResult(g, ctx)),
  );
  return out.sort(compareKeys);
}

/**
 * The last meter reading (highest readAt, ties by highest nonce) per device among the EnergyReading records of
 * `proofs`: the next epoch's `previousReadings`. Pass one epoch's proofs; a device that sent nothing is absent, so
 * the node carries its older reading forward (`new Map([...previous, ...lastMeterReadings(proofs)])`).
 */
export function lastMeterReadings(proofs: readonly EpochProof[]): Map<string, MeterReading> {
  const best = new Map<string, ProofOf<typeof ProofKind.EnergyReading>>();
  for (const { record } of proofs) {
    if (record.kind !== ProofKind.EnergyReading) continue;
    const device = getAddress(record.device);
    const seen = best.get(device);
    const later =
      seen === undefined ||
      record.payload.readAt > seen.payload.readAt ||
      (record.payload.readAt === seen.payload.readAt && record.nonce > seen.nonce);
    if (later) best.set(device, record);
  }
  return new Map(
    [...best].map(([device, r]) => [device, { at: r.payload.readAt, whCumulative: BigInt(r.payload.meterWh) }]),
  );
}

/** Beacon id of `device` in `epoch`: keccak256(abi.encode(bytes32 seed, address device, uint64 epoch)). */
export function expectedBeaconId(seed: string, device: string, epoch: bigint): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "address", "uint64"], [seed, device, epoch]));
}

// ---------------------------------------------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------------------------------------------

/** Map with checksummed keys. */
function byAddress<V>(m: ReadonlyMap<string, V>): Map<string, V> {
  const out = new Map<string, V>();
  for (const [k, v] of m) {
    if (!isAddress(k)) throw new RangeError(`not an address: ${k}`);
    out.set(getAddress(k), v);
  }
  return out;
}

/** This epoch's proofs of registered devices, one per (device, nonce) (smallest digest), sorted by (device, nonce). */
function selectProofs(proofs: readonly EpochProof[], ctx: EpochContext): Item[] {
  const byKey = new Map<string, Item>();
  for (const { record, digest } of proofs) {
    if (record.epoch !== ctx.epoch || !ctx.devices.has(record.device)) continue;
    if (!BYTES32.test(digest)) throw new RangeError(`digest of ${record.device}/${record.nonce} is not bytes32`);
    const item: Item = { record, digest: digest.toLowerCase() };
    const key = `${record.device}/${record.nonce}`;
    const seen = byKey.get(key);
    if (seen === undefined || item.digest < seen.digest) byKey.set(key, item);
  }
  return [...byKey.values()].sort(compareItems);
}

/** Ascending by (device address value, nonce). */
function compareKeys(x: { device: string; nonce: bigint }, y: { device: string; nonce: bigint }): number {
  const dx = x.device.toLowerCase();
  const dy = y.device.toLowerCase();
  if (dx !== dy) return dx < dy ? -1 : 1;
  return x.nonce < y.nonce ? -1 : x.nonce > y.nonce ? 1 : 0;
}

const compareItems = (a: Item, b: Item): number => compareKeys(a.record, b.record);

/** Why a record may not be counted for its registration, or null when it may. */
function classMismatch(record: ProofRecord, device: EpochDevice): string | null {
  if (record.resourceClass !== device.resourceClass) {
    return `proof claims class ${record.resourceClass}, device is registered as ${device.resourceClass}`;
  }
  if (!KIND_CLASSES[record.kind].includes(device.resourceClass)) {
    return `proof kind ${record.kind} not allowed for class ${device.resourceClass}`;
  }
  return null;
}

function ofKind<K extends ProofKind>(items: readonly Item[], kind: K): Item<ProofOf<K>>[] {
  return items.filter((p): p is Item<ProofOf<K>> => p.record.kind === kind);
}

function outcome(p: Item, result: VerifyResult): ProofOutcome {
  return { device: p.record.device, kind: p.record.kind, nonce: p.record.nonce, result, evidence: p.digest };
}

/**
 * Groups `items` (sorted by (device, nonce)) per device, verifies each group once and attaches the result to its
 * lowest-nonce proof; the others get 0 work when the group verified, a rejection without fault otherwise.
 */
function perDevice<R extends ProofRecord>(
  items: readonly Item<R>[],
  verify: (group: readonly Item<R>[]) => VerifyResult,
): ProofOutcome[] {
  const groups = new Map<string, Item<R>[]>();
  for (const p of items) {
    const group = groups.get(p.record.device);
    if (group === undefined) groups.set(p.record.device, [p]);
    else group.push(p);
  }
  return [...groups.values()].flatMap((group) => {
    const [head, ...rest] = group;
    const result = verify(group);
    const follower = result.ok ? verified(0n) : rejected(`judged with nonce ${head.record.nonce}: ${result.reason}`);
    return [outcome(head, result), ...rest.map((p) => outcome(p, follower))];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Coverage
// ---------------------------------------------------------------------------------------------------------------

type BeaconItem = Item<ProofOf<typeof ProofKind.CoverageBeacon>>;
type WitnessItem = Item<ProofOf<typeof ProofKind.CoverageWitness>>;

/** Outcomes of the epoch's beacons and witness reports (rules in the module comment). */
function coverageOutcomes(
  beacons: readonly BeaconItem[],
  witnesses: readonly WitnessItem[],
  ctx: EpochContext,
): ProofOutcome[] {
  const out: ProofOutcome[] = [];
  const beaconOf = new Map<string, BeaconItem>();
  for (const b of beacons) {
    if (beaconOf.has(b.record.device)) out.push(outcome(b, rejected("second beacon in the epoch")));
    else beaconOf.set(b.record.device, b);
  }

  // One report per (witness, beaconer), naming a beacon that was sent.
  const counted = new Map<string, WitnessItem[]>(); // beaconer -> its witness reports
  const seen = new Set<string>();
  for (const w of witnesses) {
    const { beaconDevice, beaconId } = w.record.payload;
    const key = `${w.record.device}/${beaconDevice}`;
    const beacon = beaconOf.get(beaconDevice);
    if (beaconDevice === w.record.device) out.push(outcome(w, rejected("self-witnessing")));
    else if (seen.has(key)) out.push(outcome(w, rejected("beacon already witnessed by this device")));
    else if (beacon === undefined || beacon.record.payload.beaconId !== beaconId.toLowerCase()) {
      seen.add(key);
      out.push(outcome(w, rejected("no such beacon in the epoch")));
    } else {
      seen.add(key);
      counted.set(beaconDevice, [...(counted.get(beaconDevice) ?? []), w]);
    }
  }

  for (const [device, b] of beaconOf) {
    const reports = counted.get(device) ?? [];
    const result = beaconResult(b, reports, ctx);
    out.push(outcome(b, result), ...reports.map((w) => outcome(w, witnessResult(b, w, result))));
  }
  return out;
}

function beaconResult(b: BeaconItem, reports: readonly WitnessItem[], ctx: EpochContext): VerifyResult {
  const { cell, txPowerDbm, beaconId } = b.record.payload;
  if (beaconId.toLowerCase() !== expectedBeaconId(ctx.seed, b.record.device, ctx.epoch)) {
    return rejected("beacon id is not keccak256(seed, device, epoch)", FaultKind.InvalidProof);
  }
  const heard: BeaconWitness[] = reports.map((w) => ({
    witness: w.record.device,
    cell: w.record.payload.cell,
    rssiDbm: w.record.payload.rssiDbm,
    snrDb: w.record.payload.snrDb,
  }));
  return scoreBeacon({ beaconer: b.record.device, cell, txPowerDbm }, heard);
}

/** A witness report's own result, given the result of the beacon it names. */
function witnessResult(b: BeaconItem, w: WitnessItem, beacon: VerifyResult): VerifyResult {
  if (!beacon.ok) {
    return beacon.fault === FaultKind.LocationSpoofing
      ? rejected("witnessed beacon judged spoofed: its beaconer is blamed")
      : rejected(`witnessed beacon not verified: ${beacon.reason}`);
  }
  return verifyWitness({
    beaconerCell: b.record.payload.cell,
    txPowerDbm: b.record.payload.txPowerDbm,
    witnessCell: w.record.payload.cell,
    rssiDbm: w.record.payload.rssiDbm,
    snrDb: w.record.payload.snrDb,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Storage, compute, mapping, energy
// ---------------------------------------------------------------------------------------------------------------

function storageResult(
  group: readonly Item<ProofOf<typeof ProofKind.StorageChallenge>>[],
  ctx: EpochContext,
): VerifyResult {
  const device = group[0].record.device;
  const { capacity, dataRoot: registered } = ctx.devices.get(device)!;
  const roots = new Set(group.map((p) => p.record.payload.dataRoot.toLowerCase()));
  if (roots.size !== 1) return rejected(`answers name ${roots.size} different data roots`, FaultKind.InvalidProof);
  const [dataRoot] = roots;
  if (registered !== undefined && registered.toLowerCase() !== dataRoot) {
    return rejected(`answers name data root ${dataRoot}, registered ${registered}`, FaultKind.InvalidProof);
  }
  return verifyStorageResponse({
    seed: ctx.seed,
    device,
    dataRoot,
    chunkCount: Number(capacity * STORAGE_CHUNKS_PER_GIB),
    capacityGiB: capacity,
    responses: group.map((p) => ({
      index: p.record.payload.chunkIndex,
      // Hex checked by the proof schema; a wrong length fails the chunk-size check.
      chunk: Buffer.from(p.record.payload.chunk.slice(2), "hex"),
      path: p.record.payload.path,
    })),
  });
}

function computeResult(record: ProofOf<typeof ProofKind.ComputeChallenge>, seed: string): VerifyResult {
  const { n, resultHash, result } = record.payload;
  const c = toMatrix(result, n);
  if (c === null) return rejected(`result is not ${n} x ${n} integers`, FaultKind.InvalidProof);
  const checked = verifyProduct({ seed, device: record.device, n, c });
  if (!checked.ok) return checked;
  if (productDigest(c) !== resultHash.toLowerCase()) {
    return rejected("resultHash is not the digest of the result", FaultKind.InvalidProof);
  }
  return checked;
}

/** Row-major decimal entries as an n x n matrix, or null when the shape or an entry is wrong. */
function toMatrix(entries: readonly string[], n: number): Matrix | null {
  if (!Number.isSafeInteger(n) || n <= 0 || entries.length !== n * n || !entries.every((e) => INT.test(e))) return null;
  return Array.from({ length: n }, (_, i) => entries.slice(i * n, (i + 1) * n).map((e) => BigInt(e)));
}

function receiptResult(record: ProofOf<typeof ProofKind.ComputeReceipt>, domain: TypedDataDomain | null): VerifyResult {
  if (domain === null) return rejected("no job-receipt domain configured");
  const { jobId, client, workUnits, clientSignature } = record.payload;
  if (!/^[0-9]+$/.test(workUnits)) return rejected("workUnits is not a decimal integer");
  return verifyReceipt({ jobId, device: record.device, client, workUnits: BigInt(workUnits), clientSignature, domain });
}

function mappingResult(
  group: readonly Item<ProofOf<typeof ProofKind.MappingCapture>>[],
  window: EpochWindow,
): VerifyResult {
  const captures: Capture[] = [...group]
    .sort((a, b) => a.record.payload.capturedAt - b.record.payload.capturedAt || compareItems(a, b))
    .map((p) => p.record.payload);
  return verifyTrack(captures, window.end, window);
}

function energyResult(
  group: readonly Item<ProofOf<typeof ProofKind.EnergyReading>>[],
  ctx: EpochContext,
): VerifyResult {
  const device = group[0].record.device;
  const readings: MeterReading[] = [...group]
    .sort((a, b) => a.record.payload.readAt - b.record.payload.readAt || compareItems(a, b))
    .map((p) => ({ at: p.record.payload.readAt, whCumulative: BigInt(p.record.payload.meterWh) }));
  const capacityKw = Number(ctx.devices.get(device)!.capacity);
  return verifyReadings(readings, ctx.previousReadings.get(device) ?? null, capacityKw, ctx.window.end);
}
