import { ethers } from "ethers";

/** An epoch verdict as the oracles sign it (mirrors `EpochVerdict` in contracts/interfaces/IOracleHub.sol). */
export interface EpochVerdict {
  epoch: bigint;
  devicesCounted: bigint;
  rewardsRoot: string;
  faultsRoot: string;
  /** Root of the lease tree (leaseId, cumulative delivered bps, cumulative breaches); `ZeroHash` without leases. */
  leasesRoot: string;
  totalWorkUnits: bigint;
  dataHash: string;
}

export const VERDICT_TYPES = {
  EpochVerdict: [
    { name: "epoch", type: "uint64" },
    { name: "devicesCounted", type: "uint32" },
    { name: "rewardsRoot", type: "bytes32" },
    { name: "faultsRoot", type: "bytes32" },
    { name: "leasesRoot", type: "bytes32" },
    { name: "totalWorkUnits", type: "uint256" },
    { name: "dataHash", type: "bytes32" },
  ],
};

/** EIP-712 domain of an OracleHub deployment. */
export function hubDomain(chainId: bigint, hubAddress: string): ethers.TypedDataDomain {
  return { name: "Meshwork OracleHub", version: "1", chainId, verifyingContract: hubAddress };
}

/** The EIP-712 digest an oracle signs (equals `OracleHub.verdictDigest`). */
export function verdictDigest(domain: ethers.TypedDataDomain, verdict: EpochVerdict): string {
  return ethers.TypedDataEncoder.hash(domain, VERDICT_TYPES, verdict);
}

/**
 * The EIP-712 struct hash of a verdict (`keccak256(abi.encode(VERDICT_TYPEHASH, ...fields))`, no domain): what the
 * Chainlink Functions source (oracles/functions/verdict-source.js) returns beside the epoch.
 */
export function verdictStructHash(verdict: EpochVerdict): string {
  return ethers.TypedDataEncoder.hashStruct("EpochVerdict", VERDICT_TYPES, verdict);
}

/** An oracle's signature over a verdict. */
export interface VerdictSignature {
  signer: string;
  signature: string;
}

/** Signs `verdict` with an oracle key. */
export async function signVerdict(
  oracle: ethers.Signer,
  domain: ethers.TypedDataDomain,
  verdict: EpochVerdict,
): Promise<VerdictSignature> {
  return { signer: await oracle.getAddress(), signature: await oracle.signTypedData(domain, VERDICT_TYPES, verdict) };
}

/** Orders signatures by signer address, ascending, as `OracleHub.submitVerdict` requires. */
export function sortedSignatures(signatures: readonly VerdictSignature[]): string[] {
  return [...signatures]
    .sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : BigInt(a.signer) > BigInt(b.signer) ? 1 : 0))
    .map((s) => s.signature);
}

/** JSON form of an `EpochVerdict`: integers as decimal strings, hashes as lowercase hex. */
export interface EpochVerdictJson {
  epoch: string;
  devicesCounted: string;
  rewardsRoot: string;
  faultsRoot: string;
  leasesRoot: string;
  totalWorkUnits: string;
  dataHash: string;
}

/** A value is not a well-formed verdict. */
export class InvalidVerdictError extends Error {
  override name = "InvalidVerdictError";
}

export function verdictToJson(verdict: EpochVerdict): EpochVerdictJson {
  return {
    epoch: verdict.epoch.toString(),
    devicesCounted: verdict.devicesCounted.toString(),
    rewardsRoot: verdict.rewardsRoot.toLowerCase(),
    faultsRoot: verdict.faultsRoot.toLowerCase(),
    leasesRoot: verdict.leasesRoot.toLowerCase(),
    totalWorkUnits: verdict.totalWorkUnits.toString(),
    dataHash: verdict.dataHash.toLowerCase(),
  };
}

const UINT = /^(0|[1-9][0-9]{0,77})$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const FIELD_BITS: Readonly<Record<"epoch" | "devicesCounted" | "totalWorkUnits", bigint>> = {
  epoch: 64n,
  devicesCounted: 32n,
  totalWorkUnits: 256n,
};

/** Parses the JSON form of a verdict (from a peer or a file); throws `InvalidVerdictError` naming the bad field. */
export function verdictFromJson(input: unknown): EpochVerdict {
  if (typeof input !== "object" || input === null) throw new InvalidVerdictError("verdict must be an object");
  const value = input as Record<string, unknown>;
  const uint = (key: keyof typeof FIELD_BITS): bigint => {
    const v = value[key];
    if (typeof v !== "string" || !UINT.test(v))
      throw new InvalidVerdictError(`verdict.${key} must be a decimal string`);
    const n = BigInt(v);
    if (n >= 1n << FIELD_BITS[key]) throw new InvalidVerdictError(`verdict.${key} does not fit uint${FIELD_BITS[key]}`);
    return n;
  };
  const bytes32 = (key: "rewardsRoot" | "faultsRoot" | "leasesRoot" | "dataHash"): string => {
    const v = value[key];
    if (typeof v !== "string" || !BYTES32.test(v)) throw new InvalidVerdictError(`verdict.${key} must be bytes32 hex`);
    return v.toLowerCase();
  };
  return {
    epoch: uint("epoch"),
    devicesCounted: uint("devicesCounted"),
    rewardsRoot: bytes32("rewardsRoot"),
    faultsRoot: bytes32("faultsRoot"),
    leasesRoot: bytes32("leasesRoot"),
    totalWorkUnits: uint("totalWorkUnits"),
    dataHash: bytes32("dataHash"),
  };
}
