/**
 * Gas of the verdict -> rewards path, from transaction receipts (hardhat network, optimizer 200 runs, cancun):
 *
 *  - relaying a 3-of-5 verdict (`OracleHub.submitVerdict`), `finaliseVerdict`, `RewardsDistributor.sync` alone (adopt
 *    the root and mint), the first claim after finalisation (which syncs), a single claim and a `claimMany` of 20
 *    (per-claim figure), with rewards trees of 10, 1,000 and 100,000 leaves (OpenZeppelin StandardMerkleTree built
 *    off-chain: 22 registered devices of alice plus deterministic random filler addresses). Each size starts from the
 *    same chain state and runs two epochs: in the first every claimed device claims for the first time (its
 *    `claimed` slot goes from zero to non-zero), in the second it claims again (the steady state);
 *  - a claim after 1 vs after 30 epochs of finalised verdicts since the device's last claim (cumulative root).
 *
 * The fixture first runs one warm-up epoch (epoch 1; epoch 0 is skipped) whose rewards a separate device of alice
 * claims, so that protocol-wide slots (distributor totals, root epoch and balance, Staking's reserve and alice's
 * operator rewards) are already non-zero, as they are in production after the first claim ever.
 *
 * Targets: verdict relay <= 150k, claim <= 80k, batch claim <= 50k per claim. The table is printed with console.log.
 */
