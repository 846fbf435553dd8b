/**
 * End-to-end harness: a real `hardhat node` process on 127.0.0.1, the protocol deployed to it with
 * `deployProtocol`, and a simulated fleet registered through its operators.
 *
 * - Accounts: Hardhat's default mnemonic; account 0 deploys and holds the genesis supply, operators are accounts
 *   `firstOperatorAccount`.. (default 10; accounts past 19 get ETH from the deployer).
 * - Bulk transactions (funding, staking, registration) are signed locally with explicit nonces and fixed gas, sent in
 *   nonce order per account (accounts in parallel), then their receipts are checked; a failed one is replayed with
 *   `eth_call` so the error names the revert.
 * - Times: `advanceTo` mines a block at a given timestamp; `epochBounds` gives an epoch's [start, end).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import path from "node:path";

import {
  HDNodeWallet,
  JsonRpcProvider,
  Wallet,
  getBigInt,
  type TransactionReceipt,
  type TransactionRequest,
} from "ethers";

import type { DeploymentFile } from "../../../oracles/chain/contracts";
import { onChainCapacity, registrationDomain, signDeviceRegistration } from "../../../oracles/agent/register";
import type { Fleet, FleetMember } from "../../../oracles/agent/fleet";
import type { EpochWindow } from "../../../oracles/verify/mapping";
import { deployProtocol, type ProtocolDeployment } from "../deploy";
import { deployGovernance, type GovernanceDeployment, type GovernanceOptions } from "../governance";
import { ClassParam, Param, ResourceClass } from "../../../sdk/enums";
import type { ProtocolConfig } from "../../../typechain-types";
import { startProcess, type ServiceProcess } from "./process";

/** The repository root (this file is scripts/lib/localnet/network.ts). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
export const MESH = 10n ** 18n;
/** Hardhat node funds the first 20 accounts of the mnemonic. */
const FUNDED_ACCOUNTS = 20;
/* HARDHAT NODE */

export interface HardhatNode extends ServiceProcess {
  url: string;
}

export interface StartNodeOptions {
  /** Port to listen on (default: a free one). */
  port?: number;
  /** How long to wait for `eth_chainId` to answer (default 60 s). */
  timeoutMs?: number;
}

/** A port nobody listens on right now (the OS picks it; a race with other processes is possible but unlikely). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not find a free port"))));
    });
  });
}

/**
 * Spawns `npx hardhat node` from the repository root in its own process group, drains its output into tail
 * buffers, and resolves once `eth_chainId` answers. On timeout or early exit the node is stopped and the error
 * carries its stderr tail.
 */
export async function startHardhatNode(options: StartNodeOptions = {}): Promise<HardhatNode> {
  if (options.port !== undefined && (await portOpen(options.port))) {
    throw new Error(`cannot start hardhat node: something already listens on 127.0.0.1:${options.port}`);
  }
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const service = await startProcess({
    name: "hardhat node",
    command: "npx",
    args: ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)],
    cwd: REPO_ROOT,
    ready: () => answersChainId(url),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return { ...service, url };
}

/** True if something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function answersChainId(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await response.json()) as { result?: unknown };
    return typeof body.result === "string";
  } catch {
    return false;
  }
}


/* ACCOUNTS AND BULK TRANSACTIONS */

