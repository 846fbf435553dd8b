import { ethers } from "ethers";

import type { OracleHub } from "../../typechain-types";
import { hubDomain, signVerdict, sortedSignatures, type EpochVerdict } from "../../sdk/verdict";

export type { EpochVerdict };

/** Five oracle keys derived from labels (a 3-of-5 committee), sorted by address. */
export function oracleWallets(count = 5): ethers.Wallet[] {
  return Array.from({ length: count }, (_, i) => new ethers.Wallet(ethers.id(`meshwork-test-oracle:${i}`))).sort(
    (a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1),
  );
}

/** A verdict for `epoch` with recognisable placeholder roots unless given. */
export function makeVerdict(epoch: bigint, overrides: Partial<EpochVerdict> = {}): EpochVerdict {
  return {
    epoch,
    rewardsRoot: ethers.id(`rewards:${epoch}`),
    faultsRoot: ethers.ZeroHash,
    leasesRoot: ethers.ZeroHash,
    totalWorkUnits: 1_000n,
    devicesCounted: 10n,
    dataHash: ethers.id(`data:${epoch}`),
    ...overrides,
  };
}

/** Signatures of `signers` over `verdict` for `hub`, sorted by signer as the hub requires. */
export async function signedBy(hub: OracleHub, verdict: EpochVerdict, signers: ethers.Wallet[]): Promise<string[]> {
  const domain = hubDomain((await hub.runner!.provider!.getNetwork()).chainId, await hub.getAddress());
  return sortedSignatures(await Promise.all(signers.map((s) => signVerdict(s, domain, verdict))));
}
