/**
 * Model-based property tests (fast-check) for the emission path: OracleHub verdicts -> RewardsDistributor.sync (mint
 * into Staking, Staking.reserveRewards) -> Merkle claims -> Staking.creditRewards (no token moves).
 *
 * Each run reverts the chain to a fresh `protocolFixture` plus: bob self-stakes 1,000 MESH; alice and bob run two
 * Coverage devices each; a fifth "ghost" device is never registered. Then a random sequence of steps runs:
 *
 *  - epoch: the next epoch ends (time moves to its end) and is either skipped (no verdict: its emission rolls over to
 *    the next finalised epoch), given a verdict that stays pending (never finalised), or given a verdict relayed with
 *    a random quorum (3, 4 or 5 of the 5 oracles) and finalised after the challenge window. Optionally a verdict
 *    left pending by the previous step is finalised late first. Every verdict's rewards root is a standard Merkle tree
 *    of each device's cumulative allocation, monotone per device; the step adds a random share of what is still
 *    unallocated of `cumulativeEmission(epoch + 1)` and sometimes over-allocates beyond it (a faulty root);
 *  - claim / claimMany (anyone, for up to 6 random entries, duplicates allowed): each entry proves a device's leaf of
 *    the latest finalised tree, of the tree the distributor adopted (possibly older), of another published tree
 *    (valid only if the root is the same), or a forged amount. A single claim is checked against the adopted root
 *    first and syncs only if that fails (so a proof for the adopted root pays against it while a newer root waits);
 *    claimMany always syncs first;
 *  - sync (anyone).
 *
 * A TypeScript model predicts the outcome of every transaction (exact custom error and arguments, or the exact
 * payouts). After every step, from chain reads:
 *   R1 distributor.totalClaimed == sum of claimed(device) <= distributor.totalMinted
 *   R2 totalMinted <= schedule.cumulativeEmission(lastFinalised + 1) <= emissionBudget (0 minted before any
 *      finalised verdict), with equality once the distributor has adopted the latest finalised root
 *   R3 token.balanceOf(distributor) == 0; staking balance == totalStaked + totalUnbonding + rewardsReserved;
 *      rewardsReserved grew by exactly totalMinted (nobody collects from Staking here), of which totalMinted -
 *      totalClaimed is unclaimed emission and the rest the operators' credited pending rewards; token supply ==
 *      initial supply + totalMinted; every mint goes from zero to Staking (only in a transaction that synced a new
 *      root) and a claim moves no tokens
 *   R4 claimed(device) is monotone and equals the last cumulative amount successfully claimed for it; no
 *      (device, cumulative) pair is paid twice; every RewardsClaimed pays exactly cumulative - previous claimed
 *   R5 a reverted transaction (notably ClaimExceedsMinted from an over-allocated root) changes nothing
 *   plus: the chain equals the model (mint, claims, roots) and each operator's pending rewards are the sum paid for
 *   its devices (no delegators, so all goes to the operator; every claim emits Staking.RewardsAdded with the
 *   distributor as funder).
 *
 * Environment: REWARDS_INVARIANT_RUNS (default 20), REWARDS_INVARIANT_SEED (replay a seed), INVARIANT_SHRINK_MS
 * (shrinking budget, default 20 s), INVARIANT_STATS=1 (print outcome counts per step kind).
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionReceipt, ContractTransactionResponse, Interface } from "ethers";

import { buildRewardsTree, type RewardsTree } from "../../sdk/trees";
import { deviceWallet } from "../helpers/devices";
import { DAY, MESH, Param, protocolFixture, registerDevice } from "../helpers/fixtures";
import { assertScenarios, printStats } from "../helpers/property";
import { makeVerdict, signedBy } from "../helpers/verdicts";

/* ------------------------------------------------------------------------------------------------------------------ */
/* Parameters                                                                                                          */
/* ------------------------------------------------------------------------------------------------------------------ */

const ZERO_ADDRESS = "0x" + "00".repeat(20);
const CHALLENGE_WINDOW = 12n * 3_600n; // ProtocolConfig default, checked at the start of each run
const SUBMISSION_WINDOW = DAY;
const NUM_RUNS = Number(process.env.REWARDS_INVARIANT_RUNS ?? 20);
const MAX_STEPS = 40;
const SHRINK_BUDGET_MS = Number(process.env.INVARIANT_SHRINK_MS ?? 20_000);

type Op = "alice" | "bob";
/** The devices in every rewards tree; `op` null: never registered (claims revert UnknownDevice). */
const DEVICE_SPECS: { label: string | null; op: Op | null }[] = [
  { label: null, op: "alice" }, // the fixture's aliceDevice
  { label: "rewards-inv-alice-2", op: "alice" },
  { label: "rewards-inv-bob-1", op: "bob" },
  { label: "rewards-inv-bob-2", op: "bob" },
  { label: "rewards-inv-ghost", op: null },
];
const N = DEVICE_SPECS.length;

