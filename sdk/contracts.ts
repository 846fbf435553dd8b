/**
 * The protocol's contracts connected to one runner, from a deployment record. No Node.js module here: the explorer
 * page uses it in the browser (sdk/deployment.ts, which reads deployment files, re-exports it).
 */
import type { ContractRunner } from "ethers";

import {
  EmissionSchedule__factory,
  EpochSeed__factory,
  Marketplace__factory,
  MeshToken__factory,
  OracleHub__factory,
  ProtocolConfig__factory,
  ProviderRegistry__factory,
  RewardsDistributor__factory,
  Slashing__factory,
  Staking__factory,
  type EmissionSchedule,
  type EpochSeed,
  type Marketplace,
  type MeshToken,
  type OracleHub,
  type ProtocolConfig,
  type ProviderRegistry,
  type RewardsDistributor,
  type Slashing,
  type Staking,
} from "../typechain-types";
import type { DeploymentFile } from "./deployment";

/** The protocol's contracts, typed, connected to one runner (a provider for reads, a signer to send). */
export interface ProtocolContracts {
  token: MeshToken;
  config: ProtocolConfig;
  registry: ProviderRegistry;
  staking: Staking;
  slashing: Slashing;
  schedule: EmissionSchedule;
  seeds: EpochSeed;
  hub: OracleHub;
  distributor: RewardsDistributor;
  marketplace: Marketplace;
}

/** Connects every contract of `deployment` to `runner`. Makes no call: nothing is checked against the chain here. */
export function connectProtocol(deployment: DeploymentFile, runner: ContractRunner): ProtocolContracts {
  return {
    token: MeshToken__factory.connect(deployment.MeshToken, runner),
    config: ProtocolConfig__factory.connect(deployment.ProtocolConfig, runner),
    registry: ProviderRegistry__factory.connect(deployment.ProviderRegistry, runner),
    staking: Staking__factory.connect(deployment.Staking, runner),
    slashing: Slashing__factory.connect(deployment.Slashing, runner),
    schedule: EmissionSchedule__factory.connect(deployment.EmissionSchedule, runner),
    seeds: EpochSeed__factory.connect(deployment.EpochSeed, runner),
    hub: OracleHub__factory.connect(deployment.OracleHub, runner),
    distributor: RewardsDistributor__factory.connect(deployment.RewardsDistributor, runner),
    marketplace: Marketplace__factory.connect(deployment.Marketplace, runner),
  };
}

