/**
 * `functions deploy-local` (chain 31337 only): the toolkit's router, mock coordinator and LINK, a funded subscription,
 * and the FunctionsVerdictConfirmer owned by governance (MeshTimelock), recorded in the `Functions` section of the
 * deployments file; prints how governance points the hub at it.
 */
import path from "node:path";

import { Command } from "commander";
import { formatEther, keccak256, toUtf8Bytes } from "ethers";

import { MAX_ENDPOINTS, readVerdictSource } from "../../../oracles/functions/source";
import { deploymentPath } from "../../../sdk/deployment";
import { ConfirmationMode } from "../../../sdk/enums";
import { FunctionsVerdictConfirmer__factory } from "../../../typechain-types";
import { writeFunctionsSection } from "../../lib/deployments";
import type { FunctionsContracts } from "../../lib/functions";
import { enumName, parseAddress } from "../args";
import { globalsOf, openSend, probeChainId, withSession, type ReadSession, type SendSession } from "../context";
import { CliError } from "../errors";
import { print } from "../format";
import { checkConfirmerEndpoints, majority, parseEndpoints, parseLink, parseQuorum, requireLocal } from "./shared";
import { subscriptionManager } from "./subscription";
import { loadFunctionsModules, toolkitCall, toolkitSigner } from "./toolkit";

/** LINK `deploy-local` funds the subscription with, by default. */
const DEFAULT_LINK = "100";

interface DeployLocalOptions {
  endpoints: string;
  quorum?: string;
  link: string;
  owner?: string;
}

export function deployLocalCommand(): Command {
  return new Command("deploy-local")
    .description(
      "local chain (31337) only: deploy the Functions router, mock coordinator and LINK, a funded subscription and " +
        "the FunctionsVerdictConfirmer (owned by the MeshTimelock), and record them in the deployments file",
    )
    .requiredOption("--endpoints <urls>", `oracle base URLs the source reads, comma-separated (1 to ${MAX_ENDPOINTS})`)
    .option("--quorum <n>", "endpoints that must agree (a strict majority; default: the smallest one)")
    .option("--link <amount>", "LINK to fund the subscription with", DEFAULT_LINK)
    .option("--owner <address>", "owner of the confirmer (default: the deployment's MeshTimelock)")
    .action(async (options: DeployLocalOptions, command: Command) => {
      await deployLocal(options, command);
    });
}

async function deployLocal(options: DeployLocalOptions, command: Command): Promise<void> {
  const globals = globalsOf(command);
  const endpoints = parseEndpoints(options.endpoints);
  const quorum = options.quorum === undefined ? majority(endpoints.length) : parseQuorum(options.quorum);
  checkConfirmerEndpoints(endpoints, quorum);
  const juels = parseLink(options.link, "--link");
  const ownerOption = options.owner === undefined ? undefined : parseAddress(options.owner, "--owner");
  requireLocal(await probeChainId(globals.rpc), "functions deploy-local");
  await withSession(openSend(globals), async (s) => {
    const owner = ownerOption ?? (await governanceOwner(s));
    const { lib } = await loadFunctionsModules();
    const signer = await toolkitSigner(s.rpc, s.chainId, s.wallet.privateKey);
    const block = (await s.provider.getBlockNumber()) + 1;

    const functions = await toolkitCall("deploy the Functions router, coordinator and LINK", () =>
      lib.deployFunctionsContracts(signer),
    );
    print(
      `Functions router ${functions.router}`,
      `mock coordinator ${functions.coordinator}`,
      `LINK token       ${functions.linkToken}`,
      `DON id           ${functions.donId}`,
    );
    const manager = await subscriptionManager(s, functions);
    const subscriptionId = BigInt(await toolkitCall("create a subscription", () => manager.createSubscription()));
    await toolkitCall(`fund subscription ${subscriptionId}`, () =>
      manager.fundSubscription({ subscriptionId, juelsAmount: juels }),
    );
    print(`subscription ${subscriptionId} created and funded with ${formatEther(juels)} LINK`);

    const confirmer = await deployConfirmer(s, functions, { owner, subscriptionId, endpoints, quorum });
    await toolkitCall(`add ${confirmer} to subscription ${subscriptionId}`, () =>
      manager.addConsumer({ subscriptionId, consumerAddress: confirmer }),
    );
    print(`FunctionsVerdictConfirmer ${confirmer} added as consumer of subscription ${subscriptionId}`);

    const file = deploymentPath(s.chainId, path.resolve(globals.deployments));
    const replaced = s.meshwork.deployment.Functions !== undefined;
    writeFunctionsSection(file, { ...functions, confirmer, subscriptionId: subscriptionId.toString(), block });
    print(`${replaced ? "replaced" : "wrote"} the Functions section of ${file}`);
    print(...(await switchModeLines(s, confirmer)));
  });
}

/** The deployment's MeshTimelock, which owns the confirmer unless `--owner` says otherwise. */
async function governanceOwner(s: ReadSession): Promise<string> {
  const timelock = s.meshwork.governance?.timelock;
  if (timelock === undefined) {
    throw new CliError("this deployment has no MeshTimelock to own the confirmer: pass --owner <address>");
  }
  return timelock.getAddress();
}

/** Deploys the confirmer with the pinned source hash; returns its address. */
async function deployConfirmer(
  s: SendSession,
  functions: FunctionsContracts,
  p: { owner: string; subscriptionId: bigint; endpoints: string[]; quorum: number },
): Promise<string> {
  const sourceHash = keccak256(toUtf8Bytes(readVerdictSource()));
  const contract = await new FunctionsVerdictConfirmer__factory(s.wallet).deploy(
    functions.router,
    await s.meshwork.config.getAddress(),
    await s.meshwork.hub.getAddress(),
    p.owner,
    sourceHash,
    p.subscriptionId,
    functions.donId,
    p.endpoints,
    p.quorum,
  );
  const tx = contract.deploymentTransaction();
  await contract.waitForDeployment();
  const address = await contract.getAddress();
  print(
    `FunctionsVerdictConfirmer ${address}: tx ${tx?.hash ?? "?"}`,
    `  owner ${p.owner}, source hash ${sourceHash}`,
    `  endpoints ${p.endpoints.join(", ")} (quorum ${p.quorum})`,
  );
  return address;
}

/** How governance points the hub at `confirmer`: `setConfirmation` is admin-only (the timelock). */
async function switchModeLines(s: ReadSession, confirmer: string): Promise<string[]> {
  const hub = s.meshwork.hub;
  const [hubAddress, mode] = await Promise.all([hub.getAddress(), hub.confirmationMode()]);
  const calldata = (m: number): string => hub.interface.encodeFunctionData("setConfirmation", [confirmer, m]);
  return [
    `the hub is in mode ${enumName(ConfirmationMode, mode)}; governance (the timelock, the hub's admin) switches it ` +
      "with a proposal calling OracleHub.setConfirmation:",
    `  target    ${hubAddress} (value 0)`,
    `  MustAgree calldata ${calldata(ConfirmationMode.MustAgree)}`,
    `  Fallback  calldata ${calldata(ConfirmationMode.Fallback)}`,
    "  propose it with MeshGovernor.propose([target], [0], [calldata], description) (`meshwork gov propose` only " +
      "changes ProtocolConfig parameters); `meshwork gov vote|queue|execute <id>` then work as for any proposal",
  ];
}
