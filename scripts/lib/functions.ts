/**
 * Chainlink Functions on a local chain, with `@chainlink/functions-toolkit`: deploys the Functions router, its mock
 * coordinator and LINK (`deployFunctionsOracle`), manages subscriptions (`SubscriptionManager`), and plays the DON:
 * reads the coordinator's `OracleRequest` events, runs each request's source in Deno (`simulateScript`) and delivers
 * the result with the mock coordinator's `callReport`, as the toolkit's local testnet does.
 *
 * The toolkit is built on ethers v5 (the `ethers-v5` alias): this module takes a v5 signer, made from any EIP-1193
 * provider (Hardhat's in-process network) or JSON-RPC URL by `functionsSigner`.
 */
import type { SubscriptionManager } from "@chainlink/functions-toolkit";
import cbor from "cbor";
import { BigNumber, Contract, Wallet, providers, utils, type Signer as SignerV5 } from "ethers-v5";

import { MeshworkError } from "../../oracles/proof/errors";

type Toolkit = typeof import("@chainlink/functions-toolkit");
let loadedToolkit: Toolkit | undefined;

/**
 * `@chainlink/functions-toolkit`, loaded on first use: it is slow to load (it bundles ganache), and one of its
 * dependencies (`eccrypto`) announces on stdout that it falls back to JavaScript, a notice dropped here.
 */
export function functionsToolkit(): Toolkit {
  if (loadedToolkit !== undefined) return loadedToolkit;
  const info = console.info;
  console.info = () => undefined;
  try {
    loadedToolkit = require("@chainlink/functions-toolkit") as Toolkit;
  } finally {
    console.info = info;
  }
  return loadedToolkit;
}

/** A Functions request could not be decoded, run or delivered. */
export class FunctionsDonError extends MeshworkError {}

/** The Functions contracts of a local chain. */
export interface FunctionsContracts {
  router: string;
  coordinator: string;
  linkToken: string;
  /** The DON id as bytes32 (what a consumer passes to the router). */
  donId: string;
}

/** An `OracleRequest` the mock coordinator emitted. */
export interface OracleRequest {
  requestId: string;
  requestingContract: string;
  /** CBOR-encoded request (source, args). */
  data: string;
  /** The commitment the coordinator stored, as the report must echo it. */
  commitment: utils.Result;
  blockNumber: number;
}

/** What the DON answers: a response or an error (UTF-8 text), never both. */
export type DonOutcome = { response: string; error?: undefined } | { error: string; response?: undefined };

const COMMITMENT_TYPES = [
  "bytes32", // requestId
  "address", // coordinator
  "uint96", // estimatedTotalCostJuels
  "address", // client
  "uint64", // subscriptionId
  "uint32", // callbackGasLimit
  "uint72", // adminFee
  "uint72", // donFee
  "uint40", // gasOverheadBeforeCallback
  "uint40", // gasOverheadAfterCallback
  "uint32", // timeoutTimestamp
];
const COMMITMENT_FIELDS = [
  "requestId",
  "coordinator",
  "estimatedTotalCostJuels",
  "client",
  "subscriptionId",
  "callbackGasLimit",
  "adminFee",
  "donFee",
  "gasOverheadBeforeCallback",
  "gasOverheadAfterCallback",
  "timeoutTimestamp",
];
/** Gas for `callReport` (the toolkit's local testnet uses the same). */
const CALL_REPORT_GAS = 5_000_000;
const COORDINATOR_ABI = [
  "event OracleRequest(bytes32 indexed requestId, address indexed requestingContract, address requestInitiator, uint64 subscriptionId, address subscriptionOwner, bytes data, uint16 dataVersion, bytes32 flags, uint64 callbackGasLimit, (bytes32 requestId, address coordinator, uint96 estimatedTotalCostJuels, address client, uint64 subscriptionId, uint32 callbackGasLimit, uint72 adminFee, uint72 donFee, uint40 gasOverheadBeforeCallback, uint40 gasOverheadAfterCallback, uint32 timeoutTimestamp) commitment)",
  "function callReport(bytes report)",
];

/** An EIP-1193 provider, such as Hardhat's `network.provider`. */
export interface Eip1193Provider {
  request(args: { method: string; params?: readonly unknown[] | object }): Promise<unknown>;
}

/**
 * An ethers v5 signer for the toolkit: account `account` of an EIP-1193 provider (e.g. Hardhat's `network.provider`),
 * or, given a JSON-RPC URL and a private key, that key's wallet.
 */
export function functionsSigner(source: Eip1193Provider | string, account: number | string = 0): SignerV5 {
  if (typeof source !== "string") {
    return new providers.Web3Provider(source as providers.ExternalProvider).getSigner(account);
  }
  const provider = new providers.JsonRpcProvider(source);
  return typeof account === "string" ? new Wallet(account, provider) : provider.getSigner(account);
}

/** Deploys the Functions router, mock coordinator and LINK token (the deployer receives the LINK supply). */
export async function deployFunctionsContracts(signer: SignerV5): Promise<FunctionsContracts> {
  // Typed as taking a Wallet, but uses only the Signer interface (any v5 signer works).
  const deployed = await functionsToolkit().deployFunctionsOracle(signer as Wallet);
  return {
    router: deployed.functionsRouterContract.address,
    coordinator: deployed.functionsMockCoordinatorContract.address,
    linkToken: deployed.linkTokenContract.address,
    donId: utils.formatBytes32String(deployed.donId),
  };
}

