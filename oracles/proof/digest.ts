/**
 * The EIP-712 encoding of a proof: domain, types and digest. Every device signs, and every oracle re-checks, these
 * bytes; the domain binds a proof to one chain and one ProviderRegistry, the message to one device, epoch and nonce.
 */
import { TypedDataEncoder, type TypedDataDomain } from "ethers";
import { payloadHash, payloadHashBytes } from "./canonical";
import { bytesToHex, hexToBytes, proofStructHash, typedDataDigest } from "./hash";
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

/**
 * Domain separators by domain object: a domain is built once (`proofDomain`) and used for every proof, so its
 * separator is computed once, by ethers. Domains are treated as immutable.
 */
const separators = new WeakMap<TypedDataDomain, Uint8Array>();

/** `TypedDataEncoder.hashDomain(domain)` as bytes, computed once per domain object. */
export function domainSeparator(domain: TypedDataDomain): Uint8Array {
  let separator = separators.get(domain);
  if (separator === undefined) {
    separator = hexToBytes(TypedDataEncoder.hashDomain(domain));
    separators.set(domain, separator);
  }
  return separator;
}

/**
 * The EIP-712 digest `keccak256(0x1901 || domainSeparator || hashStruct(DeviceProof))` of a record as 32 bytes (its
 * signature, if any, is ignored). Hand-rolled `encodeData` over bytes (hash.ts); equal to
 * `TypedDataEncoder.hash(domain, PROOF_TYPES, proofMessage(record))` (checked by a property test). `domain` may be
 * given as its separator (`domainSeparator`). Throws for a
 * device that is not 0x + 40 hex digits or a field out of its type.
 */
export function proofDigestBytes(domain: TypedDataDomain | Uint8Array, record: UnsignedProof): Uint8Array {
  if (!/^0x[0-9a-fA-F]{40}$/.test(record.device)) throw new TypeError("device must be an address");
  const structHash = proofStructHash({
    device: hexToBytes(record.device),
    epoch: record.epoch,
    resourceClass: record.resourceClass,
    kind: record.kind,
    payloadHash: payloadHashBytes(record.payload),
    nonce: record.nonce,
    timestamp: record.timestamp,
  });
  return typedDataDigest(domain instanceof Uint8Array ? domain : domainSeparator(domain), structHash);
}

/** `proofDigestBytes` as 0x + lowercase hex. */
export function proofDigest(domain: TypedDataDomain, record: UnsignedProof): string {
  return bytesToHex(proofDigestBytes(domain, record));
}
