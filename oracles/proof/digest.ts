/**
 * The EIP-712 encoding of a proof: domain, types and digest. Every device signs, and every oracle re-checks, these
 * bytes; the domain binds a proof to one chain and one ProviderRegistry, the message to one device, epoch and nonce.
 */
import { concat, keccak256, TypedDataEncoder, type TypedDataDomain } from "ethers";
import { payloadHash } from "./canonical";
import type { UnsignedProof } from "./kinds";

export const PROOF_DOMAIN_NAME = "Meshwork Proof";
export const PROOF_DOMAIN_VERSION = "1";

export const PROOF_TYPES = {
  DeviceProof: [
    { name: "device", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "resourceClass", type: "uint8" },
    { name: "kind", type: "uint8" },
    { name: "payloadHash", type: "bytes32" },
    { name: "nonce", type: "uint64" },
    { name: "timestamp", type: "uint64" },
  ],
};

/** The `DeviceProof` struct as signed (the payload replaced by its hash). */
export interface DeviceProofMessage {
  device: string;
  epoch: bigint;
  resourceClass: number;
  kind: number;
  payloadHash: string;
  nonce: bigint;
  timestamp: bigint;
}

/** EIP-712 domain of proofs for the ProviderRegistry at `registry` on chain `chainId`. */
export function proofDomain(chainId: bigint | number, registry: string): TypedDataDomain {
  return {
    name: PROOF_DOMAIN_NAME,
    version: PROOF_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: registry,
  };
}

/** The struct a record signs: its header with `payloadHash` recomputed from the payload. */
export function proofMessage(record: UnsignedProof): DeviceProofMessage {
  return {
    device: record.device,
    epoch: record.epoch,
    resourceClass: record.resourceClass,
    kind: record.kind,
    payloadHash: payloadHash(record.payload),
    nonce: record.nonce,
    timestamp: record.timestamp,
  };
}

const encoder = new TypedDataEncoder(PROOF_TYPES);

/**
 * The EIP-712 digest `keccak256(0x1901 || domainSeparator || hashStruct(DeviceProof))` of a record (its
 * signature, if any, is ignored). Equals `TypedDataEncoder.hash(domain, PROOF_TYPES, proofMessage(record))`, with the
 * type encoder built once.
 */
export function proofDigest(domain: TypedDataDomain, record: UnsignedProof): string {
  return keccak256(concat(["0x1901", TypedDataEncoder.hashDomain(domain), encoder.hash(proofMessage(record))]));
}
