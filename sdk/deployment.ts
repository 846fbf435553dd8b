/**
 * The integrator's entry point: where the protocol lives and typed handles on it. The deployments file
 * (`deployments/<chainId>.json`, written by `scripts/deploy.ts`) is validated once, and the TypeChain contracts
 * (ethers v6) are connected to a runner: a provider to read, a signer to send.
 *
 *   const meshwork = await connectMeshwork(provider);          // deployments/<the provider's chain id>.json
 *   const device = await meshwork.registry.getDevice(address);
 */
import { readFileSync } from "node:fs";
import path from "node:path";

import { getAddress, isAddress, type ContractRunner } from "ethers";
import { z } from "zod";

import {
  MeshGovernor__factory,
  MeshTimelock__factory,
  VotingPower__factory,
  type MeshGovernor,
  type MeshTimelock,
  type VotingPower,
} from "../typechain-types";
import { connectProtocol, type ProtocolContracts } from "./contracts";

/** The deployments file is missing, not JSON, has a missing or malformed field (the message names it), or does not
 * match the chain. */
export class DeploymentFileError extends Error {
  override name = "DeploymentFileError";
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.details = options.details ?? {};
  }
}

/** Default folder of deployments files: `deployments/` at the repository root. */
export const DEPLOYMENTS_DIR = path.resolve(__dirname, "..", "deployments");

/** An address in any spelling, checksummed (EIP-55); a mixed-case spelling must carry a valid checksum. */
const address = z
  .string({ error: (issue) => (issue.input === undefined ? "missing" : "must be an address string") })
  .refine((s) => isAddress(s), { error: "must be an address" })
  .transform((s) => getAddress(s));

const uint64Decimal = z
  .string({ error: (issue) => (issue.input === undefined ? "missing" : "must be a decimal string") })
  .regex(/^(0|[1-9][0-9]{0,19})$/, { error: "must be a decimal string" })
  .refine((s) => BigInt(s) < 1n << 64n, { error: "must fit uint64" });

/**
 * Chainlink Functions contracts of a deployment (written by `meshwork functions deploy-local`): the Functions router,
 * coordinator and LINK token, the DON, the verdict confirmer and the subscription that pays for its requests.
 */
export const functionsSectionSchema = z.object({
  router: address,
  coordinator: address,
  linkToken: address,
  donId: z
    .string({ error: (issue) => (issue.input === undefined ? "missing" : "must be bytes32 hex") })
    .regex(/^0x[0-9a-fA-F]{64}$/, { error: "must be bytes32 hex" })
    .transform((s) => s.toLowerCase()),
  confirmer: address,
  /** Decimal (a uint64 does not fit a JSON number). */
  subscriptionId: uint64Decimal,
  /** First block of the Functions deployment (OracleRequest scans start there). */
  block: z.number().int().nonnegative(),
});

export type FunctionsSection = z.infer<typeof functionsSectionSchema>;

/**
 * A deployments file as written by `scripts/deploy.ts`. Unknown keys are ignored; the governance contracts are absent
 * from deployments that were not handed to governance (test networks), the `Functions` section from deployments
 * without Chainlink Functions.
 */
export const deploymentFileSchema = z.object({
  chainId: z
    .number({ error: (issue) => (issue.input === undefined ? "missing" : "must be a number") })
    .int({ error: "must be a positive integer" })
    .positive({ error: "must be a positive integer" })
    .describe("chain id the protocol is deployed on"),
  deployer: address.describe("account that deployed the protocol"),
  MeshToken: address,
  ProtocolConfig: address,
  ProviderRegistry: address,
  Staking: address,
  Slashing: address,
  EmissionSchedule: address,
  EpochSeed: address,
  OracleHub: address,
  RewardsDistributor: address,
  Marketplace: address,
  VotingPower: address.optional(),
  MeshTimelock: address.optional(),
  MeshGovernor: address.optional(),
  /** First block of the deployment (event scans start there). */
  block: z.number().int().nonnegative().optional(),
  /** Chainlink Functions verdict confirmation, once deployed. */
  Functions: functionsSectionSchema.optional(),
});

export type DeploymentFile = z.infer<typeof deploymentFileSchema>;

