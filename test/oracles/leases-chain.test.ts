import { expect } from "chai";
import { getAddress } from "ethers";

import { readLeases, type LeaseSource } from "../../oracles/chain";
import { LeaseStatus } from "../../sdk/enums";

const dev = (n: number): string => getAddress("0x" + n.toString(16).padStart(2, "0").repeat(20));

interface FakeLease {
  status: number;
  startEpoch: bigint;
  endEpoch: bigint;
  endedAt: bigint;
  minDeliveryBps: number;
  devices: string[];
}

/** A Marketplace answering `orderCount` and `getLease` from `leases` (index i = lease id i + 1), recording the calls. */
function fakeMarketplace(leases: FakeLease[], code = "0x6080"): { source: LeaseSource; calls: { method: string; blockTag?: unknown }[] } {
  const calls: { method: string; blockTag?: unknown }[] = [];
  const none: FakeLease = { status: LeaseStatus.None, startEpoch: 0n, endEpoch: 0n, endedAt: 0n, minDeliveryBps: 0, devices: [] };
  const fake = {
    orderCount: async (overrides?: { blockTag?: unknown }) => {
      calls.push({ method: "orderCount", blockTag: overrides?.blockTag });
      return BigInt(leases.length);
    },
    getLease: async (id: bigint, overrides?: { blockTag?: unknown }) => {
      calls.push({ method: "getLease", blockTag: overrides?.blockTag });
      const l = leases[Number(id) - 1] ?? none;
      return { ...l, status: BigInt(l.status), minDeliveryBps: BigInt(l.minDeliveryBps), devices: l.devices.map((d) => d.toLowerCase()) };
    },
    getAddress: async () => dev(0x99),
    runner: {
      provider: {
        getCode: async (_address: string, blockTag?: unknown) => {
          calls.push({ method: "getCode", blockTag });
          return code;
        },
      },
    },
  };
  return { source: fake as unknown as LeaseSource, calls };
}

const L = (status: number, startEpoch: bigint, endEpoch: bigint, endedAt = 0n, devices = [dev(1)]): FakeLease => ({
  status,
  startEpoch,
  endEpoch,
  endedAt,
  minDeliveryBps: 9_000,
  devices,
});

describe("oracles/chain readLeases", () => {
  it("keeps leases with status != None, startEpoch <= epoch and (Active or endedAt > epoch), sorted by id", async () => {
    const { source, calls } = fakeMarketplace([
      L(LeaseStatus.Active, 3n, 10n, 0n, [dev(1), dev(2)]), // 1: active, started
      L(LeaseStatus.None, 0n, 0n), // 2: an order never leased
      L(LeaseStatus.Active, 6n, 10n), // 3: starts after the epoch
      L(LeaseStatus.Ended, 1n, 4n, 6n), // 4: ended after the epoch: kept (carried)
      L(LeaseStatus.Ended, 1n, 4n, 5n), // 5: ended in the epoch: dropped
      L(LeaseStatus.Ended, 5n, 9n, 7n), // 6: started at the epoch, ended later: kept
    ]);
    const leases = await readLeases(source, 5n);
    expect(leases.map((l) => l.leaseId)).to.deep.equal([1n, 4n, 6n]);
    expect(leases[0]).to.deep.equal({ leaseId: 1n, devices: [dev(1), dev(2)], startEpoch: 3n, endEpoch: 10n, minDeliveryBps: 9_000 });
    expect(calls.filter((c) => c.method === "getLease")).to.have.length(6);
    expect(calls.some((c) => c.method === "getCode")).to.equal(false);
  });

  it("reads at the block given, and finds no leases where the marketplace has no code yet", async () => {
    const deployed = fakeMarketplace([L(LeaseStatus.Active, 0n, 3n)]);
    expect(await readLeases(deployed.source, 2n, { blockTag: 42 })).to.have.length(1);
    expect(deployed.calls.map((c) => c.blockTag)).to.deep.equal([42, 42, 42]);
    const later = fakeMarketplace([L(LeaseStatus.Active, 0n, 3n)], "0x");
    expect(await readLeases(later.source, 2n, { blockTag: 42 })).to.deep.equal([]);
    expect(later.calls.map((c) => c.method)).to.deep.equal(["getCode"]);
  });

  it("reads nothing but orderCount when there is no order", async () => {
    const { source, calls } = fakeMarketplace([]);
    expect(await readLeases(source, 0n)).to.deep.equal([]);
    expect(calls.map((c) => c.method)).to.deep.equal(["orderCount"]);
  });
});
