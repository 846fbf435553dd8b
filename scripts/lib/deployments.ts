/**
 * Writes the deployments file `deployments/<chainId>.json` (read back by `sdk/deployment.ts`: the CLI, integrators and
 * the oracles). Addresses are checksummed; `block` is the deployment's first block (event scans start there).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { DEPLOYMENTS_DIR, DeploymentFileError, deploymentPath, parseDeployment } from "../../sdk/deployment";
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
  Marketplace: string;
  VotingPower: string;
  MeshTimelock: string;
  MeshGovernor: string;
  guardian: string;
  arbitrator: string;
  /** Chainlink Functions verdict confirmation, once `meshwork functions deploy-local` (or the like) deployed it. */
  Functions?: FunctionsRecord;
}

/** The `Functions` section of a deployments file (read back as `FunctionsSection` by `sdk/deployment.ts`). */
export interface FunctionsRecord {
  router: string;
  coordinator: string;
  linkToken: string;
  /** The DON id, bytes32 hex. */
  donId: string;
  /** The `FunctionsVerdictConfirmer`. */
  confirmer: string;
  /** The subscription paying for the confirmer's requests, in decimal. */
  subscriptionId: string;
  /** Block of the first Functions deployment transaction. */
  block: number;
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
    Marketplace: await protocol.marketplace.getAddress(),
    VotingPower: await governance.votes.getAddress(),
    MeshTimelock: await governance.timelock.getAddress(),
    MeshGovernor: await governance.governor.getAddress(),
    guardian: meta.guardian,
    arbitrator: meta.arbitrator,
  };
}

/**
 * Adds (or replaces) the `Functions` section of the deployments file `file`, keeping every other key as it is. The
 * result is validated before it is written.
 *
 * @throws DeploymentFileError when the file cannot be read, is not a valid deployment, or the section is malformed.
 */
export function writeFunctionsSection(file: string, section: FunctionsRecord): void {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new DeploymentFileError(`deployment file ${file}: cannot be read as JSON`, { details: { path: file }, cause });
  }
  parseDeployment(json, file);
  const updated = { ...(json as Record<string, unknown>), Functions: section };
  parseDeployment(updated, file);
  writeFileSync(file, JSON.stringify(updated, null, 2) + "\n");
}
