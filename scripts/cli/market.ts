/**
 * `market`: the demand side of Meshwork from the command line.
 *
 * Customers: `order` (post an order with its escrow), `bids` (the order and its bids), `close-auction` (anyone),
 * `lease` (a lease's state), `top-up`, `notice`, `close-breach`, `cancel`. Providers: `orders` (open orders their
 * devices can serve), `bid` (commit a sealed bid; the salt goes to a 0600 bid file), `reveal` (from that file),
 * `settle` (anyone: the lease's delivery leaf from an oracle's verdict file, checked against the finalised
 * `leasesRoot`), `withdraw` (credited earnings, refunds and deposits).
 *
 * Amounts are in the order's or lease's payment token, in decimal with that token's decimals (MESH by default);
 * stakes and bid deposits are always MESH. Every check that costs a read or two is made before sending; the Marketplace
 * is approved first when the allowance is short.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { cellToParent, getResolution, isValidCell } from "h3-js";
import { Command } from "commander";
import {
  ZeroHash,
  getAddress,
  hexlify,
  isError,
  randomBytes,
  type LogDescription,
  type TransactionReceipt,
} from "ethers";
import { z } from "zod";

import { cellToUint64 } from "../../oracles/agent/register";
import { DeviceStatus, LeaseStatus, OrderStatus, Param, ResourceClass } from "../../sdk/enums";
import { LEASE_LEAF_ENCODING } from "../../sdk/trees";
import { IERC20Metadata__factory } from "../../typechain-types";
import type { BidStructOutput, LeaseStructOutput, OrderStructOutput } from "../../typechain-types/contracts/Marketplace";
import { enumName, parseAddress, parseAmount, parseEnumName, parseMesh, parseUint, parseUint64 } from "./args";
import { globalsOf, loadSigningKey, openRead, openSend, withSession, type ReadSession, type SendSession } from "./context";
import { CliError } from "./errors";
import { formatAmount, formatDuration, formatMesh, formatTime, print, toJson } from "./format";
import { operatorDevices } from "./status";
import { address, bytes32, decimal, fetchVerdictFile } from "./verdict-file";

const BPS = 10_000n;
const UINT32_MAX = (1n << 32n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT128_MAX = (1n << 128n) - 1n;

/* COMMANDS */

