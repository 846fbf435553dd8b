/** What the `functions` commands share: the Functions section, the confirmer, checks and argument parsing. */
import { Interface, parseEther, type ContractRunner, type Log, type LogDescription } from "ethers";

import { InvalidVerdictSourceArgsError, MAX_ENDPOINTS, verdictSourceArgs } from "../../../oracles/functions/source";
import type { FunctionsSection } from "../../../sdk/deployment";
import { FunctionsVerdictConfirmer__factory, type FunctionsVerdictConfirmer } from "../../../typechain-types";
import { parseUint } from "../args";
import type { ReadSession } from "../context";
import { CliError } from "../errors";

/** Hardhat's chain id: the toolkit's mock coordinator and `fulfil` only make sense there. */
export const LOCAL_CHAIN_ID = 31337n;

/** The deployment's Functions section, or a CliError saying how to get one. */
export function functionsOf(s: ReadSession): FunctionsSection {
  const section = s.meshwork.deployment.Functions;
  if (section === undefined) {
    throw new CliError(
      `the deployments file of chain ${s.chainId} has no Functions section (run \`meshwork functions deploy-local\` ` +
        "on a local chain)",
    );
  }
  return section;
}

/** The recorded confirmer, checked to hold code, connected to `runner`. */
export async function confirmerOf(s: ReadSession, runner: ContractRunner): Promise<FunctionsVerdictConfirmer> {
  const address = functionsOf(s).confirmer;
  await requireCode(s, address, "FunctionsVerdictConfirmer");
  return FunctionsVerdictConfirmer__factory.connect(address, runner);
}

/** A log parsed by `iface`, or null when it is none of its events. */
export function parseLog(iface: Interface, log: { topics: readonly string[]; data: string }): LogDescription | null {
  try {
    return iface.parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return null;
  }
}

export function parseConfirmerLog(confirmer: FunctionsVerdictConfirmer, log: Log): LogDescription | null {
  return log.address.toLowerCase() === String(confirmer.target).toLowerCase() ? parseLog(confirmer.interface, log) : null;
}

export async function requireCode(s: ReadSession, address: string, what: string): Promise<void> {
  if ((await s.provider.getCode(address)) === "0x") throw new CliError(`no contract at ${what} ${address}`);
}

export function requireLocal(chainId: bigint, what: string): void {
  if (chainId !== LOCAL_CHAIN_ID) {
    throw new CliError(`${what} works on a local Hardhat chain (id ${LOCAL_CHAIN_ID}) only; this RPC is chain ${chainId}`);
  }
}

/** Comma-separated base URLs. */
export function parseEndpoints(text: string): string[] {
  const endpoints = text
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (endpoints.length === 0) throw new CliError("bad --endpoints: no URL given");
  return endpoints;
}

export function parseQuorum(text: string): number {
  return Number(parseUint(text, "--quorum", BigInt(MAX_ENDPOINTS)));
}

/** The smallest strict majority of `n`. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The source's arguments, checked as the source checks them. */
export function sourceArgs(epoch: bigint, quorum: number, endpoints: readonly string[]): string[] {
  try {
    return verdictSourceArgs(epoch, quorum, endpoints);
  } catch (error) {
    if (error instanceof InvalidVerdictSourceArgsError) {
      throw new CliError(`bad endpoints or quorum: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** What the confirmer's constructor accepts: the source's rules, and a quorum that is a strict majority. */
export function checkConfirmerEndpoints(endpoints: readonly string[], quorum: number): void {
  sourceArgs(0n, quorum, endpoints);
  if (quorum < majority(endpoints.length)) {
    throw new CliError(
      `bad --quorum ${quorum}: the confirmer needs a strict majority of the ${endpoints.length} endpoints ` +
        `(at least ${majority(endpoints.length)})`,
    );
  }
}

/** LINK in decimal (18 decimals) to juels. */
export function parseLink(text: string, what: string): bigint {
  const trimmed = text.trim();
  if (!/^\d+(\.\d{1,18})?$/.test(trimmed)) {
    throw new CliError(`bad ${what} "${text}": expected LINK as a decimal number, e.g. 100 or 2.5`);
  }
  const juels = parseEther(trimmed);
  if (juels === 0n) throw new CliError(`bad ${what} "${text}": must be more than zero`);
  return juels;
}
