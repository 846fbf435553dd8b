import type { EpochVerdict } from "../../sdk/verdict";
import type { DeviceStatus, FaultKind, ResourceClass } from "../../sdk/enums";
import type { ProofKind } from "../proof";
import type { VerifyResult } from "../verify/result";

/** Device status as read from `ProviderRegistry`: the enum's name or its number. */
export type DeviceStatusInput = "None" | "Active" | "Jailed" | "Exiting" | "Removed" | DeviceStatus;

/** Chain state of one device at epoch close. */
export interface DeviceState {
  /** EIP-55 checksummed (other spellings are normalised). */
  device: string;
  operator: string;
  resourceClass: ResourceClass;
  status: DeviceStatusInput;
  /** Declared capacity (informational here: see README "capacity"). */
  capacity: bigint;
}

/** The verify stage's outcome for one proof. */
export interface ProofOutcome {
  device: string;
  kind: ProofKind;
  nonce: bigint;
  result: VerifyResult;
  /** bytes32 hex (e.g. the proof's EIP-712 digest): the fault evidence when this proof is rejected with a fault. */
  evidence: string;
}

/** Everything the epoch's verdict depends on. */
export interface AggregateInput {
  epoch: bigint;
  devices: readonly DeviceState[];
  outcomes: readonly ProofOutcome[];
  /** Token wei available this epoch: cumulativeEmission(epoch + 1) - everything allocated so far (caller computes). */
  emission: bigint;
  /** Basis points per resource class, indexed by `ResourceClass`; six integers summing to at most 10 000. */
  classSplitBps: readonly number[];
  /** Cumulative rewards per device from the last verdict (absent = 0). */
  previous: ReadonlyMap<string, bigint> | Readonly<Record<string, bigint>>;
}

/** One device's result for the epoch (Active devices with at least one verified proof, or a non-zero cumulative). */
export interface DeviceReward {
  device: string;
  /** null for a device no longer in the chain state that keeps its previous cumulative. */
  resourceClass: ResourceClass | null;
  /** Sum over verified proofs of workUnits x qualityPpm. */
  score: bigint;
  reward: bigint;
  /** previous + reward: the rewards-tree leaf amount. */
  cumulative: bigint;
}

/** Per-class accounting. */
export interface ClassSummary {
  resourceClass: ResourceClass;
  splitBps: number;
  /** floor(emission x splitBps / 10 000). */
  pot: bigint;
  totalScore: bigint;
  /** Sum of the class's device rewards (<= pot; the dust and empty pots are not allocated). */
  allocated: bigint;
}

export interface CumulativeLeaf {
  device: string;
  cumulativeAmount: bigint;
  /** `RewardsDistributor.leafHash(device, cumulativeAmount)`. */
  leaf: string;
  proof: string[];
}

export interface FaultEntry {
  device: string;
  kind: FaultKind;
  evidence: string;
  /** `OracleHub.faultLeaf(device, kind, evidence)`. */
  leaf: string;
  proof: string[];
}

export interface AggregateOutput {
  epoch: bigint;
  /** Devices with a score or a cumulative amount, sorted by address. */
  rewards: DeviceReward[];
  classes: ClassSummary[];
  /** Sum of this epoch's rewards: the caller carries `emission - allocated` into the next epoch. */
  allocated: bigint;
  /** The rewards-tree leaves, sorted by address. */
  cumulative: CumulativeLeaf[];
  rewardsRoot: string;
  /** Sorted by (address, kind). */
  faults: FaultEntry[];
  /** `ZeroHash` when there is no fault. */
  faultsRoot: string;
  totalWorkUnits: bigint;
  devicesCounted: bigint;
  verdict: EpochVerdict;
  /** The verdict file: canonical JSON; `dataHash` = keccak256 of the same JSON without its `dataHash` key. */
  file: string;
}