export function marketCommand(): Command {
  const market = new Command("market")
    .description("orders, sealed-bid auctions and leases (customers and providers)")
    .addHelpText(
      "after",
      "\nCustomer: order, bids, close-auction, lease, top-up, notice, close-breach, cancel, withdraw.\n" +
        "Provider: orders, bid, reveal, settle, withdraw.\n" +
        "\nExample:\n  $ MESHWORK_KEY=0x.. npm run cli -- market order --class Storage --capacity 100 --epochs 24 \\\n" +
        "      --max-price 10 --escrow 240",
    );

  market
    .command("order")
    .description("post an order: its escrow is pulled now and pays the winning provider per delivered epoch")
    .requiredOption("--class <name>", `resource class: ${Object.keys(ResourceClass).join(", ")}`)
    .requiredOption("--capacity <n>", "smallest total declared capacity of the winning devices, in the class's units")
    .requiredOption("--epochs <n>", "lease term in epochs")
    .requiredOption("--max-price <amount>", "highest price per epoch for the whole order, in the payment token")
    .requiredOption("--escrow <amount>", "escrow to fund, in the payment token (at least one epoch at --max-price)")
    .option("--min-delivery <percent>", "service level: an epoch delivered below it is a breach", "95")
    .option("--min-stake <MESH>", "smallest self-stake of the provider, MESH")
    .option("--region <h3cell...>", "H3 cells the devices must lie in (default: anywhere)")
    .option("--token <address>", "payment token (default MESH; another must be allowed by governance)")
    .action(async (options: OrderOptions, command: Command) => {
      await postOrder(options, command);
    });

  market
    .command("bids")
    .description("an order and its bids (sealed until revealed)")
    .argument("<orderId>", "order id")
    .option("--json", "machine-readable output (amounts in the token's smallest units as decimal strings)")
    .action(async (idText: string, options: { json?: boolean }, command: Command) => {
      const orderId = parseId(idText, "order id");
      await withSession(openRead(globalsOf(command)), async (s) => {
        const [order, bids, now] = await Promise.all([loadOrder(s, orderId), s.meshwork.marketplace.getBids(orderId), s.now()]);
        const token = await tokenInfo(s, order.token);
        const view = { order: orderView(orderId, order, token, bids.length), bids: bids.map((b, i) => bidView(i, b)), at: now };
        if (options.json === true) print(toJson(view));
        else print(...orderLines(view.order, token, now), ...bidLines(bids, token));
      });
    });

  market
    .command("close-auction")
    .description("close an order's auction after its reveal window (anyone): the lowest qualifying bid becomes the lease")
    .argument("<orderId>", "order id")
    .action(async (idText: string, _options: object, command: Command) => {
      const orderId = parseId(idText, "order id");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const { marketplace } = s.meshwork;
        const [order, now] = await Promise.all([openOrder(s, orderId), s.now()]);
        if (now < order.revealEndsAt) {
          throw new CliError(
            `the auction of order ${orderId} is not over: reveals close at ${formatTime(order.revealEndsAt)}, ` +
              `in ${formatDuration(order.revealEndsAt - now)}`,
          );
        }
        await s.send(`close auction ${orderId}`, marketplace.closeAuction(orderId));
        const after = await marketplace.getOrder(orderId);
        if (Number(after.status) === OrderStatus.Leased) {
          const lease = await marketplace.getLease(orderId);
          const token = await tokenInfo(s, lease.token);
          print(
            `order ${orderId} is now lease ${orderId}: provider ${lease.provider} at ` +
              `${formatAmount(lease.pricePerEpoch, token)} per epoch, epochs ${lease.startEpoch}..${lease.endEpoch}`,
          );
        } else {
          print(`no qualifying bid: order ${orderId} is Unfilled and its escrow was credited back (market withdraw)`);
        }
      });
    });

  market
    .command("lease")
    .description("a lease: price, epochs, settlement, delivery, breaches, escrow and status")
    .argument("<leaseId>", "lease id (the id of the order it came from)")
    .option("--json", "machine-readable output (amounts in the token's smallest units as decimal strings)")
    .action(async (idText: string, options: { json?: boolean }, command: Command) => {
      const leaseId = parseId(idText, "lease id");
      await withSession(openRead(globalsOf(command)), async (s) => {
        const lease = await loadLease(s, leaseId);
        const [token, currentEpoch, endsAt] = await Promise.all([
          tokenInfo(s, lease.token),
          s.meshwork.config.currentEpoch(),
          s.meshwork.config.epochEnd(lease.endEpoch),
        ]);
        const view = leaseView(leaseId, lease, token, currentEpoch, endsAt);
        if (options.json === true) print(toJson(view));
        else print(...leaseLines(view, token));
      });
    });

  market
    .command("top-up")
    .description("add escrow to an active lease, extending it up to its term (only what the term needs is pulled)")
    .argument("<leaseId>", "lease id")
    .argument("<amount>", "amount of the lease's payment token, decimal")
    .action(async (idText: string, amountText: string, _options: object, command: Command) => {
      const leaseId = parseId(idText, "lease id");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const lease = await activeLease(s, leaseId);
        const token = await tokenInfo(s, lease.token);
        const amount = parseAmount(amountText, token.decimals, "amount", token.symbol);
        if (lease.closing) throw new CliError(`lease ${leaseId} is closing (ends at epoch ${lease.endEpoch}): no top-up`);
        const current = await s.meshwork.config.currentEpoch();
        if (current > lease.endEpoch) {
          throw new CliError(
            `lease ${leaseId} ran out at epoch ${lease.endEpoch} (now ${current}): only settlement and expiry remain`,
          );
        }
        const needed = (lease.termEndEpoch - lease.settledThrough) * lease.pricePerEpoch - lease.escrow;
        if (needed === 0n) throw new CliError(`the escrow of lease ${leaseId} already pays for its whole term`);
        const pulled = amount < needed ? amount : needed;
        if (pulled < amount) {
          print(`only ${formatAmount(needed, token)} is needed for the rest of the term; topping up that much`);
        }
        await fund(s, token, pulled);
        await s.send(`top up lease ${leaseId}`, s.meshwork.marketplace.topUp(leaseId, pulled));
      });
    });

  market
    .command("notice")
    .description("give notice on a lease (customer or provider): it runs LeaseNoticeEpochs more epochs at most")
    .argument("<leaseId>", "lease id")
    .action(async (idText: string, _options: object, command: Command) => {
      const leaseId = parseId(idText, "lease id");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const lease = await activeLease(s, leaseId);
        if (s.account !== lease.customer && s.account !== lease.provider) {
          throw new CliError(
            `only the customer ${lease.customer} or the provider ${lease.provider} of lease ${leaseId} may give notice`,
          );
        }
        if (lease.closing) {
          throw new CliError(`lease ${leaseId} is already closing: it ends at epoch ${lease.endEpoch}`);
        }
        await s.send(`notice on lease ${leaseId}`, s.meshwork.marketplace.giveNotice(leaseId));
      });
    });

  market
    .command("close-breach")
    .description("close a lease that breached its service level SlaBreachEpochs times (customer)")
    .argument("<leaseId>", "lease id")
    .action(async (idText: string, _options: object, command: Command) => {
      const leaseId = parseId(idText, "lease id");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const lease = await activeLease(s, leaseId);
        if (s.account !== lease.customer) {
          throw new CliError(`only the customer ${lease.customer} may close lease ${leaseId} for breach`);
        }
        const required = await s.meshwork.config.param(Param.SlaBreachEpochs);
        if (lease.breaches < required) {
          throw new CliError(
            `lease ${leaseId} has ${lease.breaches} settled breach(es), closing for breach needs ${required} ` +
              "(settle the latest verdicts first: market settle)",
          );
        }
        await s.send(`close lease ${leaseId} for breach`, s.meshwork.marketplace.closeForBreach(leaseId));
      });
    });

  market
    .command("cancel")
    .description("cancel an open order nobody has bid on (customer): its escrow is credited back")
    .argument("<orderId>", "order id")
    .action(async (idText: string, _options: object, command: Command) => {
      const orderId = parseId(idText, "order id");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const order = await openOrder(s, orderId);
        if (s.account !== order.customer) throw new CliError(`only the customer ${order.customer} may cancel order ${orderId}`);
        const bids = (await s.meshwork.marketplace.getBids(orderId)).length;
        if (bids > 0) {
          throw new CliError(`order ${orderId} has ${bids} bid(s): it can no longer be cancelled`);
        }
        await s.send(`cancel order ${orderId}`, s.meshwork.marketplace.cancelOrder(orderId));
        print(`escrow credited back: market withdraw${(await tokenInfo(s, order.token)).mesh ? "" : ` --token ${order.token}`}`);
      });
    });

  market
    .command("orders")
    .description("open orders the provider's Active, unleased devices can serve (by class and region)")
    .option("--all", "every open order, whatever the devices")
    .option("--provider <address>", "list for this provider (default: the sending key's account)")
    .option("--json", "machine-readable output")
    .action(async (options: { all?: boolean; provider?: string; json?: boolean }, command: Command) => {
      const globals = globalsOf(command);
      const all = options.all === true;
      let provider: string | null = null;
      if (options.provider !== undefined) provider = parseAddress(options.provider, "--provider");
      else if (!all) {
        if (globals.keyFile === undefined && (process.env.MESHWORK_KEY ?? "") === "") {
          throw new CliError("whose devices? pass --provider <address>, a key (MESHWORK_KEY or --key-file), or --all");
        }
        provider = loadSigningKey(globals).address;
      }
      await withSession(openRead(globals), (s) => listOrders(s, provider, all, options.json === true));
    });

  market
    .command("bid")
    .description("commit a sealed bid on an order (pays the MESH bid deposit); the salt is saved to a bid file")
    .argument("<orderId>", "order id")
    .requiredOption("--price <amount>", "price per epoch for the whole order, in the order's payment token")
    .requiredOption("--device <address...>", "devices the lease would bind (any order; they are sorted)")
    .option("--bid-file <path>", "where to save the bid (default: <deployments>/../bids/<chainId>-<orderId>-<account>.json)")
    .addHelpText(
      "after",
      "\nThe bid file holds the price, devices and salt the reveal needs: without it the bid cannot be revealed and\n" +
        "part of the deposit is forfeited. It is written with mode 0600 and never overwritten.\n" +
        "\nExample:\n  $ MESHWORK_KEY=0x.. npm run cli -- market bid 7 --price 8.5 --device 0xAb.. 0xCd..",
    )
    .action(async (idText: string, options: { price: string; device: string[]; bidFile?: string }, command: Command) => {
      await commitBid(idText, options, command);
    });

  market
    .command("reveal")
    .description("reveal the sending account's bid on an order, from its bid file, in the reveal window")
    .argument("<orderId>", "order id")
    .option("--bid-file <path>", "the bid file `market bid` wrote (default: its default path)")
    .action(async (idText: string, options: { bidFile?: string }, command: Command) => {
      await revealBid(idText, options, command);
    });

  market
    .command("settle")
    .description("settle a lease against the latest finalised verdict (anyone; a third party earns a bounty)")
    .argument("<leaseId>", "lease id")
    .requiredOption("--oracle <url>", "base URL of an oracle node (serves /v1/verdicts/<epoch>/file)")
    .action(async (idText: string, options: { oracle: string }, command: Command) => {
      const leaseId = parseId(idText, "lease id");
      await withSession(openSend(globalsOf(command)), (s) => settle(s, leaseId, options.oracle));
    });

  market
    .command("withdraw")
    .description("withdraw everything the Marketplace credited to the sending account in a token")
    .option("--token <address>", "token (default MESH)")
    .action(async (options: { token?: string }, command: Command) => {
      const requested = options.token === undefined ? undefined : parseAddress(options.token, "--token");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const token = await tokenInfo(s, requested ?? (await s.meshwork.token.getAddress()));
        const amount = await s.meshwork.marketplace.credit(s.account, token.address);
        if (amount === 0n) throw new CliError(`nothing is credited to ${s.account} in ${token.symbol} at the Marketplace`);
        print(`withdrawing ${formatAmount(amount, token)}`);
        await s.send("withdraw", s.meshwork.marketplace.withdraw(token.address));
      });
    });

  return market;
}

