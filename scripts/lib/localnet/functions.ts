/**
 * Chainlink Functions in `npm start`: the toolkit's router, mock coordinator and LINK on the local chain, a funded
 * subscription, a `FunctionsVerdictConfirmer` owned by the timelock that reads every oracle's endpoint (a strict
 * majority must agree), and the DON played here: a confirmation request runs the real source in Deno against the
 * oracles and the coordinator delivers the answer.
 */
import { ethers, type Signer } from "ethers";
import type { Signer as SignerV5 } from "ethers-v5";

import { readVerdictSource } from "../../../oracles/functions/source";
import { FunctionsVerdictConfirmer__factory, type FunctionsVerdictConfirmer } from "../../../typechain-types";
import {
  deliver,
  deployFunctionsContracts,
  executeRequest,
  functionsSigner,
  oracleRequests,
  subscriptionManager,
  type DonOutcome,
  type FunctionsContracts,
} from "../functions";
import { hardhatAccount, type Network } from "./network";

/** The account that transmits the DON's reports (and owns the subscription). */
const DON_ACCOUNT = 8;
const SUBSCRIPTION_LINK = 100n * 10n ** 18n;

export interface LocalFunctions {
  functions: FunctionsContracts;
  confirmer: FunctionsVerdictConfirmer;
  subscriptionId: bigint;
  /** The DON's transmitter (ethers v5, for the toolkit). */
  don: SignerV5;
  source: string;
  /** Deployment block of the Functions contracts. */
  block: number;
}

/** Deploys the Functions contracts and the confirmer (owned by `owner`), with a subscription paying for it. */
export async function deployLocalFunctions(
  network: Network,
  endpoints: readonly string[],
  owner: string,
): Promise<LocalFunctions> {
  const block = (await network.provider.getBlockNumber()) + 1;
  const don = functionsSigner(network.url, hardhatAccount(DON_ACCOUNT).privateKey);
  const functions = await deployFunctionsContracts(don);
  const manager = await subscriptionManager(don, functions);
  const subscriptionId = BigInt(await manager.createSubscription());
  await manager.fundSubscription({ subscriptionId, juelsAmount: SUBSCRIPTION_LINK.toString() });

  const source = readVerdictSource();
  const confirmer = await new FunctionsVerdictConfirmer__factory(network.deployer).deploy(
    functions.router,
    network.contracts.config,
    network.contracts.hub,
    owner,
    ethers.id(source),
    subscriptionId,
    functions.donId,
    [...endpoints],
    Math.floor(endpoints.length / 2) + 1,
  );
  await confirmer.waitForDeployment();
  await manager.addConsumer({ subscriptionId, consumerAddress: await confirmer.getAddress() });
  return { functions, confirmer, subscriptionId, don, source, block };
}

/** `requester` asks for a confirmation of `epoch`; the DON runs the source in Deno and delivers its outcome. */
export async function confirmEpoch(f: LocalFunctions, requester: Signer, epoch: bigint): Promise<DonOutcome> {
  const receipt = await (await f.confirmer.connect(requester).requestConfirmation(epoch, f.source)).wait();
  const [request] = await oracleRequests(f.don, f.functions, receipt!.blockNumber);
  const outcome = await executeRequest(request.data);
  await deliver(f.don, f.functions, request, outcome);
  return outcome;
}
