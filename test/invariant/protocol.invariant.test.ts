/**
 * Stateful, model-based property test (fast-check) across the whole protocol: Staking, ProviderRegistry, OracleHub,
 * Slashing, RewardsDistributor, EmissionSchedule and ProtocolConfig under MeshTimelock governance.
 *
 * Each run reverts the chain to a fresh `governanceFixture` (ProtocolConfig and every admin role held by the timelock;
 * alice self-stakes 200,000 MESH with dave's 2.5M delegated to her) plus: bob self-stakes 5,000 MESH, alice and bob
 * run two Coverage devices each, and JailAfterMissedEpochs was lowered to 1 through the timelock (so MissedDuty
 * faults jail). Then a random sequence of actions by alice, bob, carol (operators), carol, dave (delegators), fisher
 * (disputes), the arbitrator, the governor (timelock proposer, impersonated: proposals skip the vote, not the
 * timelock) and anyone:
 *
 *  - stake / unstake / delegate / undelegate / forceExit (delegators of a stalled operator) / withdraw (after
 *    unbonding) / Staking.claimRewards;
 *  - registerDevice (operator-signed tx + device-signed EIP-712 consent; also stolen consent replayed by another
 *    operator, a wrong key, an expired deadline, too much capacity, a device registered twice), offerTransfer /
 *    acceptTransfer (also by the wrong account), beginExit / completeExit, unjail;
 *  - submitVerdict for a closed epoch: rewards (cumulative Merkle tree over every device, new rewards only for Active
 *    and Exiting devices, sometimes over-allocated) and faults (a Merkle tree of MissedDuty / InvalidProof /
 *    LocationSpoofing leaves); signed by M, M+1 or N oracles, or adversarially: M-1 signers, a duplicated signer, a
 *    non-member, signatures out of order, signatures replayed from another epoch or another chain's domain;
 *  - disputeVerdict / resolveDispute (upheld or rejected, also by a non-arbitrator) / expireDispute / finaliseVerdict;
 *  - OracleHub.applyFault (slash + jail) with valid or forged proofs, twice for the same fault;
 *  - RewardsDistributor.claim of the latest finalised tree, the adopted tree, a forged amount; immediately repeated;
 *  - governance: timelock.schedule(setParam / setClassParam / setFaultParam) with values within, at and outside the
 *    hard-coded bounds (and the unbonding period at/above the timelock delay), executed after the delay (before it:
 *    TimelockUnexpectedOperationState), plus a direct setParam by an EOA;
 *  - "attack": resubmitting, disputing and re-finalising an already finalised epoch;
 *  - time advance.
 *
 * The model predicts, from chain reads before the transaction and what the test itself published (trees, signatures,
 * resubmission deadlines, timelock operations), whether each transaction succeeds or reverts, and with which custom
 * error (of which contract, with which arguments). An unpredicted success or revert fails the property. A revert must
 * leave the whole snapshot below unchanged. After EVERY step, from chain reads:
 *
 *   P1 (stake) Staking.totalStaked == sum(selfStake + delegated.tokens), totalUnbonding == sum of unbonding pools,
 *      balanceOf(Staking) == totalStaked + totalUnbonding + rewardsReserved (nobody sends MESH to Staking directly,
 *      so "covers" holds with equality), the delegations of each operator are worth at most its delegated pool, the
 *      sum of pendingRewards <= rewardsReserved, and token conservation: the balances of every holder sum to
 *      totalSupply == genesis + RewardsDistributor.totalMinted (no MESH created or lost; the treasury gets slashes).
 *   P2 (slash) every applied fault slashes <= slashableStake(operator) before it, slashableStake after == before -
 *      slashed, and the treasury receives exactly the slashed amount.
 *   P3 (emission) distributor.totalMinted <= schedule.cumulativeEmission(lastFinalised + 1) <= emissionBudget and
 *      token.totalMinted <= MAX_SUPPLY; totalClaimed == sum of claimed(device) <= totalMinted; claimed(device) is
 *      monotone and at most the largest cumulative amount of that device in any finalised tree; each successful claim
 *      pays exactly cumulative - previously claimed, and no (device, cumulative) is paid twice.
 *   P4 (quorum) every verdict recorded on chain has signers >= the committee threshold and a digest the test had M
 *      distinct committee members sign; no adversarial submission (M-1, duplicate, non-member, replay) ever lands.
 *   P5 (bounds) every Param, ClassParam and FaultParam read from ProtocolConfig lies within the bounds hard-coded
 *      here (cross-checked against paramBounds / classParamBounds / faultParamBounds); UnbondingPeriod < timelock
 *      delay.
 *   P6 (devices) operatorOf(device) is the operator the model tracked through registrations and transfers (one
 *      owner per device); capacityOf(op, class) == sum of the capacity of op's non-Removed devices of that class;
 *      requiredStake(op) == sum capacity * StakePerUnit; jailedDevices(op) == number of op's Jailed devices.
 *   P7 (jail) a device Jailed (or Removed) when the test builds a verdict gets no new rewards in it. This is enforced
 *      by the oracles only: RewardsDistributor.claim does not look at the device status, so a leaf for a jailed device
 *      in a finalised root is paid. What exists on chain is asserted: an operator with a jailed device is stalled
 *      (isStalled), delegating to it reverts OperatorStalled and anyone can force its delegators out.
 *   P8 (finality) a finalised verdict record (digest, roots, status, challenge end, signers) never changes after any
 *      later step; resubmitting, disputing or finalising it again reverts (EpochAlreadySettled /
 *      InvalidVerdictStatus); latestFinalised only moves forward.
 *
 * A second test replays a fixed scenario through the same runner, so that disputes (upheld, expired), jailing and
 * unjailing, transfers, exits, withdrawals, double claims and governance bounds are checked whatever the seed.
 *
 * Environment: PROTOCOL_INVARIANT_RUNS (default 12), PROTOCOL_INVARIANT_ACTIONS (max actions per run, default 30),
 * PROTOCOL_INVARIANT_SEED (replay a reported seed), INVARIANT_SHRINK_MS (shrinking budget, default 20 s),
 * INVARIANT_STATS=1 (print outcome counts per action).
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionReceipt, ContractTransactionResponse, Interface, Result, Wallet } from "ethers";

import { buildFaultsTree, buildRewardsTree, processProof, type FaultsTree, type RewardsTree } from "../../sdk/trees";
import { hubDomain, signVerdict, verdictDigest, type EpochVerdict } from "../../sdk/verdict";
import { VerdictStatus } from "../../sdk/enums";
import { H3_CELL, deviceWallet, signRegistration } from "../helpers/devices";
import {
  ClassParam,
  DAY,
  DeviceStatus,
  FaultKind,
  FaultParam,
  MESH,
  Param,
  ResourceClass,
  governanceFixture,
  registerDevice,
} from "../helpers/fixtures";
import { assertScenarios, printStats } from "../helpers/property";
import { oracleWallets } from "../helpers/verdicts";

/* ------------------------------------------------------------------------------------------------------------------ */
/* Parameters                                                                                                          */
/* ------------------------------------------------------------------------------------------------------------------ */

const NUM_RUNS = Number(process.env.PROTOCOL_INVARIANT_RUNS ?? 12);
const MAX_ACTIONS = Number(process.env.PROTOCOL_INVARIANT_ACTIONS ?? 30);
const SHRINK_BUDGET_MS = Number(process.env.INVARIANT_SHRINK_MS ?? 20_000);
const ZERO_HASH = "0x" + "00".repeat(32);
const ZERO_ADDRESS = "0x" + "00".repeat(20);
const HOUR = 3_600n;

/** The hard-coded bounds of ProtocolConfig (P5), by Param index. */
const PARAM_BOUNDS: [bigint, bigint][] = [
  [1n * DAY, 90n * DAY], // UnbondingPeriod
  [0n, 100n], // MaxDelegationRatio
  [1n * DAY, 60n * DAY], // CommissionIncreaseDelay
  [0n, 1_000n * MESH], // MinUnbondAmount
  [1n, 128n], // MaxPendingUnbondings
  [1n * HOUR, 30n * DAY], // LocationChangeCooldown
  [1n, 30n], // JailAfterMissedEpochs
  [1n * HOUR, 30n * DAY], // JailCooldown
  [1n * MESH, 100_000_000n * MESH], // MaxSlashPerEpoch
  [1n * MESH, 1_000_000n * MESH], // ChallengeBond
  [1n * DAY, 30n * DAY], // DisputeWindow
  [0n, 9_000n], // ChallengerRewardBps
  [1n * HOUR, 7n * DAY], // VerdictSubmissionWindow
  [1n * HOUR, 7n * DAY], // VerdictChallengeWindow
  [1n * MESH, 1_000_000n * MESH], // VerdictDisputeBond
  [0n, 1_000_000n * MESH], // VerdictDisputeReward
  [50_000n, 300_000n], // ConfirmationCallbackGas
  [5n * 60n, 1n * DAY], // ConfirmationRetryInterval
];
const CLASS_PARAM_BOUNDS: [bigint, bigint][] = [
  [0n, 1_000_000n * MESH], // StakePerUnit
  [1n, 1_000_000_000n], // MaxCapacity
];
const FAULT_PARAM_BOUNDS: [bigint, bigint][] = [
  [0n, 5_000n], // RateBps
  [0n, 10_000_000n * MESH], // MaxPerIncident
];
const CLASS_COUNT = 6;
const FAULT_KIND_COUNT = 4;

/* ------------------------------------------------------------------------------------------------------------------ */
/* Actors and devices                                                                                                  */
/* ------------------------------------------------------------------------------------------------------------------ */

const OPERATORS = ["alice", "bob", "carol"] as const;
const STAKERS = ["alice", "bob", "carol", "dave"] as const;
type Op = (typeof OPERATORS)[number];
type Staker = (typeof STAKERS)[number];
type Name = Staker | "fisher" | "arbitrator" | "outsider" | "governance";

/** Devices: the fixture's four, four more that runs may register, and a ghost that is never registered. */
const FIXTURE_DEVICES: { label: string; op: Op }[] = [
  { label: "pinv-alice-1", op: "alice" },
  { label: "pinv-alice-2", op: "alice" },
  { label: "pinv-bob-1", op: "bob" },
  { label: "pinv-bob-2", op: "bob" },
];
const EXTRA_DEVICES = ["pinv-extra-0", "pinv-extra-1", "pinv-extra-2", "pinv-extra-3"];
const GHOST = "pinv-ghost";
const DEVICE_LABELS = [...FIXTURE_DEVICES.map((d) => d.label), ...EXTRA_DEVICES, GHOST];
const ND = DEVICE_LABELS.length;
const DEVICE_WALLETS = DEVICE_LABELS.map((l) => deviceWallet(l));
const DEVICE_ADDRESSES = DEVICE_WALLETS.map((w) => w.address);
/** Keys that are not on the committee, for adversarial signatures. */
const NON_MEMBER = new ethers.Wallet(ethers.id("pinv:not-an-oracle"));

async function protocolInvariantFixture() {
  const f = await governanceFixture();
  await f.staking.connect(f.bob).stake(5_000n * MESH);
  for (const d of FIXTURE_DEVICES) await registerDevice(f.registry, f[d.op], { label: d.label });
  // Governance lowers JailAfterMissedEpochs to 1 (through the timelock), so that applied MissedDuty faults jail.
  const governor = await impersonate(await f.governor.getAddress());
  const data = f.config.interface.encodeFunctionData("setParam", [Param.JailAfterMissedEpochs, 1n]);
  const salt = ethers.id("pinv:fixture");
  const delay = await f.timelock.getMinDelay();
  await f.timelock.connect(governor).schedule(f.config, 0n, data, ZERO_HASH, salt, delay);
  await time.increase(delay);
  await f.timelock.connect(f.outsider).execute(f.config, 0n, data, ZERO_HASH, salt);
  return f;
}
type Fixture = Awaited<ReturnType<typeof protocolInvariantFixture>>;

