/**
 * What an integrator writes against Meshwork, using only `sdk/` and ethers: a device's status, an operator's claimable
 * rewards, and a live feed of slashing penalties.
 *
 *   npx hardhat run scripts/examples/integrator.ts --network localhost
 *   DEVICE=0x... OPERATOR=0x... ORACLE_URL=http://127.0.0.1:8080 WATCH_SECONDS=30 \
 *     npx hardhat run scripts/examples/integrator.ts --network localhost
 *
 * Environment (all optional):
 * - DEVICE: default the first device ever registered; a first command-line argument takes precedence (`hardhat run`
 *   cannot pass one, `HARDHAT_NETWORK=localhost npx ts-node scripts/examples/integrator.ts 0x...` can);
 * - OPERATOR: default the device's operator;
 * - ORACLE_URL: an oracle node; without it only what already waits in the staking pool is reported;
 * - WATCH_SECONDS: how long to listen for penalties, default 10, 0 to skip;
 * - DEPLOYMENTS_DIR or DEPLOYMENT_FILE: where the deployments file is, default `deployments/<chainId>.json`.
 *
 * The functions are exported so that they can be reused and tested (test/sdk/deployment.test.ts); `main` only wires
 * them to stdout.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { ethers, type ContractEventPayload, type ContractRunner } from "ethers";
import { z } from "zod";

import { connectMeshwork, type Meshwork } from "../../sdk/deployment";
import { DeviceStatus, FaultKind, ResourceClass } from "../../sdk/enums";
import { REWARD_LEAF_ENCODING } from "../../sdk/trees";

/** A failure of the example, with a one-line message. */
export class IntegratorError extends Error {
  override name = "IntegratorError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/** Name of an enum value (`ResourceClass`, `DeviceStatus`, `FaultKind`), or its number if unknown. */
function nameOf(enumeration: Record<string, number>, value: bigint | number): string {
  return Object.entries(enumeration).find(([, v]) => BigInt(v) === BigInt(value))?.[0] ?? String(value);
}

function checksummed(value: string, what: string): string {
  if (!ethers.isAddress(value)) throw new IntegratorError(`${what} ${value} is not an address`);
  return ethers.getAddress(value);
}

/* DEVICE STATUS */

export interface DeviceStatusReport {
  device: string;
  operator: string;
  resourceClass: string;
  status: string;
  /** H3 cell, hex; null for classes without a location. */
  location: string | null;
  capacity: bigint;
  /** Unix seconds; null unless Jailed. */
  jailedUntil: bigint | null;
  metadataURI: string;
  /** The operator's self-stake and what its declared capacity needs. */
  operatorSelfStake: bigint;
  operatorRequiredStake: bigint;
}

/** The on-chain record of `device`. Throws `IntegratorError` if it was never registered. */
export async function deviceStatus(meshwork: Meshwork, device: string): Promise<DeviceStatusReport> {
  const address = checksummed(device, "device");
  const record = await meshwork.registry.getDevice(address);
  if (record.status === BigInt(DeviceStatus.None)) throw new IntegratorError(`device ${address} is not registered`);
  const [operatorSelfStake, operatorRequiredStake] = await Promise.all([
    meshwork.staking.selfStake(record.operator),
    meshwork.registry.requiredStake(record.operator),
  ]);
  return {
    device: address,
    operator: record.operator,
    resourceClass: nameOf(ResourceClass, record.resourceClass),
    status: nameOf(DeviceStatus, record.status),
    location: record.location === 0n ? null : "0x" + record.location.toString(16),
    capacity: record.capacity,
    jailedUntil: record.status === BigInt(DeviceStatus.Jailed) ? record.jailedUntil : null,
    metadataURI: record.metadataURI,
    operatorSelfStake,
    operatorRequiredStake,
  };
}

/** The first device registered in this deployment (event scan from the deployment block), or null if none. */
export async function firstDevice(meshwork: Meshwork): Promise<string | null> {
  const logs = await meshwork.registry.queryFilter(
    meshwork.registry.filters.DeviceRegistered(),
    meshwork.deployment.block ?? 0,
  );
  return logs[0]?.args.device ?? null;
}

/**
 * Devices `operator` runs now: those it registered or accepted by transfer (event scan from the deployment block),
 * still under it on-chain. Sorted by address.
 */
export async function operatorDevices(meshwork: Meshwork, operator: string): Promise<string[]> {
  const { registry } = meshwork;
  const from = meshwork.deployment.block ?? 0;
  const who = checksummed(operator, "operator");
  const [registered, received] = await Promise.all([
    registry.queryFilter(registry.filters.DeviceRegistered(undefined, who), from),
    registry.queryFilter(registry.filters.DeviceTransferred(undefined, undefined, who), from),
  ]);
  const candidates = [...new Set([...registered, ...received].map((log) => log.args.device))];
  const current = await Promise.all(candidates.map(async (d) => ((await registry.operatorOf(d)) === who ? d : null)));
  return current.filter((d): d is string => d !== null).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
}

/* CLAIMABLE REWARDS */

/** The part of an oracle's verdict file (`GET /v1/verdicts/<epoch>/file`) a claimant needs. */
const verdictFileSchema = z.object({
  epoch: z.string().regex(/^\d+$/),
  rewardsRoot: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  rewards: z.array(
    z.object({
      device: z.string().refine((s) => ethers.isAddress(s), { error: "must be an address" }),
      cumulative: z.string().regex(/^\d+$/),
      proof: z.array(z.string().regex(/^0x[0-9a-fA-F]{64}$/)).nullable().optional(),
    }),
  ),
});

export type VerdictFileRewards = z.infer<typeof verdictFileSchema>;

/** Fetches and validates the verdict file of `epoch` from an oracle node. */
export async function fetchVerdictFile(oracleUrl: string, epoch: bigint): Promise<VerdictFileRewards> {
  const url = `${oracleUrl.replace(/\/+$/, "")}/v1/verdicts/${epoch}/file`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IntegratorError(`oracle ${url}: ${reason}`, { cause });
  }
  if (!response.ok) throw new IntegratorError(`oracle ${url}: HTTP ${response.status}`);
  let json: unknown;
  try {
    json = await response.json();
  } catch (cause) {
    throw new IntegratorError(`oracle ${url}: not JSON`, { cause });
  }
  const parsed = verdictFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegratorError(`oracle ${url}: not a verdict file (${issue.path.join(".")} ${issue.message})`);
  }
  return parsed.data;
}

