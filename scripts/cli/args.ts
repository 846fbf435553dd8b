/** Parsing of command arguments into typed values; bad input throws a CliError naming the argument. */
import { getAddress, isAddress, parseEther, parseUnits } from "ethers";

import { CliError } from "./errors";

const UINT256_MAX = (1n << 256n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** A positive MESH amount in decimal ("100", "2.5"), in wei. */
export function parseMesh(text: string, what = "amount"): bigint {
  const trimmed = text.trim();
  if (!/^\d+(\.\d{1,18})?$/.test(trimmed)) {
    throw new CliError(`bad ${what} "${text}": expected MESH as a decimal number, e.g. 100 or 2.5`);
  }
  const wei = parseEther(trimmed);
  if (wei === 0n) throw new CliError(`bad ${what} "${text}": must be more than zero`);
  if (wei > UINT256_MAX) throw new CliError(`bad ${what} "${text}": too large`);
  return wei;
}

/** A positive amount of a token with `decimals` decimals, in decimal ("12.5"), in the token's smallest units. */
export function parseAmount(text: string, decimals: number, what = "amount", unit = "tokens"): bigint {
  const trimmed = text.trim();
  const fraction = decimals > 0 ? `(\\.\\d{1,${decimals}})?` : "";
  if (!new RegExp(`^\\d+${fraction}$`).test(trimmed)) {
    throw new CliError(`bad ${what} "${text}": expected ${unit} as a decimal number with at most ${decimals} decimals`);
  }
  const units = parseUnits(trimmed, decimals);
  if (units === 0n) throw new CliError(`bad ${what} "${text}": must be more than zero`);
  if (units > UINT256_MAX) throw new CliError(`bad ${what} "${text}": too large`);
  return units;
}

/** An address in any spelling, checksummed. */
export function parseAddress(text: string, what = "address"): string {
  if (!isAddress(text)) throw new CliError(`bad ${what} "${text}": not an address`);
  return getAddress(text);
}

/** A non-negative integer at most `max`. */
export function parseUint(text: string, what: string, max: bigint = UINT256_MAX): bigint {
  if (!/^\d+$/.test(text.trim())) throw new CliError(`bad ${what} "${text}": expected a whole number`);
  const value = BigInt(text.trim());
  if (value > max) throw new CliError(`bad ${what} "${text}": at most ${max}`);
  return value;
}

/** A uint64 (capacities, epochs). */
export function parseUint64(text: string, what: string): bigint {
  return parseUint(text, what, UINT64_MAX);
}

/**
 * A parameter value: a whole number as the contract takes it (seconds, basis points, wei, counts), or a MESH amount
 * with a "MESH" suffix ("100MESH", "2.5 MESH") converted to wei.
 */
export function parseParamValue(text: string): bigint {
  const mesh = /^(\d+(?:\.\d{1,18})?)\s*MESH$/i.exec(text.trim());
  if (mesh !== null) return parseEther(mesh[1]);
  if (/^\d+$/.test(text.trim())) return BigInt(text.trim());
  throw new CliError(`bad --value "${text}": expected a whole number (seconds, bps, wei, count) or e.g. "100MESH"`);
}

/** The value of `name` in an enum-like object (exact name, or the only case-insensitive match). */
export function parseEnumName<E extends Record<string, number>>(enumeration: E, text: string, what: string): E[keyof E] {
  const exact = Object.prototype.hasOwnProperty.call(enumeration, text) ? enumeration[text as keyof E] : undefined;
  if (exact !== undefined) return exact;
  const match = Object.keys(enumeration).find((k) => k.toLowerCase() === text.toLowerCase());
  if (match !== undefined) return enumeration[match as keyof E];
  throw new CliError(`unknown ${what} "${text}"; one of: ${Object.keys(enumeration).join(", ")}`);
}

/** The name of a value in an enum-like object. */
export function enumName(enumeration: Record<string, number>, value: bigint | number): string {
  return Object.keys(enumeration).find((k) => BigInt(enumeration[k]) === BigInt(value)) ?? `#${value}`;
}
