/**
 * Merkle benchmark: building the rewards tree (`sdk/trees.ts` `buildRewardsTree`) of 10,000 / 100,000 / 1,000,000
 * leaves, and OpenZeppelin's `StandardMerkleTree.of` on the same leaves for the ratio. Each run is a fresh process
 * (`lib/child.ts`), so its peak RSS is its own.
 *
 *   BENCH_MODE=full|quick node -r ts-node/register/transpile-only scripts/bench/merkle.ts
 */
import { randomBytes } from "node:crypto";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import { buildRewardsTree, REWARD_LEAF_ENCODING, type RewardLeaf } from "../../sdk/trees";
import { childArgs, measureInChild, reportFromChild, rssMiB } from "./lib/child";
import { benchMode, fmt, median, peakRssMiB, writeResult, type BenchResult, type BenchTarget } from "./lib/report";

type Impl = "compact" | "oz";

interface RunResult {
  impl: Impl;
  leaves: number;
  buildMs: number;
  /** Time to produce the proof of every leaf (compact only: OZ's getProof re-verifies each proof). */
  proofsMs: number | null;
  /** RSS once the leaves exist, before the build. */
  inputsRssMiB: number;
  peakRssMiB: number;
  root: string;
}

/** `count` reward leaves: random addresses, amounts of up to ~10^24 wei. Not timed. */
function makeLeaves(count: number): RewardLeaf[] {
  const addresses = randomBytes(20 * count).toString("hex");
  const amounts = randomBytes(8 * count);
  return Array.from({ length: count }, (_, i) => ({
    device: "0x" + addresses.slice(40 * i, 40 * i + 40),
    cumulativeAmount: amounts.readBigUInt64BE(8 * i) * 65_536n,
  }));
}

function measure(impl: Impl, count: number): RunResult {
  const leaves = makeLeaves(count);
  const inputsRssMiB = rssMiB();
  const started = performance.now();
  let root: string;
  let proofsMs: number | null = null;
  if (impl === "compact") {
    const tree = buildRewardsTree(leaves);
    const built = performance.now();
    for (let i = 0; i < count; i++) tree.getProof(i);
    proofsMs = performance.now() - built;
    root = tree.root;
    return { impl, leaves: count, buildMs: built - started, proofsMs, inputsRssMiB, peakRssMiB: peakRssMiB(), root };
  }
  const tree = StandardMerkleTree.of(leaves.map((l) => [l.device, l.cumulativeAmount]), REWARD_LEAF_ENCODING);
  root = tree.root;
  return { impl, leaves: count, buildMs: performance.now() - started, proofsMs, inputsRssMiB, peakRssMiB: peakRssMiB(), root };
}

interface Plan {
  impl: Impl;
  leaves: number;
  runs: number;
}

