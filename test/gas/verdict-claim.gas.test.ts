/**
 * Gas of the verdict -> rewards path (test/gas/scenarios.ts measures; the benchmark reports the same scenarios with
 * larger trees in BENCHMARKS.md): relay and finalisation do not depend on the tree size, a claim grows only with its
 * proof length and not with the epochs since the device's last claim, and the targets that are met stay met.
 */
import { expect } from "chai";

import {
  GAS_TARGETS,
  measureClaimsBySize,
  measureMarketOperations,
  measureMissedEpochs,
  measureOperations,
  type EpochFigures,
  type SizeFigures,
} from "./scenarios";

const SIZES = [10, 1_000, 100_000];
const max = (xs: bigint[]) => xs.reduce((a, b) => (a > b ? a : b));
const min = (xs: bigint[]) => xs.reduce((a, b) => (a < b ? a : b));
const perClaim = (e: EpochFigures) => e.batch / BigInt(e.batchSize);

describe("Gas: verdict relay, finalisation and rewards claims", function () {
  this.timeout(300_000);
  let bySize: SizeFigures[];

  before(async function () {
    bySize = await measureClaimsBySize(SIZES);
  });

  it("relay and finalisation gas do not depend on the tree size (within 1%)", function () {
    for (const pick of [(s: SizeFigures) => s.first.relay, (s: SizeFigures) => s.first.finalise]) {
      const values = bySize.map(pick);
      expect((max(values) - min(values)) * 100n <= min(values), `${values} differ by more than 1%`).to.be.true;
    }
  });

  it("claim gas grows only with the proof length, under 1,000 gas per proof element", function () {
    const [small, , large] = bySize;
    for (const pick of [
      (s: SizeFigures) => s.first.claim,
      (s: SizeFigures) => s.first.firstClaim,
      (s: SizeFigures) => s.again.claim,
      (s: SizeFigures) => s.again.firstClaim,
    ]) {
      expect(pick(large) - pick(small) <= 13n * 1_000n, "100,000 leaves vs 10: 13 more proof elements at most").to.be.true;
    }
    const perElement = Number(large.again.claim - small.again.claim) / (large.again.proofD1 - small.again.proofD1);
    expect(perElement).to.be.below(1_000);
  });

  it("meets the relay, repeat-claim and batch-claim targets at every size", function () {
    expect(max(bySize.flatMap((s) => [s.first.relay, s.again.relay]))).to.be.at.most(GAS_TARGETS.relay);
    expect(max(bySize.map((s) => s.again.claim))).to.be.at.most(GAS_TARGETS.claim);
    expect(max(bySize.map((s) => perClaim(s.again)))).to.be.at.most(GAS_TARGETS.batchPerClaim);
  });

  it("claim gas does not grow with the epochs since the device's last claim (cumulative root)", async function () {
    const [after1, after30] = await measureMissedEpochs([1, 30]);
    expect(after30.withSync).to.be.closeTo(after1.withSync, 300n);
    expect(after30.synced).to.be.closeTo(after1.synced, 300n);
  });

  it("stakes and registers devices (an operator's first and later ones) within their targets", async function () {
    const rows = await measureOperations();
    const gas = (operation: string) => rows.find((r) => r.operation === operation)!.gas;
    for (const operation of [
      "register a device (operator's first)",
      "register a device (operator's 2nd)",
      "stake (operator's first)",
      "stake (top-up)",
    ]) {
      expect(gas(operation), operation).to.be.at.most(operation.startsWith("stake") ? GAS_TARGETS.stake : GAS_TARGETS.register);
    }
  });

  it("settles a lease within its target; an auction's bounded loop stays far below the block gas limit", async function () {
    const rows = await measureMarketOperations();
    const gas = (prefix: string) => rows.find((r) => r.operation.startsWith(prefix))!.gas;
    expect(gas("settle a lease")).to.be.at.most(GAS_TARGETS.settle);
    expect(gas("close an auction (20 bids")).to.be.at.most(1_500_000n);
  });
});