import { expect } from "chai";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import type { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { ContractTransactionResponse } from "ethers";

import { buildRewardsTree, type RewardLeaf } from "../../sdk/trees";
import { MESH, protocolFixture, registerDevice } from "../helpers/fixtures";
import { makeVerdict, signedBy } from "../helpers/verdicts";

const CHALLENGE_WINDOW = 12n * 3_600n; // ProtocolConfig default
const BATCH = 20;
const DEVICES = 2 + BATCH; // D0: first claim after finalisation (syncs); D1: single claim; D2..D21: claimMany of 20
const TARGET_RELAY = 150_000n;
const TARGET_CLAIM = 80_000n;
const TARGET_BATCH_PER_CLAIM = 50_000n;

async function gasFixture() {
  const f = await protocolFixture();
  await f.staking.connect(f.alice).stake(3_000n * MESH); // 4,000 MESH: room for 40 Coverage devices
  const devices = [f.aliceDevice];
  for (let i = 1; i < DEVICES; i++) devices.push(await registerDevice(f.registry, f.alice, { label: `gas-${i}` }));
  const warm = await registerDevice(f.registry, f.alice, { label: "gas-warm-up" });

  // Warm-up: the current epoch is skipped (a distributor that adopted epoch 0 has a zero `_rootEpoch` slot, which
  // would make the next sync pay for a fresh slot); the next one gets a verdict whose only real leaf, `warm`, is claimed.
  const epoch = (await f.config.currentEpoch()) + 1n;
  const tree = buildRewardsTree([
    { device: warm, cumulativeAmount: MESH },
    { device: filler(1, 1)[0].device, cumulativeAmount: MESH },
  ]);
  const verdict = makeVerdict(epoch, { rewardsRoot: tree.root });
  await time.increaseTo(await f.config.epochEnd(epoch));
  await f.hub.connect(f.outsider).submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  await time.increase(CHALLENGE_WINDOW);
  await f.hub.connect(f.outsider).finaliseVerdict(epoch);
  await f.distributor.connect(f.outsider).claim(warm, MESH, tree.getProof(0));
  return { ...f, devices };
}
type Fixture = Awaited<ReturnType<typeof gasFixture>>;

/** `count` leaves of random addresses and amounts (xorshift32 seeded with `seed`): unregistered filler devices. */
function filler(count: number, seed: number): RewardLeaf[] {
  let s = (seed * 0x9e3779b1) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return Array.from({ length: count }, () => ({
    device: "0x" + Array.from({ length: 5 }, () => next().toString(16).padStart(8, "0")).join(""),
    cumulativeAmount: BigInt(next()) * 10n ** 12n, // up to ~4,295 MESH
  }));
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt.gasUsed;
}

/** Relays (3 of 5 oracles) and finalises a verdict for the next unsettled epoch `epoch`; returns both gas figures. */
async function settle(f: Fixture, epoch: bigint, root: string): Promise<{ relay: bigint; finalise: bigint }> {
  const endsAt = await f.config.epochEnd(epoch);
  if (BigInt(await time.latest()) < endsAt) await time.increaseTo(endsAt);
  const verdict = makeVerdict(epoch, { rewardsRoot: root });
  const signatures = await signedBy(f.hub, verdict, f.oracles.slice(0, 3));
  const relay = await gasOf(f.hub.connect(f.outsider).submitVerdict(verdict, signatures));
  await time.increase(CHALLENGE_WINDOW);
  const finalise = await gasOf(f.hub.connect(f.outsider).finaliseVerdict(epoch));
  return { relay, finalise };
}

type Tree = StandardMerkleTree<[string, bigint]>;

function claimArgs(f: Fixture, tree: Tree, amounts: bigint[], i: number) {
  return { device: f.devices[i], cumulativeAmount: amounts[i], proof: tree.getProof(i) };
}

interface EpochFigures {
  relay: bigint;
  finalise: bigint;
  sync: bigint; // sync() alone, right after finalisation
  firstClaim: bigint; // D0's claim, which syncs
  claim: bigint; // D1's claim
  batch: bigint; // claimMany
  batchSize: number;
  proofD0: number;
  proofD1: number;
  meanProofBatch: number;
}
interface SizeFigures {
  leaves: number;
  buildMs: number[]; // per tree built
  first: EpochFigures; // devices claim for the first time
  again: EpochFigures; // the same devices claim again one epoch later
}

/** One epoch with a rewards tree of `leaves` leaves whose real devices get `amounts`; measures every step. */
async function measureEpoch(f: Fixture, leaves: number, amounts: bigint[], fill: RewardLeaf[], buildMs: number[]) {
  const real = amounts.length;
  const t0 = Date.now();
  const tree = buildRewardsTree([
    ...amounts.map((cumulativeAmount, i) => ({ device: f.devices[i], cumulativeAmount })),
    ...fill,
  ]);
  buildMs.push(Date.now() - t0);
  expect(tree.length).to.equal(leaves);

  const epoch = await f.config.currentEpoch();
  const { relay, finalise } = await settle(f, epoch, tree.root);

  const snapshot = await takeSnapshot();
  const sync = await gasOf(f.distributor.connect(f.outsider).sync());
  await snapshot.restore();

  const d = f.distributor.connect(f.outsider);
  const a0 = claimArgs(f, tree, amounts, 0);
  const firstClaim = await gasOf(d.claim(a0.device, a0.cumulativeAmount, a0.proof));
  const a1 = claimArgs(f, tree, amounts, 1);
  const claim = await gasOf(d.claim(a1.device, a1.cumulativeAmount, a1.proof));
  const batchArgs = Array.from({ length: real - 2 }, (_, k) => claimArgs(f, tree, amounts, k + 2));
  const batch = await gasOf(d.claimMany(batchArgs));
  for (let i = 0; i < real; i++) expect(await f.distributor.claimed(f.devices[i])).to.equal(amounts[i]);

  return {
    relay,
    finalise,
    sync,
    firstClaim,
    claim,
    batch,
    batchSize: batchArgs.length,
    proofD0: a0.proof.length,
    proofD1: a1.proof.length,
    meanProofBatch: batchArgs.reduce((s, a) => s + a.proof.length, 0) / batchArgs.length,
  } satisfies EpochFigures;
}

async function measureSize(leaves: number): Promise<SizeFigures> {
  const f = await loadFixture(gasFixture);
  const real = Math.min(DEVICES, leaves); // the 10-leaf tree holds D0, D1 and a batch of 8
  const fill = filler(leaves - real, leaves);
  const buildMs: number[] = [];
  const first = await measureEpoch(
    f,
    leaves,
    Array.from({ length: real }, (_, i) => BigInt(i + 1) * 10n * MESH),
    fill,
    buildMs,
  );
  const again = await measureEpoch(
    f,
    leaves,
    Array.from({ length: real }, (_, i) => BigInt(i + 1) * 25n * MESH),
    fill,
    buildMs,
  );
  return { leaves, buildMs, first, again };
}

const fmt = (x: bigint | number): string => x.toLocaleString("en-US");
const pad = (s: string, n: number) => s.padStart(n);

describe("Gas: verdict relay, finalisation and rewards claims", function () {
  this.timeout(180_000);

  const sizes = [10, 1_000, 100_000];
  const results = new Map<number, SizeFigures>();

  before(async function () {
    for (const leaves of sizes) results.set(leaves, await measureSize(leaves));

    const rows: [string, (s: SizeFigures) => string][] = [
      ["relay verdict, 3 of 5 signatures", (s) => fmt(s.first.relay)],
      ["finaliseVerdict", (s) => fmt(s.first.finalise)],
      ["sync() alone (adopt root + mint)", (s) => fmt(s.first.sync)],
      ["device's 1st claim, incl. sync", (s) => `${fmt(s.first.firstClaim)} (p${s.first.proofD0})`],
      ["device's 1st claim", (s) => `${fmt(s.first.claim)} (p${s.first.proofD1})`],
      [
        "claimMany, device's 1st, per claim",
        (s) =>
          `${fmt(s.first.batch / BigInt(s.first.batchSize))} x${s.first.batchSize} (p${s.first.meanProofBatch.toFixed(1)})`,
      ],
      ["relay verdict (next epoch)", (s) => fmt(s.again.relay)],
      ["finaliseVerdict (next epoch)", (s) => fmt(s.again.finalise)],
      ["sync() alone (next epoch)", (s) => fmt(s.again.sync)],
      ["repeat claim, incl. sync", (s) => `${fmt(s.again.firstClaim)} (p${s.again.proofD0})`],
      ["repeat claim", (s) => `${fmt(s.again.claim)} (p${s.again.proofD1})`],
      [
        "claimMany, repeat, per claim",
        (s) =>
          `${fmt(s.again.batch / BigInt(s.again.batchSize))} x${s.again.batchSize} (p${s.again.meanProofBatch.toFixed(1)})`,
      ],
      ["tree build ms (1st, 2nd)", (s) => s.buildMs.join(", ")],
    ];
    const width = 36;
    const col = 24;
    const lines = [
      `${"gas used".padEnd(width)}${sizes.map((n) => pad(`${fmt(n)} leaves`, col)).join("")}`,
      ...rows.map(([label, cell]) => `${label.padEnd(width)}${sizes.map((n) => pad(cell(results.get(n)!), col)).join("")}`),
      "(pN: proof length; xN: claims in the batch)",
    ];
    console.log(lines.map((l) => `      ${l}`).join("\n"));
  });

  it("relay and finalisation gas do not depend on the tree size (within 1%)", function () {
    for (const pick of [(s: SizeFigures) => s.first.relay, (s: SizeFigures) => s.first.finalise]) {
      const values = sizes.map((n) => pick(results.get(n)!));
      const lo = values.reduce((a, b) => (a < b ? a : b));
      const hi = values.reduce((a, b) => (a > b ? a : b));
      expect((hi - lo) * 100n <= lo, `${values} differ by more than 1%`).to.be.true;
    }
  });

  it("claim gas grows only with the proof length (about log2 of the leaves)", function () {
    const small = results.get(10)!;
    const large = results.get(100_000)!;
    // 17 - 4 more proof elements at most, under 1,000 gas each
    for (const [label, pick] of [
      ["1st claim", (s: SizeFigures) => s.first.claim],
      ["1st claim incl. sync", (s: SizeFigures) => s.first.firstClaim],
      ["repeat claim", (s: SizeFigures) => s.again.claim],
      ["repeat claim incl. sync", (s: SizeFigures) => s.again.firstClaim],
    ] as const) {
      const extra = pick(large) - pick(small);
      expect(extra <= 13n * 1_000n, `${label}: 100,000 leaves cost ${extra} more than 10`).to.be.true;
    }
    // and per element of proof: under 1,000 gas
    const perElement =
      Number(large.again.claim - small.again.claim) / (large.again.proofD1 - small.again.proofD1);
    console.log(`      repeat claim: ${perElement.toFixed(0)} gas per extra proof element`);
    expect(perElement).to.be.below(1_000);
  });

  it("reports the figures against the targets (asserting those that are met)", function () {
    const max = (xs: bigint[]) => xs.reduce((a, b) => (a > b ? a : b));
    const all = sizes.map((n) => results.get(n)!);
    const perClaim = (e: EpochFigures) => e.batch / BigInt(e.batchSize);
    const figures: { label: string; value: bigint; target: bigint }[] = [
      { label: "relay verdict (3 of 5)", value: max(all.flatMap((s) => [s.first.relay, s.again.relay])), target: TARGET_RELAY },
      { label: "single claim, repeat (synced)", value: max(all.map((s) => s.again.claim)), target: TARGET_CLAIM },
      { label: "single claim, device's 1st (synced)", value: max(all.map((s) => s.first.claim)), target: TARGET_CLAIM },
      {
        label: "single claim incl. sync",
        value: max(all.flatMap((s) => [s.first.firstClaim, s.again.firstClaim])),
        target: TARGET_CLAIM,
      },
      { label: "claimMany per claim, repeat", value: max(all.map((s) => perClaim(s.again))), target: TARGET_BATCH_PER_CLAIM },
      {
        label: "claimMany per claim, device's 1st",
        value: max(all.map((s) => perClaim(s.first))),
        target: TARGET_BATCH_PER_CLAIM,
      },
    ];
    console.log(
      figures
        .map(
          (x) =>
            `      ${x.label.padEnd(38)} max ${pad(fmt(x.value), 8)}  target ${pad(fmt(x.target), 7)}  ${
              x.value <= x.target ? "met" : `MISSED by ${fmt(x.value - x.target)}`
            }`,
        )
        .join("\n"),
    );
    // Met (all tree sizes): the verdict relay and the steady-state batch claim. The single-claim targets are missed
    // (see the report above), so they are printed, not asserted.
    expect(figures[0].value <= TARGET_RELAY, "relay verdict <= 150k").to.be.true;
    expect(figures[4].value <= TARGET_BATCH_PER_CLAIM, "claimMany per claim, repeat <= 50k").to.be.true;
  });

  it("claim gas does not grow with the epochs since the device's last claim (cumulative root)", async function () {
    const f = await loadFixture(gasFixture);
    const d = f.distributor.connect(f.outsider);
    // 16 leaves: every leaf is at depth 4, so every proof has the same length
    const fill = filler(15, 16);
    const treeFor = (amount: bigint): Tree => buildRewardsTree([{ device: f.devices[0], cumulativeAmount: amount }, ...fill]);

    let epoch = await f.config.currentEpoch();
    const start = treeFor(MESH);
    await settle(f, epoch, start.root);
    await d.claim(f.devices[0], MESH, start.getProof(0));
    const snapshot = await takeSnapshot();

    const FINAL = 100n * MESH; // the same claim calldata in both cases
    const measure = async (epochs: number) => {
      for (let k = 1; k <= epochs; k++) {
        epoch += 1n;
        const amount = k === epochs ? FINAL : MESH + BigInt(k);
        await settle(f, epoch, treeFor(amount).root);
      }
      const last = treeFor(FINAL);
      const proof = last.getProof(0);
      expect(proof.length).to.equal(4);
      const s = await takeSnapshot();
      const withSync = await gasOf(d.claim(f.devices[0], FINAL, proof));
      await s.restore();
      await d.sync();
      const synced = await gasOf(d.claim(f.devices[0], FINAL, proof));
      return { withSync, synced };
    };

    const after1 = await measure(1);
    await snapshot.restore();
    epoch = (await f.hub.latestFinalised()).epoch;
    const after30 = await measure(30);
    console.log(
      [
        `claim after 1 epoch:   ${fmt(after1.withSync)} incl. sync, ${fmt(after1.synced)} after sync`,
        `claim after 30 epochs: ${fmt(after30.withSync)} incl. sync, ${fmt(after30.synced)} after sync`,
      ]
        .map((l) => `      ${l}`)
        .join("\n"),
    );
    const diff = (a: bigint, b: bigint) => (a > b ? a - b : b - a);
    expect(diff(after1.withSync, after30.withSync) <= 300n, "incl. sync").to.be.true;
    expect(diff(after1.synced, after30.synced) <= 300n, "after sync").to.be.true;
  });
});
