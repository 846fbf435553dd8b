import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import type { FaultKind } from "./enums";

/** One device's cumulative rewards (a leaf of the rewards tree). */
export interface RewardLeaf {
  device: string;
  cumulativeAmount: bigint;
}

/** One proven fault (a leaf of the faults tree). */
export interface FaultLeaf {
  device: string;
  kind: FaultKind;
  evidence: string;
}

export const REWARD_LEAF_ENCODING = ["address", "uint256"];
export const FAULT_LEAF_ENCODING = ["address", "uint8", "bytes32"];

/** The rewards tree the distributor verifies (`RewardsDistributor.leafHash`). */
export function buildRewardsTree(leaves: readonly RewardLeaf[]): StandardMerkleTree<[string, bigint]> {
  return StandardMerkleTree.of(
    leaves.map((l) => [l.device, l.cumulativeAmount] as [string, bigint]),
    REWARD_LEAF_ENCODING,
  );
}

/** The faults tree the hub verifies (`OracleHub.faultLeaf`). */
export function buildFaultsTree(leaves: readonly FaultLeaf[]): StandardMerkleTree<[string, number, string]> {
  return StandardMerkleTree.of(
    leaves.map((l) => [l.device, l.kind, l.evidence] as [string, number, string]),
    FAULT_LEAF_ENCODING,
  );
}