/* ORDER */

interface OrderOptions {
  class: string;
  capacity: string;
  epochs: string;
  maxPrice: string;
  escrow: string;
  minDelivery: string;
  minStake?: string;
  region?: string[];
  token?: string;
}

async function postOrder(options: OrderOptions, command: Command): Promise<void> {
  const resourceClass = parseEnumName(ResourceClass, options.class, "resource class");
  const capacity = parseUint64(options.capacity, "--capacity");
  if (capacity === 0n) throw new CliError("bad --capacity 0: must be at least 1");
  const epochs = parseUint(options.epochs, "--epochs", UINT32_MAX);
  if (epochs === 0n) throw new CliError("bad --epochs 0: must be at least 1");
  const minDeliveryBps = parsePercentBps(options.minDelivery, "--min-delivery");
  const minStake = options.minStake === undefined ? 0n : parseMesh(options.minStake, "--min-stake");
  const region = (options.region ?? []).map((cell) => parseCell(cell));
  const requestedToken = options.token === undefined ? undefined : parseAddress(options.token, "--token");
  // MESH amounts are checked before connecting; another token's decimals are read first.
  if (requestedToken === undefined) {
    parseAmount(options.maxPrice, 18, "--max-price", "MESH");
    parseAmount(options.escrow, 18, "--escrow", "MESH");
  }

  await withSession(openSend(globalsOf(command)), async (s) => {
    const { marketplace, config } = s.meshwork;
    const token = await tokenInfo(s, requestedToken ?? (await s.meshwork.token.getAddress()));
    if (!token.mesh && !(await config.isPaymentToken(token.address))) {
      throw new CliError(`token ${token.address} is not a payment token: MESH or one governance allows`);
    }
    const maxPrice = parseAmount(options.maxPrice, token.decimals, "--max-price", token.symbol);
    const escrow = parseAmount(options.escrow, token.decimals, "--escrow", token.symbol);
    if (maxPrice > UINT128_MAX) throw new CliError(`bad --max-price "${options.maxPrice}": too large`);
    if (escrow < maxPrice) {
      throw new CliError(
        `--escrow ${formatAmount(escrow, token)} does not pay for one epoch at --max-price ${formatAmount(maxPrice, token)}`,
      );
    }
    const maxCells = await marketplace.MAX_REGION_CELLS();
    if (BigInt(region.length) > maxCells) throw new CliError(`--region has ${region.length} cells, at most ${maxCells}`);
    const full = maxPrice * epochs;
    if (escrow < full) {
      print(
        `note: the escrow pays for ${escrow / maxPrice} of ${epochs} epoch(s) at the maximum price ` +
          `(${formatAmount(full, token)} for the term); top the lease up later with market top-up`,
      );
    }

    await fund(s, token, escrow);
    const terms = {
      resourceClass,
      minDeliveryBps,
      durationEpochs: epochs,
      capacity,
      token: token.address,
      maxPricePerEpoch: maxPrice,
      minStake,
      region,
    };
    const receipt = await s.send("post order", marketplace.postOrder(terms, escrow));
    const posted = findEvent(receipt, s, "OrderPosted");
    if (posted === null) throw new CliError(`post order: no OrderPosted event in transaction ${receipt.hash}`);
    const orderId = posted.args.orderId as bigint;
    const [order, now] = await Promise.all([marketplace.getOrder(orderId), s.now()]);
    print(
      `order ${orderId}`,
      `  commit bids until  ${formatTime(order.commitEndsAt)} (in ${formatDuration(order.commitEndsAt - now)})`,
      `  reveal bids until  ${formatTime(order.revealEndsAt)} (in ${formatDuration(order.revealEndsAt - now)})`,
      `then anyone closes the auction: market close-auction ${orderId}`,
    );
  });
}

