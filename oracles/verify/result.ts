import type { FaultKind } from "../../sdk/enums";

/** A proof that passed its class's checks: how much verified work it shows and how good it was (0..1). */
export interface Verified {
  ok: true;
  /** Verified work in the class's units for this proof (e.g. GiB proven, multiply-adds checked, Wh metered). */
  workUnits: bigint;
  /** Quality factor in [0, 1] that scales the reward (e.g. witness density, signal plausibility). */
  quality: number;
}

/** A proof that failed: the fault it evidences (if it is penalised) and a reason a person can read. */
export interface Rejected {
  ok: false;
  /** The fault kind to report on-chain, or null when the proof is merely invalid (no penalty beyond no reward). */
  fault: FaultKind | null;
  reason: string;
}

export type VerifyResult = Verified | Rejected;

export const verified = (workUnits: bigint, quality = 1): Verified => ({ ok: true, workUnits, quality });
export const rejected = (reason: string, fault: FaultKind | null = null): Rejected => ({ ok: false, fault, reason });