/** A `SubscriptionManager` for `functions`, initialised. */
export async function subscriptionManager(signer: SignerV5, functions: FunctionsContracts): Promise<SubscriptionManager> {
  const manager = new (functionsToolkit().SubscriptionManager)({
    signer,
    linkTokenAddress: functions.linkToken,
    functionsRouterAddress: functions.router,
  });
  await manager.initialize();
  return manager;
}

/** Creates a subscription, funds it with `juels` of LINK and adds `consumer`; returns its id. */
export async function createFundedSubscription(
  signer: SignerV5,
  functions: FunctionsContracts,
  consumer: string,
  juels: bigint,
): Promise<bigint> {
  const manager = await subscriptionManager(signer, functions);
  const subscriptionId = await manager.createSubscription();
  await manager.fundSubscription({ subscriptionId, juelsAmount: juels.toString() });
  await manager.addConsumer({ subscriptionId, consumerAddress: consumer });
  return BigInt(subscriptionId);
}

/** The `OracleRequest` events of the coordinator from `fromBlock` on, oldest first. */
export async function oracleRequests(
  signer: SignerV5,
  functions: FunctionsContracts,
  fromBlock = 0,
): Promise<OracleRequest[]> {
  const coordinator = new Contract(functions.coordinator, COORDINATOR_ABI, signer);
  const events = await coordinator.queryFilter(coordinator.filters.OracleRequest(), fromBlock);
  return events.map((event) => {
    const args = event.args!;
    return {
      requestId: args.requestId as string,
      requestingContract: args.requestingContract as string,
      data: args.data as string,
      commitment: args.commitment as utils.Result,
      blockNumber: event.blockNumber,
    };
  });
}

/** The source and string arguments of a CBOR-encoded inline-JavaScript request. */
export function decodeRequest(data: string): { source: string; args: string[] } {
  let items: unknown[];
  try {
    items = cbor.decodeAllSync(Buffer.from(data.replace(/^0x/, ""), "hex"));
  } catch (cause) {
    throw new FunctionsDonError("request data is not CBOR", { cause });
  }
  const fields = new Map<unknown, unknown>();
  for (let i = 0; i + 1 < items.length; i += 2) fields.set(items[i], items[i + 1]);
  const source = fields.get("source");
  const args = fields.get("args") ?? [];
  if (typeof source !== "string") throw new FunctionsDonError("request carries no inline source");
  if (!Array.isArray(args) || !args.every((a): a is string => typeof a === "string")) {
    throw new FunctionsDonError("request args are not strings");
  }
  return { source, args };
}

/**
 * Runs a request's source in Deno `executions` times, as DON nodes would, and aggregates like the toolkit's local
 * testnet: a majority of successes answers their median; otherwise the most common error.
 */
export async function executeRequest(data: string, executions = 1): Promise<DonOutcome> {
  let request: { source: string; args: string[] };
  try {
    request = decodeRequest(data);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const runs = await Promise.all(
    Array.from({ length: executions }, () => functionsToolkit().simulateScript({ source: request.source, args: request.args })),
  );
  const responses = runs.flatMap((r) => (r.errorString === undefined && r.responseBytesHexstring ? [r.responseBytesHexstring] : []));
  if (responses.length * 2 > runs.length) return { response: responses.sort()[Math.floor((responses.length - 1) / 2)] };
  const errors = runs.map((r) => r.errorString ?? "no response");
  const counts = new Map<string, number>();
  for (const e of errors) counts.set(e, (counts.get(e) ?? 0) + 1);
  return { error: [...counts].sort((a, b) => b[1] - a[1])[0][0] };
}

/** The report the mock coordinator's `callReport` takes for one request. */
export function encodeReport(request: OracleRequest, outcome: DonOutcome): string {
  const commitment = utils.defaultAbiCoder.encode(
    COMMITMENT_TYPES,
    COMMITMENT_FIELDS.map((field) => request.commitment[field]),
  );
  const response = outcome.response ?? "0x";
  const error = outcome.error === undefined ? "0x" : utils.hexlify(utils.toUtf8Bytes(outcome.error));
  return utils.defaultAbiCoder.encode(
    ["bytes32[]", "bytes[]", "bytes[]", "bytes[]", "bytes[]"],
    [[request.requestId], [response], [error], [commitment], ["0x"]],
  );
}

/** Delivers `outcome` for `request` through the mock coordinator (as the DON's transmitter); returns the tx hash. */
export async function deliver(
  signer: SignerV5,
  functions: FunctionsContracts,
  request: OracleRequest,
  outcome: DonOutcome,
): Promise<string> {
  const coordinator = new Contract(functions.coordinator, COORDINATOR_ABI, signer);
  // At the base fee, no tip: the router refuses a fulfilment costing more than the request's estimate, which was made
  // at the requester's gas price.
  const baseFee = (await signer.provider!.getBlock("latest")).baseFeePerGas ?? BigNumber.from(0);
  const tx = await coordinator.callReport(encodeReport(request, outcome), {
    gasLimit: CALL_REPORT_GAS,
    maxFeePerGas: baseFee.mul(2).add(1),
    maxPriorityFeePerGas: 0,
  });
  await tx.wait();
  return tx.hash as string;
}
