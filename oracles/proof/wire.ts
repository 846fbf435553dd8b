/** `toProofJson`: a record in its JSON wire form (uint64 fields as decimal strings); `parseProofRecord` reverses it. */
import type { ProofRecord, ProofRecordJson } from "./kinds";

export function toProofJson(record: ProofRecord): ProofRecordJson {
  return {
    ...record,
    epoch: record.epoch.toString(),
    nonce: record.nonce.toString(),
    timestamp: record.timestamp.toString(),
  } as ProofRecordJson;
}
