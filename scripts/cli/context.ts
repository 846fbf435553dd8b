/**
 * From the global options to a connected session: the RPC is probed once (an unreachable endpoint fails fast instead
 * of ethers retrying forever), the deployments file of the RPC's chain id is loaded and checked
 * (`connectMeshwork`), and the contracts are connected to a provider (reads) or to the key's wallet (sends).
 *
 * Keys come from the environment (MESHWORK_KEY) or a file (--key-file); they are never printed.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

import type { Command } from "commander";
import {
  JsonRpcProvider,
  Network,
  Wallet,
  type ContractTransactionResponse,
  type TransactionReceipt,
} from "ethers";

import { DEPLOYMENTS_DIR, connectMeshwork, deploymentPath, type GovernanceContracts, type Meshwork } from "../../sdk/deployment";
import { CliError } from "./errors";
import { EventDecoder, print, receiptLines } from "./format";

/** Options of the root command, shared by every command. */
export interface GlobalOptions {
  rpc: string;
  deployments: string;
  keyFile?: string;
}

export const DEFAULT_RPC = "http://127.0.0.1:8545";

/** The global options as seen from any (sub)command. */
export function globalsOf(command: Command): GlobalOptions {
  const all = command.optsWithGlobals<{ rpc: string; deployments: string; keyFile?: string }>();
  return { rpc: all.rpc, deployments: all.deployments, ...(all.keyFile === undefined ? {} : { keyFile: all.keyFile }) };
}

/** Defaults of the global options (environment first). */
export function defaultGlobals(env: NodeJS.ProcessEnv = process.env): { rpc: string; deployments: string } {
  return {
    rpc: env.MESHWORK_RPC_URL || DEFAULT_RPC,
    deployments: env.DEPLOYMENTS_DIR || DEPLOYMENTS_DIR,
  };
}

/** A connection to the protocol for reading. */
export interface ReadSession {
  /** The RPC URL (for clients that need their own provider, such as the Functions toolkit's ethers v5). */
  rpc: string;
  provider: JsonRpcProvider;
  chainId: bigint;
  meshwork: Meshwork;
  decoder: EventDecoder;
  /** Timestamp of the latest block. */
  now(): Promise<bigint>;
  close(): void;
}

/** A connection with a signer: contracts in `meshwork` send from `account`. */
export interface SendSession extends ReadSession {
  wallet: Wallet;
  account: string;
  /** Sends, waits for the receipt (a revert throws) and prints the hash and decoded events. */
  send(label: string, tx: Promise<ContractTransactionResponse>): Promise<TransactionReceipt>;
}

const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/** A wallet from a private key in hex; `source` names where it came from (the key itself is never shown). */
export function walletFromKey(key: string, source: string): Wallet {
  const trimmed = key.trim();
  if (!PRIVATE_KEY.test(trimmed)) throw new CliError(`${source} does not hold a private key (32 bytes hex)`);
  try {
    return new Wallet(trimmed.startsWith("0x") ? trimmed : `0x${trimmed}`);
  } catch {
    throw new CliError(`${source} does not hold a valid secp256k1 private key`);
  }
}

/** Reads a key file written by `device keygen` (or any file holding one hex private key). */
export function readKeyFile(file: string, what = "key file"): Wallet {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new CliError(`${what} ${file} cannot be read`);
  }
  return walletFromKey(text, `${what} ${file}`);
}

/** The sending key: --key-file if given, else MESHWORK_KEY. */
export function loadSigningKey(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Wallet {
  if (options.keyFile !== undefined) return readKeyFile(options.keyFile);
  const key = env.MESHWORK_KEY;
  if (key === undefined || key === "") {
    throw new CliError("no key to send with: set MESHWORK_KEY or pass --key-file <path>");
  }
  return walletFromKey(key, "MESHWORK_KEY");
}

/** The chain id the RPC answers, or a CliError naming the endpoint when it cannot be reached. */
export async function probeChainId(rpc: string): Promise<bigint> {
  let url: URL;
  try {
    url = new URL(rpc);
  } catch {
    throw new CliError(`--rpc ${rpc} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliError(`--rpc ${rpc} must be http(s)`);
  let body: unknown;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new CliError(`RPC ${rpc} answered HTTP ${response.status}`);
    body = await response.json();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot reach the RPC at ${rpc} (${networkReason(error)})`, { cause: error });
  }
  const result = (body as { result?: unknown } | null)?.result;
  if (typeof result !== "string" || !/^0x[0-9a-fA-F]+$/.test(result)) {
    throw new CliError(`RPC ${rpc} did not answer eth_chainId`);
  }
  return BigInt(result);
}

function networkReason(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError") return "timed out";
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    if (typeof cause?.code === "string") return cause.code;
    if (typeof cause?.message === "string") return cause.message;
    return error.message;
  }
  return String(error);
}

/** Connects for reading: probes the RPC, loads and checks the chain's deployments file. */
export async function openRead(options: GlobalOptions): Promise<ReadSession> {
  return open(options, null);
}

/** Connects with the signing key (checked before anything touches the network). */
export async function openSend(options: GlobalOptions): Promise<SendSession> {
  const wallet = loadSigningKey(options);
  const session = await open(options, wallet);
  const connected = wallet.connect(session.provider);
  return {
    ...session,
    wallet: connected,
    account: connected.address,
    async send(label, tx) {
      const response = await tx;
      const receipt = await response.wait();
      if (receipt === null) throw new CliError(`${label}: transaction ${response.hash} was not mined`);
      print(...receiptLines(label, receipt, session.decoder));
      return receipt;
    },
  };
}

async function open(options: GlobalOptions, wallet: Wallet | null): Promise<ReadSession> {
  const chainId = await probeChainId(options.rpc);
  const dir = path.resolve(options.deployments);
  const file = deploymentPath(chainId, dir);
  if (!existsSync(file)) {
    throw new CliError(
      `no deployment for chain ${chainId} in ${dir} (wrong network, or not deployed there: check --rpc and --deployments)`,
    );
  }
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(options.rpc, network, { staticNetwork: network, pollingInterval: 250, cacheTimeout: -1 });
  const runner = wallet === null ? provider : wallet.connect(provider);
  let meshwork: Meshwork;
  try {
    meshwork = await connectMeshwork(runner, { chainId, file });
  } catch (error) {
    provider.destroy();
    throw error;
  }
  const decoder = await EventDecoder.of(meshwork);
  return {
    rpc: options.rpc,
    provider,
    chainId,
    meshwork,
    decoder,
    async now() {
      const block = await provider.getBlock("latest");
      if (block === null) throw new CliError("the RPC has no latest block");
      return BigInt(block.timestamp);
    },
    close: () => provider.destroy(),
  };
}

/** The deployment's governance contracts, or a CliError when it has none. */
export function governanceOf(session: ReadSession): GovernanceContracts {
  if (session.meshwork.governance === null) {
    throw new CliError("this deployment has no governance contracts (VotingPower, MeshTimelock, MeshGovernor)");
  }
  return session.meshwork.governance;
}

/** Runs `body` with a session and closes it afterwards, whatever happens. */
export async function withSession<S extends ReadSession, T>(session: Promise<S>, body: (s: S) => Promise<T>): Promise<T> {
  const s = await session;
  try {
    return await body(s);
  } finally {
    s.close();
  }
}
