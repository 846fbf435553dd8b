/**
 * Deploys the Meshwork protocol core and prints where everything is.
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
import { deployCore } from "./lib/deploy";

const MESH = 10n ** 18n;
const GENESIS_SUPPLY = 100_000_000n * MESH;

async function main(): Promise<void> {
  const [deployer] = await ethers.getSigners();
  const { chainId } = await ethers.provider.getNetwork();
  console.log(`Deploying Meshwork core to ${network.name} (chain ${chainId}) from ${deployer.address}`);

  const core = await deployCore(deployer, { genesisRecipient: deployer.address, genesisSupply: GENESIS_SUPPLY });
  const addresses = {
    chainId: Number(chainId),
    deployer: deployer.address,
    MeshToken: await core.token.getAddress(),
    ProtocolConfig: await core.config.getAddress(),
    ProviderRegistry: await core.registry.getAddress(),
    Staking: await core.staking.getAddress(),
    Slashing: await core.slashing.getAddress(),
  };
  console.table(addresses);

  const epochLength = await core.config.epochLength();
  const unbonding = await core.config.param(Param.UnbondingPeriod);
  console.log(
    `Genesis supply ${ethers.formatEther(await core.token.totalSupply())} MESH of a ` +
      `${ethers.formatEther(await core.token.MAX_SUPPLY())} cap; epoch ${epochLength / 3600n} h; ` +
      `unbonding ${unbonding / 86_400n} days.`,
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
