/**
 * The Marketplace's leases an epoch's verdict covers (oracles/aggregate README "Leases"), read so that every oracle
 * gets the same set for a past epoch whenever it asks: lease ids run from 1 to `orderCount()` (a lease has its order's
 * id; orders never leased read as status None), and a lease is kept iff
 *
 *   status != None  and  startEpoch <= epoch  and  (status == Active  or  endedAt > epoch).
 *
 * The driver reads at the epoch's reference block (the same block as the rest of the epoch's chain state), so even a
 * lease end cut short later does not change an epoch's verdict; a Marketplace without code at that block (deployed
 * later) has no leases.
 */
import { getAddress } from "ethers";

import { LeaseStatus } from "../../sdk/enums";
import type { IMarketplace } from "../../typechain-types";
import type { LeaseState } from "../aggregate/types";
import { ChainReadError } from "./errors";
import { mapLimit } from "./state";

/** What `readLeases` calls: `IMarketplace` or the `Marketplace` contract itself (typechain). */
export type LeaseSource = Pick<IMarketplace, "orderCount" | "getLease" | "getAddress" | "runner">;


export interface ReadLeasesOptions {
  /** Block to read at (default: latest). */
  blockTag?: number;
  /** Most `getLease` calls in flight at once (default 16). */
  concurrency?: number;
}

/** The leases of `epoch` (see the module comment), sorted by lease id. */
export async function readLeases(
  marketplace: LeaseSource,
  epoch: bigint,
  options: ReadLeasesOptions = {},
): Promise<LeaseState[]> {
  const { blockTag } = options;
  const at = blockTag === undefined ? {} : { blockTag };
  if (blockTag !== undefined) {
    const provider = marketplace.runner?.provider;
    if (!provider) throw new ChainReadError("the marketplace's runner has no provider");
    if ((await provider.getCode(await marketplace.getAddress(), blockTag)) === "0x") return [];
  }
  const count = await marketplace.orderCount(at);
  const ids = Array.from({ length: Number(count) }, (_, i) => BigInt(i + 1));
  const leases = await mapLimit(ids, options.concurrency ?? 16, async (leaseId): Promise<LeaseState | null> => {
    const l = await marketplace.getLease(leaseId, at);
    const status = Number(l.status);
    if (status === LeaseStatus.None || l.startEpoch > epoch) return null;
    if (status !== LeaseStatus.Active && l.endedAt <= epoch) return null;
    return {
      leaseId,
      devices: l.devices.map((d) => getAddress(d)),
      startEpoch: l.startEpoch,
      endEpoch: l.endEpoch,
      minDeliveryBps: Number(l.minDeliveryBps),
    };
  });
  return leases.filter((l): l is LeaseState => l !== null);
}
