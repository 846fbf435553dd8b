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

/** Encodes `jobs` into one buffer (to transfer to a worker). */
export function encodeBatch(jobs: readonly EncodableJob[]): ArrayBuffer {
  const payloads = jobs.map((job) => canonicalJson(job.record.payload));
  let size = 0;
  for (const payload of payloads) size += JOB_HEADER_BYTES + Buffer.byteLength(payload, "utf8");
  const bytes = Buffer.from(new ArrayBuffer(size));
  let offset = 0;
  for (let i = 0; i < jobs.length; i++) {
    const { record, domainSeparator } = jobs[i];
    bytes.set(domainSeparator, offset);
    bytes.write(record.device.slice(2), offset + 32, 20, "hex");
    bytes.writeBigUInt64BE(record.epoch, offset + 52);
    bytes[offset + 60] = record.resourceClass;
    bytes[offset + 61] = record.kind;
    bytes.writeBigUInt64BE(record.nonce, offset + 62);
    bytes.writeBigUInt64BE(record.timestamp, offset + 70);
    bytes.write(record.signature.slice(2), offset + 78, 65, "hex");
    const length = bytes.write(payloads[i], offset + JOB_HEADER_BYTES, "utf8");
    bytes.writeUInt32BE(length, offset + 143);
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
