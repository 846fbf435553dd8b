/**
 * What ingest needs from the chain, as interfaces: the device directory (the chain adapter's `ChainDeviceDirectory`;
 * `MemoryDeviceDirectory` here for tests and local runs), the epoch clock, and the epoch seeds (`SeedSource`, for
 * the content pre-checks of admit.ts).
 */
import { DeviceStatus, ResourceClass } from "../../sdk/enums";

export interface DeviceInfo {
  operator: string;
  resourceClass: ResourceClass;
  status: DeviceStatus;
  /**
   * Declared capacity in the class's units (GiB for STORAGE: the committed chunk count is capacity x
   * `STORAGE_CHUNKS_PER_GIB`, as in epoch verification). Absent when the directory does not know it; ingest then
   * skips the storage pre-check (admit.ts).
   */
  capacity?: bigint;
  /**
   * Registered storage commitment (bytes32), when the chain holds one (`ProviderRegistry` does not today; epoch
   * verification's `EpochDevice.dataRoot` is the same notion): storage answers must name it.
   */
  dataRoot?: string;
}

export interface DeviceDirectory {
  /** The registration of `device` (an address), or null if the chain does not know it. */
  lookup(device: string): Promise<DeviceInfo | null>;
}

/** In-memory directory keyed by lowercase address. */
export class MemoryDeviceDirectory implements DeviceDirectory {
  private readonly devices = new Map<string, DeviceInfo>();

  constructor(entries: Iterable<readonly [string, DeviceInfo]> = []) {
    for (const [device, info] of entries) this.set(device, info);
  }

  set(device: string, info: DeviceInfo): void {
    this.devices.set(device.toLowerCase(), { ...info });
  }

  async lookup(device: string): Promise<DeviceInfo | null> {
    return this.devices.get(device.toLowerCase()) ?? null;
  }
}

/**
 * The epoch seed (bytes32, `EpochSeed.seedOf`) of `epoch`, or null while none is recorded. Implementations may
 * reject (e.g. an RPC failure); ingest then treats the seed as unknown.
 */
export type SeedSource = (epoch: bigint) => Promise<string | null>;

export interface EpochClock {
  /** The epoch in progress at `now` (unix seconds). */
  currentEpoch(now: bigint): bigint;
}

/** Epoch `e` covers [genesis + e * epochLength, genesis + (e + 1) * epochLength); before genesis it is 0. */
export class FixedEpochClock implements EpochClock {
  constructor(
    readonly genesis: bigint,
    readonly epochLength: bigint,
  ) {
    if (epochLength <= 0n) throw new RangeError("epochLength must be positive");
    if (genesis < 0n) throw new RangeError("genesis must be non-negative");
  }

  currentEpoch(now: bigint): bigint {
    return now <= this.genesis ? 0n : (now - this.genesis) / this.epochLength;
  }
}
