/** The explorer's pure derivations (explorer/src/derive.ts): device state, emission series, signers, calldata. */
import { expect } from "chai";
import { ethers } from "ethers";

import {
  allocatedByClass,
  claimable,
  delegatorCounts,
  describeCall,
  deviceState,
  emissionSeries,
  epochStatus,
  signersOf,
  totalsBy,
  type KnownTarget,
} from "../../explorer/src/derive";
import { ConfirmationMode, DeviceStatus, Param, ResourceClass } from "../../sdk/enums";
import {
  EmissionSchedule__factory,
  OracleHub__factory,
  ProtocolConfig__factory,
  Staking__factory,
} from "../../typechain-types";

describe("explorer: derive", function () {
  describe("deviceState", function () {
    const cases: [number, number, string][] = [
      [DeviceStatus.Active, 0, "active"],
      [DeviceStatus.Active, 2, "slashed"],
      [DeviceStatus.Jailed, 0, "jailed"],
      [DeviceStatus.Jailed, 3, "jailed"], // jailed beats slashed
      [DeviceStatus.Exiting, 0, "exiting"],
      [DeviceStatus.Exiting, 1, "slashed"],
      [DeviceStatus.Removed, 0, "removed"],
    ];
    for (const [status, faults, want] of cases) {
      it(`status ${status}, ${faults} faults -> ${want}`, function () {
        expect(deviceState(status, faults)).to.equal(want);
      });
    }
  });

  it("claimable never goes negative", function () {
    expect(claimable(10n, 3n)).to.equal(7n);
    expect(claimable(3n, 10n)).to.equal(0n);
  });

  it("epochStatus names a verdict-less epoch Skipped once its submission window closed", function () {
    expect(epochStatus(0, 1_000n, 100n, 1_050n)).to.equal("None");
    expect(epochStatus(0, 1_000n, 100n, 1_100n)).to.equal("Skipped");
    expect(epochStatus(1, 1_000n, 100n, 5_000n)).to.equal("Pending");
    expect(epochStatus(3, 1_000n, 100n, 5_000n)).to.equal("Finalised");
  });

  describe("emissionSeries", function () {
    const split = [5_000, 2_000, 1_000, 1_000, 500, 500];
    it("derives per-epoch schedule, class split, cumulative and minted", function () {
      const points = emissionSeries({
        cumulative: [0n, 100n, 190n, 271n, 343n],
        splits: [split, split, split, split],
        allocated: [[40n, 20n, 0n, 0n, 0n, 0n], null, [1n, 2n, 3n, 4n, 5n, 6n], null],
        // Epoch 1 skipped: its emission minted with epoch 2's root.
        roots: [
          { epoch: 2, minted: 171n },
          { epoch: 0, minted: 100n },
        ],
      });
      expect(points.map((p) => p.scheduled)).to.deep.equal(["100", "90", "81", "72"]);
      expect(points.map((p) => p.scheduledCumulative)).to.deep.equal(["100", "190", "271", "343"]);
      expect(points[1].scheduledByClass).to.deep.equal(["45", "18", "9", "9", "4", "4"]); // rounded down
      expect(points.map((p) => p.mintedCumulative)).to.deep.equal(["100", "100", "271", null]);
      expect(points[0].allocatedByClass).to.deep.equal(["40", "20", "0", "0", "0", "0"]);
      expect(points[1].allocatedByClass).to.equal(null);
    });

    it("is empty-safe: no roots, one epoch", function () {
      const points = emissionSeries({ cumulative: [0n, 7n], splits: [split], allocated: [null], roots: [] });
      expect(points).to.have.length(1);
      expect(points[0].mintedCumulative).to.equal(null);
    });
  });

  it("allocatedByClass indexes a verdict file's classes by ResourceClass", function () {
    const out = allocatedByClass([
      { resourceClass: ResourceClass.Storage, allocated: "5" },
      { resourceClass: ResourceClass.Coverage, allocated: "7" },
    ]);
    expect(out).to.deep.equal([7n, 5n, 0n, 0n, 0n, 0n]);
  });

  it("signersOf splits the submitted digest's signers from dissenters", function () {
    const [a, b, c, d] = ["0xA", "0xB", "0xC", "0xD"];
    const view = {
      submitted: "0xAA",
      tally: [
        { digest: "0xaa", signers: [a, b, c] },
        { digest: "0xbb", signers: [d] },
      ],
      dissents: [{ signer: d, digest: "0xbb" }],
    };
    expect(signersOf(view, "0xAA")).to.deep.equal({ signedBy: [a, b, c], dissenters: [d] });
    expect(signersOf(view, "0xcc")).to.deep.equal({ signedBy: [], dissenters: [a, b, c, d] });
  });

  it("delegatorCounts counts distinct delegators with shares left", function () {
    const counts = delegatorCounts([
      { operator: "0xOp", delegator: "0x1", shares: 5n },
      { operator: "0xop", delegator: "0x1", shares: 5n },
      { operator: "0xOp", delegator: "0x2", shares: 0n },
      { operator: "0xOther", delegator: "0x3", shares: 1n },
    ]);
    expect(counts.get("0xop")).to.equal(1);
    expect(counts.get("0xother")).to.equal(1);
  });

  it("totalsBy sums and counts by lower-cased key", function () {
    const t = totalsBy([{ k: "0xAb", v: 2n }, { k: "0xab", v: 3n }], (x) => x.k, (x) => x.v);
    expect(t.get("0xab")).to.deep.equal({ total: 5n, count: 2 });
  });

  describe("describeCall", function () {
    const config = ethers.Wallet.createRandom().address;
    const schedule = ethers.Wallet.createRandom().address;
    const hub = ethers.Wallet.createRandom().address;
    const staking = ethers.Wallet.createRandom().address;
    const known = new Map<string, KnownTarget>([
      [config.toLowerCase(), { name: "ProtocolConfig", iface: ProtocolConfig__factory.createInterface() }],
      [schedule.toLowerCase(), { name: "EmissionSchedule", iface: EmissionSchedule__factory.createInterface() }],
      [hub.toLowerCase(), { name: "OracleHub", iface: OracleHub__factory.createInterface() }],
      [staking.toLowerCase(), { name: "Staking", iface: Staking__factory.createInterface() }],
    ]);

    it("names ProtocolConfig parameters", function () {
      const data = ProtocolConfig__factory.createInterface().encodeFunctionData("setParam", [Param.JailCooldown, 172_800n]);
      expect(describeCall(config, data, 0n, known)).to.equal("ProtocolConfig.setParam(JailCooldown, 172800)");
    });

    it("names the classes of a class split", function () {
      const data = EmissionSchedule__factory.createInterface().encodeFunctionData("setClassSplit", [
        [4_000, 3_000, 1_000, 1_000, 500, 500],
      ]);
      expect(describeCall(schedule, data, 0n, known)).to.equal(
        "EmissionSchedule.setClassSplit(Coverage 4000, Storage 3000, ComputeGpu 1000, ComputeCpu 1000, Mapping 500, Energy 500)",
      );
    });

    it("names the confirmation mode", function () {
      const confirmer = ethers.Wallet.createRandom().address;
      const data = OracleHub__factory.createInterface().encodeFunctionData("setConfirmation", [
        confirmer,
        ConfirmationMode.MustAgree,
      ]);
      expect(describeCall(hub, data, 0n, known)).to.equal(`OracleHub.setConfirmation(${confirmer}, MustAgree)`);
    });

    it("shows other functions of known contracts by name and arguments", function () {
      const role = ethers.id("SLASHER_ROLE");
      const who = ethers.Wallet.createRandom().address;
      const data = Staking__factory.createInterface().encodeFunctionData("grantRole", [role, who]);
      expect(describeCall(staking, data, 0n, known)).to.equal(`Staking.grantRole(${role}, ${who})`);
    });

    it("falls back to address and selector, and shows value sent", function () {
      const stranger = ethers.Wallet.createRandom().address;
      expect(describeCall(stranger, "0x12345678abcd", 5n, known)).to.equal(`${stranger}: 0x12345678 + 5 wei`);
      expect(describeCall(stranger, "0x", 1n, known)).to.equal(`${stranger}: (no calldata) + 1 wei`);
      expect(describeCall(hub, "0xdeadbeef", 0n, known)).to.equal("OracleHub: unknown function 0xdeadbeef");
    });
  });
});
