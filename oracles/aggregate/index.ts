/** Pure epoch aggregation: proof outcomes + chain state + emission -> rewards, faults, Merkle roots, verdict file. */
export { aggregateEpoch, missedDutyEvidence, VERDICT_FILE_VERSION } from "./aggregate";
export { AggregateInputError } from "./errors";
export { leasesOfVerdictFile, sealVerdictFile, verdictFileDataHash } from "./file";
export { MAX_LEASE_DEVICES, deviceDeliveredBps, leaseDelivery, serviceLevelEvidence } from "./leases";
export type { LeaseDeliveryInput, LeaseDeliveryResult, LeaseDevice } from "./leases";
export { BPS, PPM, classPot, compareAddress, qualityPpm, shareOf } from "./score";
export type * from "./types";
