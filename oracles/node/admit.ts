/**
 * How one untrusted proof gets into the store. Two entry points share the checks that make a proof authentic and
 * eligible (signature under the domain, directory registration, class match) and the durable insert:
 * - `admitProof`, for proofs from devices (ingest): also the clock checks (current or grace epoch, timestamp within
 *   the skew), and a duplicate is a `ReplayError`.
 * - `importProof`, for proofs from peer oracles (sync): no clock checks, since a peer may hand over the proofs of an
 *   epoch that has just closed, and a duplicate is no error (the union of the oracles' stores is the goal).
 * Checks run cheapest first (schema, clock, signature, then the directory lookup, which may hit the chain). Both
 * throw the typed errors of errors.ts / oracles/proof and return only once the proof is committed to the store.
 *
 * `admitProofs` / `importProofs` take many proofs at once (a batch request) and run each stage for all of them
 * together: the signatures go to the verifier pool (worker threads, `deps.verifier`) as one batch, the directory
 * lookups run concurrently, and the inserts are queued in item order into one group commit (store.ts), so a batch
 * costs one fsync and two copies of one proof still resolve as one by one (the first stored, the second a replay).
 * Without `deps.verifier` signatures are checked on the calling thread, with the same results.
 */
import { getAddress, isAddress, type TypedDataDomain } from "ethers";
import { DeviceStatus } from "../../sdk/enums";
import { InvalidSignatureError, SignerMismatchError } from "../proof/errors";
import { bytesToHex } from "../proof/hash";
import type { ProofRecord } from "../proof/kinds";
import { parseProofRecord } from "../proof/parse";
import type { VerifierPool, VerifyOutcome } from "../proof/verifier-pool";
import { checkProofSignature } from "../proof/verify";
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
  /** Worker threads for the signature checks; in-thread when omitted. */
  verifier?: VerifierPool;
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
  const stored = await checkAndStore(records, deps, now);
  return stored.map((s, i): Settled<Admitted> => {
    if (!s.ok) return s;
    if (s.value.result === "duplicate") {
      const record = (records[i] as { value: ProofRecord }).value;
      return {
        ok: false,
        error: new ReplayError(`proof already received (device ${record.device}, nonce ${record.nonce})`, {
          details: { device: record.device, nonce: record.nonce.toString(), digest: s.value.digest },
        }),
      };
    }
    return { ok: true, value: { digest: s.value.digest } };
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
  // Every peer serves the union, so most proofs arrive several times: skip the checks for one already stored.
  const known = inputs.map((input) => storedDigest(input, deps.store));
  const records = inputs.map((input, i): Settled<ProofRecord> => {
    if (known[i] !== null) return { ok: false, error: null }; // placeholder, answered below
    try {
      return { ok: true, value: parseProofRecord(input) };
    } catch (error) {
      return { ok: false, error };
    }
  });
  const stored = await checkAndStore(records, deps, deps.now());
  return stored.map((s, i): Settled<Imported> => {
    const digest = known[i];
    if (digest !== null) return { ok: true, value: { digest, inserted: false } };
    if (!s.ok) return s;
    return { ok: true, value: { digest: s.value.digest, inserted: s.value.result === "inserted" } };
  });
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

/**
 * Signature, registration and class checks, then the durable insert; shared by both entry points. Items already
 * failed pass through; the inserts of the survivors are queued in item order, in one turn, into one group commit.
 */
async function checkAndStore(
  records: readonly Settled<ProofRecord>[],
  deps: ImportDeps,
  now: bigint,
): Promise<Settled<{ digest: string; result: InsertResult }>[]> {
  const valid = records.flatMap((r) => (r.ok ? [r.value] : []));
  const verified = deps.verifier
    ? await deps.verifier.verifyMany(deps.domain, valid)
    : valid.map((record) => verifyHere(record, deps.domain));

  // Directory lookups of the authentic proofs, concurrently.
  const checked = await Promise.all(
    valid.map(async (record, i): Promise<Settled<string>> => {
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
        return { ok: true, value: v.digest };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );

  // Queue every insert now, in item order, so they join one group and duplicates resolve first-wins.
  const receivedAt = Number(now) * 1000;
  const inserts = await Promise.allSettled(
    valid.map((record, i) => {
      const c = checked[i];
      return c.ok ? deps.store.insertGrouped(record, c.value, receivedAt) : Promise.reject(c.error);
    }),
  );
  const out: Settled<{ digest: string; result: InsertResult }>[] = [];
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
    else out.push({ ok: true, value: { digest: c.value, result: insert.value } });
  }
  return out;
}
