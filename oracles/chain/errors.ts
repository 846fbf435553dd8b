/**
 * Errors of the chain adapter, on the proof layer's `MeshworkError` base, plus `isRevert`, which tells whether a failed
 * call or transaction reverted with a given custom error (the node treats e.g. `VerdictAlreadySubmitted`,
 * `FaultAlreadyPenalised` or `SeedAlreadyRecorded` as "another oracle did it first").
 */
import { isCallException, Interface } from "ethers";

import {
  EmissionSchedule__factory,
  EpochSeed__factory,
  MeshToken__factory,
  OracleHub__factory,
  ProtocolConfig__factory,
  ProviderRegistry__factory,
  RewardsDistributor__factory,
  Slashing__factory,
  Staking__factory,
} from "../../typechain-types";
import { MeshworkError } from "../proof";

export { DeploymentFileError } from "../../sdk/deployment";

/** A chain read the adapter needs is impossible: no provider behind the contracts, no block before a time... */
export class ChainReadError extends MeshworkError {}

/** `ChainTime.now()` was called before the first block was read (`refresh()` or `start()`). */
export class ChainTimeNotReadyError extends MeshworkError {}

/** Something that decodes revert data: a contract interface, or a typed contract (which carries one). */
export type ErrorDecoder = Interface | { readonly interface: Interface };

/**
 * Whether `error` is a revert with the custom error `errorName` (e.g. "SeedAlreadyRecorded").
 *
 * ethers v6 decodes the revert of a view call into `error.revert.name` (a `CALL_EXCEPTION`), but only when the
 * provider reports a call exception with its data (a JSON-RPC node does; Hardhat's in-process network throws its own
 * error carrying `data`), and never for a transaction that fails in gas estimation, nor for an error bubbled up from
 * another contract (e.g. Slashing's `FaultAlreadyPenalised` out of `OracleHub.applyFault`). So besides
 * `error.revert.name`, the raw revert data found on the error (or the errors it wraps: `error`, `info.error`, `cause`)
 * is decoded with the ABI of every protocol contract, and of any extra `decoders` given.
 */
export function isRevert(error: unknown, errorName: string, ...decoders: ErrorDecoder[]): boolean {
  const interfaces = [...decoders.map((d) => (d instanceof Interface ? d : d.interface)), ...protocolInterfaces()];
  for (const candidate of errorChain(error)) {
    if (isCallException(candidate) && candidate.revert?.name === errorName) return true;
    const data = revertData(candidate);
    if (data === null) continue;
    if (interfaces.some((iface) => decodedName(iface, data) === errorName)) return true;
  }
  return false;
}

let protocolAbis: Interface[] | null = null;

/** The interfaces of the nine protocol contracts (built once). */
function protocolInterfaces(): Interface[] {
  protocolAbis ??= [
    MeshToken__factory,
    ProtocolConfig__factory,
    ProviderRegistry__factory,
    Staking__factory,
    Slashing__factory,
    EmissionSchedule__factory,
    EpochSeed__factory,
    OracleHub__factory,
    RewardsDistributor__factory,
  ].map((factory) => factory.createInterface() as Interface);
  return protocolAbis;
}

/** Name of the custom error `data` encodes according to `iface`, or null (unknown selector, malformed arguments). */
function decodedName(iface: Interface, data: string): string | null {
  try {
    return iface.parseError(data)?.name ?? null;
  } catch {
    return null;
  }
}

/** `error` and the errors it wraps, outermost first (bounded, in case of cycles). */
function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && chain.length < 16) {
    const next = queue.shift();
    if (typeof next !== "object" || next === null || chain.includes(next)) continue;
    chain.push(next);
    const record = next as { error?: unknown; cause?: unknown; info?: { error?: unknown } };
    queue.push(record.error, record.cause, record.info?.error);
  }
  return chain;
}

/** The hex revert data carried by an error object (`data`, or `data.data` as some RPC errors nest it), or null. */
function revertData(error: unknown): string | null {
  if (typeof error !== "object" || error === null) return null;
  const data = (error as { data?: unknown }).data;
  if (isRevertHex(data)) return data;
  if (typeof data === "object" && data !== null) {
    const inner = (data as { data?: unknown }).data;
    if (isRevertHex(inner)) return inner;
  }
  return null;
}

function isRevertHex(value: unknown): value is string {
  return typeof value === "string" && /^0x(?:[0-9a-fA-F]{2}){4,}$/.test(value);
}