async function impersonate(address: string): Promise<HardhatEthersSigner> {
  await ethers.provider.send("hardhat_impersonateAccount", [address]);
  await ethers.provider.send("hardhat_setBalance", [address, "0x56BC75E2D63100000"]); // 100 ETH
  return ethers.getSigner(address);
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Actions                                                                                                             */
/* ------------------------------------------------------------------------------------------------------------------ */

type SigMode = "quorum" | "quorum+1" | "all" | "short" | "duplicate" | "nonMember" | "unsorted" | "otherEpoch" | "otherChain";
type GovTarget = { kind: "param"; p: number } | { kind: "class"; c: number; p: number } | { kind: "fault"; k: number; p: number };
type GovValue = "low" | "mid" | "high" | "below" | "above" | "same";

type Action =
  | { t: "stake"; who: Op; amount: bigint }
  | { t: "unstake"; who: Op; bps: number }
  | { t: "delegate"; from: Staker; to: Op; bps: number }
  | { t: "undelegate"; from: Staker; to: Op; bps: number; pick: number | null }
  | { t: "forceExit"; by: Name; op: Op; delegator: Staker; pick: number | null }
  | { t: "withdraw"; who: Staker; max: bigint; pick: number | null; wait: boolean }
  | { t: "stakeClaim"; who: Staker; op: Op; pick: number | null }
  | { t: "register"; op: Op; slot: number; cpu: number; variant: "ok" | "stolen" | "wrongKey" | "expired" | "overCapacity" }
  | { t: "offer"; dev: number; by: Op | null; to: Op }
  | { t: "accept"; dev: number; who: Op | null }
  | { t: "exit"; dev: number; by: Op | null }
  | { t: "completeExit"; dev: number; wait: boolean }
  | { t: "unjail"; dev: number; wait: boolean }
// `dev` of offer / accept / exit / completeExit / unjail: three times in four the (dev % n)-th device for which the
// action can succeed (Active, offered, Exiting, Jailed), if any; otherwise device dev % ND.
  | {
      t: "verdict";
      fresh: boolean; // first move to the end of the current epoch
      back: number;
      sig: SigMode;
      weights: number[];
      spendBps: number;
      overBps: number;
      faults: { dev: number; kind: number }[];
    }
  | { t: "dispute"; pick: number; by: "fisher" | "outsider" }
  | { t: "resolve"; pick: number; upheld: boolean; byArbitrator: boolean }
  | { t: "expire"; pick: number; wait: boolean }
  | { t: "finalise"; pick: number; wait: boolean }
  | { t: "applyFault"; pick: number; forged: boolean }
  | { t: "claim"; dev: number; which: "latest" | "adopted" | "forged"; again: boolean }
  | { t: "govSchedule"; target: GovTarget; value: GovValue }
  | { t: "govExecute"; wait: boolean }
  | { t: "govDirect"; p: number }
  | { t: "attack"; pick: number }
  | { t: "advance"; seconds: number };

const opArb = fc.constantFrom<Op>(...OPERATORS);
const stakerArb = fc.constantFrom<Staker>(...STAKERS);
const bpsArb = fc.oneof(fc.constantFrom(0, 1, 5_000, 10_000, 12_000), fc.integer({ min: 1, max: 10_000 }));
const devArb = fc.integer({ min: 0, max: ND - 1 });
/** When not null, the target is instead the pick-th of those for which the action can succeed, if any. */
const pickArb = fc.option(fc.nat(), { freq: 4 });

const govTargetArb: fc.Arbitrary<GovTarget> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 17 }).map((p): GovTarget => ({ kind: "param", p })), weight: 4 },
  {
    // the classes the runs use (Coverage, ComputeCpu) and StakePerUnit / MaxCapacity
    arbitrary: fc
      .record({ c: fc.constantFrom(ResourceClass.Coverage, ResourceClass.ComputeCpu), p: fc.integer({ min: 0, max: 1 }) })
      .map(({ c, p }): GovTarget => ({ kind: "class", c, p })),
    weight: 1,
  },
  {
    arbitrary: fc
      .record({ k: fc.integer({ min: 0, max: FAULT_KIND_COUNT - 1 }), p: fc.integer({ min: 0, max: 1 }) })
      .map(({ k, p }): GovTarget => ({ kind: "fault", k, p })),
    weight: 1,
  },
);

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant("stake" as const),
      who: opArb,
      amount: fc.oneof({ arbitrary: fc.constant(0n), weight: 1 }, { arbitrary: fc.bigInt(1n, 5_000n).map((x) => x * MESH), weight: 6 }),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ t: fc.constant("unstake" as const), who: opArb, bps: bpsArb }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant("delegate" as const),
      from: fc.oneof({ arbitrary: fc.constantFrom<Staker>("carol", "dave"), weight: 4 }, { arbitrary: stakerArb, weight: 1 }),
      to: opArb,
      bps: bpsArb,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ t: fc.constant("undelegate" as const), from: stakerArb, to: opArb, bps: bpsArb, pick: pickArb }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("forceExit" as const),
      by: fc.constantFrom<Name>("outsider", "carol", "dave"),
      op: opArb,
      delegator: stakerArb,
      pick: pickArb,
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ t: fc.constant("withdraw" as const), who: stakerArb, max: fc.constantFrom(0n, 1n, 10n, 10n), pick: pickArb, wait: fc.boolean() }),
    weight: 2,
  },
  { arbitrary: fc.record({ t: fc.constant("stakeClaim" as const), who: stakerArb, op: opArb, pick: pickArb }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant("register" as const),
      op: opArb,
      slot: fc.integer({ min: 0, max: EXTRA_DEVICES.length + 1 }), // the last two: already registered devices
      cpu: fc.integer({ min: 0, max: 8 }), // 0: a Coverage device, else a ComputeCpu device of that many vCPU
      variant: fc.oneof(
        { arbitrary: fc.constant("ok" as const), weight: 6 },
        { arbitrary: fc.constantFrom("stolen" as const, "wrongKey" as const, "expired" as const, "overCapacity" as const), weight: 2 },
      ),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ t: fc.constant("offer" as const), dev: fc.nat(), by: fc.option(opArb, { freq: 2 }), to: opArb }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ t: fc.constant("accept" as const), dev: fc.nat(), who: fc.option(opArb, { freq: 2 }) }),
    weight: 2,
  },
  { arbitrary: fc.record({ t: fc.constant("exit" as const), dev: fc.nat(), by: fc.option(opArb, { freq: 2 }) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("completeExit" as const), dev: fc.nat(), wait: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("unjail" as const), dev: fc.nat(), wait: fc.boolean() }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant("verdict" as const),
      fresh: fc.boolean(),
      back: fc.constantFrom(0, 0, 0, 0, 0, 1, 2),
      sig: fc.oneof(
        { arbitrary: fc.constantFrom<SigMode>("quorum", "quorum+1", "all"), weight: 5 },
        {
          arbitrary: fc.constantFrom<SigMode>("short", "duplicate", "nonMember", "unsorted", "otherEpoch", "otherChain"),
          weight: 2,
        },
      ),
      weights: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: ND, maxLength: ND }),
      spendBps: fc.constantFrom(2_500, 5_000, 10_000),
      overBps: fc.oneof({ arbitrary: fc.constant(0), weight: 5 }, { arbitrary: fc.constantFrom(1, 5_000), weight: 1 }),
      faults: fc.array(
        fc.record({ dev: devArb, kind: fc.constantFrom(FaultKind.MissedDuty, FaultKind.InvalidProof, FaultKind.LocationSpoofing) }),
        { maxLength: 3 },
      ),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("dispute" as const),
      pick: fc.nat(),
      by: fc.constantFrom<"fisher" | "outsider">("fisher", "fisher", "fisher", "outsider"),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("resolve" as const),
      pick: fc.nat(),
      upheld: fc.boolean(),
      byArbitrator: fc.oneof({ arbitrary: fc.constant(true), weight: 5 }, { arbitrary: fc.constant(false), weight: 1 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ t: fc.constant("expire" as const), pick: fc.nat(), wait: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("finalise" as const), pick: fc.nat(), wait: fc.boolean() }), weight: 5 },
  { arbitrary: fc.record({ t: fc.constant("applyFault" as const), pick: fc.nat(), forged: fc.boolean() }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant("claim" as const),
      dev: devArb,
      which: fc.constantFrom<"latest" | "adopted" | "forged">("latest", "latest", "adopted", "forged"),
      again: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("govSchedule" as const),
      target: govTargetArb,
      value: fc.constantFrom<GovValue>("low", "mid", "high", "below", "above", "same"),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ t: fc.constant("govExecute" as const), wait: fc.constantFrom(true, true, true, false) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("govDirect" as const), p: fc.integer({ min: 0, max: 17 }) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("attack" as const), pick: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      t: fc.constant("advance" as const),
      seconds: fc.oneof(
        fc.integer({ min: 1, max: 6 * 3_600 }),
        fc.integer({ min: 3_600, max: 86_400 }),
        fc.constantFrom(43_200, 86_400, 2 * 86_400, 9 * 86_400),
      ),
    }),
    weight: 4,
  },
);

/** Three runs in four start with a finalised verdict (so that claims and faults have a root early). */
const FIRST_VERDICT: Action[] = [
  {
    t: "verdict",
    fresh: false,
    back: 0,
    sig: "quorum",
    weights: Array<number>(ND).fill(1),
    spendBps: 5_000,
    overBps: 0,
    faults: [
      { dev: 0, kind: FaultKind.MissedDuty },
      { dev: 2, kind: FaultKind.InvalidProof },
    ],
  },
  { t: "finalise", pick: 0, wait: true },
];
const scenarioArb: fc.Arbitrary<Action[]> = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.array(actionArb, { minLength: 1, maxLength: MAX_ACTIONS, size: "max" }))
  .map(([start, rest]) => [...(start === 0 ? [] : FIRST_VERDICT), ...rest]);

/* ------------------------------------------------------------------------------------------------------------------ */
/* Model                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

/** A verdict the test built and (tried to) publish. */
interface Published {
  epoch: bigint;
  verdict: EpochVerdict;
  digest: string;
  amounts: bigint[]; // cumulative per device index
  rewards: RewardsTree;
  faults: { dev: number; kind: number; evidence: string }[];
  faultsTree: FaultsTree | null;
}

interface GovOp {
  data: string;
  salt: string;
  readyAt: bigint;
  target: GovTarget;
  value: bigint;
}

interface Model {
  /** device index -> operator name the model tracked (null: not registered). */
  owner: (Op | null)[];
  capacity: bigint[];
  klass: number[];
  /** digests the test had at least M distinct committee members sign (P4). */
  quorumDigests: Set<string>;
  /** the verdict that landed on chain per epoch (deleted on an upheld dispute). */
  onChain: Map<bigint, Published>;
  /** every published tree by rewards root. */
  byRoot: Map<string, Published>;
  resubmitUntil: Map<bigint, bigint>;
  finalised: Map<bigint, string>; // epoch -> serialized record (P8)
  /** per device: the largest cumulative amount in any finalised tree (P3). */
  maxFinalised: bigint[];
  allocation: bigint[]; // the last cumulative amounts the oracles published
  paidPairs: Set<string>;
  govOps: GovOp[];
  lastFinalised: bigint | null;
}

/** A revert the model predicts: the contract whose ABI declares the error, its name and (optionally) arguments. */
class Expected extends Error {
  constructor(
    readonly source: Source,
    readonly errorName: string,
    readonly args?: unknown[],
  ) {
    super(`${source}.${errorName}(${args?.map(String).join(", ") ?? "..."})`);
  }
}
type Source = "staking" | "registry" | "hub" | "slashing" | "distributor" | "config" | "timelock" | "token";