async function rewardsFixture() {
  const f = await protocolFixture();
  await f.staking.connect(f.bob).stake(1_000n * MESH); // bob stakes first: each Coverage device needs 100 MESH
  const devices: string[] = [];
  for (const spec of DEVICE_SPECS) {
    if (spec.label === null) devices.push(f.aliceDevice);
    else if (spec.op === null) devices.push(deviceWallet(spec.label).address);
    else devices.push(await registerDevice(f.registry, f[spec.op], { label: spec.label }));
  }
  return { ...f, devices };
}
type Fixture = Awaited<ReturnType<typeof rewardsFixture>>;

/* ------------------------------------------------------------------------------------------------------------------ */
/* Steps                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

type Which = "current" | "adopted" | "other" | "forged";
interface ClaimEntry {
  device: number;
  which: Which;
  pick: number; // which other published tree, for "other"
}
type Step =
  | {
      t: "epoch";
      outcome: "skip" | "pending" | "finalise";
      finaliseLate: boolean; // first finalise a verdict left pending by the previous epoch step, if any
      quorum: number[]; // oracle indices signing
      weights: number[]; // per device
      spendBps: number; // share of the unallocated emission handed out
      overBps: number; // extra allocation, in bps of cumulativeEmission(epoch + 1): > 0 makes a faulty root
    }
  | { t: "claim"; entry: ClaimEntry }
  | { t: "claimMany"; entries: ClaimEntry[] }
  | { t: "sync" };

const FIRST_EPOCH: Step = {
  t: "epoch",
  outcome: "finalise",
  finaliseLate: false,
  quorum: [0, 1, 2],
  weights: [1, 1, 1, 1, 1],
  spendBps: 10_000,
  overBps: 0,
};

const entryArb: fc.Arbitrary<ClaimEntry> = fc.record({
  device: fc.integer({ min: 0, max: N - 1 }),
  which: fc.oneof(
    { arbitrary: fc.constant<Which>("current"), weight: 7 },
    { arbitrary: fc.constant<Which>("adopted"), weight: 2 },
    { arbitrary: fc.constant<Which>("other"), weight: 1 },
    { arbitrary: fc.constant<Which>("forged"), weight: 1 },
  ),
  pick: fc.nat(),
});
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant("epoch" as const),
      outcome: fc.oneof(
        { arbitrary: fc.constant("finalise" as const), weight: 6 },
        { arbitrary: fc.constant("skip" as const), weight: 2 },
        { arbitrary: fc.constant("pending" as const), weight: 1 },
      ),
      finaliseLate: fc.boolean(),
      quorum: fc.subarray([0, 1, 2, 3, 4], { minLength: 3 }),
      weights: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: N, maxLength: N }),
      spendBps: fc.oneof(fc.constantFrom(0, 10_000), fc.integer({ min: 0, max: 10_000 })),
      overBps: fc.oneof(
        { arbitrary: fc.constant(0), weight: 2 },
        { arbitrary: fc.integer({ min: 1, max: 30_000 }), weight: 1 },
      ),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ t: fc.constant("claim" as const), entry: entryArb }), weight: 4 },
  {
    arbitrary: fc.record({ t: fc.constant("claimMany" as const), entries: fc.array(entryArb, { maxLength: 6 }) }),
    weight: 2,
  },
  { arbitrary: fc.constant<Step>({ t: "sync" }), weight: 1 },
);

/* ------------------------------------------------------------------------------------------------------------------ */
/* Model                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

interface PublishedTree {
  epoch: bigint;
  amounts: bigint[];
  tree: RewardsTree;
  root: string;
}
interface Model {
  nextEpoch: bigint; // the next epoch an epoch step settles
  lastFinalised: bigint | null; // hub
  current: PublishedTree | null; // tree of the latest finalised verdict
  pending: PublishedTree | null; // verdict submitted by the previous epoch step and not finalised
  published: PublishedTree[]; // every verdict submitted, finalised or not
  allocation: bigint[]; // oracles' cumulative allocation per device in the latest published verdict
  syncedEpoch: bigint | null; // epoch of the root the distributor adopted
  minted: bigint;
  claimed: bigint[];
  totalClaimed: bigint;
  paidTo: Record<Op, bigint>;
  paidPairs: Set<string>; // `${device}:${cumulative}` paid so far
}

/** A revert the model predicts: the custom error and its arguments. */
class ModelRevert extends Error {
  constructor(
    readonly errorName: string,
    readonly args: unknown[],
  ) {
    super(`${errorName}(${args.map(String).join(", ")})`);
  }
}

interface ResolvedClaim {
  index: number;
  device: string;
  cumulativeAmount: bigint;
  proof: string[];
  sourceRoot: string | null; // root of the tree the leaf and proof come from; null: forged or no tree
  note: string;
}

