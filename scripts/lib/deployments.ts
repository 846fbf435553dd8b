/**
 * Writes the deployments file `deployments/<chainId>.json` (read back by `sdk/deployment.ts`: the CLI, integrators and
 * the oracles). Addresses are checksummed; `block` is the deployment's first block (event scans start there).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { DEPLOYMENTS_DIR, deploymentPath } from "../../sdk/deployment";

export interface DeploymentRecord {
  chainId: number;
  deployer: string;
  /** Block of the first deployment transaction. */
  block: number;
  MeshToken: string;
  ProtocolConfig: string;
  ProviderRegistry: string;
  Staking: string;
  Slashing: string;
  EmissionSchedule: string;
  EpochSeed: string;
  OracleHub: string;
  RewardsDistributor: string;
  VotingPower: string;
  MeshTimelock: string;
  MeshGovernor: string;
  guardian: string;
  arbitrator: string;
}

export function writeDeployment(record: DeploymentRecord, dir: string = DEPLOYMENTS_DIR): string {
  const file = deploymentPath(record.chainId, dir);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
  return file;
}
