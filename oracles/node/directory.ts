/**
 * What ingest needs from the chain, as interfaces: the device directory (implemented later by the chain adapter;
 * `MemoryDeviceDirectory` here for tests and local runs) and the epoch clock.
 */
import { DeviceStatus, ResourceClass } from "../../sdk/enums";

export interface DeviceInfo {
  operator: string;
  resourceClass: ResourceClass;
  status: DeviceStatus;
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