function cloneModel(m: Model): Model {
  return {
    ...m,
    published: [...m.published],
    allocation: [...m.allocation],
    claimed: [...m.claimed],
    paidTo: { ...m.paidTo },
    paidPairs: new Set(m.paidPairs),
  };
}

/** Resolves a claim entry against the model: which leaf and proof actually get sent. */
function resolveEntry(f: Fixture, m: Model, e: ClaimEntry): ResolvedClaim {
  const device = f.devices[e.device];
  if (m.current === null) return { index: e.device, device, cumulativeAmount: 1n, proof: [], sourceRoot: null, note: "no root" };
  if (e.which === "forged") {
    const amount = m.current.amounts[e.device];
    return {
      index: e.device,
      device,
      cumulativeAmount: amount + 1n,
      proof: m.current.tree.getProof(e.device),
      sourceRoot: null,
      note: "forged",
    };
  }
  const source =
    e.which === "other"
      ? m.published[e.pick % m.published.length]
      : e.which === "adopted"
        ? (adoptedTree(m) ?? m.current)
        : m.current;
  return {
    index: e.device,
    device,
    cumulativeAmount: source.amounts[e.device],
    proof: source.tree.getProof(e.device),
    sourceRoot: source.root,
    note: e.which === "current" ? "current" : `tree of epoch ${source.epoch}`,
  };
}

/** The tree whose root the distributor uses (adopted by its last sync), if any. */
function adoptedTree(m: Model): PublishedTree | null {
  if (m.syncedEpoch === null) return null;
  return m.published.find((p) => p.epoch === m.syncedEpoch)!;
}

/** Mirrors RewardsDistributor.sync against the hub's latest finalised verdict. */
function modelSync(m: Model, cumulative: (epochs: bigint) => bigint): void {
  if (m.lastFinalised === null || m.syncedEpoch === m.lastFinalised) return;
  m.syncedEpoch = m.lastFinalised;
  m.minted = cumulative(m.lastFinalised + 1n);
}

/**
 * A proof from a published tree verifies against `root` iff that tree's root is `root` (the proof recomputes its own
 * tree's root); a forged amount is in no tree, and nothing verifies against the zero root of a distributor that never
 * synced.
 */
function verifies(c: ResolvedClaim, root: string | null): boolean {
  return c.sourceRoot !== null && root !== null && c.sourceRoot === root;
}

/**
 * Mirrors RewardsDistributor.claim's root check: the adopted root first; if the proof fails it, sync and check the
 * adopted root again. Throws ModelRevert with the error the distributor must raise.
 */
function modelClaimRoot(m: Model, c: ResolvedClaim, cumulative: (epochs: bigint) => bigint): void {
  if (verifies(c, adoptedTree(m)?.root ?? null)) return; // paid against the root in use, no sync
  modelSync(m, cumulative);
  if (m.syncedEpoch === null) throw new ModelRevert("NoFinalisedRoot", []);
  if (!verifies(c, adoptedTree(m)!.root)) throw new ModelRevert("InvalidProof", [c.device, c.cumulativeAmount]);
}

/** Mirrors RewardsDistributor.claimMany's root check: always syncs, then every proof must verify the adopted root. */
function modelClaimManyRoot(m: Model, cumulative: (epochs: bigint) => bigint): void {
  modelSync(m, cumulative);
  if (m.syncedEpoch === null) throw new ModelRevert("NoFinalisedRoot", []);
}