/* ORDERS (PROVIDER VIEW) */

async function listOrders(s: ReadSession, provider: string | null, all: boolean, json: boolean): Promise<void> {
  const { marketplace } = s.meshwork;
  let free: { device: string; resourceClass: number; capacity: bigint; location: bigint }[] = [];
  if (provider !== null) {
    for (const { device, record } of await operatorDevices(s, provider)) {
      if (Number(record.status) !== DeviceStatus.Active) continue;
      if ((await marketplace.leaseOfDevice(device)) !== 0n) continue;
      free.push({ device, resourceClass: Number(record.resourceClass), capacity: record.capacity, location: record.location });
    }
    free = free.sort((a, b) => compareAddresses(a.device, b.device));
  }
  const classes = new Set(free.map((d) => d.resourceClass));
  const [count, now] = await Promise.all([marketplace.orderCount(), s.now()]);

  const listed: (OrderView & { phase: string; devices: string[] })[] = [];
  const tokens: TokenInfo[] = [];
  if (all || classes.size > 0) {
    for (let id = 1n; id <= count; id++) {
      const order = await marketplace.getOrder(id);
      if (Number(order.status) !== OrderStatus.Open) continue;
      const cls = Number(order.resourceClass);
      if (!all && !classes.has(cls)) continue;
      const fitting = free.filter(
        (d) => d.resourceClass === cls && (order.region.length === 0 || order.region.some((r) => h3Contains(r, d.location))),
      );
      const token = await tokenInfo(s, order.token);
      const bidCount = (await marketplace.getBids(id)).length;
      listed.push({ ...orderView(id, order, token, bidCount), phase: phase(order, now), devices: fitting.map((d) => d.device) });
      tokens.push(token);
    }
  }

  if (json) {
    print(toJson({ provider, all, orders: listed, at: now }));
    return;
  }
  if (!all && classes.size === 0) {
    print(`provider ${provider} has no Active, unleased device: no order to bid on (--all lists every open order)`);
    return;
  }
  const scope = all ? "open orders" : `open orders for the devices of ${provider}`;
  print(`${scope}: ${listed.length}`);
  listed.forEach((o, i) => {
    const token = tokens[i];
    print(
      `order ${o.orderId}  ${o.resourceClass}  capacity ${o.capacity}  ${o.durationEpochs} epoch(s)  ` +
        `max ${formatAmount(o.maxPricePerEpoch, token)}/epoch  min delivery ${formatBps(o.minDeliveryBps)}  ` +
        `min stake ${formatMesh(o.minStake)}  region ${o.region.length === 0 ? "anywhere" : o.region.join(",")}  ` +
        `bids ${o.bidCount}`,
      `  ${o.phase}`,
    );
    if (provider !== null) {
      print(`  your devices: ${o.devices.length === 0 ? "none fits (class or region)" : o.devices.join(", ")}`);
    }
  });
}

/* BID AND REVEAL */

const bidFileSchema = z.object({
  chainId: decimal,
  marketplace: address,
  orderId: decimal,
  provider: address,
  price: decimal,
  devices: z.array(address),
  salt: bytes32,
});

type BidFile = z.infer<typeof bidFileSchema>;
type BidFileInput = z.input<typeof bidFileSchema>;

/** The default bid file: `<deployments>/../bids/<chainId>-<orderId>-<account>.json`. */
export function defaultBidFile(deployments: string, chainId: bigint, orderId: bigint, account: string): string {
  return path.join(path.resolve(deployments), "..", "bids", `${chainId}-${orderId}-${account}.json`);
}

