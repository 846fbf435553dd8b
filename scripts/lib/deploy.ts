import { ethers, type Signer } from "ethers";

import {
  MeshToken__factory,
  ProtocolConfig__factory,
  ProviderRegistry__factory,
  Slashing__factory,
  Staking__factory,
  type MeshToken,
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