export interface DeviceClaimable {
  device: string;
  /** Cumulative rewards of the device in the latest finalised verdict; null without an oracle URL. */
  cumulative: bigint | null;
  /** Paid out already (`RewardsDistributor.claimed`). */
  claimed: bigint;
  /** `cumulative - claimed`: what `RewardsDistributor.claim` would pay now; null without an oracle URL. */
  unclaimed: bigint | null;
}

export interface ClaimableReport {
  operator: string;
  /** Epoch of the latest finalised verdict (the root a claim is checked against); null before the first. */
  epoch: bigint | null;
  devices: DeviceClaimable[];
  /** Sum of the devices' `unclaimed`; null without an oracle URL. */
  unclaimedTotal: bigint | null;
  /** Rewards already in the staking pool for the operator (`Staking.pendingRewards(operator, operator)`). */
  stakingRewards: bigint;
}

/**
 * What `operator` can collect: per device, its cumulative rewards in the latest finalised verdict (from the oracle's
 * verdict file, checked against the on-chain root) minus what was claimed; plus what already waits in the staking
 * pool. The root is the hub's latest finalised one, which `claim` adopts first (the distributor's `currentRoot` may
 * lag behind it until someone calls `sync`).
 */
export async function claimable(meshwork: Meshwork, operator: string, oracleUrl?: string): Promise<ClaimableReport> {
  const who = checksummed(operator, "operator");
  const [devices, stakingRewards, latest] = await Promise.all([
    operatorDevices(meshwork, who),
    meshwork.staking.pendingRewards(who, who),
    meshwork.hub.latestFinalised(),
  ]);
  const epoch = latest.exists ? latest.epoch : null;

  let cumulativeOf: ((device: string) => bigint) | null = null;
  if (oracleUrl !== undefined) {
    if (epoch === null) {
      cumulativeOf = () => 0n; // no finalised verdict yet: nothing to claim
    } else {
      const file = await fetchVerdictFile(oracleUrl, epoch);
      if (BigInt(file.epoch) !== epoch || file.rewardsRoot.toLowerCase() !== latest.rewardsRoot.toLowerCase()) {
        throw new IntegratorError(
          `oracle ${oracleUrl}: verdict file of epoch ${file.epoch} has root ${file.rewardsRoot}, ` +
            `the chain finalised ${latest.rewardsRoot} for epoch ${epoch}`,
        );
      }
      const amounts = new Map<string, bigint>();
      for (const entry of file.rewards) {
        const device = ethers.getAddress(entry.device);
        const amount = BigInt(entry.cumulative);
        if (devices.includes(device) && amount > 0n) {
          const leaf: [string, bigint] = [device, amount];
          if (!entry.proof || !StandardMerkleTree.verify(latest.rewardsRoot, REWARD_LEAF_ENCODING, leaf, entry.proof)) {
            throw new IntegratorError(`oracle ${oracleUrl}: bad Merkle proof for device ${device}`);
          }
        }
        amounts.set(device, amount);
      }
      cumulativeOf = (device) => amounts.get(device) ?? 0n;
    }
  }

  const rows = await Promise.all(
    devices.map(async (device): Promise<DeviceClaimable> => {
      const claimed = await meshwork.distributor.claimed(device);
      const cumulative = cumulativeOf === null ? null : cumulativeOf(device);
      const unclaimed = cumulative === null ? null : cumulative > claimed ? cumulative - claimed : 0n;
      return { device, cumulative, claimed, unclaimed };
    }),
  );
  const unclaimedTotal = cumulativeOf === null ? null : rows.reduce((sum, r) => sum + (r.unclaimed ?? 0n), 0n);
  return { operator: who, epoch, devices: rows, unclaimedTotal, stakingRewards };
}