async function commitBid(
  idText: string,
  options: { price: string; device: string[]; bidFile?: string },
  command: Command,
): Promise<void> {
  const orderId = parseId(idText, "order id");
  const devices = options.device.map((d) => parseAddress(d, "--device")).sort(compareAddresses);
  for (let i = 1; i < devices.length; i++) {
    if (devices[i] === devices[i - 1]) throw new CliError(`--device ${devices[i]} is given twice`);
  }
  const globals = globalsOf(command);

  await withSession(openSend(globals), async (s) => {
    const { marketplace, registry, staking } = s.meshwork;
    const [order, bids, now] = await Promise.all([openOrder(s, orderId), marketplace.getBids(orderId), s.now()]);
    if (now >= order.commitEndsAt) {
      throw new CliError(
        `the commit window of order ${orderId} closed at ${formatTime(order.commitEndsAt)} ` +
          `(${formatDuration(now - order.commitEndsAt)} ago)`,
      );
    }
    if (s.account === order.customer) throw new CliError(`${s.account} posted order ${orderId}: it cannot bid on it`);
    // Never overwrite a salt: without it a committed bid cannot be revealed.
    const file = options.bidFile ?? defaultBidFile(globals.deployments, s.chainId, orderId, s.account);
    if (existsSync(file)) {
      throw new CliError(`bid file ${file} exists already: not overwriting a bid's salt (reveal it with market reveal ${orderId})`);
    }
    if (bids.some((b) => b.provider === s.account)) throw new CliError(`${s.account} already bid on order ${orderId}`);
    const [maxBids, maxDevices] = await Promise.all([marketplace.MAX_BIDS(), marketplace.MAX_LEASE_DEVICES()]);
    if (BigInt(bids.length) >= maxBids) throw new CliError(`order ${orderId} has the maximum of ${maxBids} bids`);
    if (BigInt(devices.length) > maxDevices) throw new CliError(`a bid binds at most ${maxDevices} devices, not ${devices.length}`);

    const token = await tokenInfo(s, order.token);
    const price = parseAmount(options.price, token.decimals, "--price", token.symbol);
    if (price > order.maxPricePerEpoch) {
      throw new CliError(
        `--price ${formatAmount(price, token)} is above the order's maximum of ${formatAmount(order.maxPricePerEpoch, token)} per epoch`,
      );
    }

    // The reveal re-checks all of this on-chain; failing now costs nothing, failing then costs the deposit's gas.
    const className = enumName(ResourceClass, order.resourceClass);
    let capacity = 0n;
    for (const device of devices) {
      const d = await registry.getDevice(device);
      if (d.operator !== s.account) {
        throw new CliError(`device ${device} is ${Number(d.status) === DeviceStatus.None ? "not registered" : `operated by ${d.operator}`}, not by ${s.account}`);
      }
      if (Number(d.status) !== DeviceStatus.Active) {
        throw new CliError(`device ${device} is ${enumName(DeviceStatus, d.status)}, not Active`);
      }
      if (d.resourceClass !== order.resourceClass) {
        throw new CliError(`device ${device} is ${enumName(ResourceClass, d.resourceClass)}, order ${orderId} wants ${className}`);
      }
      const leased = await marketplace.leaseOfDevice(device);
      if (leased !== 0n) throw new CliError(`device ${device} is bound to lease ${leased}`);
      if (order.region.length !== 0 && !order.region.some((r) => h3Contains(r, d.location))) {
        throw new CliError(`device ${device} (cell ${d.location.toString(16)}) lies outside the order's region`);
      }
      capacity += d.capacity;
    }
    if (capacity < order.capacity) {
      throw new CliError(`the devices' capacity totals ${capacity}, order ${orderId} needs ${order.capacity}`);
    }
    const [stake, jailed] = await Promise.all([staking.selfStake(s.account), registry.jailedDevices(s.account)]);
    if (stake < order.minStake) {
      throw new CliError(`self-stake ${formatMesh(stake)} is below the order's minimum of ${formatMesh(order.minStake)}`);
    }
    if (jailed !== 0n) throw new CliError(`${s.account} has ${jailed} jailed device(s): its bids do not qualify`);

    if (order.bidDeposit > 0n) await fund(s, MESH_INFO(await s.meshwork.token.getAddress()), order.bidDeposit);

    const salt = hexlify(randomBytes(32));
    const commitment = await marketplace.bidCommitment(orderId, s.account, price, devices, salt);
    const record: BidFileInput = {
      chainId: s.chainId.toString(),
      marketplace: await marketplace.getAddress(),
      orderId: orderId.toString(),
      provider: s.account,
      price: price.toString(),
      devices,
      salt,
    };
    writeBidFile(file, record);
    print(`bid saved to ${file} (mode 0600): keep it until the reveal`);
    try {
      await s.send(`commit bid on order ${orderId}`, marketplace.commitBid(orderId, commitment));
    } catch (error) {
      // A reverted commit leaves no bid: drop the file so the bid can be made again. Anything else (the RPC went
      // away) may have committed, so the salt stays.
      if (isError(error, "CALL_EXCEPTION")) unlinkSync(file);
      throw error;
    }
    print(
      `reveal from ${formatTime(order.commitEndsAt)} until ${formatTime(order.revealEndsAt)}: market reveal ${orderId}`,
    );
  });
}

function writeBidFile(file: string, record: BidFileInput): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
  } catch (error) {
    throw new CliError(`cannot write the bid file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function readBidFile(file: string, orderId: bigint): BidFile {
  if (!existsSync(file)) {
    throw new CliError(
      `no bid file ${file} for order ${orderId}: a bid is revealed from the file market bid wrote (--bid-file if elsewhere)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new CliError(`bid file ${file} is not JSON`);
  }
  const parsed = bidFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`bid file ${file} is malformed: ${issue.path.join(".") || "(root)"} ${issue.message}`);
  }
  return parsed.data;
}

async function revealBid(idText: string, options: { bidFile?: string }, command: Command): Promise<void> {
  const orderId = parseId(idText, "order id");
  const globals = globalsOf(command);
  await withSession(openSend(globals), async (s) => {
    const { marketplace } = s.meshwork;
    const file = options.bidFile ?? defaultBidFile(globals.deployments, s.chainId, orderId, s.account);
    const bid = readBidFile(file, orderId);
    const marketAddress = await marketplace.getAddress();
    if (BigInt(bid.chainId) !== s.chainId || getAddress(bid.marketplace) !== getAddress(marketAddress)) {
      throw new CliError(`bid file ${file} is for the Marketplace ${bid.marketplace} on chain ${bid.chainId}, not this one`);
    }
    if (BigInt(bid.orderId) !== orderId) throw new CliError(`bid file ${file} is for order ${bid.orderId}, not ${orderId}`);
    if (getAddress(bid.provider) !== s.account) {
      throw new CliError(`bid file ${file} is a bid of ${getAddress(bid.provider)}, not of the sending account ${s.account}`);
    }

    const [order, bids, now] = await Promise.all([openOrder(s, orderId), marketplace.getBids(orderId), s.now()]);
    if (now < order.commitEndsAt) {
      throw new CliError(
        `the reveal window of order ${orderId} opens at ${formatTime(order.commitEndsAt)}, ` +
          `in ${formatDuration(order.commitEndsAt - now)}`,
      );
    }
    if (now >= order.revealEndsAt) {
      throw new CliError(`the reveal window of order ${orderId} closed at ${formatTime(order.revealEndsAt)}`);
    }
    const onChain = bids.find((b) => b.provider === s.account);
    if (onChain === undefined) throw new CliError(`${s.account} has no bid on order ${orderId}`);
    if (onChain.revealed) throw new CliError(`the bid of ${s.account} on order ${orderId} is already revealed`);
    const price = BigInt(bid.price);
    const devices = bid.devices.map((d) => getAddress(d));
    const commitment = await marketplace.bidCommitment(orderId, s.account, price, devices, bid.salt);
    if (commitment !== onChain.commitment) {
      throw new CliError(`bid file ${file} does not match the committed bid (commitment ${onChain.commitment})`);
    }
    await s.send(`reveal bid on order ${orderId}`, marketplace.revealBid(orderId, price, devices, bid.salt));
    const token = await tokenInfo(s, order.token);
    print(
      `revealed ${formatAmount(price, token)} per epoch with ${devices.length} device(s); the auction closes at ` +
        `${formatTime(order.revealEndsAt)} (market close-auction ${orderId})`,
    );
  });
}