const mulDiv = (a: bigint, b: bigint, c: bigint): bigint => (a * b) / c;
const maxB = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const leafHash = (device: string, amount: bigint): string =>
  ethers.keccak256(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [device, amount])));
const faultLeafHash = (device: string, kind: number, evidence: string): string =>
  ethers.keccak256(
    ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint8", "bytes32"], [device, kind, evidence])),
  );
const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

/* ------------------------------------------------------------------------------------------------------------------ */
/* Chain reads                                                                                                         */
/* ------------------------------------------------------------------------------------------------------------------ */

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

function interfaces(f: Fixture): Record<Source, Interface> {
  return {
    staking: f.staking.interface,
    registry: f.registry.interface,
    hub: f.hub.interface,
    slashing: f.slashing.interface,
    distributor: f.distributor.interface,
    config: f.config.interface,
    timelock: f.timelock.interface,
    token: f.token.interface,
  };
}

/** Decodes a revert with the expected contract's ABI first (several contracts declare errors of the same name). */
function decodeRevert(f: Fixture, e: unknown, prefer?: Source): { source: string; name: string; args: unknown[]; text: string } {
  const data = revertData(e);
  if (data === undefined) {
    const text = e instanceof Error ? e.message : String(e);
    return { source: "?", name: "?", args: [], text };
  }
  const all = interfaces(f);
  const order = (prefer ? [prefer] : []).concat(Object.keys(all) as Source[]);
  for (const source of order) {
    try {
      const parsed = all[source].parseError(data);
      if (parsed) {
        const args = [...parsed.args];
        return { source, name: parsed.name, args, text: `${source}.${parsed.name}(${args.map(String).join(", ")})` };
      }
    } catch {
      // not this contract's error
    }
  }
  return { source: "?", name: "?", args: [], text: `unknown revert data ${data}` };
}

interface Snapshot {
  staking: { totalStaked: bigint; totalUnbonding: bigint; rewardsReserved: bigint; balance: bigint };
  ops: Record<
    Op,
    {
      selfStake: bigint;
      selfUnbonding: bigint;
      delegated: bigint;
      delegatedShares: bigint;
      delegatedGeneration: bigint;
      delegatedUnbonding: bigint;
      slashable: bigint;
      required: bigint;
      jailed: bigint;
      stalled: boolean;
      capacity: bigint[]; // Coverage, ComputeCpu
    }
  >;
  delegations: Record<string, { shares: bigint; tokens: bigint }>; // `${staker}:${op}`
  pending: Record<string, bigint>; // `${staker}:${op}` pendingRewards
  queues: Record<Staker, { releaseAt: bigint }[]>;
  balances: Record<string, bigint>;
  supply: bigint;
  tokenMinted: bigint;
  dist: { totalMinted: bigint; totalClaimed: bigint; rootEpoch: bigint; root: string; claimed: bigint[] };
  latest: { epoch: bigint; root: string; exists: boolean };
  cumulativeAtLatest: bigint;
  devices: { operator: string; status: bigint; pendingOperator: string; capacity: bigint; klass: bigint; statusSince: bigint; jailedUntil: bigint }[];
  verdicts: Record<
    string,
    { digest: string; rewardsRoot: string; faultsRoot: string; leasesRoot: string; status: bigint; challengeEndsAt: bigint; signers: bigint }
  >;
  disputes: Record<string, { challenger: string; openedAt: bigint; bond: bigint }>;
  params: bigint[];
  classParams: bigint[][]; // [class][ClassParam]
  faultParams: bigint[][]; // [kind][FaultParam]
  hubReserve: bigint;
}

/** A view call straight through the provider: about three times faster than a typed contract call on Hardhat. */
async function view(c: { interface: Interface; target: unknown }, fn: string, args: readonly unknown[] = []): Promise<Result> {
  const data = c.interface.encodeFunctionData(fn, args);
  const out = (await network.provider.request({ method: "eth_call", params: [{ to: c.target, data }, "latest"] })) as string;
  return c.interface.decodeFunctionResult(fn, out);
}

async function readChain(f: Fixture, names: Record<Name, string>, epochs: bigint[]): Promise<Snapshot> {
  const { staking, registry, token, distributor, hub, schedule, config, slashing } = f;
  const holders: Record<string, string> = {
    ...names,
    treasury: f.treasury.address,
    guardian: f.guardian.address,
    reporter: f.reporter.address,
    staking: staking.target as string,
    hub: hub.target as string,
    slashing: slashing.target as string,
    distributor: distributor.target as string,
    timelock: f.timelock.target as string,
  };
  const holderKeys = Object.keys(holders);
  const pairs = OPERATORS.flatMap((o) => STAKERS.filter((s) => s !== o).map((s) => [s, o] as [Staker, Op]));
  // Sequential reads: the in-process Hardhat node answers them faster one by one than concurrently.
  const seq = async <T, R>(xs: readonly T[], fn: (x: T) => Promise<R>): Promise<R[]> => {
    const out: R[] = [];
    for (const x of xs) out.push(await fn(x));
    return out;
  };
  const one = async (c: { interface: Interface; target: unknown }, fn: string, args: readonly unknown[] = []) =>
    (await view(c, fn, args))[0] as bigint;
  const stakingTotals = [
    await one(staking, "totalStaked"),
    await one(staking, "totalUnbonding"),
    await one(staking, "rewardsReserved"),
    await one(token, "balanceOf", [staking.target]),
  ];
  const opRecords = await seq(OPERATORS, async (o) => (await view(staking, "getOperatorStake", [names[o]]))[0] as Result);
  const opViews = await seq(OPERATORS, async (o) => [
    await one(staking, "slashableStake", [names[o]]),
    await one(registry, "requiredStake", [names[o]]),
    await one(registry, "jailedDevices", [names[o]]),
    (await view(staking, "isStalled", [names[o]]))[0] as boolean,
    await one(registry, "capacityOf", [names[o], ResourceClass.Coverage]),
    await one(registry, "capacityOf", [names[o], ResourceClass.ComputeCpu]),
  ] as const);
  const dels = await seq(pairs, async ([s, o]) => {
    const r = await view(staking, "delegationOf", [names[o], names[s]]);
    return { shares: r[0] as bigint, tokens: r[1] as bigint };
  });
  const pend = await seq(
    OPERATORS.flatMap((o) => STAKERS.map((s) => [s, o] as const)),
    ([s, o]) => one(staking, "pendingRewards", [names[o], names[s]]),
  );
  const queues = await seq(STAKERS, async (s) => (await view(staking, "pendingUnbondings", [names[s]]))[0] as Result[]);
  const balances = await seq(holderKeys, (k) => one(token, "balanceOf", [holders[k]]));
  const supply = await one(token, "totalSupply");
  const tokenMinted = await one(token, "totalMinted");
  const distMinted = await one(distributor, "totalMinted");
  const distClaimed = await one(distributor, "totalClaimed");
  const root = await view(distributor, "currentRoot");
  const latestRaw = await view(hub, "latestFinalised");
  const latest = { epoch: latestRaw[0] as bigint, root: latestRaw[1] as string, exists: latestRaw[2] as boolean };
  const hubReserve = await one(hub, "disputeRewardReserve");
  const devs = await seq(
    DEVICE_ADDRESSES,
    async (d) => [(await view(registry, "getDevice", [d]))[0] as Result, await one(distributor, "claimed", [d])] as const,
  );
  const verdicts = await seq(epochs, async (e) => (await view(hub, "getVerdict", [e]))[0] as Result);
  const disputes = await seq(epochs, async (e) => (await view(hub, "getDispute", [e]))[0] as Result);
  const params = await seq(PARAM_BOUNDS.map((_, p) => p), (p) => one(config, "param", [p]));
  const classParams = await seq([...Array(CLASS_COUNT).keys()], async (c) => [
    await one(config, "classParam", [c, ClassParam.StakePerUnit]),
    await one(config, "classParam", [c, ClassParam.MaxCapacity]),
  ]);
  const faultParams = await seq([...Array(FAULT_KIND_COUNT).keys()], async (k) => [
    await one(config, "faultParam", [k, FaultParam.RateBps]),
    await one(config, "faultParam", [k, FaultParam.MaxPerIncident]),
  ]);
  const cumulativeAtLatest = latest.exists ? await one(schedule, "cumulativeEmission", [latest.epoch + 1n]) : 0n;

  const ops = {} as Snapshot["ops"];
  OPERATORS.forEach((o, i) => {
    const r = opRecords[i];
    const v = opViews[i];
    ops[o] = {
      selfStake: r.selfStake,
      selfUnbonding: r.selfUnbonding.tokens,
      delegated: r.delegated.tokens,
      delegatedShares: r.delegated.shares,
      delegatedGeneration: r.delegated.generation,
      delegatedUnbonding: r.delegatedUnbonding.tokens,
      slashable: v[0],
      required: v[1],
      jailed: v[2],
      stalled: v[3],
      capacity: [v[4], v[5]],
    };
  });
  const delegations: Snapshot["delegations"] = {};
  pairs.forEach(([s, o], i) => (delegations[`${s}:${o}`] = { shares: dels[i].shares, tokens: dels[i].tokens }));
  const pending: Snapshot["pending"] = {};
  OPERATORS.forEach((o, i) => STAKERS.forEach((s, j) => (pending[`${s}:${o}`] = pend[i * STAKERS.length + j])));
  const qs = {} as Snapshot["queues"];
  STAKERS.forEach((s, i) => (qs[s] = queues[i].map((r) => ({ releaseAt: r.releaseAt }))));
  const bal: Record<string, bigint> = {};
  holderKeys.forEach((k, i) => (bal[k] = balances[i]));
  const vs: Snapshot["verdicts"] = {};
  const ds: Snapshot["disputes"] = {};
  epochs.forEach((e, i) => {
    const v = verdicts[i];
    vs[e.toString()] = {
      digest: v.digest,
      rewardsRoot: v.rewardsRoot,
      faultsRoot: v.faultsRoot,
      leasesRoot: v.leasesRoot,
      status: v.status,
      challengeEndsAt: v.challengeEndsAt,
      signers: v.signers,
    };
    const d = disputes[i];
    ds[e.toString()] = { challenger: d.challenger, openedAt: d.openedAt, bond: d.bond };
  });
  return {
    staking: { totalStaked: stakingTotals[0], totalUnbonding: stakingTotals[1], rewardsReserved: stakingTotals[2], balance: stakingTotals[3] },
    ops,
    delegations,
    pending,
    queues: qs,
    balances: bal,
    supply,
    tokenMinted,
    dist: {
      totalMinted: distMinted,
      totalClaimed: distClaimed,
      rootEpoch: root[0] as bigint,
      root: root[1] as string,
      claimed: devs.map((d) => d[1]),
    },
    latest,
    cumulativeAtLatest,
    devices: devs.map(([d]) => ({
      operator: d.operator,
      status: d.status,
      pendingOperator: d.pendingOperator,
      capacity: d.capacity,
      klass: d.resourceClass,
      statusSince: d.statusSince,
      jailedUntil: d.jailedUntil,
    })),
    verdicts: vs,
    disputes: ds,
    params,
    classParams,
    faultParams,
    hubReserve,
  };
}

interface Baseline {
  genesisSupply: bigint; // token supply before any emission
  budget: bigint;
  maxSupply: bigint;
  threshold: bigint;
  timelockDelay: bigint;
}

