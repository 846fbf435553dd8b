/** Pure epoch aggregation: proof outcomes + chain state + emission -> rewards, faults, Merkle roots, verdict file. */
export { aggregateEpoch, missedDutyEvidence, VERDICT_FILE_VERSION } from "./aggregate";
export { AggregateInputError } from "./errors";
export { sealVerdictFile, verdictFileDataHash } from "./file";
export { BPS, PPM, classPot, compareAddress, qualityPpm, shareOf } from "./score";
export type * from "./types";
