/** `functions subscription create|fund|add-consumer|show`, through the toolkit's SubscriptionManager. */
import type { SubscriptionManager } from "@chainlink/functions-toolkit";
import { Command } from "commander";
import { ZeroAddress, formatEther, getAddress } from "ethers";

import type { FunctionsContracts } from "../../lib/functions";
import { parseAddress, parseUint } from "../args";
import { globalsOf, openRead, openSend, withSession, type ReadSession, type SendSession } from "../context";
import { CliError } from "../errors";
import { print } from "../format";
import { creationTx, printToolkitTx } from "./receipts";
import { functionsOf, parseLink, requireCode } from "./shared";
import { loadFunctionsModules, toolkitCall, toolkitSigner } from "./toolkit";

interface RouterOptions {
  router?: string;
  linkToken?: string;
}

interface SubscriptionOptions extends RouterOptions {
  subscription?: string;
}

/** The options every `subscription` sub-command takes. */
function withRouterOptions(command: Command): Command {
  return command
    .option("--router <address>", "Functions router (default: the deployments file's Functions section)")
    .option("--link-token <address>", "LINK token (default: the deployments file's Functions section)");
}

export function subscriptionCommand(): Command {
  const subscription = new Command("subscription").description(
    "the Functions subscription paying for confirmation requests: create, fund, add-consumer, show",
  );
  subscription.addCommand(
    withRouterOptions(new Command("create").description("create a subscription owned by the sending account")).action(
      async (options: RouterOptions, command: Command) => {
        await withSession(openSend(globalsOf(command)), async (s) => {
          const at = routerAddresses(s, options);
          const manager = await subscriptionManager(s, at);
          const fromBlock = await s.provider.getBlockNumber();
          const id = BigInt(await toolkitCall("create a subscription", () => manager.createSubscription()));
          await printToolkitTx(s, "create subscription", await creationTx(s, at.router, id, fromBlock));
          print(`subscription ${id} created, owned by ${s.account}`);
        });
      },
    ),
  );
  subscription.addCommand(
    withRouterOptions(
      new Command("fund")
        .description("send LINK to a subscription (transferAndCall on the LINK token)")
        .option("--subscription <id>", "subscription id (default: the recorded one)")
        .requiredOption("--link <amount>", "LINK to send, decimal"),
    ).action(async (options: SubscriptionOptions & { link: string }, command: Command) => {
      const juels = parseLink(options.link, "--link");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const id = subscriptionIdOf(s, options);
        const manager = await subscriptionManager(s, routerAddresses(s, options));
        const receipt = await toolkitCall(`fund subscription ${id}`, () =>
          manager.fundSubscription({ subscriptionId: id, juelsAmount: juels }),
        );
        await printToolkitTx(s, `fund subscription ${id} with ${formatEther(juels)} LINK`, receipt.transactionHash);
        const info = await toolkitCall(`read subscription ${id}`, () => manager.getSubscriptionInfo(id));
        print(`balance ${formatEther(info.balance)} LINK`);
      });
    }),
  );
  subscription.addCommand(
    withRouterOptions(
      new Command("add-consumer")
        .description("allow a consumer contract to use a subscription (the sending account must own it)")
        .option("--subscription <id>", "subscription id (default: the recorded one)")
        .option("--consumer <address>", "consumer contract (default: the recorded FunctionsVerdictConfirmer)"),
    ).action(async (options: SubscriptionOptions & { consumer?: string }, command: Command) => {
      const consumerOption = options.consumer === undefined ? undefined : parseAddress(options.consumer, "--consumer");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const id = subscriptionIdOf(s, options);
        const consumer = consumerOption ?? functionsOf(s).confirmer;
        const manager = await subscriptionManager(s, routerAddresses(s, options));
        const receipt = await toolkitCall(`add consumer ${consumer} to subscription ${id}`, () =>
          manager.addConsumer({ subscriptionId: id, consumerAddress: consumer }),
        );
        await printToolkitTx(s, `add consumer ${consumer} to subscription ${id}`, receipt.transactionHash);
      });
    }),
  );
  subscription.addCommand(
    withRouterOptions(
      new Command("show")
        .description("a subscription's owner, balance and consumers")
        .option("--subscription <id>", "subscription id (default: the recorded one)"),
    ).action(async (options: SubscriptionOptions, command: Command) => {
      await withSession(openRead(globalsOf(command)), async (s) => {
        const id = subscriptionIdOf(s, options);
        const manager = await subscriptionManager(s, routerAddresses(s, options));
        const info = await toolkitCall(`read subscription ${id}`, () => manager.getSubscriptionInfo(id));
        if (info.owner === ZeroAddress) throw new CliError(`subscription ${id} does not exist`);
        const confirmer = s.meshwork.deployment.Functions?.confirmer;
        const mark = (c: string): string => (confirmer !== undefined && getAddress(c) === confirmer ? "  (the confirmer)" : "");
        print(
          `subscription ${id}`,
          `owner          ${info.owner}`,
          `balance        ${formatEther(info.balance)} LINK (${formatEther(info.blockedBalance)} blocked by requests in flight)`,
          `consumers      ${info.consumers.length}`,
          ...info.consumers.map((c) => `  ${getAddress(c)}${mark(c)}`),
        );
      });
    }),
  );
  return subscription;
}

/** `--subscription`, else the recorded subscription. */
function subscriptionIdOf(s: ReadSession, options: SubscriptionOptions): bigint {
  if (options.subscription !== undefined) return parseUint(options.subscription, "--subscription", (1n << 64n) - 1n);
  const recorded = s.meshwork.deployment.Functions?.subscriptionId;
  if (recorded === undefined) throw new CliError("no --subscription given and the deployment records none");
  return BigInt(recorded);
}

/** Router and LINK token: the options, else the Functions section. */
function routerAddresses(s: ReadSession, options: RouterOptions): Pick<FunctionsContracts, "router" | "linkToken"> {
  const section = s.meshwork.deployment.Functions;
  const router = options.router === undefined ? section?.router : parseAddress(options.router, "--router");
  const linkToken = options.linkToken === undefined ? section?.linkToken : parseAddress(options.linkToken, "--link-token");
  if (router === undefined || linkToken === undefined) {
    throw new CliError(
      "this deployment has no Functions section: pass --router and --link-token (or run `functions deploy-local`)",
    );
  }
  return { router, linkToken };
}

/**
 * An initialised SubscriptionManager on the session's RPC, sending from the session's key (read-only for a read
 * session).
 */
export async function subscriptionManager(
  s: ReadSession | SendSession,
  at: Pick<FunctionsContracts, "router" | "linkToken">,
): Promise<SubscriptionManager> {
  await requireCode(s, at.router, "Functions router");
  await requireCode(s, at.linkToken, "LINK token");
  const { toolkit } = await loadFunctionsModules();
  const key = "wallet" in s ? s.wallet.privateKey : undefined;
  const signer = await toolkitSigner(s.rpc, s.chainId, key);
  const manager = new toolkit.SubscriptionManager({
    signer,
    linkTokenAddress: at.linkToken,
    functionsRouterAddress: at.router,
  });
  await toolkitCall("connect to the Functions router", () => manager.initialize());
  return manager;
}
