/**
 * How one untrusted proof gets into the store. Two entry points share the checks that make a proof authentic and
 * eligible (signature under the domain, directory registration, class match) and the durable insert:
 * - `admitProof`, for proofs from devices (ingest): also the clock checks (current or grace epoch, timestamp within
 *   the skew), and a duplicate is a `ReplayError`; then the content pre-checks below.
 * - `importProof`, for proofs from peer oracles (sync): no clock checks, since a peer may hand over the proofs of an
 *   epoch that has just closed, and a duplicate is no error (the union of the oracles' stores is the goal). No
 *   content pre-checks either: a peer's store holds the evidence of bad proofs too, and it must reach every oracle.
 * Checks run cheapest first (schema, clock, signature, then the directory lookup, which may hit the chain). Both
 * throw the typed errors of errors.ts / oracles/proof and return only once the proof is committed to the store.
 *
 * Content pre-checks (`contentFlaw`, pure; ingest only): an authentic proof of a registered device that epoch
 * verification (oracles/verify/epoch.ts) would certainly judge `FaultKind.InvalidProof` is answered 422
 * `invalid_proof` (`InvalidContentError`) at once, so an honest but buggy device learns of it, BUT it is stored
 * first, like any other authentic proof: it is signed by the device, so it is the evidence its fault and slashing
 * rest on at epoch end, which work exactly as before (the message ends with "kept as evidence"). They reuse the
 * verifiers' own functions:
 * - StorageChallenge, when the directory knows the device's capacity (chunkCount = capacity x
 *   `STORAGE_CHUNKS_PER_GIB`, as at epoch end): the data root is the registered one (when the directory has one), the
 *   index is below chunkCount, the answer itself holds (`storageAnswerFlaw`, the check epoch verification runs on
 *   every answer: chunk size, path length, path to the root); with the epoch seed, the index is also one of the
 *   challenged ones (`challengeIndices`).
 * - ComputeChallenge, with the epoch seed: `verifyProduct` (Freivalds' check), then resultHash = `productDigest`.
 * The epoch seed comes from `deps.seedOf` (current and grace epoch, read concurrently with the other checks); while
 * it is unknown (no source, not recorded yet, a failed read) the checks that need it are skipped and the proof is
 * accepted as before, to be judged at epoch end anyway. A proof that passes is not thereby valid: the pre-checks
 * only catch what one proof shows on its own (missing storage answers, for one, are judged at epoch end).
 *
 * `admitProofs` / `importProofs` take many proofs at once (a batch request) and run each stage for all of them
 * together: the signatures go to the verifier pool (worker threads, `deps.verifier`) as one batch, the directory
 * lookups run concurrently, and the inserts are queued in item order into one group commit (store.ts), so a batch
 * costs one fsync and two copies of one proof still resolve as one by one (the first stored, the second a replay).
 * Without `deps.verifier` signatures are checked on the calling thread, with the same results. A batch item that
 * fails a content pre-check gets its own 422; the other items are unaffected.
 */
import { getAddress, isAddress, type TypedDataDomain } from "ethers";
import { DeviceStatus, FaultKind } from "../../sdk/enums";
import { InvalidSignatureError, SignerMismatchError } from "../proof/errors";
import { bytesToHex } from "../proof/hash";
import { ProofKind, type ProofRecord } from "../proof/kinds";
import { parseProofRecord } from "../proof/parse";
import type { VerifierPool, VerifyOutcome } from "../proof/verifier-pool";
import { checkProofSignature } from "../proof/verify";
import { productDigest, verifyProduct } from "../verify/compute";
import { STORAGE_CHUNKS_PER_GIB } from "../verify/epoch";
import { challengeIndices, STORAGE_CHALLENGE_COUNT, storageAnswerFlaw, storageDepth } from "../verify/storage";
import type { DeviceDirectory, DeviceInfo, EpochClock, SeedSource } from "./directory";
import {
  ClassMismatchError,
  FutureTimestampError,
  InvalidContentError,
  ReplayError,
  UnknownDeviceError,
  WrongEpochError,
} from "./errors";
import type { InsertResult, ProofStore } from "./store";