/* SETTLE */

const leasesFileSchema = z.object({
  epoch: decimal,
  leasesRoot: bytes32,
  leases: z.array(
    z.object({
      leaseId: decimal,
      deliveredBps: z.number().int().min(0).max(10_000).nullable(),
      delivered: decimal,
      breaches: decimal,
      proof: z.array(bytes32),
    }),
  ),
});

async function settle(s: SendSession, leaseId: bigint, oracle: string): Promise<void> {
  const { marketplace, hub, config } = s.meshwork;
  const lease = await activeLease(s, leaseId);
  const next = lease.settledThrough + 1n;
  const [epoch, , exists] = await hub.latestFinalised();
  if (!exists) throw new CliError("no verdict is finalised yet: nothing to settle against");
  if (epoch < next) {
    throw new CliError(
      `the latest finalised verdict is of epoch ${epoch}, lease ${leaseId} is settled up to epoch ${next}: nothing to settle yet`,
    );
  }
  const verdict = await hub.getVerdict(epoch);
  const root = verdict.leasesRoot;
  if (root === ZeroHash) throw new CliError(`the verdict of epoch ${epoch} has no lease deliveries (leasesRoot is zero)`);

  const file = await fetchVerdictFile(oracle, epoch, leasesFileSchema);
  if (BigInt(file.epoch) !== epoch) throw new CliError(`the oracle's verdict file is for epoch ${file.epoch}, not ${epoch}`);
  if (file.leasesRoot.toLowerCase() !== root.toLowerCase()) {
    throw new CliError(
      `the oracle's verdict file for epoch ${epoch} has leasesRoot ${file.leasesRoot}, ` +
        `but the root on-chain is ${root}: not settling with it`,
    );
  }
  const entry = file.leases.find((l) => BigInt(l.leaseId) === leaseId);
  if (entry === undefined) {
    throw new CliError(`lease ${leaseId} is not in the verdict file of epoch ${epoch}: the oracles reported no delivery for it`);
  }
  const delivered = BigInt(entry.delivered);
  const breaches = BigInt(entry.breaches);
  if (delivered > UINT64_MAX || breaches > UINT32_MAX) {
    throw new CliError(`the verdict file's entry for lease ${leaseId} is out of range (delivered uint64, breaches uint32)`);
  }
  const value = [leaseId, delivered, breaches];
  if (!StandardMerkleTree.verify(root, LEASE_LEAF_ENCODING, value, entry.proof)) {
    throw new CliError(`the proof of lease ${leaseId} in the verdict file does not verify against root ${root}`);
  }
  if (delivered < lease.delivered || breaches < lease.breaches) {
    throw new CliError(
      `the verdict of epoch ${epoch} has less delivery for lease ${leaseId} than already settled ` +
        `(delivered ${delivered} < ${lease.delivered} or breaches ${breaches} < ${lease.breaches})`,
    );
  }

  const through = epoch < lease.endEpoch ? epoch : lease.endEpoch;
  const due = through - lease.settledThrough;
  const newly = delivered - lease.delivered;
  if (newly > due * BPS || breaches - lease.breaches > due) {
    throw new CliError(`the verdict's delivery for lease ${leaseId} exceeds the ${due} epoch(s) it would settle`);
  }
  const token = await tokenInfo(s, lease.token);
  const cost = due * lease.pricePerEpoch;
  const paid = (newly * lease.pricePerEpoch) / BPS;
  const fee = (paid * lease.feeBps) / BPS;
  const thirdParty = s.account !== lease.customer && s.account !== lease.provider;
  const bounty = thirdParty ? (paid * (await config.param(Param.SettlementBountyBps))) / BPS : 0n;
  const range = due === 1n ? `epoch ${through}` : `epochs ${next}..${through}`;
  print(
    `settling lease ${leaseId} for ${range} with the verdict of epoch ${epoch}: delivered ` +
      `${formatBps(newly / due)} on average, ${breaches - lease.breaches} breach(es)`,
    `  provider ${formatAmount(paid - fee - bounty, token)}, customer refund ${formatAmount(cost - paid, token)}, ` +
      `fee ${formatAmount(fee, token)}`,
  );
  if (thirdParty) print(`  bounty to ${s.account} (third-party settler): ${formatAmount(bounty, token)}`);
  await s.send(`settle lease ${leaseId}`, marketplace.settle(leaseId, epoch, delivered, breaches, entry.proof));
}

/* VIEWS */

interface OrderView {
  orderId: bigint;
  customer: string;
  status: string;
  resourceClass: string;
  capacity: bigint;
  durationEpochs: bigint;
  minDeliveryBps: bigint;
  token: string;
  symbol: string;
  decimals: number;
  maxPricePerEpoch: bigint;
  minStake: bigint;
  escrow: bigint;
  bidDeposit: bigint;
  commitEndsAt: bigint;
  revealEndsAt: bigint;
  bidCount: bigint;
  region: string[];
}

