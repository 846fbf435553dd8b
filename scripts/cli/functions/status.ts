/** `functions status`: the hub's confirmation mode and confirmer, an epoch's attempt and confirmed verdict. */
import { Command } from "commander";
import { ZeroAddress, ZeroHash } from "ethers";

import { ConfirmationMode, ConfirmationStatus } from "../../../sdk/enums";
import { FunctionsVerdictConfirmer__factory } from "../../../typechain-types";
import { enumName, parseUint64 } from "../args";
import { globalsOf, openRead, withSession, type ReadSession } from "../context";
import { formatTime, print } from "../format";
import { requireCode } from "./shared";
import { compareWithHub } from "./simulate";

export function statusCommand(): Command {
  return new Command("status")
    .description("the hub's confirmation mode and confirmer, an epoch's confirmation attempt and confirmed verdict")
    .requiredOption("--epoch <n>", "epoch")
    .action(async (options: { epoch: string }, command: Command) => {
      const epoch = parseUint64(options.epoch, "--epoch");
      await withSession(openRead(globalsOf(command)), async (s) => {
        print(...(await statusLines(s, epoch)));
      });
    });
}

async function statusLines(s: ReadSession, epoch: bigint): Promise<string[]> {
  const hub = s.meshwork.hub;
  const [mode, hubConfirmer] = await Promise.all([hub.confirmationMode(), hub.confirmer()]);
  const recorded = s.meshwork.deployment.Functions?.confirmer;
  const which =
    hubConfirmer === ZeroAddress
      ? "none"
      : recorded === undefined
        ? hubConfirmer
        : `${hubConfirmer}${hubConfirmer === recorded ? " (the recorded confirmer)" : ` (NOT the recorded ${recorded})`}`;
  const lines = [`hub mode        ${enumName(ConfirmationMode, mode)}`, `hub confirmer   ${which}`];
  const address = recorded ?? (hubConfirmer === ZeroAddress ? undefined : hubConfirmer);
  if (address === undefined) return [...lines, "no confirmer recorded or set on the hub"];
  const confirmer = FunctionsVerdictConfirmer__factory.connect(address, s.provider);
  await requireCode(s, address, "FunctionsVerdictConfirmer");
  const [attempt, confirmed] = await Promise.all([confirmer.attemptOf(epoch), confirmer.confirmedVerdict(epoch)]);
  lines.push(`confirmer       ${address}`, `epoch           ${epoch}`);
  if (Number(attempt.status) === ConfirmationStatus.None) lines.push("attempt         none (never requested)");
  else {
    lines.push(
      `attempt         ${enumName(ConfirmationStatus, attempt.status)}`,
      `  request id    ${attempt.requestId}`,
      `  sent at       ${formatTime(attempt.sentAt)}`,
    );
  }
  if (confirmed === ZeroHash) lines.push("confirmed       none");
  else lines.push(`confirmed       ${confirmed}`, `  ${await compareWithHub(s, epoch, confirmed)}`);
  return lines;
}
