/**
 * The chain state an epoch's verdict depends on, read at one reference block (the last block before the epoch ends),
 * so every oracle reads exactly the same devices, seed, emission and split whatever the time it asks.
 */
import { getAddress, type Provider } from "ethers";

import type { ProviderRegistry } from "../../typechain-types";
import type { DeviceState } from "../aggregate/types";
import { epochWindow } from "./clock";
import type { ProtocolContracts } from "./contracts";
import { toDeviceStatus, toResourceClass } from "./enums";
import { ChainReadError } from "./errors";

/**
 * The highest block whose timestamp is below `endTimestamp`, or null while the latest block's timestamp is still below
 * it (more blocks may yet fall before the end). A binary search over block numbers (timestamps never decrease):
 * O(log n) `getBlock` calls; `fromBlock`, a block known to precede `endTimestamp` (e.g. the previous epoch's
 * reference block), narrows it. Throws `ChainReadError` if even the first block searched is not before the end.
 */
export async function referenceBlock(provider: Provider, endTimestamp: bigint, fromBlock = 0): Promise<number | null> {
  const latest = await blockAt(provider, "latest");
  if (BigInt(latest.timestamp) < endTimestamp) return null;
  let low = Math.min(Math.max(0, fromBlock), latest.number);
  if (BigInt((await blockAt(provider, low)).timestamp) >= endTimestamp) {
    if (low === 0 || BigInt((await blockAt(provider, 0)).timestamp) >= endTimestamp) {
      throw new ChainReadError(`no block before timestamp ${endTimestamp}`, { details: { endTimestamp } });
    }
    low = 0;
  }
  // Invariant: timestamp(low) < end <= timestamp(high).
  let high = latest.number;
  while (high - low > 1) {
    const mid = low + Math.floor((high - low) / 2);
    if (BigInt((await blockAt(provider, mid)).timestamp) < endTimestamp) low = mid;
    else high = mid;
  }
  return low;
}

async function blockAt(provider: Provider, tag: number | "latest"): Promise<{ number: number; timestamp: number }> {
  const block = await provider.getBlock(tag);
  if (block === null) throw new ChainReadError(`block ${tag} not found`, { details: { block: tag } });
  return block;
}

export interface DeviceIndexOptions {
  /** First block to scan (default 0); the registry's deployment block saves the scan of everything before it. */
  fromBlock?: number;
  /** Blocks per `eth_getLogs` query (default 10,000). */
  chunkSize?: number;
  /** Most `getDevice` calls in flight at once (default 16). */
  concurrency?: number;
}

/**
 * Every device ever registered, from the registry's `DeviceRegistered` logs. Logs are scanned incrementally: the index
 * remembers the last block it scanned, so each epoch only reads the new ones. Device keys are never reused, so the set
 * only grows. (No reorg handling: query blocks deep enough to be final.)
 */
export class DeviceIndex {
  private readonly chunkSize: number;
  private readonly concurrency: number;
  /** Checksummed device address -> block of its registration. */
  private readonly registeredAt = new Map<string, number>();
  private nextBlock: number;
  /** Serialises scans, so concurrent callers never scan a range twice. */
  private scanning: Promise<void> = Promise.resolve();

