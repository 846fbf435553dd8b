/**
 * `functions simulate`: runs the request source in Deno (`simulateScript`) against the running oracles, with the
 * confirmer's arguments unless given, and compares the verdict they agree on with the hub's.
 */
import { Command } from "commander";
import { TypedDataEncoder, concat, keccak256 } from "ethers";

import {
  InvalidConfirmationError,
  decodeConfirmation,
  readVerdictSource,
  type VerdictConfirmation,
} from "../../../oracles/functions/source";
import { VerdictStatus } from "../../../sdk/enums";
import { hubDomain } from "../../../sdk/verdict";
import { enumName, parseUint64 } from "../args";
import { globalsOf, openRead, withSession, type ReadSession } from "../context";
import { CliError } from "../errors";
import { print } from "../format";
import { confirmerOf, majority, parseEndpoints, parseQuorum, sourceArgs } from "./shared";
import { simulateSource } from "./toolkit";

interface SimulateOptions {
  epoch: string;
  endpoints?: string;
  quorum?: string;
}

export function simulateCommand(): Command {
  return new Command("simulate")
    .description(
      "run the request source locally in Deno (simulateScript) against the oracles and compare the verdict they " +
        "agree on with the hub's",
    )
    .requiredOption("--epoch <n>", "epoch")
    .option("--endpoints <urls>", "oracle base URLs, comma-separated (default: the confirmer's)")
    .option("--quorum <n>", "endpoints that must agree (default: the confirmer's, or a strict majority of --endpoints)")
    .action(async (options: SimulateOptions, command: Command) => {
      const epoch = parseUint64(options.epoch, "--epoch");
      await withSession(openRead(globalsOf(command)), async (s) => {
        const args = await simulationArgs(s, epoch, options);
        const [, quorum, ...endpoints] = args;
        print(`simulating the verdict source for epoch ${epoch}: quorum ${quorum} of ${endpoints.join(", ")}`);
        const result = await simulateSource(readVerdictSource(), args);
        if (result.errorString !== undefined || result.responseBytesHexstring === undefined) {
          throw new CliError(`the verdict source failed for epoch ${epoch}: ${result.errorString ?? "no response"}`);
        }
        const confirmation = confirmationOf(result.responseBytesHexstring, epoch);
        print(`the oracles agree on verdict hash ${confirmation.verdictHash}`);
        print(await compareWithHub(s, epoch, confirmation.verdictHash));
      });
    });
}

/** `[epoch, quorum, ...endpoints]`: from the options, else what the confirmer would send (`requestArgs`). */
async function simulationArgs(s: ReadSession, epoch: bigint, options: SimulateOptions): Promise<string[]> {
  if (options.endpoints !== undefined) {
    const endpoints = parseEndpoints(options.endpoints);
    const quorum = options.quorum === undefined ? majority(endpoints.length) : parseQuorum(options.quorum);
    return sourceArgs(epoch, quorum, endpoints);
  }
  const [, quorum, ...endpoints] = await (await confirmerOf(s, s.provider)).requestArgs(epoch);
  return sourceArgs(epoch, options.quorum === undefined ? Number(quorum) : parseQuorum(options.quorum), endpoints);
}

function confirmationOf(responseHex: string, epoch: bigint): VerdictConfirmation {
  let confirmation: VerdictConfirmation;
  try {
    confirmation = decodeConfirmation(responseHex);
  } catch (error) {
    if (error instanceof InvalidConfirmationError) {
      throw new CliError(`the verdict source answered something malformed: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (confirmation.epoch !== epoch) {
    throw new CliError(`the verdict source answered for epoch ${confirmation.epoch}, not ${epoch}`);
  }
  return confirmation;
}

/** "agrees with" / "DIFFERS from" the hub's verdict record of `epoch`, or "no verdict on chain yet". */
export async function compareWithHub(s: ReadSession, epoch: bigint, verdictHash: string): Promise<string> {
  const hub = s.meshwork.hub;
  const record = await hub.getVerdict(epoch);
  if (Number(record.status) === VerdictStatus.None) return `no verdict on chain yet for epoch ${epoch}`;
  const digest = hubDigest(s.chainId, await hub.getAddress(), verdictHash);
  const status = enumName(VerdictStatus, record.status);
  if (digest === record.digest.toLowerCase()) return `agrees with the verdict on chain (${status}, digest ${digest})`;
  return `DIFFERS from the verdict on chain (${status}, digest ${record.digest}; the oracles' verdict has digest ${digest})`;
}

/** The hub's EIP-712 digest of a verdict from its struct hash: keccak256(0x1901 ‖ domainSeparator ‖ structHash). */
export function hubDigest(chainId: bigint, hub: string, structHash: string): string {
  return keccak256(concat(["0x1901", TypedDataEncoder.hashDomain(hubDomain(chainId, hub)), structHash])).toLowerCase();
}
