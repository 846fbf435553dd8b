/**
 * What ingest reads from the chain, cached:
 * - `ChainDeviceDirectory`: the device directory backed by `ProviderRegistry.getDevice` (operator, class, status and
 *   capacity; the registry holds no storage data root). Proofs arrive in bursts from the same devices, and a
 *   device's registration changes rarely, so a registration is reused for `ttlMs` and "unknown" for `unknownTtlMs`,
 *   and concurrent lookups of one device share one RPC request. Failed reads are not cached.
 * - `ChainSeedSource`: the epoch seeds of `EpochSeed` (`hasSeed`, then `seedOf`), for ingest's content pre-checks.
 *   A recorded seed never changes, so it is kept (the last `maxEpochs` epochs); "not recorded yet" is reused for
 *   `unknownTtlMs`; concurrent reads of one epoch share the requests; failed reads are not cached.
 */
import { getAddress, isAddress } from "ethers";

import { DeviceStatus, type ResourceClass } from "../../sdk/enums";
import type { DeviceDirectory, DeviceInfo, SeedSource } from "../node/directory";
import { toDeviceStatus, toResourceClass } from "./enums";

/** The one registry read the directory makes (a `ProviderRegistry` satisfies it; tests can wrap it). */
export interface DeviceReader {
  getDevice(device: string): Promise<{ operator: string; resourceClass: bigint; status: bigint; capacity: bigint }>;
}

export interface ChainDeviceDirectoryOptions {
  /**
   * How long a registration is reused, in milliseconds (default 60 000; 0 disables caching but still shares
   * requests). A class never changes and ingest only refuses Removed devices, so a minute-old answer is safe.
   */
  ttlMs?: number;
  /** How long "not registered" is reused (default 5000), so a newly registered device is admitted soon. */
  unknownTtlMs?: number;
  /** Most answers kept; past it expired answers are dropped first, then the oldest (default 100,000). */
  maxEntries?: number;
  /** Milliseconds clock (default `Date.now`); tests pass a fake one. */
  now?: () => number;
}

interface Entry {
  answer: Promise<DeviceInfo | null>;
  /** When the answer stops being reused; `Infinity` while the request is in flight. */
  expiresAt: number;
}

export class ChainDeviceDirectory implements DeviceDirectory {
  private readonly ttlMs: number;
  private readonly unknownTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Keyed by lowercase address, in insertion order (oldest first). */
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly registry: DeviceReader,
    options: ChainDeviceDirectoryOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.unknownTtlMs = options.unknownTtlMs ?? Math.min(5_000, this.ttlMs);
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
    if (!(this.ttlMs >= 0)) throw new RangeError("ttlMs must be non-negative");
    if (!(this.unknownTtlMs >= 0)) throw new RangeError("unknownTtlMs must be non-negative");
    if (!(this.maxEntries >= 1)) throw new RangeError("maxEntries must be positive");
  }

  /** The device's registration, or null if it was never registered (or `device` is not an address). */
  lookup(device: string): Promise<DeviceInfo | null> {
    if (!isAddress(device)) return Promise.resolve(null);
    const key = device.toLowerCase();
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > now) return cached.answer.then(copy);

    const entry: Entry = { answer: this.read(getAddress(key)), expiresAt: Infinity };
    this.cache.delete(key);
    this.cache.set(key, entry);
    this.evict(now);
    entry.answer.then(
      (info) => {
        entry.expiresAt = this.now() + (info === null ? this.unknownTtlMs : this.ttlMs);
      },
      () => {
        if (this.cache.get(key) === entry) this.cache.delete(key);
      },
    );
    return entry.answer.then(copy);
  }

  /** Forgets every cached answer (e.g. after the node saw the device's registration change). */
  clear(): void {
    this.cache.clear();
  }

  /** Number of cached answers (in flight included). */
  get size(): number {
    return this.cache.size;
  }

  private async read(device: string): Promise<DeviceInfo | null> {
    const record = await this.registry.getDevice(device);
    const status = toDeviceStatus(record.status);
    if (status === DeviceStatus.None) return null;
    const resourceClass: ResourceClass = toResourceClass(record.resourceClass);
    return { operator: getAddress(record.operator), resourceClass, status, capacity: record.capacity };
  }

  private evict(now: number): void {
    if (this.cache.size <= this.maxEntries) return;
    for (const [key, entry] of this.cache) {
      if (entry.expiresAt <= now) this.cache.delete(key);
    }
    for (const key of this.cache.keys()) {
      if (this.cache.size <= this.maxEntries) break;
      this.cache.delete(key);
    }
  }
}

/** Callers get their own object, so one caller mutating it cannot change another's answer. */
function copy(info: DeviceInfo | null): DeviceInfo | null {
  return info === null ? null : { ...info };
}

/** The two `EpochSeed` reads the seed source makes (an `EpochSeed` contract satisfies it). */
export interface SeedReader {
  hasSeed(epoch: bigint): Promise<boolean>;
  seedOf(epoch: bigint): Promise<string>;
}

export interface ChainSeedSourceOptions {
  /** How long "no seed recorded yet" is reused, in milliseconds (default 2000). */
  unknownTtlMs?: number;
  /** How many epochs' seeds are kept (default 8; ingest only asks for the current and the grace epoch). */
  maxEpochs?: number;
  /** Milliseconds clock (default `Date.now`); tests pass a fake one. */
  now?: () => number;
}

interface SeedEntry {
  answer: Promise<string | null>;
  /** When a null answer stops being reused; `Infinity` for a seed and while the request is in flight. */
  expiresAt: number;
}

export class ChainSeedSource {
  private readonly unknownTtlMs: number;
  private readonly maxEpochs: number;
  private readonly now: () => number;
  /** Keyed by epoch, in insertion order (oldest first). */
  private readonly cache = new Map<bigint, SeedEntry>();

  constructor(
    private readonly seeds: SeedReader,
    options: ChainSeedSourceOptions = {},
  ) {
    this.unknownTtlMs = options.unknownTtlMs ?? 2_000;
    this.maxEpochs = options.maxEpochs ?? 8;
    this.now = options.now ?? Date.now;
    if (!(this.unknownTtlMs >= 0)) throw new RangeError("unknownTtlMs must be non-negative");
    if (!(this.maxEpochs >= 1)) throw new RangeError("maxEpochs must be positive");
  }

  /** The seed of `epoch` (lowercase bytes32 hex), or null while none is recorded. Rejects when a read fails. */
  seedOf(epoch: bigint): Promise<string | null> {
    const cached = this.cache.get(epoch);
    if (cached && cached.expiresAt > this.now()) return cached.answer;

    const entry: SeedEntry = { answer: this.read(epoch), expiresAt: Infinity };
    this.cache.delete(epoch);
    this.cache.set(epoch, entry);
    for (const key of this.cache.keys()) {
      if (this.cache.size <= this.maxEpochs) break;
      this.cache.delete(key);
    }
    entry.answer.then(
      (seed) => {
        if (seed === null) entry.expiresAt = this.now() + this.unknownTtlMs;
      },
      () => {
        if (this.cache.get(epoch) === entry) this.cache.delete(epoch);
      },
    );
    return entry.answer;
  }

  /** `seedOf` as a plain function, for `IngestAppOptions.seedOf`. */
  get source(): SeedSource {
    return (epoch) => this.seedOf(epoch);
  }

  private async read(epoch: bigint): Promise<string | null> {
    if (!(await this.seeds.hasSeed(epoch))) return null;
    return (await this.seeds.seedOf(epoch)).toLowerCase();
  }
}
