/**
 * Proof kinds, their payloads (TypeScript types and zod schemas) and the `ProofRecord` they travel in.
 *
 * Wire conventions, so one payload has one canonical JSON and therefore one hash:
 * - hex values (hashes, bytes) are `0x` + lowercase hex; addresses are EIP-55 checksummed (what ethers returns);
 * - integers beyond 2^53 are decimal strings without sign or leading zeros (`workUnits`, `meterWh`, matrix entries);
 * - small integers and measured quantities (dBm, dB, degrees) are JSON numbers, finite and range-checked;
 * - objects are strict: an unknown key is an error (it would be covered by the signature but ignored by the oracle).
 * Payload types are `type` aliases (not interfaces) so they are assignable to `JsonValue`.
 */
import { isValidCell } from "h3-js";
import { z } from "zod";
import { ResourceClass } from "../../sdk/enums";
import { isChecksummedAddress } from "./hash";

export const ProofKind = {
  Heartbeat: 0,
  CoverageBeacon: 1,
  CoverageWitness: 2,
  StorageChallenge: 3,
  ComputeChallenge: 4,
  ComputeReceipt: 5,
  MappingCapture: 6,
  EnergyReading: 7,
} as const;
export type ProofKind = (typeof ProofKind)[keyof typeof ProofKind];

/** Size limits of payloads (also enforced by the schemas below). */
export const LIMITS = {
  maxChunkBytes: 4096,
  maxMerklePath: 40,
  maxMatrixN: 64,
  maxDecimalDigits: 78, // enough for any uint256
  signatureBytes: 65,
} as const;

const U64_MAX = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------------------------------
// Primitive schemas
// ---------------------------------------------------------------------------------------------------------------

export const hex32Schema = z
  .string({ error: "must be a string" })
  .regex(/^0x[0-9a-f]{64}$/, { error: "must be 0x + 64 lowercase hex digits (32 bytes)" });

const hexBytes = (minBytes: number, maxBytes: number) =>
  z
    .string({ error: "must be a string" })
    .max(2 + 2 * maxBytes, { error: `too long (max ${maxBytes} bytes)` })
    .regex(/^0x([0-9a-f]{2})*$/, { error: "must be 0x + lowercase hex, an even number of digits" })
    .refine((s) => s.length >= 2 + 2 * minBytes, { error: `too short (min ${minBytes} bytes)` });

export const addressSchema = z
  .string({ error: "must be a string" })
  .max(42, { error: "too long for an address" })
  .refine((s) => isChecksummedAddress(s), { error: "must be an EIP-55 checksummed address" });

/** Unsigned decimal integer string, no leading zeros, at most 78 digits. */
export const uintStringSchema = z
  .string({ error: "must be a decimal string" })
  .max(LIMITS.maxDecimalDigits, { error: `too long (max ${LIMITS.maxDecimalDigits} digits)` })
  .regex(/^(0|[1-9][0-9]*)$/, { error: "must be an unsigned decimal integer without leading zeros" });

/** Signed decimal integer string, no leading zeros, no "-0", at most 78 digits plus sign. */
export const intStringSchema = z
  .string({ error: "must be a decimal string" })
  .max(LIMITS.maxDecimalDigits + 1, { error: `too long (max ${LIMITS.maxDecimalDigits} digits)` })
  .regex(/^(0|-?[1-9][0-9]*)$/, { error: "must be a decimal integer without leading zeros" });

/** H3 cell index as h3-js prints it (15 lowercase hex digits) and valid as a cell. */
export const h3CellSchema = z
  .string({ error: "must be a string" })
  .regex(/^[0-9a-f]{15}$/, { error: "must be an H3 cell index (15 lowercase hex digits)" })
  .refine((s) => isValidCell(s), { error: "is not a valid H3 cell" });

const int = (min: number, max: number) =>
  z
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(min, { error: `must be >= ${min}` })
    .max(max, { error: `must be <= ${max}` });