/* SLASHING FEED */

export interface PenaltyEvent {
  faultId: string;
  device: string;
  operator: string;
  kind: string;
  epoch: bigint;
  slashed: bigint;
  evidence: string;
  blockNumber: number;
  transactionHash: string;
}

/**
 * Calls `onEvent` for every `FaultPenalised` from the next block on. Resolves once the subscription is in place, with
 * a function that ends it.
 */
export async function watchSlashing(
  meshwork: Meshwork,
  onEvent: (event: PenaltyEvent) => void,
): Promise<() => Promise<void>> {
  const { slashing } = meshwork;
  const event = slashing.getEvent("FaultPenalised");
  const listener = (
    faultId: string,
    device: string,
    operator: string,
    kind: bigint,
    epoch: bigint,
    slashed: bigint,
    evidence: string,
    payload: unknown,
  ): void => {
    const { log } = payload as ContractEventPayload;
    onEvent({
      faultId,
      device,
      operator,
      kind: nameOf(FaultKind, kind),
      epoch,
      slashed,
      evidence,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    });
  };
  await slashing.on(event, listener);
  return async () => {
    await slashing.off(event, listener);
  };
}

/* MAIN */

const MESH = (amount: bigint): string => `${ethers.formatEther(amount)} MESH`;

async function main(): Promise<void> {
  // The runner of `npx hardhat run --network <name>`; any ethers provider or signer works the same way.
  const hre = await import("hardhat");
  const runner: ContractRunner = hre.ethers.provider;
  const meshwork = await connectMeshwork(runner, {
    ...(process.env.DEPLOYMENTS_DIR ? { dir: process.env.DEPLOYMENTS_DIR } : {}),
    ...(process.env.DEPLOYMENT_FILE ? { file: process.env.DEPLOYMENT_FILE } : {}),
  });
  const watchSeconds = Number(process.env.WATCH_SECONDS ?? "10");
  if (!Number.isFinite(watchSeconds) || watchSeconds < 0) {
    throw new IntegratorError(`WATCH_SECONDS ${process.env.WATCH_SECONDS} is not a number of seconds`);
  }
  console.log(
    `Meshwork on chain ${meshwork.deployment.chainId}: registry ${meshwork.deployment.ProviderRegistry}` +
      (meshwork.governance ? `, governed by ${await meshwork.governance.governor.getAddress()}` : ""),
  );

  const device = process.argv[2] ?? process.env.DEVICE ?? (await firstDevice(meshwork));
  let operator = process.env.OPERATOR;
  if (device === null) {
    console.log("No device registered yet.");
  } else {
    const s = await deviceStatus(meshwork, device);
    console.log(
      `Device ${s.device}: ${s.status} ${s.resourceClass}, capacity ${s.capacity}` +
        (s.location ? `, cell ${s.location}` : "") +
        (s.jailedUntil !== null ? `, jailed until ${new Date(Number(s.jailedUntil) * 1000).toISOString()}` : "") +
        `; operator ${s.operator} (self-stake ${MESH(s.operatorSelfStake)}, needs ${MESH(s.operatorRequiredStake)})`,
    );
    operator ??= s.operator;
  }

  if (operator !== undefined) {
    const c = await claimable(meshwork, operator, process.env.ORACLE_URL);
    console.log(
      `Operator ${c.operator}: ${c.devices.length} device(s); latest finalised verdict: ` +
        (c.epoch === null ? "none yet" : `epoch ${c.epoch}`),
    );
    for (const d of c.devices) {
      console.log(
        `  ${d.device}: claimed ${MESH(d.claimed)}` + (d.unclaimed === null ? "" : `, claimable ${MESH(d.unclaimed)}`),
      );
    }
    if (c.unclaimedTotal === null) console.log("  (set ORACLE_URL to see unclaimed device rewards)");
    else console.log(`  claimable from the distributor: ${MESH(c.unclaimedTotal)}`);
    console.log(`  waiting in the staking pool: ${MESH(c.stakingRewards)}`);
  }

  if (watchSeconds > 0) {
    console.log(`Watching slashing for ${watchSeconds} s...`);
    const stop = await watchSlashing(meshwork, (e) => {
      console.log(
        `FaultPenalised: device ${e.device} ${e.kind} epoch ${e.epoch} slashed ${MESH(e.slashed)} ` +
          `(tx ${e.transactionHash})`,
      );
    });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, watchSeconds * 1000);
      process.once("SIGINT", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await stop();
  }
}

if (require.main === module) {
  main()
    .then(() => process.exit(0)) // the event subscription keeps a polling timer alive
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`integrator example failed: ${message.split("\n")[0]}`);
      process.exit(1);
    });
}