  constructor(
    private readonly registry: ProviderRegistry,
    options: DeviceIndexOptions = {},
  ) {
    this.nextBlock = options.fromBlock ?? 0;
    this.chunkSize = options.chunkSize ?? 10_000;
    this.concurrency = options.concurrency ?? 16;
    if (!Number.isInteger(this.nextBlock) || this.nextBlock < 0) throw new RangeError("fromBlock must be >= 0");
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1) throw new RangeError("chunkSize must be >= 1");
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError("concurrency must be >= 1");
  }

  /** The last block scanned so far (`fromBlock - 1` before the first scan). */
  get scannedThrough(): number {
    return this.nextBlock - 1;
  }

  /** Devices known so far (registered up to `scannedThrough`). */
  get size(): number {
    return this.registeredAt.size;
  }

  /** Scans `DeviceRegistered` logs up to and including `toBlock` (nothing if scanned already). */
  sync(toBlock: number): Promise<void> {
    const run = this.scanning.then(() => this.scan(toBlock));
    this.scanning = run.catch(() => undefined);
    return run;
  }

  /**
   * State at `blockTag` of every device registered at or before it, sorted by address: status, class, capacity and
   * operator read with `getDevice` at `blockTag`.
   */
  async devicesAt(blockTag: number): Promise<DeviceState[]> {
    await this.sync(blockTag);
    const devices = [...this.registeredAt]
      .filter(([, block]) => block <= blockTag)
      .map(([device]) => device)
      .sort(compareLower);
    return mapLimit(devices, this.concurrency, async (device): Promise<DeviceState> => {
      const record = await this.registry.getDevice(device, { blockTag });
      return {
        device,
        operator: getAddress(record.operator),
        resourceClass: toResourceClass(record.resourceClass),
        status: toDeviceStatus(record.status),
        capacity: record.capacity,
      };
    });
  }

  private async scan(toBlock: number): Promise<void> {
    const filter = this.registry.filters.DeviceRegistered();
    while (this.nextBlock <= toBlock) {
      const to = Math.min(toBlock, this.nextBlock + this.chunkSize - 1);
      const logs = await this.registry.queryFilter(filter, this.nextBlock, to);
      for (const log of logs) {
        const device = getAddress(log.args.device);
        const known = this.registeredAt.get(device);
        if (known === undefined || log.blockNumber < known) this.registeredAt.set(device, log.blockNumber);
      }
      this.nextBlock = to + 1;
    }
  }
}

function compareLower(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `items.map(fn)` with at most `limit` calls in flight; results in input order; rejects on the first failure. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Everything an epoch's verdict reads from the chain, as of the epoch's reference block. */
export interface EpochChainState {
  epoch: bigint;
  /** Highest block with a timestamp before the epoch's end: every read below is made at this block. */
  referenceBlock: number;
  /** The epoch's time window `[start, end)`, unix seconds. */
  window: { start: number; end: number };
  /** Devices registered by the reference block, sorted by address. */
  devices: DeviceState[];
  /** The epoch's seed (bytes32 hex), or null if none was recorded for it. */
  seed: string | null;
  /** `EmissionSchedule.cumulativeEmission(epoch + 1)`: emission scheduled for epochs [0, epoch]. */
  cumulativeEmission: bigint;
  /** `EmissionSchedule.classSplitAt(epoch)`: basis points per resource class, in `ResourceClass` order. */
  classSplitBps: number[];
}

/**
 * The chain state of `epoch`, or null while the epoch has not closed (no block at or past its end yet). All reads are
 * made at the reference block, so every oracle gets the same state. `fromBlock` is passed to `referenceBlock`.
 */
export async function readEpochState(
  contracts: ProtocolContracts,
  index: DeviceIndex,
  epoch: bigint,
  fromBlock = 0,
): Promise<EpochChainState | null> {
  const provider = contracts.config.runner?.provider;
  if (!provider) throw new ChainReadError("the contracts' runner has no provider");
  const [genesis, epochLength] = await Promise.all([contracts.config.genesis(), contracts.config.epochLength()]);
  const window = epochWindow(genesis, epochLength, epoch);
  const block = await referenceBlock(provider, BigInt(window.end), fromBlock);
  if (block === null) return null;

  const at = { blockTag: block };
  const [devices, hasSeed, cumulativeEmission, split] = await Promise.all([
    index.devicesAt(block),
    contracts.seeds.hasSeed(epoch, at),
    contracts.schedule.cumulativeEmission(epoch + 1n, at),
    contracts.schedule.classSplitAt(epoch, at),
  ]);
  const seed = hasSeed ? await contracts.seeds.seedOf(epoch, at) : null;
  return {
    epoch,
    referenceBlock: block,
    window,
    devices,
    seed,
    cumulativeEmission,
    classSplitBps: split.map((bps) => Number(bps)),
  };
}
