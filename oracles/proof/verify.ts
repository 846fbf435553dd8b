/** `verifyProofSignature` / `assertProofSignature`: does this record carry its device's signature under this domain? */
import type { TypedDataDomain } from "ethers";
import { proofDigest } from "./digest";
import { SignerMismatchError } from "./errors";
import type { ProofRecord } from "./kinds";
import { recoverSigner } from "./recover";

/**
 * Recomputes the payload hash and the EIP-712 digest of `record` under `domain`, recovers the signer and compares it
 * with `record.device`.
 *
 * Returns `true` when the device signed exactly this record for this domain, and `false` when a well-formed
 * signature was made by another key or over other data (tampered field, other chain, other registry): the usual
 * "not this device's proof" answer. Throws `InvalidSignatureError` when the signature itself is malformed (length,
 * v, r/s range, high-s twin, unrecoverable), since no honest signer produces one. Expects a record from
 * `parseProofRecord` (or `signProof`).
 */
export function verifyProofSignature(record: ProofRecord, domain: TypedDataDomain): boolean {
  const signer = recoverSigner(proofDigest(domain, record), record.signature);
  return signer.toLowerCase() === record.device.toLowerCase();
}

/** Like `verifyProofSignature`, but throws `SignerMismatchError` (naming the recovered signer) instead of false. */
export function assertProofSignature(record: ProofRecord, domain: TypedDataDomain): void {
  const signer = recoverSigner(proofDigest(domain, record), record.signature);
  if (signer.toLowerCase() !== record.device.toLowerCase()) {
    throw new SignerMismatchError("proof not signed by its device", {
      details: { device: record.device, signer, kind: record.kind, nonce: record.nonce.toString() },
    });
  }
}
