/** `signProof`: what a device does with its key. */
import type { BaseWallet, TypedDataDomain } from "ethers";
import { proofDigest } from "./digest";
import type { ProofRecord, UnsignedProof } from "./kinds";
import { parseProofRecord } from "./parse";

/** A proof to sign: everything but the device (taken from the key) and the signature. */
export type ProofDraft = UnsignedProof extends infer U ? (U extends UnsignedProof ? Omit<U, "device"> : never) : never;

/**
 * Signs `draft` with the device key `wallet` under `domain` and returns the record, checked by `parseProofRecord`
 * so a device never emits a record the oracles would refuse (throws `MalformedProofError` otherwise). Synchronous:
 * signs the digest directly with the wallet's signing key (ethers always produces low-s, v in {27, 28}).
 */
export function signProof(wallet: BaseWallet, domain: TypedDataDomain, draft: ProofDraft): ProofRecord {
  const unsigned = { ...draft, device: wallet.address } as UnsignedProof;
  const signature = wallet.signingKey.sign(proofDigest(domain, unsigned)).serialized;
  return parseProofRecord({ ...unsigned, signature });
}