const real = (min: number, max: number) =>
  z
    .number({ error: "must be a number" })
    .min(min, { error: `must be >= ${min}` })
    .max(max, { error: `must be <= ${max}` });

/** Unix time in seconds, 2000-01-01 .. 2100-01-01 (catches milliseconds sent by mistake). */
const unixSeconds = int(946_684_800, 4_102_444_800);

/** uint64 as a bigint; accepts a bigint, a decimal string or a non-negative safe integer. */
export const uint64Schema = z
  .union([z.bigint(), uintStringSchema, int(0, Number.MAX_SAFE_INTEGER)], {
    error: "must be a uint64 (bigint, decimal string or non-negative integer)",
  })
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v <= U64_MAX, { error: "does not fit in uint64" });

// ---------------------------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------------------------

export type HeartbeatPayload = { uptimeSeconds: number };
export type CoverageBeaconPayload = { cell: string; txPowerDbm: number; beaconId: string };
export type CoverageWitnessPayload = {
  beaconId: string;
  beaconDevice: string;
  cell: string;
  rssiDbm: number;
  snrDb: number;
};
export type StorageChallengePayload = { dataRoot: string; chunkIndex: number; chunk: string; path: string[] };
export type ComputeChallengePayload = { n: number; resultHash: string; result: string[] };
export type ComputeReceiptPayload = { jobId: string; client: string; workUnits: string; clientSignature: string };
export type MappingCapturePayload = { lat: number; lng: number; capturedAt: number; imageHash: string };
export type EnergyReadingPayload = { meterWh: string; readAt: number };

/** Payload type of each kind. */
export interface PayloadByKind {
  [ProofKind.Heartbeat]: HeartbeatPayload;
  [ProofKind.CoverageBeacon]: CoverageBeaconPayload;
  [ProofKind.CoverageWitness]: CoverageWitnessPayload;
  [ProofKind.StorageChallenge]: StorageChallengePayload;
  [ProofKind.ComputeChallenge]: ComputeChallengePayload;
  [ProofKind.ComputeReceipt]: ComputeReceiptPayload;
  [ProofKind.MappingCapture]: MappingCapturePayload;
  [ProofKind.EnergyReading]: EnergyReadingPayload;
}
export type ProofPayload = PayloadByKind[ProofKind];

export const heartbeatPayloadSchema: z.ZodType<HeartbeatPayload> = z.strictObject({
  uptimeSeconds: int(0, 0xffff_ffff),
});

export const coverageBeaconPayloadSchema: z.ZodType<CoverageBeaconPayload> = z.strictObject({
  cell: h3CellSchema,
  txPowerDbm: real(-30, 60),
  beaconId: hex32Schema,
});

export const coverageWitnessPayloadSchema: z.ZodType<CoverageWitnessPayload> = z.strictObject({
  beaconId: hex32Schema,
  beaconDevice: addressSchema,
  cell: h3CellSchema,
  rssiDbm: real(-200, 0),
  snrDb: real(-50, 100),
});

export const storageChallengePayloadSchema: z.ZodType<StorageChallengePayload> = z.strictObject({
  dataRoot: hex32Schema,
  chunkIndex: int(0, Number.MAX_SAFE_INTEGER),
  chunk: hexBytes(1, LIMITS.maxChunkBytes),
  path: z
    .array(hex32Schema, { error: "must be an array" })
    .max(LIMITS.maxMerklePath, { error: `too many entries (max ${LIMITS.maxMerklePath})` }),
});

export const computeChallengePayloadSchema: z.ZodType<ComputeChallengePayload> = z
  .strictObject({
    n: int(1, LIMITS.maxMatrixN),
    resultHash: hex32Schema,
    result: z
      .array(intStringSchema, { error: "must be an array" })
      .max(LIMITS.maxMatrixN ** 2, { error: `too many entries (max ${LIMITS.maxMatrixN ** 2})` }),
  })
  .refine((p) => p.result.length === p.n * p.n, { error: "must have n*n entries", path: ["result"] });

