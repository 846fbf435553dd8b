/**
 * Typed helpers around the Chainlink Functions source `verdict-source.js` (a second, independent verdict check: it
 * fetches the oracles' own verdicts with their Merkle leaves, recomputes the roots and returns the verdict agreed by
 * a quorum): the source text, its arguments and the decoding of its 64-byte response.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { MeshworkError } from "../proof/errors";

/** Absolute path of the source file. */
export const VERDICT_SOURCE_PATH = join(__dirname, "verdict-source.js");
/** Chainlink Functions makes at most 5 HTTP requests per run. */
export const MAX_ENDPOINTS = 5;

/** Arguments the source would reject. */
export class InvalidVerdictSourceArgsError extends MeshworkError {}
/** A response that is not the source's `abi.encode(uint256 epoch, bytes32 verdictHash)`. */
export class InvalidConfirmationError extends MeshworkError {}

/** What the source returns: the epoch and the EIP-712 struct hash of the verdict a quorum of oracles agree on. */
export interface VerdictConfirmation {
  epoch: bigint;
  /** `verdictStructHash(verdict)` (sdk/verdict.ts), lowercase hex. */
  verdictHash: string;
}

/** The source's JavaScript text (what a Functions request carries). */
export function readVerdictSource(): string {
  return readFileSync(VERDICT_SOURCE_PATH, "utf8");
}

const ENDPOINT = /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;

/**
 * `[epoch, quorum, ...endpoints]` as the source takes them, checked as the source checks them (uint64 epoch, 1 to 5
 * distinct http(s) base URLs, quorum 1..n). A trailing slash of an endpoint is dropped.
 *
 * @throws InvalidVerdictSourceArgsError naming the bad argument.
 */
export function verdictSourceArgs(epoch: bigint, quorum: number, endpoints: readonly string[]): string[] {
  const fail = (message: string): never => {
    throw new InvalidVerdictSourceArgsError(message, { details: { epoch, quorum, endpoints } });
  };
  if (epoch < 0n || epoch >= 1n << 64n) fail("epoch must be a uint64");
  if (endpoints.length < 1 || endpoints.length > MAX_ENDPOINTS) fail(`1 to ${MAX_ENDPOINTS} endpoints expected`);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > endpoints.length) fail(`quorum must be 1..${endpoints.length}`);
  const bases = endpoints.map((e) => {
    if (!ENDPOINT.test(e)) fail(`endpoint is not an http(s) base URL: ${e}`);
    return e.endsWith("/") ? e.slice(0, -1) : e;
  });
  if (new Set(bases.map((e) => e.toLowerCase())).size !== bases.length) fail("duplicate endpoint");
  return [epoch.toString(), quorum.toString(), ...bases];
}

/**
 * Decodes the source's response (`abi.encode(uint256 epoch, bytes32 verdictHash)`).
 *
 * @throws InvalidConfirmationError unless exactly 64 bytes of hex with an epoch that fits uint64.
 */
export function decodeConfirmation(responseHex: string): VerdictConfirmation {
  if (!/^0x[0-9a-fA-F]{128}$/.test(responseHex)) {
    throw new InvalidConfirmationError("response must be 64 bytes of hex", { details: { responseHex } });
  }
  const epoch = BigInt(responseHex.slice(0, 66));
  if (epoch >= 1n << 64n) throw new InvalidConfirmationError("response epoch does not fit uint64", { details: { epoch } });
  return { epoch, verdictHash: "0x" + responseHex.slice(66).toLowerCase() };
}
