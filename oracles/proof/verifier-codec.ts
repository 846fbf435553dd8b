/**
 * The wire format between the verifier pool and its workers: one transferable ArrayBuffer per batch (no structured
 * clone of records), one fixed-size result per proof.
 *
 * Job: domainSeparator 32 | device 20 | epoch u64 | resourceClass u8 | kind u8 | nonce u64 | timestamp u64 |
 * signature 65 | payload length u32 | canonical payload JSON (UTF-8). Big-endian integers.
 * Result: status u8 | digest 32 | recovered signer 20 (zero unless the status is Ok or SignerMismatch).
 */
import { canonicalJson } from "./canonical";
import type { ProofRecord } from "./kinds";

export const JOB_HEADER_BYTES = 32 + 20 + 8 + 1 + 1 + 8 + 8 + 65 + 4;
export const RESULT_BYTES = 1 + 32 + 20;

/** Result status: Ok, SignerMismatch, or InvalidSignature + (RecoverFailure - 1). */
export const VerifyStatus = { Ok: 0, SignerMismatch: 1, InvalidSignature: 2 } as const;

export interface BatchMessage {
  id: number;
  count: number;
  buf: ArrayBuffer;
}

export interface ResultMessage {
  id: number;
  buf: ArrayBuffer;
}

/** A proof ready to encode: a parsed record (0x + lowercase hex signature, checksummed device) and its domain. */
export interface EncodableJob {
  record: ProofRecord;
  domainSeparator: Uint8Array;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * `value`, if a uint64; throws otherwise, as writeBigUInt64BE did (setBigUint64 would wrap it silently), so that
 * `VerifierPool.send` falls back to the in-thread path for it.
 */
function u64(value: bigint): bigint {
  if (typeof value !== "bigint" || value < 0n || value > U64_MAX) throw new RangeError("value must be a uint64");
  return value;
}

/** Encodes `jobs` into one buffer (to transfer to a worker). */
export function encodeBatch(jobs: readonly EncodableJob[]): ArrayBuffer {
  const payloads = new Array<string>(jobs.length);
  // An upper bound of the size (UTF-8 takes at most 3 bytes per UTF-16 unit): one pass, no Buffer.byteLength.
  let bound = 0;
  for (let i = 0; i < jobs.length; i++) {
    const payload = canonicalJson(jobs[i].record.payload);
    payloads[i] = payload;
    bound += JOB_HEADER_BYTES + 3 * payload.length;
  }
  const bytes = Buffer.from(new ArrayBuffer(bound));
  const view = new DataView(bytes.buffer); // setBigUint64: no BigInt arithmetic, unlike writeBigUInt64BE
  let offset = 0;
  for (let i = 0; i < jobs.length; i++) {
    const { record, domainSeparator } = jobs[i];
    bytes.set(domainSeparator, offset);
    bytes.write(record.device.slice(2), offset + 32, 20, "hex");
    view.setBigUint64(offset + 52, u64(record.epoch));
    bytes[offset + 60] = record.resourceClass;
    bytes[offset + 61] = record.kind;
    view.setBigUint64(offset + 62, u64(record.nonce));
    view.setBigUint64(offset + 70, u64(record.timestamp));
    bytes.write(record.signature.slice(2), offset + 78, 65, "hex");
    const length = bytes.write(payloads[i], offset + JOB_HEADER_BYTES, "utf8");
    view.setUint32(offset + 143, length);
    offset += JOB_HEADER_BYTES + length;
  }
  return bytes.buffer as ArrayBuffer;
}

export interface DecodedJob {
  domainSeparator: Uint8Array;
  device: Uint8Array;
  epoch: bigint;
  resourceClass: number;
  kind: number;
  nonce: bigint;
  timestamp: bigint;
  signature: Uint8Array;
  payload: Uint8Array;
  /** Offset of the next job. */
  next: number;
}

/** Decodes the job at `offset` of `buf` (views into `buf`, no copies). */
export function decodeJob(buf: Uint8Array, offset: number): DecodedJob {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const length = view.getUint32(offset + 143);
  return {
    domainSeparator: buf.subarray(offset, offset + 32),
    device: buf.subarray(offset + 32, offset + 52),
    epoch: view.getBigUint64(offset + 52),
    resourceClass: buf[offset + 60],
    kind: buf[offset + 61],
    nonce: view.getBigUint64(offset + 62),
    timestamp: view.getBigUint64(offset + 70),
    signature: buf.subarray(offset + 78, offset + 143),
    payload: buf.subarray(offset + JOB_HEADER_BYTES, offset + JOB_HEADER_BYTES + length),
    next: offset + JOB_HEADER_BYTES + length,
  };
}