export const computeReceiptPayloadSchema: z.ZodType<ComputeReceiptPayload> = z.strictObject({
  jobId: hex32Schema,
  client: addressSchema,
  workUnits: uintStringSchema,
  clientSignature: hexBytes(LIMITS.signatureBytes, LIMITS.signatureBytes),
});

export const mappingCapturePayloadSchema: z.ZodType<MappingCapturePayload> = z.strictObject({
  lat: real(-90, 90),
  lng: real(-180, 180),
  capturedAt: unixSeconds,
  imageHash: hex32Schema,
});

export const energyReadingPayloadSchema: z.ZodType<EnergyReadingPayload> = z.strictObject({
  meterWh: uintStringSchema,
  readAt: unixSeconds,
});

/** Payload schema of each kind. */
export const PAYLOAD_SCHEMAS: { readonly [K in ProofKind]: z.ZodType<PayloadByKind[K]> } = {
  [ProofKind.Heartbeat]: heartbeatPayloadSchema,
  [ProofKind.CoverageBeacon]: coverageBeaconPayloadSchema,
  [ProofKind.CoverageWitness]: coverageWitnessPayloadSchema,
  [ProofKind.StorageChallenge]: storageChallengePayloadSchema,
  [ProofKind.ComputeChallenge]: computeChallengePayloadSchema,
  [ProofKind.ComputeReceipt]: computeReceiptPayloadSchema,
  [ProofKind.MappingCapture]: mappingCapturePayloadSchema,
  [ProofKind.EnergyReading]: energyReadingPayloadSchema,
};

/** Resource classes that may send each kind (a heartbeat is common to all). */
export const KIND_CLASSES: { readonly [K in ProofKind]: readonly ResourceClass[] } = {
  [ProofKind.Heartbeat]: Object.values(ResourceClass),
  [ProofKind.CoverageBeacon]: [ResourceClass.Coverage],
  [ProofKind.CoverageWitness]: [ResourceClass.Coverage],
  [ProofKind.StorageChallenge]: [ResourceClass.Storage],
  [ProofKind.ComputeChallenge]: [ResourceClass.ComputeGpu, ResourceClass.ComputeCpu],
  [ProofKind.ComputeReceipt]: [ResourceClass.ComputeGpu, ResourceClass.ComputeCpu],
  [ProofKind.MappingCapture]: [ResourceClass.Mapping],
  [ProofKind.EnergyReading]: [ResourceClass.Energy],
};

// ---------------------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------------------

/** The fields every proof carries besides its kind and payload. */
export interface ProofHeader {
  /** The device's own address (its key signs the record), EIP-55 checksummed. */
  device: string;
  epoch: bigint;
  resourceClass: ResourceClass;
  /** Unique per device: (device, nonce) identifies a proof; a repeat is a replay. */
  nonce: bigint;
  /** Unix seconds at which the device made the proof. */
  timestamp: bigint;
}

/** A proof without its signature, discriminated on `kind`. */
export type UnsignedProof = {
  [K in ProofKind]: ProofHeader & { kind: K; payload: PayloadByKind[K] };
}[ProofKind];

/** A signed proof, discriminated on `kind`: `record.kind === ProofKind.Heartbeat` narrows `record.payload`. */
export type ProofRecord = UnsignedProof & {
  /** 65 bytes r || s || v as 0x + lowercase hex, low-s, v in {27, 28}. */
  signature: string;
};

/** A proof as it travels in JSON: the uint64 fields as decimal strings. */
export type ProofRecordJson = {
  [K in ProofKind]: Omit<ProofHeader, "epoch" | "nonce" | "timestamp"> & {
    epoch: string;
    nonce: string;
    timestamp: string;
    kind: K;
    payload: PayloadByKind[K];
    signature: string;
  };
}[ProofKind];
