/** `verifyProofSignature` / `assertProofSignature`: does this record carry its device's signature under this domain? */
import type { TypedDataDomain } from "ethers";
import { proofDigestBytes } from "./digest";
import { SignerMismatchError } from "./errors";
import { bytesEqual, bytesToHex, hexToBytes, recoverAddressBytes, toChecksumAddress } from "./hash";
import type { ProofRecord } from "./kinds";
import { recoverSignerBytes } from "./recover";

/**
 * The in-thread verification path: digest (hash.ts, no ethers), strict recovery to address bytes, byte comparison
 * with `record.device`. Returns the digest and whether the device signed it; throws `InvalidSignatureError` for a
 * malformed signature. `domain` may be its separator (`domainSeparator`). The verifier workers (verifier-pool.ts) run the same functions.
 */
export function checkProofSignature(
  record: ProofRecord,
  domain: TypedDataDomain | Uint8Array,
): { digest: Uint8Array; signer: Uint8Array; match: boolean } {
  const digest = proofDigestBytes(domain, record);
  const signer =
    typeof record.signature === "string" && /^0x[0-9a-f]{130}$/.test(record.signature)
      ? recoverAddressBytes(digest, hexToBytes(record.signature))
      : recoverSignerBytes(digest, record.signature); // throws the precise InvalidSignatureError
  return { digest, signer, match: bytesEqual(signer, hexToBytes(record.device)) };
}

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
  return checkProofSignature(record, domain).match;
}

/** Like `verifyProofSignature`, but throws `SignerMismatchError` (naming the recovered signer) instead of false. */
export function assertProofSignature(record: ProofRecord, domain: TypedDataDomain): void {
  const { signer, match } = checkProofSignature(record, domain);
  if (!match) {
    throw new SignerMismatchError("proof not signed by its device", {
      details: {
        device: record.device,
        signer: toChecksumAddress(bytesToHex(signer)),
        kind: record.kind,
        nonce: record.nonce.toString(),
      },
    });
  }
}
