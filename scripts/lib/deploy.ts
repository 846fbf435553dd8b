import { ethers, type Signer } from "ethers";

import { EmissionShape } from "../../sdk/enums";
import type { ShapeParamsStruct } from "../../typechain-types/contracts/EmissionSchedule";

import {
  EmissionSchedule__factory,
  EpochSeed__factory,
  Marketplace__factory,
  MeshToken__factory,
  OracleHub__factory,
  RewardsDistributor__factory,
  ProtocolConfig__factory,
  ProviderRegistry__factory,
  Slashing__factory,
  Staking__factory,
  type EmissionSchedule,
  type EpochSeed,
  type Marketplace,
  type MeshToken,
  type OracleHub,
  type RewardsDistributor,
  type ProtocolConfig,
  type ProviderRegistry,
  type Slashing,
  type Staking,
} from "../../typechain-types";

/** Deploy-time settings of the protocol core. */
export interface CoreDeployOptions {
  /** Receiver of the genesis allocation. */
  genesisRecipient: string;
  /** Tokens minted at deployment, in wei. */
  genesisSupply: bigint;
  /** Epoch length in seconds (default one day). */
  epochLength?: bigint;
  /** Start of epoch 0 (default: the deployment block). */
  genesisTime?: bigint;
  /** Destination of slashed tokens (default: none, they are burned). */
  treasury?: string;
}

/** The deployed protocol core, as typed contracts connected to the deployer. */
export interface CoreDeployment {
  token: MeshToken;
  config: ProtocolConfig;
  registry: ProviderRegistry;
  staking: Staking;
  slashing: Slashing;
}

export const DAY = 86_400n;

/**
 * Deploys MeshToken, ProtocolConfig, ProviderRegistry, Staking and Slashing, and wires the slashing module's roles.
 * The deployer keeps every admin role; the governance deployment hands them to the timelock.
 *
 * ProviderRegistry and Staking each hold the other's address as an immutable: the registry is deployed with the
 * address Staking will get at the deployer's next nonce, and Staking's constructor checks that it matches.
 */
export async function deployCore(deployer: Signer, options: CoreDeployOptions): Promise<CoreDeployment> {
  const admin = await deployer.getAddress();

  const token = await new MeshToken__factory(deployer).deploy(admin, options.genesisRecipient, options.genesisSupply);
  await token.waitForDeployment();
  const config = await new ProtocolConfig__factory(deployer).deploy(
    admin,
    options.genesisTime ?? 0n,
    options.epochLength ?? DAY,
    options.treasury ?? ethers.ZeroAddress,
  );
  await config.waitForDeployment();

  const nonce = await deployer.getNonce();
  const stakingAddress = ethers.getCreateAddress({ from: admin, nonce: nonce + 1 });
  const registry = await new ProviderRegistry__factory(deployer).deploy(config, stakingAddress, admin, { nonce });
  await registry.waitForDeployment();
  const staking = await new Staking__factory(deployer).deploy(token, config, registry, admin, { nonce: nonce + 1 });
  await staking.waitForDeployment();

  const slashing = await new Slashing__factory(deployer).deploy(token, config, registry, staking, admin);
  await slashing.waitForDeployment();
  await (await staking.grantRole(await staking.SLASHER_ROLE(), slashing)).wait();
  await (await registry.grantRole(await registry.JAILER_ROLE(), slashing)).wait();

  return { token, config, registry, staking, slashing };
}

/** Deploy-time settings of the whole protocol. */
export interface ProtocolDeployOptions extends CoreDeployOptions {
  /** The first oracle committee (any order) and its threshold (default: a strict majority). */
  oracles: string[];
  threshold?: number;
  /** Emission shape (default: Helium-style halving every 730 epochs, emitting the whole budget asymptotically). */
  emission?: ShapeParamsStruct;
  /** Basis points per resource class, summing to 10,000 (default `DEFAULT_CLASS_SPLIT`). */
  classSplit?: number[];
}

/** The deployed protocol. */
export interface ProtocolDeployment extends CoreDeployment {
  schedule: EmissionSchedule;
  seeds: EpochSeed;
  hub: OracleHub;
  distributor: RewardsDistributor;
  marketplace: Marketplace;
}

/** Coverage, Storage, ComputeGpu, ComputeCpu, Mapping, Energy. */
export const DEFAULT_CLASS_SPLIT = [3_000, 2_500, 1_500, 1_000, 1_000, 1_000];
export const HALVING_EPOCHS = 730n; // two years of daily epochs

/** Halving every `HALVING_EPOCHS` so that the schedule converges on `budget` (2 x period x rate = budget). */
export function defaultEmission(budget: bigint): ShapeParamsStruct {
  return {
    shape: EmissionShape.Halving,
    period: HALVING_EPOCHS,
    targetBondedBps: 0,
    initialRate: 0,
    rateStep: 0,
    maxRate: 0,
    initialEmission: budget / (2n * HALVING_EPOCHS),
    totalEmission: 0,
  };
}

/**
 * Deploys the core, then EmissionSchedule, EpochSeed, OracleHub, RewardsDistributor and Marketplace (which holds no
 * role and has no admin: its parameters live in ProtocolConfig), and wires the emission path: the
 * distributor is the token's only minter and the staking contract's rewards distributor, and the hub the slashing
 * module's reporter. The deployer keeps every admin
 * role (the governance deployment hands them to the timelock).
 */
export async function deployProtocol(deployer: Signer, options: ProtocolDeployOptions): Promise<ProtocolDeployment> {
  const admin = await deployer.getAddress();
  const core = await deployCore(deployer, options);
  const { token, config, registry, staking, slashing } = core;

  const budget = (await token.MAX_SUPPLY()) - (await token.totalMinted());
  const schedule = await new EmissionSchedule__factory(deployer).deploy(
    config,
    token,
    staking,
    admin,
    budget,
    options.emission ?? defaultEmission(budget),
    options.classSplit ?? DEFAULT_CLASS_SPLIT,
  );
  await schedule.waitForDeployment();

  const seeds = await new EpochSeed__factory(deployer).deploy(config);
  await seeds.waitForDeployment();

  const members = [...options.oracles].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const threshold = options.threshold ?? Math.floor(members.length / 2) + 1;
  const hub = await new OracleHub__factory(deployer).deploy(token, config, slashing, members, threshold, admin);
  await hub.waitForDeployment();

  const distributor = await new RewardsDistributor__factory(deployer).deploy(
    token,
    hub,
    schedule,
    registry,
    staking,
    admin,
  );
  await distributor.waitForDeployment();

  await (await token.grantRole(await token.MINTER_ROLE(), distributor)).wait();
  await (await staking.grantRole(await staking.DISTRIBUTOR_ROLE(), distributor)).wait();
  await (await slashing.grantRole(await slashing.REPORTER_ROLE(), hub)).wait();

  const marketplace = await new Marketplace__factory(deployer).deploy(token, config, registry, staking, hub);
  await marketplace.waitForDeployment();
  return { ...core, schedule, seeds, hub, distributor, marketplace };
}