/** Mirrors paying one claim checked against `root` (the one in use); throws ModelRevert as the contract must. */
function modelPay(m: Model, c: ResolvedClaim, root: string): bigint {
  if (!verifies(c, root)) throw new ModelRevert("InvalidProof", [c.device, c.cumulativeAmount]);
  const already = m.claimed[c.index];
  if (c.cumulativeAmount <= already) throw new ModelRevert("NothingToClaim", [c.device, c.cumulativeAmount, already]);
  const op = DEVICE_SPECS[c.index].op;
  if (op === null) throw new ModelRevert("UnknownDevice", [c.device]);
  const amount = c.cumulativeAmount - already;
  const paid = m.totalClaimed + amount;
  if (paid > m.minted) throw new ModelRevert("ClaimExceedsMinted", [paid, m.minted]);
  const pair = `${c.device}:${c.cumulativeAmount}`;
  if (m.paidPairs.has(pair)) throw new Error(`model: ${pair} would be paid twice`);
  m.paidPairs.add(pair);
  m.claimed[c.index] = c.cumulativeAmount;
  m.totalClaimed = paid;
  m.paidTo[op] += amount;
  return amount;
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Chain                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

/** Finds the revert data in an error thrown by hardhat-ethers, whatever its nesting. */
function revertData(e: unknown, depth = 0): string | undefined {
  if (e === null || typeof e !== "object" || depth > 5) return undefined;
  const rec = e as Record<string, unknown>;
  if (typeof rec.data === "string" && rec.data.startsWith("0x") && rec.data.length >= 10) return rec.data;
  for (const key of ["error", "info", "cause", "data"]) {
    const found = revertData(rec[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface DecodedRevert {
  name: string;
  args: unknown[];
  text: string;
}
function decodeRevert(f: Fixture, e: unknown): DecodedRevert {
  const data = revertData(e);
  if (data !== undefined) {
    const sources: [string, Interface][] = [
      ["distributor", f.distributor.interface],
      ["hub", f.hub.interface],
      ["staking", f.staking.interface],
      ["token", f.token.interface],
    ];
    for (const [source, iface] of sources) {
      try {
        const parsed = iface.parseError(data);
        if (parsed) {
          const args = [...parsed.args];
          return { name: parsed.name, args, text: `${source}.${parsed.name}(${args.map(String).join(", ")})` };
        }
      } catch {
        // not this contract's error
      }
    }
    return { name: "?", args: [], text: `unknown revert data ${data}` };
  }
  const text = e instanceof Error ? e.message : String(e);
  return { name: "?", args: [], text };
}

interface Snapshot {
  totalMinted: bigint;
  totalClaimed: bigint;
  claimed: bigint[];
  distributorBalance: bigint;
  supply: bigint;
  rootEpoch: bigint;
  root: string;
  latest: { epoch: bigint; root: string; exists: boolean };
  cumulativeAtLatest: bigint; // schedule.cumulativeEmission(lastFinalised + 1), 0 before any
  rewardsReserved: bigint;
  stakingBalance: bigint;
  totalStaked: bigint;
  totalUnbonding: bigint;
  pending: Record<Op, bigint>;
}

async function readChain(f: Fixture): Promise<Snapshot> {
  const { distributor, token, hub, schedule, staking } = f;
  const [totalMinted, totalClaimed, distributorBalance, supply, currentRoot, latest, rewardsReserved, pa, pb] =
    await Promise.all([
      distributor.totalMinted(),
      distributor.totalClaimed(),
      token.balanceOf(distributor),
      token.totalSupply(),
      distributor.currentRoot(),
      hub.latestFinalised(),
      staking.rewardsReserved(),
      staking.pendingRewards(f.alice.address, f.alice.address),
      staking.pendingRewards(f.bob.address, f.bob.address),
    ]);
  const [stakingBalance, totalStaked, totalUnbonding] = await Promise.all([
    token.balanceOf(staking),
    staking.totalStaked(),
    staking.totalUnbonding(),
  ]);
  const claimed = await Promise.all(f.devices.map((d) => distributor.claimed(d)));
  const cumulativeAtLatest = latest.exists ? await schedule.cumulativeEmission(latest.epoch + 1n) : 0n;
  return {
    totalMinted,
    totalClaimed,
    claimed,
    distributorBalance,
    supply,
    rootEpoch: currentRoot.epoch,
    root: currentRoot.rewardsRoot,
    latest: { epoch: latest.epoch, root: latest.rewardsRoot, exists: latest.exists },
    cumulativeAtLatest,
    rewardsReserved,
    stakingBalance,
    totalStaked,
    totalUnbonding,
    pending: { alice: pa, bob: pb },
  };
}

interface Baseline {
  supply: bigint;
  rewardsReserved: bigint;
  pending: Record<Op, bigint>;
  budget: bigint;
}

function checkInvariants(s: Snapshot, prev: Snapshot, m: Model, base: Baseline): void {
  const sumClaimed = s.claimed.reduce((a, b) => a + b, 0n);
  // R1
  expect(s.totalClaimed, "R1: totalClaimed == sum claimed(device)").to.equal(sumClaimed);
  expect(s.totalClaimed <= s.totalMinted, `R1: totalClaimed ${s.totalClaimed} > totalMinted ${s.totalMinted}`).to.be
    .true;
  // R2
  if (!s.latest.exists) expect(s.totalMinted, "R2: nothing minted before a finalised verdict").to.equal(0n);
  expect(s.totalMinted <= s.cumulativeAtLatest, `R2: totalMinted ${s.totalMinted} > cumulative ${s.cumulativeAtLatest}`)
    .to.be.true;
  expect(s.cumulativeAtLatest <= base.budget, "R2: cumulativeEmission <= emissionBudget").to.be.true;
  if (m.syncedEpoch !== null && m.syncedEpoch === m.lastFinalised) {
    expect(s.totalMinted, "R2: adopted root => minted == cumulativeEmission(epoch + 1)").to.equal(s.cumulativeAtLatest);
  }
  // R3
  expect(s.distributorBalance, "R3: the distributor holds no tokens").to.equal(0n);
  expect(s.stakingBalance, "R3: staking balance == totalStaked + totalUnbonding + rewardsReserved").to.equal(
    s.totalStaked + s.totalUnbonding + s.rewardsReserved,
  );
  // Nobody collects rewards from Staking in these runs, so its reserve grew by exactly what was minted into it...
  expect(s.rewardsReserved, "R3: staking.rewardsReserved grew by totalMinted").to.equal(
    base.rewardsReserved + s.totalMinted,
  );
  // ... and holds the unclaimed emission besides what claims credited to the operators.
  const credited = s.pending.alice - base.pending.alice + (s.pending.bob - base.pending.bob);
  expect(
    s.rewardsReserved - base.rewardsReserved - credited,
    "R3: reserve growth - credited == totalMinted - totalClaimed",
  ).to.equal(s.totalMinted - s.totalClaimed);
  expect(s.supply, "R3: supply == initial + totalMinted (the distributor is the only minter)").to.equal(
    base.supply + s.totalMinted,
  );
  // R4
  s.claimed.forEach((c, i) => {
    expect(c >= prev.claimed[i], `R4: claimed(device ${i}) decreased ${prev.claimed[i]} -> ${c}`).to.be.true;
    expect(c, `R4: claimed(device ${i}) == last claimed cumulative`).to.equal(m.claimed[i]);
  });
  // the chain equals the model
  expect(s.totalMinted, "model: totalMinted").to.equal(m.minted);
  expect(s.totalClaimed, "model: totalClaimed").to.equal(m.totalClaimed);
  expect(s.latest.exists, "model: a finalised verdict exists").to.equal(m.lastFinalised !== null);
  if (m.lastFinalised !== null) {
    expect(s.latest.epoch, "model: last finalised epoch").to.equal(m.lastFinalised);
    expect(s.latest.root, "model: last finalised root").to.equal(m.current!.root);
  }
  if (m.syncedEpoch !== null) {
    expect(s.rootEpoch, "model: adopted epoch").to.equal(m.syncedEpoch);
    const adopted = m.published.find((p) => p.epoch === m.syncedEpoch);
    expect(s.root, "model: adopted root").to.equal(adopted!.root);
  } else {
    expect(s.root, "model: no root adopted").to.equal("0x" + "00".repeat(32));
  }
  for (const op of ["alice", "bob"] as const) {
    expect(s.pending[op], `pendingRewards(${op}) == paid for its devices`).to.equal(base.pending[op] + m.paidTo[op]);
  }
}

const show = (x: unknown): string =>
  JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

const stats = new Map<string, number>();
const count = (key: string) => stats.set(key, (stats.get(key) ?? 0) + 1);

/* ------------------------------------------------------------------------------------------------------------------ */
/* Runner                                                                                                              */
/* ------------------------------------------------------------------------------------------------------------------ */

async function runScenario(steps: Step[]): Promise<void> {
  const f = await loadFixture(rewardsFixture);
  const { hub, distributor, schedule, config } = f;
  expect(await config.param(Param.VerdictChallengeWindow)).to.equal(CHALLENGE_WINDOW);
  expect(await config.param(Param.VerdictSubmissionWindow)).to.equal(SUBMISSION_WINDOW);

  const cumulativeCache = new Map<bigint, bigint>();
  const cumulative = (epochs: bigint): bigint => {
    const v = cumulativeCache.get(epochs);
    if (v === undefined) throw new Error(`cumulativeEmission(${epochs}) not read`);
    return v;
  };
  const readCumulative = async (epochs: bigint) => {
    if (!cumulativeCache.has(epochs)) cumulativeCache.set(epochs, await schedule.cumulativeEmission(epochs));
    return cumulativeCache.get(epochs)!;
  };

  let snap = await readChain(f);
  const base: Baseline = {
    supply: snap.supply,
    rewardsReserved: snap.rewardsReserved,
    pending: { ...snap.pending },
    budget: await schedule.emissionBudget(),
  };
  let m: Model = {
    nextEpoch: await config.currentEpoch(),
    lastFinalised: null,
    current: null,
    pending: null,
    published: [],
    allocation: Array<bigint>(N).fill(0n),
    syncedEpoch: null,
    minted: 0n,
    claimed: Array<bigint>(N).fill(0n),
    totalClaimed: 0n,
    paidTo: { alice: 0n, bob: 0n },
    paidPairs: new Set(),
  };
  checkInvariants(snap, snap, m, base);

  const relayer = f.outsider;
  const trace: string[] = [];

  /** Sends a transaction the model predicts; returns the receipt on success. */
  async function expectOutcome(
    label: string,
    send: () => Promise<ContractTransactionResponse>,
    expected: ModelRevert | undefined,
  ): Promise<ContractTransactionReceipt | null> {
    let receipt: ContractTransactionReceipt | null = null;
    let reverted: DecodedRevert | undefined;
    try {
      receipt = await (await send()).wait();
    } catch (e) {
      reverted = decodeRevert(f, e);
    }
    trace.push(`  ${label} -> ${reverted?.text ?? "ok"}`);
    count(`${label.replace(/\(.*$/, "")} -> ${reverted?.name ?? "ok"}`);
    if (expected === undefined) {
      if (reverted !== undefined) throw new Error(`${label}: unexpected revert ${reverted.text}`);
    } else {
      if (reverted === undefined) throw new Error(`${label}: expected revert ${expected.message}, but it succeeded`);
      expect(reverted.name, `${label}: revert`).to.equal(expected.errorName);
      expect(reverted.args.map(String), `${label}: revert args`).to.deep.equal(expected.args.map(String));
    }
    return receipt;
  }

  /** The arguments of every `name` event `contract` emitted in `receipt`, in order. */
  async function eventsOf(
    receipt: ContractTransactionReceipt,
    contract: { getAddress(): Promise<string>; interface: Interface },
    name: string,
  ): Promise<unknown[][]> {
    const address = await contract.getAddress();
    return receipt.logs
      .filter((log) => log.address === address)
      .map((log) => contract.interface.parseLog(log))
      .filter((ev) => ev?.name === name)
      .map((ev) => [...ev!.args]);
  }

  /**
   * A transaction's token movements: exactly one mint of `minted` from zero to Staking, reserved there by the
   * distributor, when it synced new emission; otherwise no Transfer and no reservation at all.
   */
  async function expectMint(receipt: ContractTransactionReceipt, minted: bigint): Promise<void> {
    const staking = await f.staking.getAddress();
    const transfers = await eventsOf(receipt, f.token, "Transfer");
    const reserved = await eventsOf(receipt, f.staking, "RewardsReserved");
    expect(transfers, "Transfers: only the mint into Staking").to.deep.equal(
      minted > 0n ? [[ZERO_ADDRESS, staking, minted]] : [],
    );
    expect(reserved, "RewardsReserved: the mint").to.deep.equal(
      minted > 0n ? [[await distributor.getAddress(), minted]] : [],
    );
  }

  /** Relays a verdict for `epoch` whose cumulative allocation is `amounts`. */
  async function submit(epoch: bigint, amounts: bigint[], quorum: number[]): Promise<PublishedTree> {
    const tree = buildRewardsTree(amounts.map((cumulativeAmount, i) => ({ device: f.devices[i], cumulativeAmount })));
    const verdict = makeVerdict(epoch, { rewardsRoot: tree.root });
    const signatures = await signedBy(
      hub,
      verdict,
      quorum.map((i) => f.oracles[i]),
    );
    await expectOutcome(`submitVerdict(${epoch})`, () => hub.connect(relayer).submitVerdict(verdict, signatures), undefined);
    const published = { epoch, amounts, tree, root: tree.root };
    m.published.push(published);
    return published;
  }

  async function finalise(p: PublishedTree): Promise<void> {
    await expectOutcome(`finaliseVerdict(${p.epoch})`, () => hub.connect(relayer).finaliseVerdict(p.epoch), undefined);
    m.lastFinalised = p.epoch;
    m.current = p;
    await readCumulative(p.epoch + 1n);
  }

  for (const [i, step] of steps.entries()) {
    trace.push(`${i}: ${show(step)}`);
    try {
      const before = snap;
      let reverted = false;
      if (step.t === "epoch") {
        const e = m.nextEpoch;
        const endsAt = await config.epochEnd(e);
        if (BigInt(await time.latest()) < endsAt) await time.increaseTo(endsAt);
        if (m.pending !== null && step.finaliseLate) {
          // a verdict of an earlier epoch, pending since then, becomes final now
          await finalise(m.pending);
        }
        m.pending = null;
        if (step.outcome !== "skip") {
          // The oracles allocate a share of what is still unallocated of the emission up to `e`, plus (faulty root)
          // an extra amount; cumulative amounts never decrease.
          const target = await readCumulative(e + 1n);
          const allocated = m.allocation.reduce((a, b) => a + b, 0n);
          const unallocated = target > allocated ? target - allocated : 0n;
          const pool = (unallocated * BigInt(step.spendBps)) / 10_000n + (target * BigInt(step.overBps)) / 10_000n;
          const sumW = BigInt(step.weights.reduce((a, b) => a + b, 0));
          const amounts = m.allocation.map((a, d) => (sumW === 0n ? a : a + (pool * BigInt(step.weights[d])) / sumW));
          m.allocation = amounts;
          const faulty = amounts.reduce((a, b) => a + b, 0n) > target;
          count(faulty ? "(faulty root published)" : "(root published)");
          trace.push(`  amounts ${show(amounts)} target ${target}${faulty ? " (over-allocated)" : ""}`);
          const published = await submit(e, amounts, step.quorum);
          if (step.outcome === "finalise") {
            await time.increase(CHALLENGE_WINDOW);
            await finalise(published);
          } else {
            m.pending = published;
          }
        }
        m.nextEpoch = e + 1n;
      } else if (step.t === "sync") {
        const mintedBefore = m.minted;
        const receipt = await expectOutcome("sync()", () => distributor.connect(relayer).sync(), undefined);
        modelSync(m, cumulative);
        await expectMint(receipt!, m.minted - mintedBefore);
      } else {
        const entries = step.t === "claim" ? [step.entry] : step.entries;
        const resolved = entries.map((e) => resolveEntry(f, m, e));
        const next = cloneModel(m);
        let expected: ModelRevert | undefined;
        const amounts: bigint[] = [];
        try {
          if (step.t === "claim") modelClaimRoot(next, resolved[0], cumulative);
          else modelClaimManyRoot(next, cumulative);
          const root = adoptedTree(next)!.root;
          for (const c of resolved) amounts.push(modelPay(next, c, root));
        } catch (e) {
          if (!(e instanceof ModelRevert)) throw e;
          expected = e;
        }
        const label =
          step.t === "claim"
            ? `claim(${resolved[0].index}, ${resolved[0].cumulativeAmount}, ${resolved[0].note})`
            : `claimMany(${resolved.map((c) => `${c.index}:${c.cumulativeAmount}:${c.note}`).join(", ")})`;
        const send =
          step.t === "claim"
            ? () => distributor.connect(relayer).claim(resolved[0].device, resolved[0].cumulativeAmount, resolved[0].proof)
            : () =>
                distributor
                  .connect(relayer)
                  .claimMany(resolved.map((c) => ({ device: c.device, cumulativeAmount: c.cumulativeAmount, proof: c.proof })));
        const receipt = await expectOutcome(label, send, expected);
        if (expected === undefined) {
          // every payout is cumulative minus what was claimed before, to the device's operator
          const events = receipt!.logs
            .map((log) => {
              try {
                return distributor.interface.parseLog(log);
              } catch {
                return null;
              }
            })
            .filter((ev) => ev?.name === "RewardsClaimed");
          expect(events.length, "one RewardsClaimed per claim").to.equal(resolved.length);
          events.forEach((ev, k) => {
            const c = resolved[k];
            const op = DEVICE_SPECS[c.index].op!;
            expect([ev!.args.device, ev!.args.operator, ev!.args.amount, ev!.args.cumulativeAmount]).to.deep.equal([
              c.device,
              f[op].address,
              amounts[k],
              c.cumulativeAmount,
            ]);
          });
          // each payout is credited in Staking (no delegators: all to the operator) with the distributor as funder
          const self = await distributor.getAddress();
          expect(await eventsOf(receipt!, f.staking, "RewardsAdded"), "one RewardsAdded per claim").to.deep.equal(
            resolved.map((c, k) => [f[DEVICE_SPECS[c.index].op!].address, self, amounts[k], 0n]),
          );
          // a claim moves no tokens; only its sync, if it adopted a newer root, mints into Staking
          await expectMint(receipt!, next.minted - m.minted);
          m = next;
        } else {
          reverted = true;
        }
      }
      snap = await readChain(f);
      if (reverted) {
        // R5: a reverted claim (ClaimExceedsMinted included) changes nothing
        expect(snap, "R5: a reverted transaction changed the state").to.deep.equal(before);
      }
      checkInvariants(snap, before, m, base);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`step ${i} failed: ${msg}\n  trace:\n    ${trace.join("\n    ")}`);
    }
  }
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Tests                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

describe("RewardsDistributor invariants (fast-check, model-based)", function () {
  this.timeout(300_000);

  it("never pays more than it minted, mints at most the schedule and pays each cumulative amount once", async function () {
    // Most runs start with a finalised epoch, so that claims are not mostly NoFinalisedRoot.
    const stepsArb = fc
      .tuple(fc.option(stepArb, { freq: 4 }), fc.array(stepArb, { minLength: 1, maxLength: MAX_STEPS, size: "max" }))
      .map(([first, rest]) => [
        first === null || first.t !== "epoch" ? ({ ...FIRST_EPOCH } as Step) : { ...first, outcome: "finalise" as const },
        ...rest,
      ]);
    await assertScenarios(
      fc.oneof({ arbitrary: stepsArb, weight: 9 }, { arbitrary: fc.array(stepArb, { maxLength: MAX_STEPS }), weight: 1 }),
      runScenario,
      { numRuns: NUM_RUNS, shrinkBudgetMs: SHRINK_BUDGET_MS, seedVariable: "REWARDS_INVARIANT_SEED" },
    );
    printStats(stats);
  });

  // Deterministic scenarios through the same model and checks, so that the paths that matter are always exercised.
  describe("scenarios", function () {
    const epoch = (over: Partial<Extract<Step, { t: "epoch" }>> = {}): Step => ({
      t: "epoch",
      outcome: "finalise",
      finaliseLate: false,
      quorum: [0, 1, 2],
      weights: [1, 1, 1, 1, 0],
      spendBps: 5_000,
      overBps: 0,
      ...over,
    });
    const claim = (device: number, which: Which = "current", pick = 0): Step => ({
      t: "claim",
      entry: { device, which, pick },
    });

    it("a faulty root: claims beyond what was minted revert ClaimExceedsMinted and change nothing", async function () {
      await runScenario([
        claim(0), // NoFinalisedRoot
        // R = one epoch's emission. Epoch 0's verdict allocates 3R to alice-1 while 1R is minted.
        epoch({ weights: [1, 0, 0, 0, 0], spendBps: 0, overBps: 30_000 }),
        claim(0), // ClaimExceedsMinted(3R, R)
        { t: "claimMany", entries: [{ device: 0, which: "current", pick: 0 }] }, // the same, batched
        epoch({ outcome: "skip" }),
        epoch({ outcome: "skip" }),
        // epoch 3 finalised: 4R minted; bob-1 and the ghost get 1.5R each (6R allocated)
        epoch({ weights: [0, 0, 1, 0, 1], spendBps: 10_000, overBps: 5_000 }),
        claim(2), // bob-1 is paid 1.5R
        claim(0), // 1.5R + 3R > 4R: ClaimExceedsMinted
        claim(2), // NothingToClaim
        claim(4), // ghost: UnknownDevice
        claim(1), // zero leaf: NothingToClaim
        epoch({ weights: [0, 0, 0, 0, 0] }), // the same root again
        epoch({ weights: [0, 0, 0, 0, 0] }), // epoch 5: 6R minted
        { t: "sync" },
        claim(0), // emission caught up: alice-1 is paid 3R
        claim(0, "other", 0), // epoch 0's tree (same leaf for alice-1, other root): InvalidProof
        claim(0, "forged"), // InvalidProof
      ]);
    });

    it("skipped and pending epochs roll over; a late finalisation and duplicates in claimMany", async function () {
      await runScenario([
        epoch({ outcome: "skip" }),
        epoch({ outcome: "pending", weights: [1, 2, 3, 4, 0] }),
        epoch({ outcome: "finalise", finaliseLate: true, weights: [1, 1, 1, 1, 0] }),
        {
          t: "claimMany",
          entries: [
            { device: 0, which: "current", pick: 0 },
            { device: 3, which: "current", pick: 0 },
            { device: 0, which: "current", pick: 0 }, // duplicate: NothingToClaim, the whole batch reverts
          ],
        },
        {
          t: "claimMany",
          entries: [
            { device: 0, which: "current", pick: 0 },
            { device: 3, which: "current", pick: 0 },
          ],
        },
        epoch({ outcome: "pending", finaliseLate: false }),
        epoch({ outcome: "finalise", finaliseLate: false, quorum: [0, 1, 2, 3, 4] }),
        claim(1, "other", 2), // epoch 3's never-finalised tree: InvalidProof
        {
          t: "claimMany",
          entries: [0, 1, 2, 3].map((device) => ({ device, which: "current" as const, pick: 0 })),
        },
        { t: "claimMany", entries: [] },
      ]);
    });

    it("a claim pays against the adopted root while a newer one waits, and syncs only for a newer proof", async function () {
      await runScenario([
        { t: "claimMany", entries: [] }, // NoFinalisedRoot, even empty
        claim(0, "adopted"), // nothing adopted or finalised: NoFinalisedRoot
        epoch(), // epoch 0 finalised
        { t: "sync" },
        epoch({ weights: [1, 2, 3, 4, 0] }), // epoch 1 finalised, not adopted
        claim(0, "adopted"), // epoch 0's leaf: paid against root 0, no sync, no mint
        claim(1, "adopted"),
        claim(0, "adopted"), // NothingToClaim against root 0, still no sync
        claim(2, "forged"), // valid for neither root: InvalidProof, its sync undone
        claim(0), // epoch 1's leaf: syncs (mints epoch 1) and pays alice-1's increment
        claim(2, "other", 0), // epoch 0's tree is superseded: InvalidProof
        claim(2, "adopted"), // epoch 1's leaf, now adopted: paid without a mint
        epoch({ outcome: "skip" }),
        epoch({ weights: [0, 0, 0, 0, 0] }), // epoch 3 finalised with epoch 1's root (epoch 2 rolled over)
        claim(3, "adopted"), // the same root is in use: paid without syncing, epochs 2-3 stay unminted
        { t: "claimMany", entries: [{ device: 1, which: "current", pick: 0 }] }, // claimMany syncs: mints epochs 2-3
      ]);
    });
  });
});