function main(): void {
  const child = childArgs();
  if (child !== null) return reportFromChild(measure(child[0] as Impl, Number(child[1])));

  const mode = benchMode();
  const plans: Plan[] =
    mode === "full"
      ? [
          { impl: "compact", leaves: 10_000, runs: 5 },
          { impl: "compact", leaves: 100_000, runs: 5 },
          { impl: "compact", leaves: 1_000_000, runs: 3 },
          { impl: "oz", leaves: 10_000, runs: 3 },
          { impl: "oz", leaves: 100_000, runs: 3 },
        ]
      : [
          { impl: "compact", leaves: 10_000, runs: 3 },
          { impl: "compact", leaves: 100_000, runs: 3 },
          { impl: "oz", leaves: 10_000, runs: 1 },
        ];
  const summaries = plans.map((p) => {
    const runs = Array.from({ length: p.runs }, () => measureInChild<RunResult>(__filename, [p.impl, String(p.leaves)]));
    console.error(`merkle: ${p.impl} ${fmt(p.leaves)} leaves: ${runs.map((r) => (r.buildMs / 1000).toFixed(2)).join(", ")} s`);
    return {
      ...p,
      buildMs: median(runs.map((r) => r.buildMs)),
      proofsMs: p.impl === "compact" ? median(runs.map((r) => r.proofsMs!)) : null,
      inputsRssMiB: median(runs.map((r) => r.inputsRssMiB)),
      peakRssMiB: median(runs.map((r) => r.peakRssMiB)),
    };
  });

  const find = (impl: Impl, leaves: number) => summaries.find((s) => s.impl === impl && s.leaves === leaves);
  const ratioAt = mode === "full" ? 100_000 : 10_000;
  const ours = find("compact", ratioAt)!;
  const oz = find("oz", ratioAt)!;
  const largest = summaries.filter((s) => s.impl === "compact").at(-1)!;
  const targets: BenchTarget[] = [
    { label: `rewards tree build, ${fmt(largest.leaves)} leaves`, value: largest.buildMs / 1000, target: 10, unit: "s", higherIsBetter: false },
    { label: `rewards tree peak RSS, ${fmt(largest.leaves)} leaves`, value: largest.peakRssMiB, target: 1024, unit: "MiB", higherIsBetter: false },
  ];
  const result: BenchResult = {
    name: "merkle",
    title: "Merkle trees (rewards tree)",
    sections: [
      {
        heading: "Rewards tree build",
        notes: [
          "`buildRewardsTree` (sdk/trees.ts): leaves `keccak256(keccak256(abi.encode(address, uint256)))` abi-encoded by " +
            "hand, sorted by hash, nodes in one buffer of 32-byte nodes; the same root and proofs as OpenZeppelin's " +
            "`StandardMerkleTree.of(values, [\"address\", \"uint256\"])` (property-tested in test/sdk/trees.test.ts). " +
            "Keccak-256 is an unrolled keccak-f[1600] in plain JS (sdk/keccak.ts): three permutations per leaf plus one per node.",
          "**Build** = from the leaf objects to the root (leaf hashing, sort, internal nodes). **All proofs** = " +
            "`getProof(i)` for every leaf afterwards, as hex strings (what the verdict file carries). Leaves: random " +
            "addresses and amounts, generated in the same process before the clock starts (not timed).",
          `Each run is a fresh Node process; figures are medians of the runs listed. **Peak RSS** is the process's ` +
            "maxrss and includes the Node/ts-node runtime and the leaf objects; **inputs RSS** is the RSS once the leaves " +
            "exist, before the build (so peak - inputs approximates the tree's own cost).",
          "No target is set by the issue for this figure; the targets below (10 s, 1 GiB for 1,000,000 leaves) are the " +
            "ones the gas benchmark needs to build its 1,000,000-leaf tree in reasonable time.",
        ],
        table: {
          columns: ["implementation", "leaves", "runs", "build (s)", "all proofs (s)", "inputs RSS (MiB)", "peak RSS (MiB)"],
          rows: summaries.map((s) => [
            s.impl === "compact" ? "buildRewardsTree (compact)" : "OZ StandardMerkleTree.of",
            fmt(s.leaves),
            s.runs,
            fmt(s.buildMs / 1000, 2),
            s.proofsMs === null ? "-" : fmt(s.proofsMs / 1000, 2),
            fmt(s.inputsRssMiB),
            fmt(s.peakRssMiB),
          ]),
        },
      },
      {
        heading: "Ratio to OpenZeppelin StandardMerkleTree",
        notes: [
          `At ${fmt(ratioAt)} leaves (OZ at 1,000,000 leaves would take minutes and is not run): build time OZ / compact ` +
            `= **${fmt(oz.buildMs / ours.buildMs, 1)}x**, peak RSS OZ / compact = **${fmt(oz.peakRssMiB / ours.peakRssMiB, 2)}x**.`,
        ],
      },
    ],
    targets,
  };
  writeResult(result);
}

main();
