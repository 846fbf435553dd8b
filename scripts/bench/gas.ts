/**
 * Gas per operation and of the verdict -> claim path against the tree size and the epochs missed, from transaction
 * receipts on the in-process Hardhat network. Run by the bench runner as `hardhat run scripts/bench/gas.ts` (the
 * scenarios are the gas tests' own, test/gas/scenarios.ts); gas is deterministic, so each figure is one run.
 */
import {
  GAS_TARGETS,
  measureClaimsBySize,
  measureMarketOperations,
  measureMissedEpochs,
  measureOperations,
  type EpochFigures,
  type SizeFigures,
} from "../../test/gas/scenarios";
import { benchMode, fmt, writeResult, type BenchSection, type BenchTarget } from "./lib/report";

const perClaim = (e: EpochFigures) => e.batch / BigInt(e.batchSize);
const maxOf = (xs: bigint[]) => Number(xs.reduce((a, b) => (a > b ? a : b)));

async function main(): Promise<void> {
  const quick = benchMode() === "quick";
  const sizes = quick ? [10, 1_000] : [10, 10_000, 1_000_000];
  const missed = quick ? [1, 5] : [1, 10, 30];

  const operations = await measureOperations();
  const market = await measureMarketOperations();
  const bySize = await measureClaimsBySize(sizes);
  const byMissed = await measureMissedEpochs(missed);

  const sections: BenchSection[] = [];
  sections.push({
    heading: "Gas per operation",
    notes: [
      "One transaction each, from the protocol fixture (test/gas/scenarios.ts). \"First\" rows write fresh storage " +
        "slots (20,000 gas each in the EVM: an operator's stake record and the head of its vote history, which holds " +
        "the latest checkpoint and the archive count in one slot; an operator's capacity record; a delegation). A " +
        "device's record is two fresh slots (its signature nonce shares one of them). The relay here carries a " +
        "faults root (one more fresh slot than a verdict without faults).",
    ],
    table: {
      columns: ["operation", "gas", "target"],
      rows: operations.map((o) => [o.operation, fmt(o.gas), o.target === undefined ? "" : `<= ${fmt(o.target)}`]),
    },
  });

  const cell = (pick: (s: SizeFigures) => string) => bySize.map(pick);
  const rows: [string, (s: SizeFigures) => string][] = [
    ["relay a verdict (3 of 5 signatures, no faults)", (s) => fmt(s.first.relay)],
    ["finalise a verdict", (s) => fmt(s.first.finalise)],
    ["sync() alone (adopt root, mint into Staking)", (s) => fmt(s.first.sync)],
    ["device's 1st claim (synced)", (s) => `${fmt(s.first.claim)} (p${s.first.proofD1})`],
    ["device's 1st claim, incl. sync", (s) => `${fmt(s.first.firstClaim)} (p${s.first.proofD0})`],
    ["claimMany, device's 1st, per claim", (s) => `${fmt(perClaim(s.first))} x${s.first.batchSize}`],
    ["repeat claim (synced)", (s) => `${fmt(s.again.claim)} (p${s.again.proofD1})`],
    ["repeat claim, incl. sync", (s) => `${fmt(s.again.firstClaim)} (p${s.again.proofD0})`],
    ["claimMany, repeat, per claim", (s) => `${fmt(perClaim(s.again))} x${s.again.batchSize}`],
    ["tree build, ms (two epochs)", (s) => s.buildMs.map((ms) => fmt(ms)).join(", ")],
  ];
  sections.push({
    heading: "Verdict and claims against the number of devices",
    notes: [
      "Rewards trees of " +
        sizes.map((n) => fmt(n)).join(" / ") +
        " leaves built off-chain (sdk/trees.ts); 22 registered devices claim, the rest are filler leaves. pN: proof " +
        "length; xN: claims in the batch. The relay and finalisation do not depend on the tree; a claim grows only " +
        "with its proof, about 750 gas per element (log2 of the leaves). A device's first claim writes its fresh " +
        "`claimed` slot (17,100 gas more than a repeat claim); the first claim after a finalisation also syncs.",
    ],
    table: {
      columns: ["gas used", ...sizes.map((n) => `${fmt(n)} leaves`)],
      rows: rows.map(([label, pick]) => [label, ...cell(pick)]),
    },
  });
  sections.push({
    heading: "Marketplace",
    notes: [
      "An order's life, one transaction each (test/gas/scenarios.ts): the settlement pays three epochs with one leaf " +
        "of a 1,000-lease tree (cumulative, so its cost does not grow with the epochs it covers). Closing an auction " +
        "loops over its bids, at most MAX_BIDS (20): the last row is that worst case.",
    ],
    table: {
      columns: ["operation", "gas", "target"],
      rows: market.map((o) => [o.operation, fmt(o.gas), o.target === undefined ? "" : `<= ${fmt(o.target)}`]),
    },
  });
  sections.push({
    heading: "Claim against the epochs since the device's last claim",
    notes: ["Same calldata (16-leaf trees, 4-element proofs); the root is cumulative, so one claim covers every missed epoch."],
    table: {
      columns: ["epochs since last claim", "claim incl. sync", "claim (synced)"],
      rows: byMissed.map((m) => [m.epochs, fmt(m.withSync), fmt(m.synced)]),
    },
  });

  const op = (name: string) => operations.find((o) => o.operation === name)!.gas;
  const target = (label: string, value: number, limit: bigint): BenchTarget => ({
    label,
    value,
    target: Number(limit),
    unit: "gas",
    higherIsBetter: false,
  });
  const targets: BenchTarget[] = [
    target("register a device (operator's 2nd)", Number(op("register a device (operator's 2nd)")), GAS_TARGETS.register),
    target("register a device (operator's first)", Number(op("register a device (operator's first)")), GAS_TARGETS.register),
    target("stake (top-up)", Number(op("stake (top-up)")), GAS_TARGETS.stake),
    target("stake (operator's first)", Number(op("stake (operator's first)")), GAS_TARGETS.stake),
    target("relay a verdict, no faults (max over sizes)", maxOf(bySize.map((s) => s.first.relay)), GAS_TARGETS.relay),
    target("relay a verdict with a faults root", Number(op("relay a verdict (3 of 5 signatures)")), GAS_TARGETS.relay),
    target("settle a lease (one leaf)", Number(market.find((o) => o.target !== undefined)!.gas), GAS_TARGETS.settle),
    target("repeat claim, synced (max over sizes)", maxOf(bySize.map((s) => s.again.claim)), GAS_TARGETS.claim),
    target("device's 1st claim, synced (max over sizes)", maxOf(bySize.map((s) => s.first.claim)), GAS_TARGETS.claim),
    target("claimMany per claim, repeat (max)", maxOf(bySize.map((s) => perClaim(s.again))), GAS_TARGETS.batchPerClaim),
    target("claimMany per claim, device's 1st (max)", maxOf(bySize.map((s) => perClaim(s.first))), GAS_TARGETS.batchPerClaim),
  ];
  writeResult({ name: "gas", title: "Gas", sections, targets });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
