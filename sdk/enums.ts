/**
 * Mirrors of the Solidity enums (contracts/types/Types.sol, contracts/interfaces/IProtocolConfig.sol,
 * contracts/interfaces/IEmissionSchedule.sol, IOracleHub.sol, IMarketplace.sol), in declaration order: the numbers are what the contracts take and
 * return.
 */

export const ResourceClass = { Coverage: 0, Storage: 1, ComputeGpu: 2, ComputeCpu: 3, Mapping: 4, Energy: 5 } as const;
export type ResourceClass = (typeof ResourceClass)[keyof typeof ResourceClass];

export const DeviceStatus = { None: 0, Active: 1, Jailed: 2, Exiting: 3, Removed: 4 } as const;
export type DeviceStatus = (typeof DeviceStatus)[keyof typeof DeviceStatus];

/** `VerdictStatus` of contracts/interfaces/IOracleHub.sol. */
export const VerdictStatus = { None: 0, Pending: 1, Disputed: 2, Finalised: 3 } as const;
export type VerdictStatus = (typeof VerdictStatus)[keyof typeof VerdictStatus];

/** `ConfirmationMode` of contracts/interfaces/IOracleHub.sol: how the hub uses its verdict confirmer. */
export const ConfirmationMode = { CommitteeOnly: 0, MustAgree: 1, Fallback: 2 } as const;
export type ConfirmationMode = (typeof ConfirmationMode)[keyof typeof ConfirmationMode];

/** `OrderStatus` of contracts/interfaces/IMarketplace.sol. */
export const OrderStatus = { None: 0, Open: 1, Leased: 2, Unfilled: 3, Cancelled: 4 } as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

/** `LeaseStatus` of contracts/interfaces/IMarketplace.sol. */
export const LeaseStatus = { None: 0, Active: 1, Ended: 2 } as const;
export type LeaseStatus = (typeof LeaseStatus)[keyof typeof LeaseStatus];

/** `ConfirmationStatus` of contracts/interfaces/IFunctionsVerdictConfirmer.sol. */
export const ConfirmationStatus = { None: 0, Pending: 1, Failed: 2, Confirmed: 3 } as const;
export type ConfirmationStatus = (typeof ConfirmationStatus)[keyof typeof ConfirmationStatus];

export const FaultKind = {
  MissedDuty: 0,
  InvalidProof: 1,
  LocationSpoofing: 2,
  DoubleRegistration: 3,
  ServiceLevelBreach: 4,
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** Global parameters of `ProtocolConfig`. */
export const Param = {
  UnbondingPeriod: 0,
  MaxDelegationRatio: 1,
  CommissionIncreaseDelay: 2,
  MinUnbondAmount: 3,
  MaxPendingUnbondings: 4,
  LocationChangeCooldown: 5,
  JailAfterMissedEpochs: 6,
  JailCooldown: 7,
  MaxSlashPerEpoch: 8,
  ChallengeBond: 9,
  DisputeWindow: 10,
  ChallengerRewardBps: 11,
  VerdictSubmissionWindow: 12,
  VerdictChallengeWindow: 13,
  VerdictDisputeBond: 14,
  VerdictDisputeReward: 15,
  ConfirmationCallbackGas: 16,
  ConfirmationRetryInterval: 17,
  MarketFeeBps: 18,
  BidDeposit: 19,
  BidCommitWindow: 20,
  BidRevealWindow: 21,
  UnrevealedForfeitBps: 22,
  SettlementBountyBps: 23,
  LeaseNoticeEpochs: 24,
  SlaBreachEpochs: 25,
} as const;
export type Param = (typeof Param)[keyof typeof Param];

/** Per-class parameters of `ProtocolConfig`. */
export const ClassParam = { StakePerUnit: 0, MaxCapacity: 1 } as const;
export type ClassParam = (typeof ClassParam)[keyof typeof ClassParam];

/** Per-fault-kind parameters of `ProtocolConfig`. */
export const FaultParam = { RateBps: 0, MaxPerIncident: 1 } as const;
export type FaultParam = (typeof FaultParam)[keyof typeof FaultParam];

/** Curves of `EmissionSchedule` segments (contracts/interfaces/IEmissionSchedule.sol). */
export const EmissionShape = { Halving: 0, ExponentialDecay: 1, TargetedInflation: 2 } as const;
export type EmissionShape = (typeof EmissionShape)[keyof typeof EmissionShape];