/** Account `index` of Hardhat's default mnemonic (m/44'/60'/0'/0/index). */
export function hardhatAccount(index: number, provider?: JsonRpcProvider): HDNodeWallet {
  const wallet = HDNodeWallet.fromPhrase(HARDHAT_MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
  return provider === undefined ? wallet : wallet.connect(provider);
}

/** A transaction to send in bulk: `from` signs it; gas limit is fixed (no estimate, so it may depend on earlier txs). */
export interface BulkTx {
  from: Wallet | HDNodeWallet;
  to: string;
  data?: string;
  value?: bigint;
  gasLimit: bigint;
}

/**
 * Signs every transaction with explicit nonces (from each sender's pending count) and fixed fees, sends each sender's
 * transactions in order (senders in parallel), then checks every receipt. Throws naming the first failure and its
 * revert. Receipts are returned in input order.
 */
export async function sendBulk(provider: JsonRpcProvider, txs: readonly BulkTx[]): Promise<TransactionReceipt[]> {
  if (txs.length === 0) return [];
  const { chainId } = await provider.getNetwork();
  const block = await provider.getBlock("latest");
  const baseFee = block?.baseFeePerGas ?? 1_000_000_000n;
  const maxPriorityFeePerGas = 1_000_000_000n;
  const maxFeePerGas = 2n * baseFee + maxPriorityFeePerGas;

  const bySender = new Map<string, number[]>();
  txs.forEach((tx, i) => {
    const list = bySender.get(tx.from.address) ?? [];
    list.push(i);
    bySender.set(tx.from.address, list);
  });
  const hashes = new Array<string>(txs.length);
  await Promise.all(
    [...bySender.entries()].map(async ([sender, indices]) => {
      let nonce = await provider.getTransactionCount(sender, "pending");
      const signed: string[] = [];
      for (const i of indices) {
        const tx = txs[i];
        const request: TransactionRequest = {
          type: 2,
          chainId,
          nonce: nonce++,
          to: tx.to,
          data: tx.data ?? "0x",
          value: tx.value ?? 0n,
          gasLimit: tx.gasLimit,
          maxFeePerGas,
          maxPriorityFeePerGas,
        };
        signed.push(await tx.from.signTransaction(request));
      }
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k];
        try {
          hashes[i] = (await provider.send("eth_sendRawTransaction", [signed[k]])) as string;
        } catch (error) {
          // With automine the node runs the transaction on receipt and rejects it if it reverts.
          throw new Error(`transaction ${i} from ${sender} to ${txs[i].to} was rejected: ${rpcMessage(error)}`, {
            cause: error,
          });
        }
      }
    }),
  );
  const receipts = await Promise.all(hashes.map((h) => provider.waitForTransaction(h, 1, 60_000)));
  for (let i = 0; i < receipts.length; i++) {
    const receipt = receipts[i];
    if (receipt === null) throw new Error(`transaction ${i} (${hashes[i]}) was not mined`);
    if (receipt.status !== 1) {
      const tx = txs[i];
      let reason = "no revert data";
      try {
        await provider.call({
          from: tx.from.address,
          to: tx.to,
          data: tx.data,
          value: tx.value,
          blockTag: receipt.blockNumber - 1,
        });
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
      throw new Error(`transaction ${i} from ${tx.from.address} to ${tx.to} failed: ${reason}`);
    }
  }
  return receipts as TransactionReceipt[];
}

