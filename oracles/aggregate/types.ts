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
  /** Declared capacity: weighs the devices of a lease (see README "Leases"); informational for rewards. */
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
  /**
   * The Marketplace's leases at epoch close, as the node filtered them (started by `epoch`, Active or ended after it).
   * Only leases with `startEpoch <= epoch` are listed.
   */
  leases: readonly LeaseState[];
  /** Cumulative delivery per lease id from the last verdict (absent = zeros; entries of unlisted leases are dropped). */
  previousLeases: ReadonlyMap<bigint, LeaseCumulative>;
  /** K = `ProtocolConfig` param `SlaBreachEpochs`: every K-th breach of a lease faults its under-delivering devices. */
  slaBreachEpochs: number;
}

/** A lease as the aggregate needs it (`IMarketplace.getLease`). */
export interface LeaseState {
  /** The lease id (= its order id). */
  leaseId: bigint;
  /** The devices bound to the lease (1 to 8). */
  devices: readonly string[];
  /** First epoch of the lease. */
  startEpoch: bigint;
  /** Last epoch of the lease (inclusive). */
  endEpoch: bigint;
  /** Service level: an epoch delivered below it is a breach (0..10 000). */
  minDeliveryBps: number;
}

/** A lease's cumulative leaf values. */
export interface LeaseCumulative {
  /** Sum of the delivered basis points of the lease's epochs with a verdict. */
  delivered: bigint;
  /** Number of those epochs delivered below the service level. */
  breaches: bigint;
}

/** One listed lease: this epoch's delivery and its leases-tree leaf. */
export interface LeaseDelivery {
  leaseId: bigint;
  /** Delivered basis points this epoch; null after the lease's end epoch (values carried unchanged). */
  deliveredBps: number | null;
  delivered: bigint;
  breaches: bigint;
  /** `Marketplace.leaseLeaf(leaseId, delivered, breaches)`. */
  leaf: string;
  proof: string[];
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
  /** Sorted by (address, kind); ServiceLevelBreach faults of the leases included. */
  faults: FaultEntry[];
  /** `ZeroHash` when there is no fault. */
  faultsRoot: string;
  /** Listed leases sorted by lease id, with their leases-tree leaves. */
  leases: LeaseDelivery[];
  /** `ZeroHash` when no lease is listed. */
  leasesRoot: string;
  totalWorkUnits: bigint;
  devicesCounted: bigint;
  verdict: EpochVerdict;
  /** The verdict file: canonical JSON; `dataHash` = keccak256 of the same JSON without its `dataHash` key. */
  file: string;
}
