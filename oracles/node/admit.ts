/**
 * `admitProof`: the checks one untrusted proof passes before it is stored, cheapest first (schema, clock, signature,
 * then the directory lookup, which may hit the chain), ending with the durable insert. Throws the typed errors of
 * errors.ts / oracles/proof; returns only once the proof is committed to the store.
 */
import type { TypedDataDomain } from "ethers";
import { DeviceStatus } from "../../sdk/enums";
import { proofDigest } from "../proof/digest";
import { SignerMismatchError } from "../proof/errors";
import { parseProofRecord } from "../proof/parse";
import { verifyProofSignature } from "../proof/verify";
import type { DeviceDirectory, EpochClock } from "./directory";
import { ClassMismatchError, FutureTimestampError, ReplayError, UnknownDeviceError, WrongEpochError } from "./errors";
import type { ProofStore } from "./store";

export interface AdmitDeps {
  store: ProofStore;
  directory: DeviceDirectory;
  clock: EpochClock;
  domain: TypedDataDomain;
  /** Unix seconds. */
  now: () => bigint;
  /** How far in the future (seconds) a record's timestamp may be. */
  maxClockSkew: bigint;
}

export interface Admitted {
  digest: string;
}

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
  if (!verifyProofSignature(record, deps.domain)) {
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

  const digest = proofDigest(deps.domain, record);
  if (deps.store.insert(record, digest, Number(now) * 1000) === "duplicate") {
    throw new ReplayError(`proof already received (device ${record.device}, nonce ${record.nonce})`, {
      details: { device: record.device, nonce: record.nonce.toString(), digest },
    });
  }
  return { digest };
}
