/** `functions fulfil` (local chains only): plays the DON once for every pending confirmation request. */
import { Command } from "commander";
import { getAddress, toUtf8String, type TransactionReceipt } from "ethers";

import type { FunctionsSection } from "../../../sdk/deployment";
import { ConfirmationStatus } from "../../../sdk/enums";
import type { FunctionsVerdictConfirmer } from "../../../typechain-types";
import { parseUint } from "../args";
import { globalsOf, openSend, probeChainId, withSession, type SendSession } from "../context";
import { CliError } from "../errors";
import { print } from "../format";
import { ROUTER_EVENTS } from "./receipts";
import { confirmerOf, functionsOf, parseConfirmerLog, parseLog, requireLocal } from "./shared";
import { loadFunctionsModules, toolkitCall, toolkitSigner } from "./toolkit";

/** Node executions `fulfil` runs per request (a majority of successes answers), by default. */
const DEFAULT_EXECUTIONS = "1";

export function fulfilCommand(): Command {
  return new Command("fulfil")
    .description(
      "local chain (31337) only: play the DON once: run each pending confirmation request's source in Deno and " +
        "deliver the answer through the mock coordinator",
    )
    .option("--executions <n>", "node executions per request (a majority of successes answers)", DEFAULT_EXECUTIONS)
    .action(async (options: { executions: string }, command: Command) => {
      const executions = Number(parseUint(options.executions, "--executions", 16n));
      if (executions < 1) throw new CliError('bad --executions "0": at least 1');
      const globals = globalsOf(command);
      requireLocal(await probeChainId(globals.rpc), "functions fulfil");
      await withSession(openSend(globals), async (s) => {
        const handled = await fulfilPending(s, functionsOf(s), executions);
        if (handled === 0) print("no pending confirmation requests");
      });
    });
}

/** Answers every OracleRequest of the confirmer whose epoch's attempt is still Pending for it; returns how many. */
async function fulfilPending(s: SendSession, section: FunctionsSection, executions: number): Promise<number> {
  const { lib } = await loadFunctionsModules();
  const confirmer = await confirmerOf(s, s.provider);
  const signer = await toolkitSigner(s.rpc, s.chainId, s.wallet.privateKey);
  const requests = await toolkitCall("read the coordinator's OracleRequest events", () =>
    lib.oracleRequests(signer, section, section.block),
  );
  const epochs = new Map<string, bigint>();
  for (const event of await confirmer.queryFilter(confirmer.filters.ConfirmationRequested(), section.block)) {
    epochs.set(event.args.requestId.toLowerCase(), event.args.epoch);
  }
  let handled = 0;
  for (const request of requests) {
    const epoch = epochs.get(request.requestId.toLowerCase());
    if (epoch === undefined || getAddress(request.requestingContract) !== section.confirmer) continue;
    const attempt = await confirmer.attemptOf(epoch);
    if (attempt.requestId !== request.requestId || Number(attempt.status) !== ConfirmationStatus.Pending) continue;
    handled += 1;
    const outcome = await toolkitCall(`run request ${request.requestId}`, () => lib.executeRequest(request.data, executions));
    const hash = await toolkitCall(`deliver request ${request.requestId}`, () =>
      lib.deliver(signer, section, request, outcome),
    );
    const receipt = await s.provider.getTransactionReceipt(hash);
    if (receipt === null) throw new CliError(`delivery ${hash} was not mined`);
    print(`epoch ${epoch}, request ${request.requestId}: ${deliveryOutcome(confirmer, receipt)} (tx ${hash})`);
  }
  return handled;
}

/** What the confirmer made of a delivery, from its events; or why the router did not call it back. */
function deliveryOutcome(confirmer: FunctionsVerdictConfirmer, receipt: TransactionReceipt): string {
  for (const log of receipt.logs) {
    const event = parseConfirmerLog(confirmer, log);
    if (event?.name === "VerdictConfirmed") return `confirmed verdict hash ${event.args.getValue("verdictHash") as string}`;
    if (event?.name === "ConfirmationIgnored") return "answered, but the epoch was confirmed meanwhile (ignored)";
    if (event?.name === "ConfirmationFailed") return `failed: ${reasonText(event.args.getValue("reason") as string)}`;
  }
  const processed = receipt.logs.map((log) => parseLog(ROUTER_EVENTS, log)).find((e) => e?.name === "RequestProcessed");
  const code = processed === undefined || processed === null ? undefined : Number(processed.args.getValue("resultCode"));
  const result = code === undefined ? "no RequestProcessed event" : (FULFILL_RESULTS[code] ?? `result code ${code}`);
  return `delivered, but the router did not call the confirmer back (${result})`;
}

/** `FunctionsResponse.FulfillResult` of the Chainlink router, by code. */
const FULFILL_RESULTS: readonly string[] = [
  "FULFILLED",
  "USER_CALLBACK_ERROR",
  "INVALID_REQUEST_ID",
  "COST_EXCEEDS_COMMITMENT",
  "INSUFFICIENT_GAS_PROVIDED",
  "SUBSCRIPTION_BALANCE_INVARIANT_VIOLATION",
  "INVALID_COMMITMENT",
];

function reasonText(hex: string): string {
  try {
    return toUtf8String(hex);
  } catch {
    return hex;
  }
}
