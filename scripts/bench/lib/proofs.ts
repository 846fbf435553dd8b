/**
 * Valid signed proofs for the signature and ingest benchmarks, made fast: keys from a seed, digests with our
 * `proofDigestBytes`, signatures with native libsecp256k1 (low-s, like every honest signer), so tens of thousands of
 * proofs are ready in a second or two, before any clock starts.
 *
 * The mix of kinds is a fleet's: mostly heartbeats and coverage beacons/witnesses, then mapping, energy, compute
 * receipts and small storage challenges (256-byte chunks, 8-entry paths).
 */
import { createHash } from "node:crypto";
import { latLngToCell } from "h3-js";
import type { TypedDataDomain } from "ethers";
import { ecdsaSign, publicKeyCreate } from "secp256k1";
import { DeviceStatus, ResourceClass } from "../../../sdk/enums";
import { proofDigestBytes } from "../../../oracles/proof/digest";
import { bytesToHex, keccak256, toChecksumAddress } from "../../../oracles/proof/hash";
import { ProofKind, type ProofRecord, type UnsignedProof } from "../../../oracles/proof/kinds";
import type { DeviceInfo } from "../../../oracles/node/directory";

export interface BenchDevice {
  address: string;
  key: Uint8Array;
  resourceClass: ResourceClass;
}

const h32 = (tag: string): string => `0x${createHash("sha256").update(tag).digest("hex")}`;

/** `count` devices with keys derived from `seed`, classes in the proportions of a fleet. */
export function benchDevices(count: number, seed = "bench"): BenchDevice[] {
  const classes: ResourceClass[] = [
    ResourceClass.Coverage,
    ResourceClass.Coverage,
    ResourceClass.Coverage,
    ResourceClass.Mapping,
    ResourceClass.Energy,
    ResourceClass.ComputeCpu,
    ResourceClass.Storage,
  ];
  return Array.from({ length: count }, (_, i) => {
    const key = createHash("sha256").update(`${seed}/${i}`).digest();
    const address = toChecksumAddress(bytesToHex(keccak256(publicKeyCreate(key, false).subarray(1)).subarray(12)));
    return { address, key, resourceClass: classes[i % classes.length] };
  });
}

/** The directory entries of `devices` (all Active). */
export function directoryEntries(devices: readonly BenchDevice[]): [string, DeviceInfo][] {
  return devices.map((d) => [
    d.address,
    { operator: d.address, resourceClass: d.resourceClass, status: DeviceStatus.Active },
  ]);
}

const CELL = latLngToCell(37.7749, -122.4194, 9);

function payloadFor(device: BenchDevice, n: number, timestamp: bigint): Omit<UnsignedProof, keyof ProofHeaderLike> {
  const t = Number(timestamp);
  switch (device.resourceClass) {
    case ResourceClass.Coverage:
      if (n % 3 === 0) return { kind: ProofKind.Heartbeat, payload: { uptimeSeconds: 3600 + n } };
      if (n % 3 === 1) {
        return { kind: ProofKind.CoverageBeacon, payload: { cell: CELL, txPowerDbm: 27, beaconId: h32(`b${n}`) } };
      }
      return {
        kind: ProofKind.CoverageWitness,
        payload: { beaconId: h32(`b${n - 1}`), beaconDevice: device.address, cell: CELL, rssiDbm: -97.5, snrDb: 6.25 },
      };
    case ResourceClass.Mapping:
      return {
        kind: ProofKind.MappingCapture,
        payload: { lat: 48.8584, lng: 2.2945, capturedAt: t - 10, imageHash: h32(`i${n}`) },
      };
    case ResourceClass.Energy:
      return { kind: ProofKind.EnergyReading, payload: { meterWh: String(1_000_000 + n), readAt: t - 1 } };
    case ResourceClass.ComputeCpu:
      return {
        kind: ProofKind.ComputeReceipt,
        payload: {
          jobId: h32(`j${n}`),
          client: device.address,
          workUnits: String(123_456_789 + n),
          clientSignature: `0x${"11".repeat(64)}1b`,
        },
      };
    default:
      return {
        kind: ProofKind.StorageChallenge,
        payload: {
          dataRoot: h32("root"),
          chunkIndex: n % 64,
          chunk: `0x${"ab".repeat(256)}`,
          path: Array.from({ length: 8 }, (_, i) => h32(`p${i}`)),
        },
      };
  }
}

interface ProofHeaderLike {
  device: string;
  epoch: bigint;
  resourceClass: ResourceClass;
  nonce: bigint;
  timestamp: bigint;
}

/** Signs `record` with `key` (native libsecp256k1). */
export function signRecord(domain: TypedDataDomain | Uint8Array, record: UnsignedProof, key: Uint8Array): ProofRecord {
  const { signature, recid } = ecdsaSign(proofDigestBytes(domain, record), key);
  return { ...record, signature: `${bytesToHex(signature)}${(27 + recid).toString(16)}` } as ProofRecord;
}

/**
 * `count` valid proofs, round-robin over `devices`, nonces from `firstNonce` up (unique per device), all of `epoch`
 * at `timestamp`.
 */
export function benchProofs(
  devices: readonly BenchDevice[],
  domain: TypedDataDomain | Uint8Array,
  count: number,
  { epoch, timestamp, firstNonce = 1n }: { epoch: bigint; timestamp: bigint; firstNonce?: bigint },
): ProofRecord[] {
  const out: ProofRecord[] = [];
  for (let i = 0; i < count; i++) {
    const device = devices[i % devices.length];
    const nonce = firstNonce + BigInt(Math.floor(i / devices.length));
    const unsigned = {
      device: device.address,
      epoch,
      resourceClass: device.resourceClass,
      nonce,
      timestamp,
      ...payloadFor(device, i, timestamp),
    } as UnsignedProof;
    out.push(signRecord(domain, unsigned, device.key));
  }
  return out;
}
