import { ethers } from "ethers";

/** An epoch verdict as the oracles sign it (mirrors `EpochVerdict` in contracts/interfaces/IOracleHub.sol). */
export interface EpochVerdict {
  epoch: bigint;
  devicesCounted: bigint;
  rewardsRoot: string;
  faultsRoot: string;
  totalWorkUnits: bigint;
  dataHash: string;
}

export const VERDICT_TYPES = {
  EpochVerdict: [
    { name: "epoch", type: "uint64" },
    { name: "devicesCounted", type: "uint32" },
    { name: "rewardsRoot", type: "bytes32" },
    { name: "faultsRoot", type: "bytes32" },
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
