/**
 * Deploys the Meshwork protocol and prints where everything is. The first oracle committee is Hardhat accounts 1-5
 * (3 of 5) unless ORACLES lists comma-separated addresses.
 *
 *   npx hardhat run scripts/deploy.ts                     # in-process Hardhat network (throwaway)
 *   npx hardhat run scripts/deploy.ts --network localhost # a running `npx hardhat node`
 *
 * The addresses are written to run/deployment-<chainId>.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

import { ethers, network } from "hardhat";

import { Param } from "../sdk/enums";
import { deployProtocol } from "./lib/deploy";

const MESH = 10n ** 18n;
const GENESIS_SUPPLY = 100_000_000n * MESH;

async function main(): Promise<void> {
  const [deployer, ...others] = await ethers.getSigners();
  const oracles = process.env.ORACLES?.split(",").map((a) => ethers.getAddress(a.trim())) ??
    others.slice(0, 5).map((s) => s.address);
  const { chainId } = await ethers.provider.getNetwork();
  console.log(`Deploying Meshwork to ${network.name} (chain ${chainId}) from ${deployer.address}`);

  const core = await deployProtocol(deployer, {
    genesisRecipient: deployer.address,
    genesisSupply: GENESIS_SUPPLY,
    oracles,
  });
  const addresses = {
    chainId: Number(chainId),
    deployer: deployer.address,
    MeshToken: await core.token.getAddress(),
    ProtocolConfig: await core.config.getAddress(),
    ProviderRegistry: await core.registry.getAddress(),
    Staking: await core.staking.getAddress(),
    Slashing: await core.slashing.getAddress(),
    EmissionSchedule: await core.schedule.getAddress(),
    EpochSeed: await core.seeds.getAddress(),
    OracleHub: await core.hub.getAddress(),
    RewardsDistributor: await core.distributor.getAddress(),
  };
  console.table(addresses);

  const epochLength = await core.config.epochLength();
  const unbonding = await core.config.param(Param.UnbondingPeriod);
  console.log(
    `Genesis supply ${ethers.formatEther(await core.token.totalSupply())} MESH of a ` +
      `${ethers.formatEther(await core.token.MAX_SUPPLY())} cap; epoch ${epochLength / 3600n} h; ` +
      `unbonding ${unbonding / 86_400n} days.`,
  );
  const committee = await core.hub.committeeAt(0);
  console.log(
    `Emission: ${ethers.formatEther(await core.schedule.epochEmission(0))} MESH in epoch 0, ` +
      `${ethers.formatEther(await core.schedule.emissionBudget())} MESH in all; ` +
      `oracle committee ${committee.threshold} of ${committee.members.length}.`,
  );

  const file = path.join("run", `deployment-${chainId}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(addresses, null, 2) + "\n");
  console.log(`Addresses written to ${file}`);
  if (network.name === "hardhat") {
    console.log("Note: this was the in-process Hardhat network; the deployment ends with this process.");
  }
}

main().catch((error: unknown) => {
  console.error(`deploy failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