/** What `importProof` needs. */
export interface ImportDeps {
  store: ProofStore;
  directory: DeviceDirectory;
  domain: TypedDataDomain;
  /** Unix seconds (also the stored `receivedAt`). */
  now: () => bigint;
  /** Worker threads for the signature checks; in-thread when omitted. */
  verifier?: VerifierPool;
}

/** What `admitProof` needs: `ImportDeps` plus the clock checks. */
export interface AdmitDeps extends ImportDeps {
  clock: EpochClock;
  /** How far in the future (seconds) a record's timestamp may be. */
  maxClockSkew: bigint;
  /**
   * Epoch seeds for the content pre-checks that need one (compute products, challenged storage indexes); those are
   * skipped when omitted, and for an epoch whose seed is unknown (null, a rejected read or not bytes32).
   */
  seedOf?: SeedSource;
}

export interface Admitted {
  digest: string;
}

export interface Imported {
  digest: string;
  /** False when the store already held the proof, or another proof with the same (device, nonce). */
  inserted: boolean;
}

/** One item's outcome in `admitProofs` / `importProofs`: its result, or the error the one-proof call would throw. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Admits a proof sent by a device; a proof already stored is a `ReplayError`. */
export async function admitProof(input: unknown, deps: AdmitDeps): Promise<Admitted> {
  const [outcome] = await admitProofs([input], deps);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** `admitProof` for each input, all stages batched; one outcome per input, in order. Never rejects. */
export async function admitProofs(inputs: readonly unknown[], deps: AdmitDeps): Promise<Settled<Admitted>[]> {
  const now = deps.now();
  const current = deps.clock.currentEpoch(now);
  const records = inputs.map((input): Settled<ProofRecord> => {
    try {
      const record = parseProofRecord(input);
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
      return { ok: true, value: record };
    } catch (error) {
      return { ok: false, error };
    }
  });
  const seeds = seedsFor(records, deps.seedOf);
  const stored = await checkAndStore(records, deps, now, false);
  const seedOf = new Map<bigint, string | null>();
  for (const [epoch, seed] of seeds) seedOf.set(epoch, await seed);
  return stored.map((s, i): Settled<Admitted> => {
    if (!s.ok) return s;
    const record = (records[i] as { value: ProofRecord }).value;
    const { digest, result, info } = s.value;
    if (result === "duplicate") {
      return {
        ok: false,
        error: new ReplayError(`proof already received (device ${record.device}, nonce ${record.nonce})`, {
          details: { device: record.device, nonce: record.nonce.toString(), digest },
        }),
      };
    }
    const flaw = contentFlaw(record, info, seedOf.get(record.epoch) ?? null);
    if (flaw !== null) {
      return {
        ok: false,
        error: new InvalidContentError(`${flaw}; kept as evidence`, {
          details: { device: record.device, nonce: record.nonce.toString(), digest },
        }),
      };
    }
    return { ok: true, value: { digest } };
  });
}

/**
 * Imports a proof handed over by a peer oracle: the checks of `admitProof` except the clock ones. Which epochs are
 * pulled from peers (sync.ts) bounds how late a proof can still arrive this way.
 */
export async function importProof(input: unknown, deps: ImportDeps): Promise<Imported> {
  const [outcome] = await importProofs([input], deps);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** `importProof` for each input, all stages batched; one outcome per input, in order. Never rejects. */
export async function importProofs(inputs: readonly unknown[], deps: ImportDeps): Promise<Settled<Imported>[]> {
  // Every peer serves the union, so most proofs arrive several times: skip the checks for one already stored
  // (byte for byte: peers serve the stored wire JSON). Another proof under a stored (device, nonce) is checked in
  // full, and the store keeps the smaller digest (equivocation, store.ts).
  const known = inputs.map((input) => storedDigest(input, deps.store));
  const records = inputs.map((input, i): Settled<ProofRecord> => {
    if (known[i] !== null) return { ok: false, error: null }; // placeholder, answered below
    try {
      return { ok: true, value: parseProofRecord(input) };
    } catch (error) {
      return { ok: false, error };
    }
  });
  const stored = await checkAndStore(records, deps, deps.now(), true);
  return stored.map((s, i): Settled<Imported> => {
    const digest = known[i];
    if (digest !== null) return { ok: true, value: { digest, inserted: false } };
    if (!s.ok) return s;
    return { ok: true, value: { digest: s.value.digest, inserted: s.value.result !== "duplicate" } };
  });
}

/** The stored digest of the proof `input` if the store holds exactly it, read before any parsing; null if not. */
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
  const stored = store.storedAt(getAddress(device), BigInt(nonce));
  return stored !== null && stored.body === JSON.stringify(input) ? stored.digest : null;
}

/** The signature checks on the calling thread, as the pool reports them. */
function verifyHere(record: ProofRecord, domain: TypedDataDomain): VerifyOutcome {
  try {
    const { digest, match } = checkProofSignature(record, domain);
    if (match) return { ok: true, digest: bytesToHex(digest) };
    return {
      ok: false,
      error: new SignerMismatchError("proof not signed by its device for this chain and registry", {
        details: { device: record.device },
      }),
    };
  } catch (error) {
    if (error instanceof InvalidSignatureError) return { ok: false, error };
    throw error;
  }
}

/** A proof that passed `checkAndStore`'s checks: its digest, the insert's result and the device's registration. */
interface Stored {
  digest: string;
  result: InsertResult;
  info: DeviceInfo;
}

/**
 * Signature, registration and class checks, then the durable insert; shared by both entry points. Items already
 * failed pass through; the inserts of the survivors are queued in item order, in one turn, into one group commit.
 */
async function checkAndStore(
  records: readonly Settled<ProofRecord>[],
  deps: ImportDeps,
  now: bigint,
  fromPeer: boolean,
): Promise<Settled<Stored>[]> {
  const valid = records.flatMap((r) => (r.ok ? [r.value] : []));
  const verified = deps.verifier
    ? await deps.verifier.verifyMany(deps.domain, valid)
    : valid.map((record) => verifyHere(record, deps.domain));

  // Directory lookups of the authentic proofs, concurrently.
  const checked = await Promise.all(
    valid.map(async (record, i): Promise<Settled<{ digest: string; info: DeviceInfo }>> => {
      const v = verified[i];
      if (!v.ok) return { ok: false, error: v.error };
      try {
        const info = await deps.directory.lookup(record.device);
        if (info === null || info.status === DeviceStatus.None || info.status === DeviceStatus.Removed) {
          throw new UnknownDeviceError(`device ${record.device} is not registered`, {
            details: { device: record.device },
          });
        }
        if (info.resourceClass !== record.resourceClass) {
          throw new ClassMismatchError(
            `device ${record.device} is registered as class ${info.resourceClass}, not ${record.resourceClass}`,
            { details: { device: record.device, registered: info.resourceClass, claimed: record.resourceClass } },
          );
        }
        return { ok: true, value: { digest: v.digest, info } };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );

  // Queue every insert now, in item order, so they join one group and duplicates resolve in item order (the first
  // wins; of a peer's, the smaller digest: store.ts).
  const receivedAt = Number(now) * 1000;
  const inserts = await Promise.allSettled(
    valid.map((record, i) => {
      const c = checked[i];
      return c.ok
        ? deps.store.insertGrouped(record, c.value.digest, receivedAt, { keepSmaller: fromPeer })
        : Promise.reject(c.error);
    }),
  );
  const out: Settled<Stored>[] = [];
  let k = 0;
  for (const r of records) {
    if (!r.ok) {
      out.push(r);
      continue;
    }
    const c = checked[k];
    const insert = inserts[k];
    k += 1;
    if (!c.ok) out.push(c);
    else if (insert.status === "rejected") out.push({ ok: false, error: insert.reason });
    else out.push({ ok: true, value: { ...c.value, result: insert.value } });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Content pre-checks
// ---------------------------------------------------------------------------------------------------------------

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/**
 * The seed read of each epoch with a record whose pre-check uses a seed, started now; a read that rejects, throws or
 * answers something other than bytes32 counts as unknown (null).
 */
function seedsFor(
  records: readonly Settled<ProofRecord>[],
  source: SeedSource | undefined,
): Map<bigint, Promise<string | null>> {
  const out = new Map<bigint, Promise<string | null>>();
  if (source === undefined) return out;
  for (const r of records) {
    if (!r.ok || out.has(r.value.epoch)) continue;
    if (r.value.kind !== ProofKind.StorageChallenge && r.value.kind !== ProofKind.ComputeChallenge) continue;
    const epoch = r.value.epoch;
    let read: Promise<string | null>;
    try {
      read = Promise.resolve(source(epoch));
    } catch {
      read = Promise.resolve(null);
    }
    out.set(
      epoch,
      read.then(
        (seed) => (typeof seed === "string" && BYTES32.test(seed) ? seed.toLowerCase() : null),
        () => null,
      ),
    );
  }
  return out;
}

/**
 * Why epoch verification will judge this authentic proof of a registered device `FaultKind.InvalidProof` whatever
 * else the device sends, or null when one proof alone does not show it (or the facts to tell are missing: the
 * device's capacity for storage, the epoch `seed` for compute). Pure; rules in the module comment.
 */
export function contentFlaw(record: ProofRecord, info: DeviceInfo, seed: string | null): string | null {
  switch (record.kind) {
    case ProofKind.StorageChallenge:
      return storageFlaw(record, info, seed);
    case ProofKind.ComputeChallenge:
      return seed === null ? null : computeFlaw(record, seed);
    default:
      return null;
  }
}

function storageFlaw(
  record: Extract<ProofRecord, { kind: typeof ProofKind.StorageChallenge }>,
  info: DeviceInfo,
  seed: string | null,
): string | null {
  if (info.capacity === undefined || info.capacity <= 0n) return null;
  // Epoch verification rejects an unusable chunk count without a fault: nothing to pre-check then.
  const chunkCount = Number(info.capacity * STORAGE_CHUNKS_PER_GIB);
  if (!Number.isSafeInteger(chunkCount)) return null;
  const { chunkIndex, chunk, path } = record.payload;
  const dataRoot = record.payload.dataRoot.toLowerCase();
  if (info.dataRoot !== undefined && info.dataRoot.toLowerCase() !== dataRoot) {
    return `storage answer names data root ${dataRoot}, registered ${info.dataRoot.toLowerCase()}`;
  }
  if (chunkIndex >= chunkCount) {
    return `chunk index ${chunkIndex} is outside the ${chunkCount} committed chunks`;
  }
  const answer = { index: chunkIndex, chunk: Buffer.from(chunk.slice(2), "hex"), path };
  const flaw = storageAnswerFlaw(answer, dataRoot, storageDepth(chunkCount));
  if (flaw !== null) return flaw;
  if (seed !== null) {
    const challenged = challengeIndices(seed, record.device, dataRoot, chunkCount, STORAGE_CHALLENGE_COUNT);
    if (!challenged.includes(chunkIndex)) return `chunk ${chunkIndex} was not challenged in epoch ${record.epoch}`;
  }
  return null;
}

function computeFlaw(
  record: Extract<ProofRecord, { kind: typeof ProofKind.ComputeChallenge }>,
  seed: string,
): string | null {
  const { n, resultHash, result } = record.payload;
  // The schema guarantees n x n decimal integers.
  const c = Array.from({ length: n }, (_, i) => result.slice(i * n, (i + 1) * n).map((e) => BigInt(e)));
  const checked = verifyProduct({ seed, device: record.device, n, c });
  if (!checked.ok) return checked.fault === FaultKind.InvalidProof ? `matrix product: ${checked.reason}` : null;
  if (productDigest(c) !== resultHash.toLowerCase()) {
    return "matrix product: resultHash is not the digest of the result";
  }
  return null;
}