/** The node's own message of a JSON-RPC error (ethers wraps it in "could not coalesce error"). */
function rpcMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "error" in error) {
    const inner = (error as { error?: { message?: unknown } }).error;
    if (typeof inner?.message === "string") return inner.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/* DEPLOYMENT */

export interface DeployNetworkOptions {
  /** The first oracle committee (any order) and its threshold (default: a strict majority). */
  oracles: string[];
  threshold?: number;
  /** Epoch length in seconds (at least 1 hour). */
  epochLength: bigint;
  /** `VerdictChallengeWindow`, seconds (1 h .. 7 d). */
  challengeWindow?: bigint;
  /** `VerdictSubmissionWindow`, seconds (1 h .. 7 d). */
  submissionWindow?: bigint;
  /** `JailAfterMissedEpochs` (1 .. 30). */
  jailAfterMissedEpochs?: bigint;
  /** Any other global parameters (applied after the named ones). */
  params?: Partial<Record<Param, bigint>>;
  /** Genesis supply minted to the deployer (default 100 M MESH). */
  genesisSupply?: bigint;
  /** Start of epoch 0 (default: the latest block's timestamp). */
  genesisTime?: bigint;
  /** Where slashed tokens go (default: burned). */
  treasury?: string;
  /** Where to write the deployment file (`scripts/deploy.ts` format); none if absent. */
  deploymentFile?: string;
  /** Hand the protocol to governance once the parameters are set (the deployer keeps no role). */
  governance?: GovernanceOptions;
}

export interface Network {
  url: string;
  provider: JsonRpcProvider;
  chainId: bigint;
  /** Account 0: deployer, admin of everything, holder of the genesis supply. */
  deployer: HDNodeWallet;
  /** The deployed protocol, connected to the deployer. */
  contracts: ProtocolDeployment;
  deployment: DeploymentFile;
  /** Null unless `governance` was asked for. */
  governance: GovernanceDeployment | null;
}

/** Parameters each option sets. */
const PARAM_OPTIONS = [
  ["challengeWindow", Param.VerdictChallengeWindow],
  ["submissionWindow", Param.VerdictSubmissionWindow],
  ["jailAfterMissedEpochs", Param.JailAfterMissedEpochs],
] as const;

/**
 * Deploys the whole protocol to the node at `url` from account 0 (genesis at the latest block unless given), sets the
 * requested parameters through `ProtocolConfig.setParam` (checked against `paramBounds` first; unchanged values are
 * skipped), and writes the deployment file if asked.
 */
export async function deployNetwork(url: string, options: DeployNetworkOptions): Promise<Network> {
  const provider = new JsonRpcProvider(url, undefined, { pollingInterval: 50, cacheTimeout: -1 });
  const { chainId } = await provider.getNetwork();
  const deployer = hardhatAccount(0, provider);
  const latest = await provider.getBlock("latest");
  if (latest === null) throw new Error("the node has no latest block");

  const contracts = await deployProtocol(deployer, {
    genesisRecipient: deployer.address,
    genesisSupply: options.genesisSupply ?? 100_000_000n * MESH,
    epochLength: options.epochLength,
    genesisTime: options.genesisTime ?? BigInt(latest.timestamp),
    treasury: options.treasury,
    oracles: options.oracles,
    threshold: options.threshold,
  });

  const wanted = new Map<Param, bigint>();
  for (const [key, param] of PARAM_OPTIONS) {
    const value = options[key];
    if (value !== undefined) wanted.set(param, value);
  }
  for (const [param, value] of Object.entries(options.params ?? {})) {
    if (value !== undefined) wanted.set(Number(param) as Param, value);
  }
  for (const [param, value] of wanted) {
    const [min, max] = await contracts.config.paramBounds(param);
    const name = Object.keys(Param).find((k) => Param[k as keyof typeof Param] === param) ?? String(param);
    if (value < min || value > max) throw new RangeError(`${name} = ${value} is outside [${min}, ${max}]`);
    if ((await contracts.config.param(param)) === value) continue;
    await (await contracts.config.setParam(param, value)).wait();
  }

  const governance =
    options.governance === undefined ? null : await deployGovernance(deployer, contracts, options.governance);
  const deployment: DeploymentFile = {
    chainId: Number(chainId),
    deployer: deployer.address,
    MeshToken: await contracts.token.getAddress(),
    ProtocolConfig: await contracts.config.getAddress(),
    ProviderRegistry: await contracts.registry.getAddress(),
    Staking: await contracts.staking.getAddress(),
    Slashing: await contracts.slashing.getAddress(),
    EmissionSchedule: await contracts.schedule.getAddress(),
    EpochSeed: await contracts.seeds.getAddress(),
    OracleHub: await contracts.hub.getAddress(),
    RewardsDistributor: await contracts.distributor.getAddress(),
    Marketplace: await contracts.marketplace.getAddress(),
    ...(governance === null
      ? {}
      : {
          VotingPower: await governance.votes.getAddress(),
          MeshTimelock: await governance.timelock.getAddress(),
          MeshGovernor: await governance.governor.getAddress(),
        }),
  };
  if (options.deploymentFile !== undefined) {
    await mkdir(path.dirname(options.deploymentFile), { recursive: true });
    await writeFile(options.deploymentFile, JSON.stringify(deployment, null, 2) + "\n");
  }
  return { url, provider, chainId, deployer, contracts, deployment, governance };
}

/* FLEET REGISTRATION */

export interface RegisterFleetOptions {
  /** Number of operators; fleet member i goes to operator i mod `operators`. */
  operators: number;
  /** HD index of the first operator account (default 10). */
  firstOperatorAccount?: number;
  /** Self-stake on top of what the devices require, per operator (default 0). */
  extraStake?: bigint;
  /** Registration signatures expire this long after the latest block (default 7 days). */
  deadlineIn?: bigint;
}

export interface OperatorAccount {
  wallet: HDNodeWallet;
  /** Fleet member indexes this operator registered. */
  members: number[];
  /** Self-stake it staked (the devices' required stake plus `extraStake`). */
  stake: bigint;
}

export interface RegisteredFleet {
  operators: OperatorAccount[];
  /** Operator address of each device address. */
  operatorOf: ReadonlyMap<string, string>;
  /** Transactions sent (funding, approvals, stakes and registrations) and the wall time it took. */
  transactions: number;
  elapsedMs: number;
}

/** Gas limits of bulk transactions (generous: an unused limit costs nothing on a dev chain). */
const GAS = { ether: 21_000n, transfer: 100_000n, approve: 100_000n, stake: 250_000n, register: 400_000n };
/** ETH an operator past the node's funded accounts receives. */
const OPERATOR_ETH = 10n * 10n ** 18n;
/** Registration gas is 400k at most; top up operators that hold less than this. */
const MIN_OPERATOR_ETH = 10n ** 18n;

/**
 * Registers every fleet member through `options.operators` operators: the deployer funds each operator with MESH
 * (and ETH if needed), each operator approves Staking, stakes what its share of devices requires
 * (`onChainCapacity(capacity)` x `StakePerUnit` of the class, plus `extraStake`) and registers its devices with their
 * own signatures (nonce 0: fleet keys must be fresh). The fleet's domain must be the proof domain of this chain.
 */
export async function registerFleet(
  network: Network,
  fleet: Fleet,
  options: RegisterFleetOptions,
): Promise<RegisteredFleet> {
  const started = Date.now();
  const { provider, deployer, contracts } = network;
  const { token, config, registry, staking } = contracts;
  if (!Number.isSafeInteger(options.operators) || options.operators < 1) {
    throw new RangeError("operators must be a positive integer");
  }
  const registryAddress = await registry.getAddress();
  if (BigInt(fleet.domain.chainId ?? -1) !== network.chainId || fleet.domain.verifyingContract !== registryAddress) {
    throw new Error("the fleet's domain is not proofDomain(chainId, registry) of this network");
  }

  const stakePerUnit = new Map<ResourceClass, bigint>();
  for (const c of Object.values(ResourceClass))
    stakePerUnit.set(c, await config.classParam(c, ClassParam.StakePerUnit));

  const first = options.firstOperatorAccount ?? 10;
  const operators: OperatorAccount[] = Array.from({ length: options.operators }, (_, k) => ({
    wallet: hardhatAccount(first + k, provider),
    members: [],
    stake: options.extraStake ?? 0n,
  }));
  fleet.members.forEach((m, i) => {
    const op = operators[i % operators.length];
    op.members.push(m.index);
    op.stake += onChainCapacity(m.device.capacity) * (stakePerUnit.get(m.device.resourceClass) ?? 0n);
  });

  // The deployer funds: ETH for accounts the node did not fund, MESH for everyone.
  const tokenAddress = await token.getAddress();
  const stakingAddress = await staking.getAddress();
  const funding: BulkTx[] = [];
  for (const [k, op] of operators.entries()) {
    const unfunded = first + k >= FUNDED_ACCOUNTS;
    if (unfunded && (await provider.getBalance(op.wallet.address)) < MIN_OPERATOR_ETH) {
      funding.push({ from: deployer, to: op.wallet.address, value: OPERATOR_ETH, gasLimit: GAS.ether });
    }
    if (op.stake > 0n) {
      const data = token.interface.encodeFunctionData("transfer", [op.wallet.address, op.stake]);
      funding.push({ from: deployer, to: tokenAddress, data, gasLimit: GAS.transfer });
    }
  }
  await sendBulk(provider, funding);

  // Each operator: approve, stake, then register its devices (one sender, so in this order).
  const domain = await registrationDomain(registry);
  const latest = await provider.getBlock("latest");
  const deadline = BigInt(latest?.timestamp ?? 0) + (options.deadlineIn ?? 7n * 86_400n);
  const byMember = new Map(fleet.members.map((m) => [m.index, m]));
  const operatorTxs: BulkTx[] = [];
  const operatorOf = new Map<string, string>();
  for (const op of operators) {
    if (op.stake > 0n) {
      const approve = token.interface.encodeFunctionData("approve", [stakingAddress, op.stake]);
      operatorTxs.push({ from: op.wallet, to: tokenAddress, data: approve, gasLimit: GAS.approve });
      const stake = staking.interface.encodeFunctionData("stake", [op.stake]);
      operatorTxs.push({ from: op.wallet, to: stakingAddress, data: stake, gasLimit: GAS.stake });
    }
    for (const index of op.members) {
      const device = (byMember.get(index) as FleetMember).device;
      const { registration, signature } = signDeviceRegistration(device, domain, {
        operator: op.wallet.address,
        deadline,
      });
      const data = registry.interface.encodeFunctionData("registerDevice", [registration, signature]);
      operatorTxs.push({ from: op.wallet, to: registryAddress, data, gasLimit: GAS.register });
      operatorOf.set(device.address, op.wallet.address);
    }
  }
  await sendBulk(provider, operatorTxs);
  return {
    operators,
    operatorOf,
    transactions: funding.length + operatorTxs.length,
    elapsedMs: Date.now() - started,
  };
}

/* TIME */

/** Mines one block at exactly `timestamp`, which must be later than the latest block's. */
export async function advanceTo(provider: JsonRpcProvider, timestamp: bigint | number): Promise<void> {
  const at = getBigInt(timestamp);
  const latest = await provider.getBlock("latest");
  if (latest !== null && at <= BigInt(latest.timestamp)) {
    throw new RangeError(`cannot go back in time: ${at} <= latest block ${latest.timestamp}`);
  }
  await provider.send("evm_setNextBlockTimestamp", [Number(at)]);
  await provider.send("evm_mine", []);
}

export interface EpochBounds {
  /** First second of the epoch. */
  start: bigint;
  /** First second after the epoch (exclusive end). */
  end: bigint;
  /** The same as numbers, for the agent and verifiers. */
  window: EpochWindow;
}

/** The epoch's [start, end) from the config's genesis and epoch length. */
export async function epochBounds(config: ProtocolConfig, epoch: bigint | number): Promise<EpochBounds> {
  const [genesis, length] = await Promise.all([config.genesis(), config.epochLength()]);
  const start = genesis + getBigInt(epoch) * length;
  const end = start + length;
  return { start, end, window: { start: Number(start), end: Number(end) } };
}
