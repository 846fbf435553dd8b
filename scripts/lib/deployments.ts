/**
 * Writes the deployments file `deployments/<chainId>.json` (read back by `sdk/deployment.ts`: the CLI, integrators and
 * the oracles). Addresses are checksummed; `block` is the deployment's first block (event scans start there).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { DEPLOYMENTS_DIR, deploymentPath } from "../../sdk/deployment";
import type { ProtocolDeployment } from "./deploy";
import type { GovernanceDeployment } from "./governance";

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

/** The record of a deployment handed to governance. */
export async function deploymentRecord(
  protocol: ProtocolDeployment,
  governance: GovernanceDeployment,
  meta: { chainId: number; deployer: string; block: number; guardian: string; arbitrator: string },
): Promise<DeploymentRecord> {
  return {
    chainId: meta.chainId,
    deployer: meta.deployer,
    block: meta.block,
    MeshToken: await protocol.token.getAddress(),
    ProtocolConfig: await protocol.config.getAddress(),
    ProviderRegistry: await protocol.registry.getAddress(),
    Staking: await protocol.staking.getAddress(),
    Slashing: await protocol.slashing.getAddress(),
    EmissionSchedule: await protocol.schedule.getAddress(),
    EpochSeed: await protocol.seeds.getAddress(),
    OracleHub: await protocol.hub.getAddress(),
    RewardsDistributor: await protocol.distributor.getAddress(),
    VotingPower: await governance.votes.getAddress(),
    MeshTimelock: await governance.timelock.getAddress(),
    MeshGovernor: await governance.governor.getAddress(),
    guardian: meta.guardian,
    arbitrator: meta.arbitrator,
  };
}