/** `bidCount`: the order's bids so far (`getBids`). */
function orderView(orderId: bigint, o: OrderStructOutput, token: TokenInfo, bidCount: number): OrderView {
  return {
    orderId,
    customer: o.customer,
    status: enumName(OrderStatus, o.status),
    resourceClass: enumName(ResourceClass, o.resourceClass),
    capacity: o.capacity,
    durationEpochs: o.durationEpochs,
    minDeliveryBps: o.minDeliveryBps,
    token: o.token,
    symbol: token.symbol,
    decimals: token.decimals,
    maxPricePerEpoch: o.maxPricePerEpoch,
    minStake: o.minStake,
    escrow: o.escrow,
    bidDeposit: o.bidDeposit,
    commitEndsAt: o.commitEndsAt,
    revealEndsAt: o.revealEndsAt,
    bidCount: BigInt(bidCount),
    region: o.region.map((r) => r.toString(16)),
  };
}

function orderLines(o: OrderView, token: TokenInfo, now: bigint): string[] {
  return [
    `order ${o.orderId}  ${o.status}  ${o.resourceClass}`,
    `  customer      ${o.customer}`,
    `  capacity      ${o.capacity} for ${o.durationEpochs} epoch(s)`,
    `  max price     ${formatAmount(o.maxPricePerEpoch, token)} per epoch`,
    `  escrow        ${formatAmount(o.escrow, token)}`,
    `  min delivery  ${formatBps(o.minDeliveryBps)}`,
    `  min stake     ${formatMesh(o.minStake)}`,
    `  region        ${o.region.length === 0 ? "anywhere" : o.region.join(", ")}`,
    `  bid deposit   ${formatMesh(o.bidDeposit)}`,
    `  commit until  ${formatTime(o.commitEndsAt)}${until(o.commitEndsAt, now)}`,
    `  reveal until  ${formatTime(o.revealEndsAt)}${until(o.revealEndsAt, now)}`,
  ];
}

function bidView(index: number, b: BidStructOutput) {
  return {
    index,
    provider: b.provider,
    revealed: b.revealed,
    pricePerEpoch: b.revealed ? b.pricePerEpoch : null,
    devices: [...b.devices],
    commitment: b.commitment,
  };
}

function bidLines(bids: readonly BidStructOutput[], token: TokenInfo): string[] {
  const lines = [`bids          ${bids.length}`];
  bids.forEach((b, i) => {
    lines.push(
      b.revealed
        ? `  #${i}  ${b.provider}  revealed  ${formatAmount(b.pricePerEpoch, token)} per epoch  devices ${b.devices.join(", ")}`
        : `  #${i}  ${b.provider}  sealed`,
    );
  });
  return lines;
}

interface LeaseView {
  leaseId: bigint;
  status: string;
  closing: boolean;
  customer: string;
  provider: string;
  token: string;
  symbol: string;
  decimals: number;
  pricePerEpoch: bigint;
  startEpoch: bigint;
  termEndEpoch: bigint;
  endEpoch: bigint;
  endsAt: bigint;
  settledThrough: bigint | null;
  settledEpochs: bigint;
  delivered: bigint;
  deliveredPercent: number | null;
  breaches: bigint;
  minDeliveryBps: bigint;
  feeBps: bigint;
  escrow: bigint;
  devices: string[];
  endedAt: bigint | null;
  currentEpoch: bigint;
}

function leaseView(leaseId: bigint, l: LeaseStructOutput, token: TokenInfo, currentEpoch: bigint, endsAt: bigint): LeaseView {
  const settledEpochs = l.settledThrough + 1n - l.startEpoch;
  const ended = Number(l.status) === LeaseStatus.Ended;
  return {
    leaseId,
    status: enumName(LeaseStatus, l.status),
    closing: l.closing,
    customer: l.customer,
    provider: l.provider,
    token: l.token,
    symbol: token.symbol,
    decimals: token.decimals,
    pricePerEpoch: l.pricePerEpoch,
    startEpoch: l.startEpoch,
    termEndEpoch: l.termEndEpoch,
    endEpoch: l.endEpoch,
    endsAt,
    settledThrough: settledEpochs > 0n ? l.settledThrough : null,
    settledEpochs,
    delivered: l.delivered,
    deliveredPercent: settledEpochs > 0n ? Number(l.delivered) / Number(settledEpochs) / 100 : null,
    breaches: l.breaches,
    minDeliveryBps: l.minDeliveryBps,
    feeBps: l.feeBps,
    escrow: l.escrow,
    devices: [...l.devices],
    endedAt: ended ? l.endedAt : null,
    currentEpoch,
  };
}

function leaseLines(v: LeaseView, token: TokenInfo): string[] {
  const status = v.status === "Active" && v.closing ? "Active (closing)" : v.status;
  const cut = v.endEpoch < v.termEndEpoch ? ` (term through ${v.termEndEpoch}; ${v.closing ? "closed" : "the escrow pays"} through ${v.endEpoch})` : "";
  return [
    `lease ${v.leaseId}  ${status}${v.endedAt === null ? "" : ` in epoch ${v.endedAt}`}`,
    `  customer         ${v.customer}`,
    `  provider         ${v.provider}`,
    `  price            ${formatAmount(v.pricePerEpoch, token)} per epoch (fee ${formatBps(v.feeBps)})`,
    `  epochs           ${v.startEpoch}..${v.endEpoch}${cut}, ends ${formatTime(v.endsAt)}`,
    `  settled through  ${v.settledThrough === null ? "nothing settled yet" : `epoch ${v.settledThrough} (${v.settledEpochs} epoch(s))`}`,
    `  delivered        ${v.deliveredPercent === null ? "-" : `${v.deliveredPercent}% on average (cumulative ${v.delivered} bps)`}`,
    `  breaches         ${v.breaches} (service level ${formatBps(v.minDeliveryBps)})`,
    `  escrow           ${formatAmount(v.escrow, token)}`,
    `  devices          ${v.devices.join(", ")}`,
    `  current epoch    ${v.currentEpoch}`,
  ];
}