/** P1-P8 from chain reads (plus what the model recorded of finalised trees and ownership). */
function checkInvariants(s: Snapshot, prev: Snapshot, m: Model, base: Baseline, names: Record<Name, string>): void {
  // P1: stake accounting and solvency.
  let staked = 0n;
  let unbonding = 0n;
  for (const o of OPERATORS) {
    const r = s.ops[o];
    staked += r.selfStake + r.delegated;
    unbonding += r.selfUnbonding + r.delegatedUnbonding;
    expect(r.slashable, `P1: slashableStake(${o})`).to.equal(r.selfStake + r.selfUnbonding + r.delegated + r.delegatedUnbonding);
    const claims = STAKERS.filter((x) => x !== o).reduce((a, x) => a + s.delegations[`${x}:${o}`].tokens, 0n);
    expect(claims <= r.delegated, `P1: delegations of ${o} worth ${claims} > pool ${r.delegated}`).to.be.true;
  }
  expect(s.staking.totalStaked, "P1: totalStaked == sum(selfStake + delegated)").to.equal(staked);
  expect(s.staking.totalUnbonding, "P1: totalUnbonding == sum of unbonding pools").to.equal(unbonding);
  expect(s.staking.balance, "P1: balanceOf(staking) == totalStaked + totalUnbonding + rewardsReserved").to.equal(
    s.staking.totalStaked + s.staking.totalUnbonding + s.staking.rewardsReserved,
  );
  const claimable = Object.values(s.pending).reduce((a, b) => a + b, 0n);
  expect(claimable <= s.staking.rewardsReserved, `P1: pendingRewards ${claimable} > rewardsReserved ${s.staking.rewardsReserved}`)
    .to.be.true;
  const held = Object.values(s.balances).reduce((a, b) => a + b, 0n);
  expect(held, "P1: balances of all holders == totalSupply (no MESH created or lost)").to.equal(s.supply);
  expect(s.supply, "P1: totalSupply == genesis + distributor.totalMinted").to.equal(base.genesisSupply + s.dist.totalMinted);

  // P3: emission and claims.
  expect(s.tokenMinted <= base.maxSupply, "P3: token.totalMinted <= MAX_SUPPLY").to.be.true;
  if (!s.latest.exists) expect(s.dist.totalMinted, "P3: nothing minted before a finalised verdict").to.equal(0n);
  expect(s.dist.totalMinted <= s.cumulativeAtLatest, `P3: minted ${s.dist.totalMinted} > cumulative ${s.cumulativeAtLatest}`).to
    .be.true;
  expect(s.cumulativeAtLatest <= base.budget, "P3: cumulativeEmission <= emissionBudget").to.be.true;
  const sumClaimed = s.dist.claimed.reduce((a, b) => a + b, 0n);
  expect(s.dist.totalClaimed, "P3: totalClaimed == sum claimed(device)").to.equal(sumClaimed);
  expect(s.dist.totalClaimed <= s.dist.totalMinted, `P3: claimed ${s.dist.totalClaimed} > minted ${s.dist.totalMinted}`).to.be
    .true;
  s.dist.claimed.forEach((c, i) => {
    expect(c >= prev.dist.claimed[i], `P3: claimed(device ${i}) decreased`).to.be.true;
    expect(c <= m.maxFinalised[i], `P3: device ${i} claimed ${c} > its largest finalised cumulative ${m.maxFinalised[i]}`).to.be
      .true;
  });

  // P4 + P8: every recorded verdict had a quorum; finalised records never change.
  for (const [e, v] of Object.entries(s.verdicts)) {
    if (v.status === BigInt(VerdictStatus.None)) continue;
    expect(v.signers >= base.threshold, `P4: verdict ${e} recorded with ${v.signers} < ${base.threshold} signers`).to.be.true;
    expect(m.quorumDigests.has(v.digest), `P4: verdict ${e} digest ${v.digest} was never signed by a quorum`).to.be.true;
  }
  for (const [e, record] of m.finalised) {
    expect(show(s.verdicts[e.toString()]), `P8: finalised verdict ${e} changed`).to.equal(record);
  }
  if (prev.latest.exists) {
    expect(s.latest.exists && s.latest.epoch >= prev.latest.epoch, "P8: latestFinalised moved back").to.be.true;
  }

  // P5: parameters within their hard-coded bounds.
  s.params.forEach((v, p) => {
    const [lo, hi] = PARAM_BOUNDS[p];
    expect(v >= lo && v <= hi, `P5: param ${p} = ${v} outside [${lo}, ${hi}]`).to.be.true;
  });
  expect(s.params[Param.UnbondingPeriod] < base.timelockDelay, "P5: unbonding period < timelock delay").to.be.true;
  s.classParams.forEach((ps, c) =>
    ps.forEach((v, p) => {
      const [lo, hi] = CLASS_PARAM_BOUNDS[p];
      expect(v >= lo && v <= hi, `P5: class ${c} param ${p} = ${v} outside [${lo}, ${hi}]`).to.be.true;
    }),
  );
  s.faultParams.forEach((ps, k) =>
    ps.forEach((v, p) => {
      const [lo, hi] = FAULT_PARAM_BOUNDS[p];
      expect(v >= lo && v <= hi, `P5: fault ${k} param ${p} = ${v} outside [${lo}, ${hi}]`).to.be.true;
    }),
  );

  // P6: one owner per device; per-operator capacity, required stake and jail counts agree with the devices.
  const nameOf = new Map(OPERATORS.map((o) => [names[o].toLowerCase(), o]));
  for (const o of OPERATORS) {
    const cap = [0n, 0n];
    let jailed = 0n;
    s.devices.forEach((d, i) => {
      if (d.operator.toLowerCase() !== names[o].toLowerCase()) return;
      if (d.status !== BigInt(DeviceStatus.Removed)) cap[d.klass === BigInt(ResourceClass.Coverage) ? 0 : 1] += d.capacity;
      if (d.status === BigInt(DeviceStatus.Jailed)) jailed += 1n;
      expect(m.owner[i], `P6: device ${i} held by ${o} on chain`).to.equal(o);
    });
    expect(s.ops[o].capacity, `P6: capacityOf(${o}) == sum of its devices' capacity`).to.deep.equal(cap);
    const required =
      cap[0] * s.classParams[ResourceClass.Coverage][ClassParam.StakePerUnit] +
      cap[1] * s.classParams[ResourceClass.ComputeCpu][ClassParam.StakePerUnit];
    expect(s.ops[o].required, `P6: requiredStake(${o})`).to.equal(required);
    expect(s.ops[o].jailed, `P6: jailedDevices(${o}) == its Jailed devices`).to.equal(jailed);
    // P7 (on-chain part): an operator with a jailed device is stalled.
    if (jailed > 0n) expect(s.ops[o].stalled, `P7: ${o} has a jailed device but is not stalled`).to.be.true;
  }
  s.devices.forEach((d, i) => {
    const owner = d.operator === ZERO_ADDRESS ? null : (nameOf.get(d.operator.toLowerCase()) ?? "unknown");
    expect(owner, `P6: operatorOf(device ${i})`).to.equal(m.owner[i]);
    if (d.status === BigInt(DeviceStatus.None)) expect(d.operator, "P6: unregistered device has an operator").to.equal(ZERO_ADDRESS);
    if (d.pendingOperator !== ZERO_ADDRESS) {
      expect(d.status, `P6: device ${i} has a transfer offer but is not Active`).to.equal(BigInt(DeviceStatus.Active));
    }
  });
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Runner                                                                                                              */
/* ------------------------------------------------------------------------------------------------------------------ */

const stats = new Map<string, number>();
const count = (key: string) => stats.set(key, (stats.get(key) ?? 0) + 1);

async function runScenario(actions: Action[]): Promise<void> {
  const f = await loadFixture(protocolInvariantFixture);
  const { staking, registry, hub, distributor, config, timelock, slashing } = f;
  const governor = await impersonate(await f.governor.getAddress());
  const signers: Record<Name, HardhatEthersSigner> = {
    alice: f.alice,
    bob: f.bob,
    carol: f.carol,
    dave: f.dave,
    fisher: f.fisher,
    arbitrator: f.arbitrator,
    outsider: f.outsider,
    governance: f.governance,
  };
  const names = Object.fromEntries(Object.entries(signers).map(([k, s]) => [k, s.address])) as Record<Name, string>;
  const opByAddress = new Map(OPERATORS.map((o) => [names[o].toLowerCase(), o]));
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const domain = hubDomain(chainId, await hub.getAddress());
  const foreignDomain = hubDomain(chainId + 1n, await hub.getAddress());
  const genesis = await config.genesis();
  const epochLength = await config.epochLength();
  const epochAt = (ts: bigint) => (ts - genesis) / epochLength;
  const epochEnd = (e: bigint) => genesis + (e + 1n) * epochLength;
  const committee = await hub.committeeAt(0n);
  const members = new Set(committee.members.map((a) => a.toLowerCase()));
  const threshold = BigInt(committee.threshold);
  const oracles = oracleWallets(5); // the fixture's committee, sorted by address
  expect(oracles.map((o) => o.address)).to.deep.equal([...committee.members]);

  const m: Model = {
    owner: DEVICE_LABELS.map((l) => FIXTURE_DEVICES.find((d) => d.label === l)?.op ?? null),
    capacity: DEVICE_LABELS.map((l) => (FIXTURE_DEVICES.some((d) => d.label === l) ? 1n : 0n)),
    klass: DEVICE_LABELS.map(() => ResourceClass.Coverage),
    quorumDigests: new Set(),
    onChain: new Map(),
    byRoot: new Map(),
    resubmitUntil: new Map(),
    finalised: new Map(),
    maxFinalised: Array<bigint>(ND).fill(0n),
    allocation: Array<bigint>(ND).fill(0n),
    paidPairs: new Set(),
    govOps: [],
    lastFinalised: null,
  };
  /** Epochs the test touched (their verdict records are read after every step). */
  const epochs = new Set<bigint>();
  const epochList = () => [...epochs].sort((a, b) => (a < b ? -1 : 1));
  const read = () => readChain(f, names, epochList());

  let snap = await read();
  // The test's bounds are ProtocolConfig's.
  for (let p = 0; p < PARAM_BOUNDS.length; p++) expect(await config.paramBounds(p)).to.deep.equal(PARAM_BOUNDS[p]);
  for (let p = 0; p < 2; p++) expect(await config.classParamBounds(p)).to.deep.equal(CLASS_PARAM_BOUNDS[p]);
  for (let p = 0; p < 2; p++) expect(await config.faultParamBounds(p)).to.deep.equal(FAULT_PARAM_BOUNDS[p]);
  expect(snap.params[Param.JailAfterMissedEpochs]).to.equal(1n);
  const base: Baseline = {
    genesisSupply: snap.supply - snap.dist.totalMinted,
    budget: await f.schedule.emissionBudget(),
    maxSupply: await f.token.MAX_SUPPLY(),
    threshold,
    timelockDelay: await timelock.getMinDelay(),
  };
  checkInvariants(snap, snap, m, base, names);

  const trace: string[] = [];
  /** The snapshot the chain must still equal if every transaction since it reverted (null after a success). */
  let cleanBase: Snapshot | null = null;
  let reverts: string[] = [];

  /** Sends a transaction at timestamp `ts`; checks the predicted outcome; returns the receipt on success. */
  async function send(
    label: string,
    ts: bigint,
    tx: () => Promise<ContractTransactionResponse>,
    expected: Expected | undefined,
  ): Promise<ContractTransactionReceipt | null> {
    await time.setNextBlockTimestamp(ts);
    let receipt: ContractTransactionReceipt | null = null;
    let reverted: ReturnType<typeof decodeRevert> | undefined;
    try {
      receipt = await (await tx()).wait();
    } catch (e) {
      reverted = decodeRevert(f, e, expected?.source);
    }
    trace.push(`  ${label} @${ts} -> ${reverted?.text ?? "ok"}`);
    count(`${label.replace(/\(.*$/, "")} -> ${reverted === undefined ? "ok" : reverted.name}`);
    if (expected === undefined) {
      if (reverted !== undefined) throw new Error(`${label}: unexpected revert ${reverted.text}`);
      expect(BigInt((await receipt!.getBlock()).timestamp), "mined at the predicted time").to.equal(ts);
    } else {
      if (reverted === undefined) throw new Error(`${label}: expected revert ${expected.message}, but it succeeded`);
      expect(`${reverted.source}.${reverted.name}`, `${label}: revert`).to.equal(`${expected.source}.${expected.errorName}`);
      if (expected.args !== undefined) {
        expect(reverted.args.map(String), `${label}: revert args`).to.deep.equal(expected.args.map(String));
      }
      // A revert leaves the state unchanged: checked against `cleanBase` at the end of the step.
      reverts.push(label);
    }
    if (receipt !== null) cleanBase = null;
    return receipt;
  }

  /** The next transaction's timestamp. */
  const nextTs = async () => BigInt(await time.latest()) + 1n;

  /** Staking.isStalled, as the contract computes it, from the snapshot. */
  const stalled = (o: Op) => snap.ops[o].stalled;

  const choose = <T>(pick: number | null, candidates: T[]): T | undefined =>
    pick === null || candidates.length === 0 ? undefined : candidates[pick % candidates.length];
  const pairsWith = (ok: (s: Staker, o: Op) => boolean): [Staker, Op][] =>
    OPERATORS.flatMap((o) => STAKERS.filter((x) => x !== o).map((x) => [x, o] as [Staker, Op])).filter(([x, o]) => ok(x, o));

  /** A device index for `pick`: see the Action type. */
  const chooseDevice = (pick: number, can: (d: Snapshot["devices"][number]) => boolean): number => {
    const candidates = snap.devices.map((d, i) => [d, i] as const).filter(([d]) => can(d));
    return pick % 4 === 0 || candidates.length === 0 ? pick % ND : candidates[Math.floor(pick / 4) % candidates.length][1];
  };

  /** Epochs with a record on chain or a dispute, for picks. */
  const pickEpoch = (pick: number, filter: (e: bigint) => boolean = () => true): bigint | null => {
    const list = epochList().filter(filter);
    return list.length === 0 ? null : list[pick % list.length];
  };

  async function stepVerdict(a: Extract<Action, { t: "verdict" }>): Promise<void> {
    if (a.fresh) await time.increaseTo(epochEnd(epochAt(BigInt(await time.latest()))));
    const ts = await nextTs();
    const current = epochAt(ts);
    const epoch = current - 1n - BigInt(a.back);
    if (epoch < 0n) {
      trace.push("  no closed epoch yet");
      return;
    }
    if (!epochs.has(epoch)) {
      epochs.add(epoch);
      snap = await read(); // now with the epoch's verdict record
      cleanBase = snap;
    }
    // The oracles' allocation: a share of what is still unallocated of the emission up to `epoch` (plus, sometimes,
    // an over-allocation), new rewards only for Active or Exiting devices (P7: a Jailed or Removed device, or one
    // never registered, earns nothing new) -- except the ghost, which a faulty oracle set pays (claims revert).
    const target = await f.schedule.cumulativeEmission(epoch + 1n);
    const allocated = m.allocation.reduce((x, y) => x + y, 0n);
    const unallocated = target > allocated ? target - allocated : 0n;
    const pool = (unallocated * BigInt(a.spendBps)) / 10_000n + (target * BigInt(a.overBps)) / 10_000n;
    const earning = snap.devices.map(
      (d, i) =>
        (d.status === BigInt(DeviceStatus.Active) || d.status === BigInt(DeviceStatus.Exiting) || i === ND - 1) &&
        a.weights[i] > 0,
    );
    const sumW = BigInt(a.weights.reduce((x, w, i) => x + (earning[i] ? w : 0), 0));
    const amounts = m.allocation.map((x, i) => (earning[i] && sumW > 0n ? x + (pool * BigInt(a.weights[i])) / sumW : x));
    snap.devices.forEach((d, i) => {
      if (d.status === BigInt(DeviceStatus.Jailed) || d.status === BigInt(DeviceStatus.Removed)) {
        expect(amounts[i], `P7: device ${i} (status ${d.status}) earns nothing new`).to.equal(m.allocation[i]);
      }
    });
    const rewards = buildRewardsTree(amounts.map((cumulativeAmount, i) => ({ device: DEVICE_ADDRESSES[i], cumulativeAmount })));
    const faults = a.faults.map(({ dev, kind }) => ({ dev, kind, evidence: ethers.id(`pinv:${epoch}:${dev}:${kind}`) }));
    const uniqueFaults = faults.filter((x, i) => faults.findIndex((y) => y.dev === x.dev && y.kind === x.kind) === i);
    const faultsTree =
      uniqueFaults.length === 0
        ? null
        : buildFaultsTree(uniqueFaults.map((x) => ({ device: DEVICE_ADDRESSES[x.dev], kind: x.kind as FaultKind, evidence: x.evidence })));
    const verdict: EpochVerdict = {
      epoch,
      devicesCounted: BigInt(ND),
      rewardsRoot: rewards.root,
      faultsRoot: faultsTree?.root ?? ZERO_HASH,
      leasesRoot: epoch % 2n === 0n ? ZERO_HASH : ethers.id(`pinv:leases:${epoch}`), // the hub stores it, unread
      totalWorkUnits: 1_000n,
      dataHash: ethers.id(`pinv:data:${epoch}:${ts}`),
    };
    const digest = verdictDigest(domain, verdict);
    const published: Published = { epoch, verdict, digest, amounts, rewards, faults: uniqueFaults, faultsTree };

    // Signatures.
    const sign = async (wallets: Wallet[], v = verdict, d = domain) =>
      Promise.all(wallets.map(async (w) => ({ signer: w.address, signature: (await signVerdict(w, d, v)).signature })));
    const asc = (xs: { signer: string; signature: string }[]) =>
      [...xs].sort((x, y) => (BigInt(x.signer) < BigInt(y.signer) ? -1 : 1)).map((x) => x.signature);
    const M = Number(threshold);
    let sigs: string[];
    switch (a.sig) {
      case "quorum":
        sigs = asc(await sign(oracles.slice(0, M)));
        break;
      case "quorum+1":
        sigs = asc(await sign(oracles.slice(1, M + 2)));
        break;
      case "all":
        sigs = asc(await sign(oracles));
        break;
      case "short":
        sigs = asc(await sign(oracles.slice(0, M - 1)));
        break;
      case "duplicate": {
        const s = asc(await sign(oracles.slice(0, M - 1)));
        sigs = [s[0], ...s]; // M signatures, one signer twice
        break;
      }
      case "nonMember":
        sigs = asc(await sign([...oracles.slice(0, M - 1), NON_MEMBER]));
        break;
      case "unsorted":
        sigs = asc(await sign(oracles.slice(0, M))).reverse();
        break;
      case "otherEpoch":
        sigs = asc(await sign(oracles.slice(0, M), { ...verdict, epoch: epoch + 1n }));
        break;
      case "otherChain":
        sigs = asc(await sign(oracles.slice(0, M), verdict, foreignDomain));
        break;
    }

    // Prediction: OracleHub._checkOpenEpoch, then the signature loop, then the quorum.
    let expected: Expected | undefined;
    const record = snap.verdicts[epoch.toString()];
    const endsAt = epochEnd(epoch);
    const closesAt = maxB(endsAt + snap.params[Param.VerdictSubmissionWindow], m.resubmitUntil.get(epoch) ?? 0n);
    if (ts < endsAt) expected = new Expected("hub", "EpochNotEnded", [epoch, endsAt]);
    else if (snap.latest.exists && epoch <= snap.latest.epoch && !m.resubmitUntil.has(epoch)) {
      // Settled, unless an upheld dispute reopened it (its corrected verdict still carries faults).
      expected = new Expected("hub", "EpochAlreadySettled", [epoch, snap.latest.epoch]);
    } else if (record.status !== BigInt(VerdictStatus.None)) {
      expected = new Expected("hub", "VerdictAlreadySubmitted", [epoch, record.status]);
    } else if (ts > closesAt) expected = new Expected("hub", "SubmissionWindowClosed", [epoch, closesAt]);
    else {
      let previous = 0n;
      for (let i = 0; i < sigs.length && expected === undefined; i++) {
        const signer = ethers.recoverAddress(digest, sigs[i]);
        if (BigInt(signer) <= previous) expected = new Expected("hub", "SignersNotAscending", [i, signer]);
        else if (!members.has(signer.toLowerCase())) expected = new Expected("hub", "NotCommitteeMember", [epoch, signer]);
        previous = BigInt(signer);
      }
      if (expected === undefined && BigInt(sigs.length) < threshold) {
        expected = new Expected("hub", "QuorumNotReached", [epoch, sigs.length, threshold]);
      }
    }
    if (expected === undefined) {
      // P4: the model only lets through what M distinct members signed.
      const signersOk = new Set(sigs.map((s) => ethers.recoverAddress(digest, s).toLowerCase()));
      expect(signersOk.size >= M && [...signersOk].every((x) => members.has(x)), "P4: predicted success needs M members").to.be
        .true;
      m.quorumDigests.add(digest);
    }
    const receipt = await send(
      `submitVerdict(${epoch}, ${a.sig})`,
      ts,
      () => hub.connect(f.outsider).submitVerdict(verdict, sigs),
      expected,
    );
    if (receipt !== null) {
      m.onChain.set(epoch, published);
      m.byRoot.set(rewards.root, published);
      m.allocation = amounts;
    }
  }

  async function stepFinalise(epoch: bigint, ts: bigint, label = "finaliseVerdict"): Promise<void> {
    const record = snap.verdicts[epoch.toString()];
    let expected: Expected | undefined;
    if (record.status !== BigInt(VerdictStatus.Pending)) expected = new Expected("hub", "InvalidVerdictStatus", [epoch, record.status]);
    else if (ts < record.challengeEndsAt) expected = new Expected("hub", "ChallengeWindowOpen", [epoch, record.challengeEndsAt]);
    // An older epoch may finalise after a later one (its faults become applicable); the latest root stays.
    const receipt = await send(`${label}(${epoch})`, ts, () => hub.connect(f.outsider).finaliseVerdict(epoch), expected);
    if (receipt !== null) {
      const p = m.onChain.get(epoch)!;
      if (m.lastFinalised === null || epoch > m.lastFinalised) m.lastFinalised = epoch;
      p.amounts.forEach((x, i) => (m.maxFinalised[i] = maxB(m.maxFinalised[i], x)));
      const rec = await hub.getVerdict(epoch);
      m.finalised.set(
        epoch,
        show({
          digest: rec.digest,
          rewardsRoot: rec.rewardsRoot,
          faultsRoot: rec.faultsRoot,
          leasesRoot: rec.leasesRoot,
          status: rec.status,
          challengeEndsAt: rec.challengeEndsAt,
          signers: rec.signers,
        }),
      );
      expect(rec.digest, "finalised digest == the quorum-signed verdict").to.equal(p.digest);
      expect(rec.leasesRoot, "finalised leasesRoot == the signed one").to.equal(p.verdict.leasesRoot);
    }
  }

  /** Resolves a staker's expected error for undelegate etc. from the pool. */
  const toTokensDown = (o: Op, shares: bigint) =>
    mulDiv(shares, snap.ops[o].delegated + 1n, snap.ops[o].delegatedShares + 1_000_000n);

  for (const [i, a] of actions.entries()) {
    trace.push(`${i}: ${show(a)}`);
    try {
      const prev = snap;
      cleanBase = snap;
      reverts = [];
      switch (a.t) {
        case "advance": {
          await time.increase(a.seconds);
          break;
        }
        case "stake": {
          const ts = await nextTs();
          const expected = a.amount === 0n ? new Expected("staking", "ZeroAmount", []) : undefined;
          await send(`stake(${a.who}, ${a.amount})`, ts, () => staking.connect(signers[a.who]).stake(a.amount), expected);
          break;
        }
        case "unstake": {
          const ts = await nextTs();
          const o = snap.ops[a.who];
          const amount = mulDiv(o.selfStake, BigInt(a.bps), 10_000n);
          const pending = BigInt(snap.queues[a.who].length);
          let expected: Expected | undefined;
          if (amount === 0n) expected = new Expected("staking", "ZeroAmount", []);
          else if (amount > o.selfStake) expected = new Expected("staking", "InsufficientSelfStake", [names[a.who], o.selfStake, amount]);
          else if (o.selfStake - amount < o.required) {
            expected = new Expected("staking", "StakeBelowRequired", [names[a.who], o.selfStake - amount, o.required]);
          } else if (amount !== o.selfStake && amount < snap.params[Param.MinUnbondAmount]) {
            expected = new Expected("staking", "UnbondBelowMinimum", [amount, snap.params[Param.MinUnbondAmount]]);
          } else if (pending >= snap.params[Param.MaxPendingUnbondings]) {
            expected = new Expected("staking", "TooManyPendingUnbondings", [names[a.who], pending]);
          }
          await send(`unstake(${a.who}, ${amount})`, ts, () => staking.connect(signers[a.who]).unstake(amount), expected);
          break;
        }
        case "delegate": {
          const ts = await nextTs();
          const o = snap.ops[a.to];
          const cap = o.selfStake * snap.params[Param.MaxDelegationRatio];
          const room = cap > o.delegated ? cap - o.delegated : 0n;
          const amount = mulDiv(room, BigInt(a.bps), 10_000n);
          let expected: Expected | undefined;
          if (a.from === a.to) expected = new Expected("staking", "SelfDelegation", [names[a.to]]);
          else if (amount === 0n) expected = new Expected("staking", "ZeroAmount", []);
          else if (stalled(a.to)) expected = new Expected("staking", "OperatorStalled", [names[a.to]]);
          else if (o.delegated + amount > cap) {
            expected = new Expected("staking", "DelegationCapExceeded", [names[a.to], o.delegated + amount, cap]);
          } else if (snap.balances[a.from] < amount) {
            expected = new Expected("token", "ERC20InsufficientBalance", [names[a.from], snap.balances[a.from], amount]);
          }
          // P7 (on-chain part): a jailed device stalls its operator, which takes no new delegation.
          if (snap.ops[a.to].jailed > 0n && a.from !== a.to && amount > 0n) {
            expect(expected?.errorName, "P7: delegating to an operator with a jailed device").to.equal("OperatorStalled");
          }
          await send(
            `delegate(${a.from} -> ${a.to}, ${amount})`,
            ts,
            () => staking.connect(signers[a.from]).delegate(names[a.to], amount),
            expected,
          );
          break;
        }
        case "undelegate": {
          const ts = await nextTs();
          const [from, to] = choose(a.pick, pairsWith((s, o) => snap.delegations[`${s}:${o}`].shares > 0n)) ?? [a.from, a.to];
                    const have = from === to ? 0n : snap.delegations[`${from}:${to}`].shares;
          const shares = a.bps === 12_000 ? have + 1n : mulDiv(have, BigInt(a.bps), 10_000n);
          const amount = toTokensDown(to, shares);
          const pending = BigInt(snap.queues[from].length);
          let expected: Expected | undefined;
          if (shares === 0n) expected = new Expected("staking", "ZeroAmount", []);
          else if (shares > have) expected = new Expected("staking", "InsufficientShares", [names[from], names[to], have, shares]);
          else if (shares !== have && amount < snap.params[Param.MinUnbondAmount]) {
            expected = new Expected("staking", "UnbondBelowMinimum", [amount, snap.params[Param.MinUnbondAmount]]);
          } else if (amount > 0n && pending >= snap.params[Param.MaxPendingUnbondings]) {
            expected = new Expected("staking", "TooManyPendingUnbondings", [names[from], pending]);
          }
          await send(
            `undelegate(${from} -> ${to}, ${shares})`,
            ts,
            () => staking.connect(signers[from]).undelegate(names[to], shares),
            expected,
          );
          break;
        }
        case "forceExit": {
          // P7 (on-chain part): delegators of a stalled operator (e.g. one with a jailed device) can be forced out.
          const ts = await nextTs();
          const [delegator, op] =
            choose(a.pick, pairsWith((x, o) => snap.ops[o].stalled && snap.delegations[`${x}:${o}`].shares > 0n)) ??
            [a.delegator, a.op];
          const shares = delegator === op ? 0n : snap.delegations[`${delegator}:${op}`].shares;
          let expected: Expected | undefined;
          if (!stalled(op)) expected = new Expected("staking", "OperatorNotStalled", [names[op]]);
          else if (shares === 0n) expected = new Expected("staking", "NoDelegation", [names[delegator], names[op]]);
          await send(
            `forceExit(${delegator} from ${op})`,
            ts,
            () => staking.connect(signers[a.by]).forceExit(names[op], names[delegator]),
            expected,
          );
          break;
        }
        case "withdraw": {
          let ts = await nextTs();
          let who = choose(a.pick, STAKERS.filter((s) => snap.queues[s].length > 0 && snap.queues[s][0].releaseAt < ts)) ?? a.who;
          if (a.wait) {
            // wait for the first request of someone's queue to be released
            who = choose(a.pick ?? 0, STAKERS.filter((s) => snap.queues[s].length > 0)) ?? who;
            const q = snap.queues[who];
            if (q.length > 0 && q[0].releaseAt > ts) {
              await time.increaseTo(q[0].releaseAt);
              ts = await nextTs();
            }
          }
          const q = snap.queues[who];
          const expected =
            a.max === 0n || q.length === 0 || q[0].releaseAt > ts
              ? new Expected("staking", "NothingToWithdraw", [names[who]])
              : undefined;
          await send(`withdraw(${who}, ${a.max})`, ts, () => staking.connect(signers[who]).withdraw(a.max), expected);
          break;
        }
        case "stakeClaim": {
          const ts = await nextTs();
          const [who, op] = choose(
            a.pick,
            OPERATORS.flatMap((o) => STAKERS.map((x) => [x, o] as [Staker, Op])).filter(([x, o]) => snap.pending[`${x}:${o}`] > 0n),
          ) ?? [a.who, a.op];
                    const pending = snap.pending[`${who}:${op}`];
          const expected = pending === 0n ? new Expected("staking", "NothingToClaim", [names[who], names[op]]) : undefined;
          const receipt = await send(
            `claimRewards(${who} from ${op})`,
            ts,
            () => staking.connect(signers[who]).claimRewards(names[op]),
            expected,
          );
          if (receipt !== null) {
            const paid = snap.balances[who];
            const after = await f.token.balanceOf(names[who]);
            expect(after - paid, "Staking.claimRewards pays pendingRewards").to.equal(pending);
          }
          break;
        }
        case "register": {
          const ts = await nextTs();
          const idx = a.slot < EXTRA_DEVICES.length ? FIXTURE_DEVICES.length + a.slot : a.slot - EXTRA_DEVICES.length;
          const wallet = DEVICE_WALLETS[idx];
          const device = wallet.address;
          const cls = a.cpu === 0 ? ResourceClass.Coverage : ResourceClass.ComputeCpu;
          const maxCap = snap.classParams[cls][ClassParam.MaxCapacity];
          const capacity = a.variant === "overCapacity" ? maxCap + 1n : a.cpu === 0 ? 1n : BigInt(a.cpu);
          const location = cls === ResourceClass.Coverage ? H3_CELL : 0n;
          const deadline = a.variant === "expired" ? ts - 1n : ts + DAY;
          // stolen: the consent alice's device gave to `victim` is replayed by another operator
          const consentFor = a.variant === "stolen" ? (a.op === "alice" ? "bob" : "alice") : a.op;
          const signer = a.variant === "wrongKey" ? NON_MEMBER : wallet;
          const signed = await signRegistration(registry, signer, {
            operator: names[consentFor],
            resourceClass: cls,
            capacity,
            location,
            deadline,
          });
          const registration = { ...signed.registration, device };
          const d = snap.devices[idx];
          const have = snap.ops[a.op].selfStake;
          const need = snap.ops[a.op].required + capacity * snap.classParams[cls][ClassParam.StakePerUnit];
          let expected: Expected | undefined;
          if (d.status !== BigInt(DeviceStatus.None)) expected = new Expected("registry", "DeviceAlreadyRegistered", [device]);
          else if (ts > deadline) expected = new Expected("registry", "SignatureExpired", [deadline]);
          else if (capacity === 0n || capacity > maxCap) expected = new Expected("registry", "InvalidCapacity", [cls, capacity, maxCap]);
          else if (a.variant === "stolen" || a.variant === "wrongKey") expected = new Expected("registry", "InvalidDeviceSignature", [device]);
          else if (have < need) expected = new Expected("registry", "InsufficientStake", [names[a.op], have, need]);
          const receipt = await send(
            `registerDevice(${a.op}, ${idx}, ${a.variant})`,
            ts,
            () => registry.connect(signers[a.op]).registerDevice(registration, signed.signature),
            expected,
          );
          if (receipt !== null) {
            m.owner[idx] = a.op;
            m.capacity[idx] = capacity;
            m.klass[idx] = cls;
          }
          break;
        }
        case "offer": {
          const ts = await nextTs();
          const dev = chooseDevice(a.dev, (d) => d.status === BigInt(DeviceStatus.Active));
          const d = snap.devices[dev];
          const owner = m.owner[dev];
          const by: Op = a.by ?? owner ?? "alice";
          const device = DEVICE_ADDRESSES[dev];
          let expected: Expected | undefined;
          if (owner === null) expected = new Expected("registry", "DeviceNotRegistered", [device]);
          else if (owner !== by) expected = new Expected("registry", "NotDeviceOperator", [device, names[by]]);
          else if (d.status !== BigInt(DeviceStatus.Active)) expected = new Expected("registry", "InvalidStatus", [device, d.status]);
          else if (a.to === by) expected = new Expected("registry", "InvalidOperator", [names[a.to]]);
          await send(
            `offerTransfer(${dev}, ${by} -> ${a.to})`,
            ts,
            () => registry.connect(signers[by]).offerTransfer(device, names[a.to]),
            expected,
          );
          break;
        }
        case "accept": {
          const ts = await nextTs();
          const dev = chooseDevice(a.dev, (d) => d.pendingOperator !== ZERO_ADDRESS);
          const d = snap.devices[dev];
          const device = DEVICE_ADDRESSES[dev];
          const who: Op = a.who ?? opByAddress.get(d.pendingOperator.toLowerCase()) ?? "carol";
          const have = snap.ops[who].selfStake;
          const cls = Number(d.klass);
          const need = snap.ops[who].required + d.capacity * snap.classParams[cls][ClassParam.StakePerUnit];
          let expected: Expected | undefined;
          if (d.pendingOperator.toLowerCase() !== names[who].toLowerCase()) {
            expected = new Expected("registry", "NotPendingOperator", [device, names[who]]);
          } else if (have < need) expected = new Expected("registry", "InsufficientStake", [names[who], have, need]);
          const receipt = await send(
            `acceptTransfer(${dev}, ${who})`,
            ts,
            () => registry.connect(signers[who]).acceptTransfer(device),
            expected,
          );
          if (receipt !== null) m.owner[dev] = who;
          break;
        }
        case "exit":
        case "completeExit":
        case "unjail": {
          let ts = await nextTs();
          const want = a.t === "exit" ? DeviceStatus.Active : a.t === "completeExit" ? DeviceStatus.Exiting : DeviceStatus.Jailed;
          const dev = chooseDevice(a.dev, (d) => d.status === BigInt(want));
          const d = snap.devices[dev];
          if (a.t !== "exit" && a.wait) {
            const until = a.t === "unjail" ? d.jailedUntil : d.statusSince + snap.params[Param.UnbondingPeriod];
            if (ts < until) {
              await time.increaseTo(until);
              ts = await nextTs();
            }
          }
          const owner = m.owner[dev];
          const by: Op = (a.t === "exit" ? a.by : null) ?? owner ?? "bob";
          const device = DEVICE_ADDRESSES[dev];
          let expected: Expected | undefined;
          if (owner === null) expected = new Expected("registry", "DeviceNotRegistered", [device]);
          else if (owner !== by) expected = new Expected("registry", "NotDeviceOperator", [device, names[by]]);
          else if (a.t === "exit") {
            if (d.status !== BigInt(DeviceStatus.Active)) expected = new Expected("registry", "InvalidStatus", [device, d.status]);
          } else if (a.t === "completeExit") {
            const readyAt = d.statusSince + snap.params[Param.UnbondingPeriod];
            if (d.status !== BigInt(DeviceStatus.Exiting)) expected = new Expected("registry", "InvalidStatus", [device, d.status]);
            else if (ts < readyAt) expected = new Expected("registry", "ExitNotReady", [device, readyAt]);
          } else {
            const have = snap.ops[by].selfStake;
            const need = snap.ops[by].required;
            if (d.status !== BigInt(DeviceStatus.Jailed)) expected = new Expected("registry", "InvalidStatus", [device, d.status]);
            else if (ts < d.jailedUntil) expected = new Expected("registry", "StillJailed", [device, d.jailedUntil]);
            else if (have < need) expected = new Expected("registry", "InsufficientStake", [names[by], have, need]);
          }
          const r = registry.connect(signers[by]);
          const call =
            a.t === "exit" ? () => r.beginExit(device) : a.t === "completeExit" ? () => r.completeExit(device) : () => r.unjail(device);
          await send(`${a.t}(${dev}, ${by})`, ts, call, expected);
          break;
        }
        case "verdict":
          await stepVerdict(a);
          break;
        case "dispute": {
          const pending = (e: bigint) => snap.verdicts[e.toString()].status === BigInt(VerdictStatus.Pending);
          const epoch = (a.pick % 4 === 0 ? null : pickEpoch(a.pick, pending)) ?? pickEpoch(a.pick);
          if (epoch === null) break;
          const ts = await nextTs();
          const record = snap.verdicts[epoch.toString()];
          const bond = snap.params[Param.VerdictDisputeBond];
          let expected: Expected | undefined;
          if (record.status !== BigInt(VerdictStatus.Pending)) expected = new Expected("hub", "InvalidVerdictStatus", [epoch, record.status]);
          else if (ts >= record.challengeEndsAt) expected = new Expected("hub", "ChallengeWindowClosed", [epoch, record.challengeEndsAt]);
          else if (snap.balances[a.by] < bond) {
            expected = new Expected("token", "ERC20InsufficientAllowance", undefined); // outsider: no allowance, no MESH
          }
          await send(
            `disputeVerdict(${epoch}, ${a.by})`,
            ts,
            () => hub.connect(signers[a.by]).disputeVerdict(epoch, ethers.id("pinv:dispute")),
            expected,
          );
          break;
        }
        case "resolve":
        case "expire": {
          const disputed = (e: bigint) => snap.verdicts[e.toString()].status === BigInt(VerdictStatus.Disputed);
          const epoch = (a.pick % 4 === 0 ? null : pickEpoch(a.pick, disputed)) ?? pickEpoch(a.pick);
          if (epoch === null) break;
          let ts = await nextTs();
          const record = snap.verdicts[epoch.toString()];
          const dispute = snap.disputes[epoch.toString()];
          const closesAt = dispute.openedAt + snap.params[Param.DisputeWindow];
          if (a.t === "expire" && a.wait && record.status === BigInt(VerdictStatus.Disputed) && ts <= closesAt) {
            await time.increaseTo(closesAt + 1n);
            ts = await nextTs();
          }
          let expected: Expected | undefined;
          const byArbitrator = a.t === "expire" || a.byArbitrator;
          if (a.t === "resolve" && !byArbitrator) {
            expected = new Expected("hub", "AccessControlUnauthorizedAccount", [names.fisher, ethers.id("ARBITRATOR_ROLE")]);
          } else if (record.status !== BigInt(VerdictStatus.Disputed)) {
            expected = new Expected("hub", "InvalidVerdictStatus", [epoch, record.status]);
          } else if (a.t === "resolve" && ts > closesAt) expected = new Expected("hub", "DisputeWindowClosed", [epoch, closesAt]);
          else if (a.t === "expire" && ts <= closesAt) expected = new Expected("hub", "DisputeWindowOpen", [epoch, closesAt]);
          const caller = a.t === "resolve" ? (a.byArbitrator ? f.arbitrator : f.fisher) : f.outsider;
          const receipt = await send(
            `${a.t}Dispute(${epoch}${a.t === "resolve" ? `, upheld=${a.upheld}` : ""})`,
            ts,
            () => (a.t === "resolve" ? hub.connect(caller).resolveDispute(epoch, a.upheld) : hub.connect(caller).expireDispute(epoch)),
            expected,
          );
          if (receipt !== null && a.t === "resolve" && a.upheld) {
            m.onChain.delete(epoch);
            m.resubmitUntil.set(epoch, ts + snap.params[Param.VerdictSubmissionWindow]);
          }
          break;
        }
        case "finalise": {
          const epoch = pickEpoch(a.pick, (e) => snap.verdicts[e.toString()].status === BigInt(VerdictStatus.Pending)) ?? pickEpoch(a.pick);
          if (epoch === null) break;
          if (a.wait) {
            const endsAt = snap.verdicts[epoch.toString()].challengeEndsAt;
            if (BigInt(await time.latest()) < endsAt) await time.increaseTo(endsAt);
          }
          await stepFinalise(epoch, await nextTs());
          break;
        }
        case "attack": {
          // P8: a finalised epoch cannot be resubmitted, disputed or finalised again.
          const finalised = [...m.finalised.keys()];
          if (finalised.length === 0) break;
          const epoch = finalised[a.pick % finalised.length];
          const p = m.onChain.get(epoch)!;
          const other = { ...p.verdict, rewardsRoot: ethers.id(`pinv:attack:${epoch}`) };
          const sigs = (await Promise.all(oracles.map((w) => signVerdict(w, domain, other))))
            .sort((x, y) => (BigInt(x.signer) < BigInt(y.signer) ? -1 : 1))
            .map((x) => x.signature);
          await send(
            `resubmitFinalised(${epoch})`,
            await nextTs(),
            () => hub.connect(f.outsider).submitVerdict(other, sigs),
            m.resubmitUntil.has(epoch)
              ? new Expected("hub", "VerdictAlreadySubmitted", [epoch, VerdictStatus.Finalised])
              : new Expected("hub", "EpochAlreadySettled", [epoch, snap.latest.epoch]),
          );
          await send(
            `disputeFinalised(${epoch})`,
            await nextTs(),
            () => hub.connect(f.fisher).disputeVerdict(epoch, ethers.id("pinv:attack")),
            new Expected("hub", "InvalidVerdictStatus", [epoch, VerdictStatus.Finalised]),
          );
          await stepFinalise(epoch, await nextTs(), "refinalise");
          break;
        }
        case "applyFault": {
          // Faults of every published verdict (the hub checks the one on chain).
          const all = [...m.onChain.values()].flatMap((p) => p.faults.map((x) => ({ p, x })));
          const final = all.filter(({ p }) => m.finalised.has(p.epoch));
          if (all.length === 0) break;
          const { p, x } = a.pick % 4 !== 0 && final.length > 0 ? final[a.pick % final.length] : all[a.pick % all.length];
          const epoch = p.epoch;
          const device = DEVICE_ADDRESSES[x.dev];
          const kind = a.forged ? (x.kind + 1) % 3 : x.kind; // a leaf the tree does not hold (unless it does)
          const proof = p.faultsTree!.getProof(p.faults.indexOf(x));
          const ts = await nextTs();
          const record = snap.verdicts[epoch.toString()];
          const op = opByAddress.get(snap.devices[x.dev].operator.toLowerCase());
          const fid = await slashing.faultId(device, kind, epoch);
          const penalised = await slashing.penalised(fid);
          const slashableBefore = op === undefined ? 0n : snap.ops[op].slashable;
          const penalty = op === undefined ? 0n : await slashing.previewPenalty(device, kind);
          const current = epochAt(ts);
          const slashedNow = await slashing.slashedInEpoch(current);
          const expiredAt = epochEnd(epoch) + snap.params[Param.UnbondingPeriod];
          let expected: Expected | undefined;
          if (record.status !== BigInt(VerdictStatus.Finalised)) expected = new Expected("hub", "InvalidVerdictStatus", [epoch, record.status]);
          else if (processProof(faultLeafHash(device, kind, x.evidence), proof) !== record.faultsRoot) {
            expected = new Expected("hub", "InvalidFaultProof", [epoch, device]);
          } else if (penalised) expected = new Expected("slashing", "FaultAlreadyPenalised", [fid]);
          else if (op === undefined) expected = new Expected("slashing", "UnknownDevice", [device]);
          else if (ts > expiredAt) expected = new Expected("slashing", "FaultTooOld", [epoch, expiredAt]);
          else if (slashedNow + penalty > snap.params[Param.MaxSlashPerEpoch]) {
            expected = new Expected("slashing", "EpochSlashCapExceeded", [current, slashedNow + penalty, snap.params[Param.MaxSlashPerEpoch]]);
          }
          const receipt = await send(
            `applyFault(${epoch}, ${x.dev}, kind ${kind})`,
            ts,
            () => hub.connect(f.outsider).applyFault(epoch, device, kind, x.evidence, proof),
            expected,
          );
          if (receipt !== null) {
            // P2: a slash never exceeds the slashable stake; the treasury gets exactly what was slashed.
            const slashed = receipt.logs
              .filter((l) => l.address === staking.target)
              .map((l) => staking.interface.parseLog(l))
              .filter((ev) => ev?.name === "Slashed")
              .map((ev) => (ev!.args.fromSelf as bigint) + (ev!.args.fromDelegators as bigint));
            expect(slashed.length, "one Slashed event").to.equal(1);
            expect(slashed[0] <= slashableBefore, `P2: slashed ${slashed[0]} > slashable ${slashableBefore}`).to.be.true;
            expect(slashed[0], "P2: slashed == min(penalty, slashable)").to.equal(penalty < slashableBefore ? penalty : slashableBefore);
            expect(await staking.slashableStake(names[op!]), "P2: slashable after == before - slashed").to.equal(
              slashableBefore - slashed[0],
            );
            expect((await f.token.balanceOf(f.treasury)) - snap.balances.treasury, "P2: treasury receives the slash").to.equal(slashed[0]);
            if (kind === FaultKind.MissedDuty && snap.devices[x.dev].status === BigInt(DeviceStatus.Active)) {
              expect((await registry.getDevice(device)).status, "MissedDuty (JailAfterMissedEpochs 1) jails").to.equal(
                BigInt(DeviceStatus.Jailed),
              );
            }
          }
          break;
        }
        case "claim": {
          const device = DEVICE_ADDRESSES[a.dev];
          const adopted = m.byRoot.get(snap.dist.root);
          const latest = snap.latest.exists ? m.byRoot.get(snap.latest.root) : undefined;
          const tree = a.which === "adopted" ? (adopted ?? latest) : latest;
          let cumulative: bigint;
          let proof: string[];
          if (tree === undefined) {
            cumulative = 1n;
            proof = [];
          } else {
            cumulative = tree.amounts[a.dev] + (a.which === "forged" ? 1n : 0n);
            proof = tree.rewards.getProof(a.dev);
          }
          const leaf = leafHash(device, cumulative);
          const verifies = (root: string) => root !== ZERO_HASH && processProof(leaf, proof) === root;
          const attempt = async (label: string) => {
            const ts = await nextTs();
            let expected: Expected | undefined;
            let minted = snap.dist.totalMinted;
            if (!verifies(snap.dist.root)) {
              if (!snap.latest.exists) expected = new Expected("distributor", "NoFinalisedRoot", []);
              else {
                minted = snap.cumulativeAtLatest;
                if (!verifies(snap.latest.root)) expected = new Expected("distributor", "InvalidProof", [device, cumulative]);
              }
            }
            const already = snap.dist.claimed[a.dev];
            const operator = snap.devices[a.dev].operator;
            if (expected === undefined) {
              if (cumulative <= already) expected = new Expected("distributor", "NothingToClaim", [device, cumulative, already]);
              else if (operator === ZERO_ADDRESS) expected = new Expected("distributor", "UnknownDevice", [device]);
              else if (snap.dist.totalClaimed + cumulative - already > minted) {
                expected = new Expected("distributor", "ClaimExceedsMinted", [snap.dist.totalClaimed + cumulative - already, minted]);
              }
            }
            const receipt = await send(label, ts, () => distributor.connect(f.outsider).claim(device, cumulative, proof), expected);
            if (receipt !== null) {
              // P3: no (device, cumulative) paid twice; the payout is cumulative - previously claimed.
              const key = `${device}:${cumulative}`;
              expect(m.paidPairs.has(key), `P3: ${key} paid twice`).to.be.false;
              m.paidPairs.add(key);
              const events = receipt.logs
                .filter((l) => l.address === distributor.target)
                .map((l) => distributor.interface.parseLog(l))
                .filter((ev) => ev?.name === "RewardsClaimed");
              expect(events.map((ev) => [ev!.args.device, ev!.args.operator, ev!.args.amount, ev!.args.cumulativeAmount])).to.deep.equal([
                [device, operator, cumulative - already, cumulative],
              ]);
            }
            return receipt;
          };
          await attempt(`claim(${a.dev}, ${cumulative}, ${a.which})`);
          if (a.again) {
            snap = await read();
            cleanBase = snap;
            reverts = [];
            await attempt(`claimAgain(${a.dev}, ${cumulative})`);
          }
          break;
        }
        case "govSchedule": {
          const t = a.target;
          const [lo, hi] =
            t.kind === "param" ? PARAM_BOUNDS[t.p] : t.kind === "class" ? CLASS_PARAM_BOUNDS[t.p] : FAULT_PARAM_BOUNDS[t.p];
          const current =
            t.kind === "param" ? snap.params[t.p] : t.kind === "class" ? snap.classParams[t.c][t.p] : snap.faultParams[t.k][t.p];
          const value =
            a.value === "low" ? lo : a.value === "high" ? hi : a.value === "mid" ? (lo + hi) / 2n : a.value === "same" ? current
            : a.value === "above" ? hi + 1n : lo === 0n ? -1n : lo - 1n;
          if (value < 0n) {
            trace.push("  no value below 0");
            break;
          }
          const data =
            t.kind === "param"
              ? config.interface.encodeFunctionData("setParam", [t.p, value])
              : t.kind === "class"
                ? config.interface.encodeFunctionData("setClassParam", [t.c, t.p, value])
                : config.interface.encodeFunctionData("setFaultParam", [t.k, t.p, value]);
          const salt = ethers.id(`pinv:gov:${i}`);
          const ts = await nextTs();
          await send(
            `schedule(${show(t)} = ${value})`,
            ts,
            () => timelock.connect(governor).schedule(config, 0n, data, ZERO_HASH, salt, base.timelockDelay),
            undefined,
          );
          m.govOps.push({ data, salt, readyAt: ts + base.timelockDelay, target: t, value });
          break;
        }
        case "govExecute": {
          if (m.govOps.length === 0) break;
          const op = m.govOps[0];
          if (a.wait && BigInt(await time.latest()) < op.readyAt) await time.increaseTo(op.readyAt);
          const ts = await nextTs();
          const t = op.target;
          const [lo, hi] =
            t.kind === "param" ? PARAM_BOUNDS[t.p] : t.kind === "class" ? CLASS_PARAM_BOUNDS[t.p] : FAULT_PARAM_BOUNDS[t.p];
          const current =
            t.kind === "param" ? snap.params[t.p] : t.kind === "class" ? snap.classParams[t.c][t.p] : snap.faultParams[t.k][t.p];
          let expected: Expected | undefined;
          if (ts < op.readyAt) expected = new Expected("timelock", "TimelockUnexpectedOperationState", undefined);
          else if (op.value < lo || op.value > hi) expected = new Expected("config", "ValueOutOfBounds", [op.value, lo, hi]);
          else if (op.value === current) expected = new Expected("config", "ValueUnchanged", [op.value]);
          else if (t.kind === "param" && t.p === Param.UnbondingPeriod && op.value >= base.timelockDelay) {
            expected = new Expected("config", "UnbondingNotBelowTimelockDelay", [op.value, base.timelockDelay]);
          }
          const receipt = await send(
            `execute(${show(t)} = ${op.value})`,
            ts,
            () => timelock.connect(f.outsider).execute(config, 0n, op.data, ZERO_HASH, op.salt),
            expected,
          );
          // An operation that reverted at execution stays ready; the model drops it either way (once ready).
          if (receipt !== null || ts >= op.readyAt) m.govOps.shift();
          break;
        }
        case "govDirect": {
          // The deployer lost ownership to the timelock: a direct change is refused whatever the value.
          const ts = await nextTs();
          await send(
            `setParamDirect(${a.p})`,
            ts,
            () => config.connect(f.governance).setParam(a.p, PARAM_BOUNDS[a.p][1] + 1n),
            new Expected("config", "OwnableUnauthorizedAccount", [names.governance]),
          );
          break;
        }
      }
      snap = await read();
      if (cleanBase !== null && reverts.length > 0) {
        expect(show(snap), `${reverts.join(", ")}: a reverted transaction changed the state`).to.equal(show(cleanBase));
      }
      checkInvariants(snap, prev, m, base, names);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`step ${i} failed: ${msg}\n  trace:\n    ${trace.join("\n    ")}`);
    }
  }
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Tests                                                                                                               */
/* ------------------------------------------------------------------------------------------------------------------ */

describe("Protocol invariants (fast-check, model-based, whole protocol)", function () {
  this.timeout(600_000);

  it("keeps stake, slashing, emission, quorum, bounds, device and finality invariants over random action sequences", async function () {
    await assertScenarios(scenarioArb, runScenario, {
      numRuns: NUM_RUNS,
      shrinkBudgetMs: SHRINK_BUDGET_MS,
      seedVariable: "PROTOCOL_INVARIANT_SEED",
    });
    printStats(stats);
  });

  // A directed scenario through every path (each step still predicted and checked like a random one), so that the
  // checks run on disputes, jailing, transfers, withdrawals, double claims and governance whatever the seed.
  it("a directed scenario: dispute and resubmission, jail and unjail, transfer, exit, withdrawal, governance", async function () {
    const verdict = (over: Partial<Extract<Action, { t: "verdict" }>> = {}): Action => ({
      t: "verdict",
      fresh: true,
      back: 0,
      sig: "quorum",
      weights: Array<number>(ND).fill(1),
      spendBps: 5_000,
      overBps: 0,
      faults: [],
      ...over,
    });
    const scenario: Action[] = [
      ...FIRST_VERDICT, // finalised, faults: MissedDuty of alice-1, InvalidProof of bob-1
      { t: "applyFault", pick: 1, forged: false }, // MissedDuty: slashes alice and jails alice-1
      { t: "applyFault", pick: 1, forged: false }, // again: FaultAlreadyPenalised
      { t: "applyFault", pick: 2, forged: false }, // InvalidProof: slashes bob
      { t: "applyFault", pick: 2, forged: true }, // InvalidFaultProof
      { t: "delegate", from: "carol", to: "alice", bps: 1_000 }, // alice is stalled: OperatorStalled
      { t: "forceExit", by: "outsider", op: "alice", delegator: "carol", pick: null }, // NoDelegation
      { t: "forceExit", by: "outsider", op: "alice", delegator: "dave", pick: null }, // dave forced out
      { t: "forceExit", by: "outsider", op: "bob", delegator: "dave", pick: null }, // OperatorNotStalled
      { t: "claim", dev: 0, which: "latest", again: true }, // paid, then NothingToClaim
      { t: "claim", dev: 2, which: "forged", again: false }, // InvalidProof
      { t: "claim", dev: ND - 1, which: "latest", again: false }, // the ghost: UnknownDevice
      verdict({ sig: "short" }), // QuorumNotReached
      verdict({ fresh: false, sig: "duplicate" }), // SignersNotAscending
      verdict({ fresh: false, sig: "nonMember" }), // NotCommitteeMember
      verdict({ fresh: false, sig: "otherChain" }), // replay from another domain
      verdict({ fresh: false, sig: "otherEpoch" }), // replay from another epoch
      verdict({ fresh: false, sig: "all" }), // lands; alice-1 (jailed) earns nothing new
      { t: "dispute", pick: 1, by: "fisher" },
      { t: "resolve", pick: 1, upheld: true, byArbitrator: true }, // deleted; resubmission window reopens
      { t: "advance", seconds: 20 * 3_600 },
      verdict({ fresh: false, sig: "quorum+1", weights: [3, 0, 1, 0, 0, 0, 0, 0, 1] }), // resubmitted
      { t: "dispute", pick: 1, by: "fisher" },
      { t: "expire", pick: 1, wait: true }, // back to Pending, challenge over
      { t: "finalise", pick: 1, wait: false },
      { t: "attack", pick: 0 },
      { t: "attack", pick: 1 },
      { t: "claim", dev: 2, which: "latest", again: true },
      { t: "stakeClaim", who: "bob", op: "bob", pick: null },
      { t: "stakeClaim", who: "bob", op: "bob", pick: null }, // NothingToClaim
      { t: "unjail", dev: 0, wait: true }, // after the jail cooldown
      { t: "stake", who: "carol", amount: 1_000n * MESH },
      // device picks = 0 mod 4 name the device (pick % ND) directly: 12 is bob-2, 28 alice-2
      { t: "offer", dev: 12, by: "bob", to: "carol" },
      { t: "accept", dev: 12, who: "alice" }, // NotPendingOperator
      { t: "accept", dev: 12, who: "carol" },
      { t: "exit", dev: 28, by: "alice" },
      { t: "unstake", who: "bob", bps: 5_000 },
      { t: "delegate", from: "carol", to: "bob", bps: 1_000 },
      { t: "undelegate", from: "carol", to: "bob", bps: 5_000, pick: null },
      { t: "withdraw", who: "bob", max: 10n, pick: null, wait: false }, // NothingToWithdraw
      { t: "withdraw", who: "bob", max: 10n, pick: null, wait: true },
      { t: "completeExit", dev: 28, wait: true },
      { t: "govSchedule", target: { kind: "param", p: Param.VerdictChallengeWindow }, value: "high" },
      { t: "govSchedule", target: { kind: "param", p: Param.MaxDelegationRatio }, value: "above" },
      { t: "govSchedule", target: { kind: "param", p: Param.UnbondingPeriod }, value: "high" },
      { t: "govSchedule", target: { kind: "fault", k: FaultKind.InvalidProof, p: FaultParam.RateBps }, value: "above" },
      { t: "govExecute", wait: false }, // too early
      { t: "govExecute", wait: true },
      { t: "govExecute", wait: true }, // ValueOutOfBounds
      { t: "govExecute", wait: true }, // UnbondingNotBelowTimelockDelay
      { t: "govExecute", wait: true }, // ValueOutOfBounds
      { t: "govDirect", p: Param.MaxSlashPerEpoch },
      verdict({ sig: "quorum" }),
      { t: "finalise", pick: 3, wait: true },
      { t: "claim", dev: 0, which: "latest", again: false },
    ];
    await runScenario(scenario);
    printStats(stats);
  });
});