/**
 * Reads and validates a deployment file. Throws `DeploymentFileError` with a one-line message naming the file and the
 * first bad field (every issue is in `details.issues`).
 */
export function readDeploymentFile(path: string): DeploymentFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new DeploymentFileError(`deployment file ${path}: cannot be read`, { details: { path }, cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DeploymentFileError(`deployment file ${path}: not valid JSON`, { details: { path }, cause });
  }
  return parseDeployment(json, path);
}

/** Validates an already parsed deployment file (`source` names it in errors). */
export function parseDeployment(json: unknown, source = "deployment"): DeploymentFile {
  const result = deploymentFileSchema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    field: issue.path.join(".") || "(root)",
    message: issue.message,
  }));
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new DeploymentFileError(`deployment file ${source}: ${first.field} ${first.message}${more}`, {
    details: { path: source, field: first.field, issues },
    cause: result.error,
  });
}

/** Path of the deployments file of `chainId` in `dir`. */
export function deploymentPath(chainId: bigint | number, dir: string = DEPLOYMENTS_DIR): string {
  return path.join(dir, `${chainId.toString()}.json`);
}

export { connectProtocol, type ProtocolContracts };

/** Governance contracts of a deployment handed to governance. */
export interface GovernanceContracts {
  votes: VotingPower;
  timelock: MeshTimelock;
  governor: MeshGovernor;
}

export interface Meshwork extends ProtocolContracts {
  deployment: DeploymentFile;
  /** Null for a deployment without governance. */
  governance: GovernanceContracts | null;
}

/**
 * Loads `deployments/<chainId>.json` (chain id of the runner's provider unless given), checks it against the chain
 * (chain id, code at every address) and connects every contract, governance included, to `runner`.
 */
export async function connectMeshwork(
  runner: ContractRunner,
  options: { chainId?: bigint; dir?: string; file?: string } = {},
): Promise<Meshwork> {
  const provider = runner.provider;
  if (!provider) throw new DeploymentFileError("connectMeshwork: the runner has no provider");
  const chainId = options.chainId ?? (await provider.getNetwork()).chainId;
  const file = options.file ?? deploymentPath(chainId, options.dir);
  const deployment = readDeploymentFile(file);
  const contracts = connectProtocol(deployment, runner);
  await checkDeployment(contracts, deployment);
  const { VotingPower, MeshTimelock, MeshGovernor } = deployment;
  for (const [name, at] of Object.entries({ VotingPower, MeshTimelock, MeshGovernor })) {
    if (at !== undefined && (await provider.getCode(at)) === "0x") {
      throw new DeploymentFileError(`deployment: no contract at ${name} ${at}`, { details: { field: name, address: at } });
    }
  }
  const governance =
    VotingPower && MeshTimelock && MeshGovernor
      ? {
          votes: VotingPower__factory.connect(VotingPower, runner),
          timelock: MeshTimelock__factory.connect(MeshTimelock, runner),
          governor: MeshGovernor__factory.connect(MeshGovernor, runner),
        }
      : null;
  return { ...contracts, deployment, governance };
}

/**
 * Checks that `contracts` point at a live deployment: the runner's chain id equals `deployment.chainId` and every
 * address holds code. Throws `DeploymentFileError` naming the first mismatch. Call once at start.
 */
export async function checkDeployment(contracts: ProtocolContracts, deployment: DeploymentFile): Promise<void> {
  const provider = contracts.config.runner?.provider;
  if (!provider) throw new DeploymentFileError("deployment check: the contracts' runner has no provider");
  const { chainId } = await provider.getNetwork();
  if (chainId !== BigInt(deployment.chainId)) {
    throw new DeploymentFileError(
      `deployment is for chain ${deployment.chainId}, the provider is on chain ${chainId}`,
      {
        details: { expected: deployment.chainId, actual: chainId.toString() },
      },
    );
  }
  for (const [name, contract] of Object.entries(contracts) as [string, { getAddress(): Promise<string> }][]) {
    const at = await contract.getAddress();
    if ((await provider.getCode(at)) === "0x") {
      throw new DeploymentFileError(`deployment: no contract at ${name} ${at}`, {
        details: { field: name, address: at },
      });
    }
  }
}