function phase(o: OrderStructOutput, now: bigint): string {
  if (now < o.commitEndsAt) return `commit until ${formatTime(o.commitEndsAt)} (in ${formatDuration(o.commitEndsAt - now)})`;
  if (now < o.revealEndsAt) return `reveal until ${formatTime(o.revealEndsAt)} (in ${formatDuration(o.revealEndsAt - now)})`;
  return "auction over: waiting for market close-auction";
}

function until(at: bigint, now: bigint): string {
  return at > now ? ` (in ${formatDuration(at - now)})` : " (passed)";
}

/** "95%", "99.5%" for basis points. */
function formatBps(bps: bigint): string {
  return `${Number(bps) / 100}%`;
}

/* HELPERS */

interface TokenInfo {
  address: string;
  symbol: string;
  decimals: number;
  mesh: boolean;
}

function MESH_INFO(address: string): TokenInfo {
  return { address, symbol: "MESH", decimals: 18, mesh: true };
}

/** Symbol and decimals of a payment token (MESH without a call). */
async function tokenInfo(s: ReadSession, tokenAddress: string): Promise<TokenInfo> {
  const mesh = await s.meshwork.token.getAddress();
  if (getAddress(tokenAddress) === mesh) return MESH_INFO(mesh);
  const erc20 = IERC20Metadata__factory.connect(tokenAddress, s.provider);
  let decimals: number;
  try {
    decimals = Number(await erc20.decimals());
  } catch {
    throw new CliError(`token ${tokenAddress} does not answer decimals(): not an ERC20 token`);
  }
  let symbol: string;
  try {
    symbol = await erc20.symbol();
  } catch {
    symbol = `(token ${tokenAddress})`;
  }
  return { address: getAddress(tokenAddress), symbol, decimals, mesh: false };
}

/** Checks the balance and approves the Marketplace for `amount` of `token` when the allowance is short. */
async function fund(s: SendSession, token: TokenInfo, amount: bigint): Promise<void> {
  const erc20 = IERC20Metadata__factory.connect(token.address, s.wallet);
  const market = await s.meshwork.marketplace.getAddress();
  const [balance, allowance] = await Promise.all([erc20.balanceOf(s.account), erc20.allowance(s.account, market)]);
  if (balance < amount) {
    throw new CliError(`${s.account} holds ${formatAmount(balance, token)}, less than the ${formatAmount(amount, token)} needed`);
  }
  if (allowance < amount) await s.send("approve Marketplace", erc20.approve(market, amount));
}

async function loadOrder(s: ReadSession, orderId: bigint): Promise<OrderStructOutput> {
  const order = await s.meshwork.marketplace.getOrder(orderId);
  if (Number(order.status) === OrderStatus.None) {
    const count = await s.meshwork.marketplace.orderCount();
    throw new CliError(`unknown order ${orderId} (${count} order(s) posted so far)`);
  }
  return order;
}

async function openOrder(s: ReadSession, orderId: bigint): Promise<OrderStructOutput> {
  const order = await loadOrder(s, orderId);
  if (Number(order.status) !== OrderStatus.Open) {
    throw new CliError(`order ${orderId} is ${enumName(OrderStatus, order.status)}, not Open`);
  }
  return order;
}

async function loadLease(s: ReadSession, leaseId: bigint): Promise<LeaseStructOutput> {
  const lease = await s.meshwork.marketplace.getLease(leaseId);
  if (Number(lease.status) === LeaseStatus.None) {
    const order = await s.meshwork.marketplace.getOrder(leaseId);
    const why = Number(order.status) === OrderStatus.None ? "no such order either" : `order ${leaseId} is ${enumName(OrderStatus, order.status)}`;
    throw new CliError(`no lease ${leaseId} (${why})`);
  }
  return lease;
}

async function activeLease(s: ReadSession, leaseId: bigint): Promise<LeaseStructOutput> {
  const lease = await loadLease(s, leaseId);
  if (Number(lease.status) !== LeaseStatus.Active) {
    throw new CliError(`lease ${leaseId} is ${enumName(LeaseStatus, lease.status)}, not Active`);
  }
  return lease;
}

/** The first `name` event the Marketplace emitted in `receipt`. */
function findEvent(receipt: TransactionReceipt, s: ReadSession, name: string): LogDescription | null {
  const iface = s.meshwork.marketplace.interface;
  const at = s.meshwork.deployment.Marketplace.toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== at) continue;
    const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed?.name === name) return parsed;
  }
  return null;
}

function parseId(text: string, what: string): bigint {
  const id = parseUint(text, what);
  if (id === 0n) throw new CliError(`bad ${what} "${text}": ids start at 1`);
  return id;
}

/** A percentage with up to two decimals ("95", "99.5") as basis points. */
function parsePercentBps(text: string, what: string): bigint {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (m === null) throw new CliError(`bad ${what} "${text}": expected a percentage such as 95 or 99.5`);
  const bps = BigInt(m[1]) * 100n + BigInt((m[2] ?? "").padEnd(2, "0"));
  if (bps > BPS) throw new CliError(`bad ${what} "${text}": at most 100`);
  return bps;
}

function parseCell(text: string): bigint {
  const cell = text.trim().replace(/^0x/i, "").toLowerCase();
  try {
    return cellToUint64(cell);
  } catch {
    throw new CliError(`bad --region cell "${text}": not a valid H3 cell`);
  }
}

/** Addresses ascending by value, as the Marketplace wants a bid's devices. */
function compareAddresses(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The contract's `H3.contains`: `cell` lies in `region` (`region` is `cell` or one of its ancestors). */
function h3Contains(region: bigint, cell: bigint): boolean {
  const [r, c] = [region.toString(16), cell.toString(16)];
  if (!isValidCell(r) || !isValidCell(c)) return false;
  const res = getResolution(r);
  return getResolution(c) >= res && cellToParent(c, res) === r;
}
