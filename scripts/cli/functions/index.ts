/**
 * Chainlink Functions, the hub's second verdict source:
 *
 * - `functions deploy-local`   (chain 31337 only) the toolkit's router, mock coordinator and LINK, a funded
 *                              subscription, and the FunctionsVerdictConfirmer owned by governance (MeshTimelock);
 *                              recorded in the `Functions` section of the deployments file
 * - `functions subscription create|fund|add-consumer|show`   the subscription, through the toolkit's SubscriptionManager
 * - `functions simulate`       runs the request source in Deno (`simulateScript`) against the running oracles and
 *                              compares the verdict they agree on with the hub's
 * - `functions request`        asks the confirmer for a confirmation of an epoch (anyone; the subscription pays)
 * - `functions fulfil`         (local chains only) plays the DON once for every pending request
 * - `functions status`         the hub's mode and confirmer, an epoch's attempt and confirmed verdict
 */
import { Command } from "commander";

import { deployLocalCommand } from "./deploy-local";
import { fulfilCommand } from "./fulfil";
import { requestCommand } from "./request";
import { simulateCommand } from "./simulate";
import { statusCommand } from "./status";
import { subscriptionCommand } from "./subscription";

export function functionsCommand(): Command {
  const functions = new Command("functions").description(
    "Chainlink Functions verdict confirmation: deploy-local, subscription, simulate, request, fulfil, status",
  );
  functions.addCommand(deployLocalCommand());
  functions.addCommand(subscriptionCommand());
  functions.addCommand(simulateCommand());
  functions.addCommand(requestCommand());
  functions.addCommand(fulfilCommand());
  functions.addCommand(statusCommand());
  return functions;
}
