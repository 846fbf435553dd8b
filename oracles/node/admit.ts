/**
 * How one untrusted proof gets into the store. Two entry points share the checks that make a proof authentic and
 * eligible (signature under the domain, directory registration, class match) and the durable insert:
 * - `admitProof`, for proofs from devices (ingest): also the clock checks (current or grace epoch, timestamp within
 *   the skew), and a duplicate is a `ReplayError`.
 * - `importProof`, for proofs from peer oracles (sync): no clock checks, since a peer may hand over the proofs of an
 *   epoch that has just closed, and a duplicate is no error (the union of the oracles' stores is the goal).
 * Checks run cheapest first (schema, clock, signature, then the directory lookup, which may hit the chain). Both
 * throw the typed errors of errors.ts / oracles/proof and return only once the proof is committed to the store.
 */
import { getAddress, isAddress, type TypedDataDomain } from "ethers";
import { DeviceStatus } from "../../sdk/enums";
import { proofDigest } from "../proof/digest";
import { SignerMismatchError } from "../proof/errors";
import type { ProofRecord } from "../proof/kinds";
import { parseProofRecord } from "../proof/parse";
import { recoverSigner } from "../proof/recover";
import type { DeviceDirectory, EpochClock } from "./directory";
import { ClassMismatchError, FutureTimestampError, ReplayError, UnknownDeviceError, WrongEpochError } from "./errors";
import type { InsertResult, ProofStore } from "./store";

/** What `importProof` needs. */
export interface ImportDeps {
  store: ProofStore;
  directory: DeviceDirectory;
  domain: TypedDataDomain;
  /** Unix seconds (also the stored `receivedAt`). */
  now: () => bigint;
}

/** What `admitProof` needs: `ImportDeps` plus the clock checks. */
export interface AdmitDeps extends ImportDeps {
  clock: EpochClock;
  /** How far in the future (seconds) a record's timestamp may be. */
  maxClockSkew: bigint;
}

export interface Admitted {
  digest: string;
}

export interface Imported {
  digest: string;
  /** False when the store already held the proof, or another proof with the same (device, nonce). */
  inserted: boolean;
}

/** Admits a proof sent by a device; a proof already stored is a `ReplayError`. */
export async function admitProof(input: unknown, deps: AdmitDeps): Promise<Admitted> {
  const record = parseProofRecord(input);
  const now = deps.now();

  const current = deps.clock.currentEpoch(now);
  if (record.epoch !== current && record.epoch + 1n !== current) {
    throw new WrongEpochError(`epoch ${record.epoch} not accepted (current ${current}, grace ${current - 1n})`, {
      details: { epoch: record.epoch.toString(), current: current.toString() },
    });
  }
  if (record.timestamp > now + deps.maxClockSkew) {
    throw new FutureTimestampError(`timestamp ${record.timestamp} is in the future (now ${now})`, {
      details: { timestamp: record.timestamp.toString(), now: now.toString() },
    });
  }

  const { digest, result } = await checkAndStore(record, deps, now);
  if (result === "duplicate") {
    throw new ReplayError(`proof already received (device ${record.device}, nonce ${record.nonce})`, {
      details: { device: record.device, nonce: record.nonce.toString(), digest },
    });
  }
  return { digest };
}

/**
 * Imports a proof handed over by a peer oracle: the checks of `admitProof` except the clock ones. Which epochs are
 * pulled from peers (sync.ts) bounds how late a proof can still arrive this way.
 */
export async function importProof(input: unknown, deps: ImportDeps): Promise<Imported> {
  // Every peer serves the union, so most proofs arrive several times: skip the checks for one already stored.
  const known = storedDigest(input, deps.store);
  if (known !== null) return { digest: known, inserted: false };
  const record = parseProofRecord(input);
  const { digest, result } = await checkAndStore(record, deps, deps.now());
  return { digest, inserted: result === "inserted" };
}

/** The stored digest of the proof with `input`'s (device, nonce), read before any parsing; null if none. */
function storedDigest(input: unknown, store: ProofStore): string | null {
  if (typeof input !== "object" || input === null) return null;
  const { device, nonce } = input as { device?: unknown; nonce?: unknown };
  if (
    typeof device !== "string" ||
    !isAddress(device) ||
    typeof nonce !== "string" ||
    !/^(0|[1-9][0-9]{0,19})$/.test(nonce)
  ) {
    return null;
  }
  return store.digestOf(getAddress(device), BigInt(nonce));
}

/** Signature, registration and class checks, then the durable insert; shared by both entry points. */
async function checkAndStore(
  record: ProofRecord,
  deps: ImportDeps,
  now: bigint,
): Promise<{ digest: string; result: InsertResult }> {
  const digest = proofDigest(deps.domain, record);
  if (recoverSigner(digest, record.signature) !== record.device) {
    throw new SignerMismatchError("proof not signed by its device for this chain and registry", {
      details: { device: record.device },
    });
  }

  const info = await deps.directory.lookup(record.device);
  if (info === null || info.status === DeviceStatus.None || info.status === DeviceStatus.Removed) {
    throw new UnknownDeviceError(`device ${record.device} is not registered`, { details: { device: record.device } });
  }
  if (info.resourceClass !== record.resourceClass) {
    throw new ClassMismatchError(
      `device ${record.device} is registered as class ${info.resourceClass}, not ${record.resourceClass}`,
      { details: { device: record.device, registered: info.resourceClass, claimed: record.resourceClass } },
    );
  }

  return { digest, result: deps.store.insert(record, digest, Number(now) * 1000) };
}
