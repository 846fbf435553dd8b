/**
 * What the explorer shows: one snapshot of the network, read from the chain (through the typed bindings) and from the
 * oracles' published verdict files, with no private backend state. `data.ts` builds it; the views only render it.
 * Amounts are token wei as decimal strings (JSON-safe); times are unix seconds.
 */

export type DeviceState = "active" | "jailed" | "slashed" | "exiting" | "removed";

export interface DeviceRow {
  address: string;
  operator: string;
  /** ResourceClass name: Coverage, Storage, ComputeGpu, ComputeCpu, Mapping, Energy. */
  resourceClass: string;
  capacity: string;
  /** H3 cell index (hex string, no 0x), as registered. */
  h3: string;
  /** Registry status name (Active, Jailed, Exiting, Removed). */
  status: string;
  /** What the map and the table colour it by: jailed > slashed (penalised at least once) > active (or exiting/removed). */
  state: DeviceState;
  /** Token wei slashed for this device's faults, in total. */
  slashed: string;
  faults: number;
  /** Cumulative rewards in the latest finalised verdict file (0 if absent). */
  earned: string;
  /** earned - claimed on the distributor. */
  claimable: string;
  claimed: string;
}

export interface OperatorRow {
  address: string;
  selfStake: string;
  delegated: string;
  delegators: number;
  commissionBps: number;
  devices: number;
  earned: string;
  slashed: string;
}

export interface EmissionPoint {
  epoch: number;
  /** EmissionSchedule.epochEmission(epoch). */
  scheduled: string;
  /** Scheduled x class split, per class (index = ResourceClass), from classSplitAt(epoch). */
  scheduledByClass: string[];
  /** Allocated to devices per class, from the epoch's verdict file (null when the file is not available). */
  allocatedByClass: string[] | null;
  /** Cumulative minted by the distributor up to and including this epoch's root (RootUpdated events), or null. */
  mintedCumulative: string | null;
  scheduledCumulative: string;
}

export interface EpochRow {
  epoch: number;
  /** None, Pending, Disputed, Finalised (hub status), or "Skipped" for an ended epoch without a verdict. */
  status: string;
  rewardsRoot: string | null;
  faultsRoot: string | null;
  /** Root of the lease delivery tree (zero when no lease was open). */
  leasesRoot: string | null;
  digest: string | null;
  signers: number;
  /** Committee members whose signature the oracles hold for the submitted digest (from GET /v1/verdicts/:epoch). */
  signedBy: string[];
  /** Members who signed another digest. */
  dissenters: string[];
  submittedAt: number | null;
  challengeEndsAt: number | null;
  finalisedAt: number | null;
  faultsApplied: number;
  slashed: string;
  /** Chainlink Functions confirmed the verdict (confirmer's confirmedVerdict is set). */
  confirmed: boolean;
}

export interface ProposalRow {
  id: string;
  description: string;
  /** Governor state name: Pending, Active, Canceled, Defeated, Succeeded, Queued, Expired, Executed. */
  state: string;
  /** Human-readable changes decoded from the calldatas, e.g. "ProtocolConfig.setParam(JailCooldown, 172800)". */
  changes: string[];
  proposer: string;
  voteStart: number;
  voteEnd: number;
  forVotes: string;
  againstVotes: string;
}

export interface NetworkSnapshot {
  chainId: number;
  /** Latest block read. */
  block: number;
  timestamp: number;
  currentEpoch: number;
  epochLength: number;
  genesis: number;
  devices: DeviceRow[];
  operators: OperatorRow[];
  emission: {
    points: EmissionPoint[];
    /** MeshToken.MAX_SUPPLY: the hard cap. */
    cap: string;
    /** EmissionSchedule.emissionBudget(). */
    budget: string;
    /** RewardsDistributor.totalMinted(). */
    totalMinted: string;
    totalClaimed: string;
  };
  epochs: EpochRow[];
  proposals: ProposalRow[];
  /** Oracle HTTP endpoints the explorer read verdict files from (through its proxy), and which answered. */
  oracles: { url: string; up: boolean }[];
}
