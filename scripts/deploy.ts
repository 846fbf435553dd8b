/**
 * Deploys the whole Meshwork protocol and hands it to on-chain governance, then writes `deployments/<chainId>.json`.
 *
 *   npx hardhat run scripts/deploy.ts                      # in-process Hardhat network (throwaway)
 *   npx hardhat run scripts/deploy.ts --network localhost  # a running `npx hardhat node`
 *   MESHWORK_RPC_URL=... DEPLOYER_KEY=... npx hardhat run scripts/deploy.ts --network remote
 *
 * Environment: ORACLES (comma-separated committee; default Hardhat accounts 1-5), GUARDIAN and ARBITRATOR (default
 * Hardhat accounts 6 and 7), EPOCH_LENGTH (seconds, default one day), DEPLOYMENTS_DIR (default deployments/).
 * Plain scripts rather than Hardhat Ignition: ProviderRegistry and Staking point at each other through an address
 * predicted from the deployer's nonce, and the governance hand-over runs a timelock operation whose calldata depends
 * on earlier results; Ignition's declarative futures fit neither without workarounds.
 */
import { ethers, network } from "hardhat";

import { Param } from "../sdk/enums";
import { deployProtocol } from "./lib/deploy";
import { deploymentRecord, writeDeployment } from "./lib/deployments";
import { deployGovernance } from "./lib/governance";

const MESH = 10n ** 18n;
const GENESIS_SUPPLY = 100_000_000n * MESH;

function addressList(value: string | undefined): string[] | undefined {
  return value?.split(",").map((a) => ethers.getAddress(a.trim()));
}

async function main(): Promise<void> {
  const signers = await ethers.getSigners();
  const deployer = signers[0];
  if (deployer === undefined) throw new Error("no deployer account: set DEPLOYER_KEY");
  const fallback = (i: number, name: string): string => {
    const s = signers[i];
    if (s === undefined) throw new Error(`set ${name}: this network has no default account ${i}`);
    return s.address;
  };
  const oracles = addressList(process.env.ORACLES) ?? [1, 2, 3, 4, 5].map((i) => fallback(i, "ORACLES"));
  const guardian = process.env.GUARDIAN ? ethers.getAddress(process.env.GUARDIAN) : fallback(6, "GUARDIAN");
  const arbitrator = process.env.ARBITRATOR ? ethers.getAddress(process.env.ARBITRATOR) : fallback(7, "ARBITRATOR");
  const { chainId } = await ethers.provider.getNetwork();
  const block = await ethers.provider.getBlockNumber();
  console.log(`Deploying Meshwork to ${network.name} (chain ${chainId}) from ${deployer.address}`);

  const protocol = await deployProtocol(deployer, {
    genesisRecipient: deployer.address,
    genesisSupply: GENESIS_SUPPLY,
    oracles,
    ...(process.env.EPOCH_LENGTH ? { epochLength: BigInt(process.env.EPOCH_LENGTH) } : {}),
  });
  const governance = await deployGovernance(deployer, protocol, { guardian, arbitrator });

  const record = await deploymentRecord(protocol, governance, {
    chainId: Number(chainId),
    deployer: deployer.address,
    block: block + 1,
    guardian,
    arbitrator,
  });
  console.table(record);

  const epochLength = await protocol.config.epochLength();
  const unbonding = await protocol.config.param(Param.UnbondingPeriod);
  const delay = await governance.timelock.getMinDelay();
  const committee = await protocol.hub.committeeAt(0);
  console.log(
    `Genesis supply ${ethers.formatEther(await protocol.token.totalSupply())} MESH of a ` +
      `${ethers.formatEther(await protocol.token.MAX_SUPPLY())} cap; epoch ${epochLength / 3600n} h; ` +
      `unbonding ${unbonding / 86_400n} days; timelock delay ${delay / 86_400n} days; ` +
      `oracle committee ${committee.threshold} of ${committee.members.length}. ` +
      `Every admin role and ownership is held by the timelock.`,
  );
  const file = writeDeployment(record, process.env.DEPLOYMENTS_DIR);
  console.log(`Addresses written to ${file}`);
  if (network.name === "hardhat") {
    console.log("Note: this was the in-process Hardhat network; the deployment ends with this process.");
  }
}

main().catch((error: unknown) => {
  console.error(`deploy failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
