/** `functions request`: asks the confirmer for a confirmation of an epoch (anyone; the subscription pays). */
import { Command } from "commander";
import { keccak256, toUtf8Bytes } from "ethers";

import { readVerdictSource } from "../../../oracles/functions/source";
import { parseUint64 } from "../args";
import { globalsOf, openSend, withSession } from "../context";
import { CliError } from "../errors";
import { print } from "../format";
import { sendQuietly } from "./receipts";
import { confirmerOf, parseConfirmerLog } from "./shared";

export function requestCommand(): Command {
  return new Command("request")
    .description("ask the confirmer to confirm an epoch's verdict through Chainlink Functions (the subscription pays)")
    .requiredOption("--epoch <n>", "epoch (ended, not settled)")
    .action(async (options: { epoch: string }, command: Command) => {
      const epoch = parseUint64(options.epoch, "--epoch");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const confirmer = await confirmerOf(s, s.wallet);
        const source = readVerdictSource();
        const [pinned, presented] = [await confirmer.sourceHash(), keccak256(toUtf8Bytes(source))];
        if (pinned !== presented) {
          throw new CliError(
            `the local verdict source hashes to ${presented} but the confirmer pins ${pinned} ` +
              "(governance sets it with setSource): not requesting",
          );
        }
        const receipt = await sendQuietly(
          s,
          `request confirmation of epoch ${epoch}`,
          confirmer.requestConfirmation(epoch, source),
        );
        const requestId = receipt.logs
          .map((log) => parseConfirmerLog(confirmer, log))
          .find((e) => e?.name === "ConfirmationRequested")?.args.getValue("requestId") as string | undefined;
        if (requestId === undefined) throw new CliError("the request emitted no ConfirmationRequested event");
        print(`request id ${requestId}`);
      });
    });
}

/** Sends, waits and prints the receipt (`receiptLinesOf`). */
