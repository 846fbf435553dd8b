/**
 * End-to-end test of `meshwork market` (scripts/cli/market.ts), fast: the protocol is deployed to Hardhat's in-process
 * network, served over HTTP by Hardhat's own JSON-RPC server on a free port, and every command runs in-process
 * through `run(argv)` of scripts/cli/main.ts with stdout and stderr captured (`runCliInProcess` of test/helpers/cli.ts,
 * no process per command). The chain is snapshotted first and reverted afterwards, so the other test files see it as
 * it was.
 *
 * Accounts: 0 deploys (genesis holder, oracle admin), 10 is the provider (two Storage devices), 12 the customer, 13 a
 * third party (closes the auction, settles for the bounty). The oracle committee is `oracleWallets()`; a tiny HTTP
 * server plays the oracle node serving the verdict file whose `leases` the settle command reads.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Wallet, parseEther, type JsonRpcProvider } from "ethers";
import { cellToParent } from "h3-js";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";

import { advanceTo, deployNetwork, hardhatAccount, type Network } from "../../scripts/lib/localnet/network";
import { deploymentPath } from "../../sdk/deployment";
import { buildLeasesTree } from "../../sdk/trees";
import { FeeOnTransferToken__factory } from "../../typechain-types";
import { failureLine, runCliInProcess, succeeded, type Run } from "../helpers/cli";
import { makeVerdict, oracleWallets, signedBy } from "../helpers/verdicts";

const H3_CELL = "8c283082800b3ff";
const REGION = cellToParent(H3_CELL, 7);

describe("e2e: meshwork market CLI (in-process)", function () {
  this.timeout(60_000);

  const providerAccount = hardhatAccount(10);
  const customer = hardhatAccount(12);
  const third = hardhatAccount(13);

  let snapshot: string;
  let rpcServer: JsonRpcServer;
  let url: string;
  let dir: string;
  let deployments: string;
  let network: Network;
  let provider: JsonRpcProvider;
  let oracle: Server;
  let oracleUrl: string;
  let serve: unknown = null; // the verdict file the fake oracle serves
  const devices: string[] = []; // ascending

  /** Runs `meshwork <args>` in-process, sending with `key` (if any); stdout and stderr are captured. */
  async function cli(args: string[], key?: string): Promise<Run> {
    return runCliInProcess([...args, "--rpc", url, "--deployments", deployments], key === undefined ? {} : { MESHWORK_KEY: key });
  }

  async function nonce(address: string): Promise<number> {
    return provider.getTransactionCount(address);
  }

  before(async function () {
    snapshot = (await hre.network.provider.request({ method: "evm_snapshot", params: [] })) as string;
    rpcServer = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
    const { port } = await rpcServer.listen();
    url = `http://127.0.0.1:${port}`;

    dir = await mkdtemp(path.join(tmpdir(), "meshwork-market-"));
    deployments = path.join(dir, "deployments");
    network = await deployNetwork(url, {
      oracles: oracleWallets().map((w) => w.address),
      epochLength: 3600n,
      deploymentFile: deploymentPath(31337n, deployments),
    });
    provider = network.provider;
    const { token } = network.contracts;
    for (const [to, amount] of [
      [providerAccount.address, "100"],
      [customer.address, "200"],
      [third.address, "20"],
    ] as const) {
      await (await token.transfer(to, parseEther(amount))).wait();
    }

    oracle = createServer((request, response) => {
      if (request.url?.startsWith("/v1/verdicts/") === true && request.url.endsWith("/file") && serve !== null) {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(serve));
      } else {
        response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
      }
    });
    await new Promise<void>((resolve) => oracle.listen(0, "127.0.0.1", resolve));
    oracleUrl = `http://127.0.0.1:${(oracle.address() as AddressInfo).port}`;

    // The provider stakes and registers two Storage devices (60 units each) in H3_CELL, through the CLI.
    succeeded(await cli(["stake", "50"], providerAccount.privateKey));
    for (let i = 0; i < 2; i++) {
      const wallet = Wallet.createRandom();
      const keyFile = path.join(dir, `device-${i}.key`);
      await writeFile(keyFile, `${wallet.privateKey}\n`, { mode: 0o600 });
      const args = ["device", "register", "--device-key-file", keyFile, "--class", "Storage", "--capacity", "60"];
      succeeded(await cli([...args, "--location", H3_CELL], providerAccount.privateKey));
      devices.push(wallet.address);
    }
    devices.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  });

  after(async function () {
    provider?.destroy();
    await new Promise<void>((resolve) => (oracle === undefined ? resolve() : oracle.close(() => resolve())));
    await rpcServer?.close();
    if (snapshot !== undefined) await hre.network.provider.request({ method: "evm_revert", params: [snapshot] });
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("rejects a bad class and an escrow short of one epoch with one line and exit 1, sending nothing", async function () {
    const before = await nonce(customer.address);
    const order = ["market", "order", "--capacity", "100", "--epochs", "3", "--max-price", "10"];
    expect(failureLine(await cli([...order, "--class", "Bogus", "--escrow", "20"], customer.privateKey))).to.include(
      'unknown resource class "Bogus"',
    );
    expect(failureLine(await cli([...order, "--class", "Storage", "--escrow", "5"], customer.privateKey))).to.include(
      "does not pay for one epoch at --max-price 10.0 MESH",
    );
    expect(failureLine(await cli([...order, "--class", "Storage", "--escrow", "20", "--region", "zz"], customer.privateKey))).to.include(
      'bad --region cell "zz"',
    );
    expect(failureLine(await cli(["market", "lease", "7"]))).to.include("no lease 7 (no such order either)");
    expect(await nonce(customer.address)).to.equal(before);
  });

  it("order approves the Marketplace, posts, and prints the order id and the auction's deadlines", async function () {
    const out = succeeded(
      await cli(
        ["market", "order", "--class", "Storage", "--capacity", "100", "--epochs", "3", "--max-price", "10", "--escrow", "20"]
          .concat(["--region", REGION]),
        customer.privateKey,
      ),
    );
    expect(out).to.match(/approve Marketplace: tx 0x[0-9a-f]{64}/);
    expect(out).to.include(`OrderPosted(orderId=1, customer=${customer.address}`);
    expect(out).to.include("note: the escrow pays for 2 of 3 epoch(s)");
    expect(out).to.match(/^order 1$/m);
    expect(out).to.match(/commit bids until {2}\d{4}-\d\d-\d\dT.*\(in 1h\)/);
    expect(out).to.match(/reveal bids until {2}\d{4}-\d\d-\d\dT.*\(in 2h\)/);

    const gpu = ["market", "order", "--class", "ComputeGpu", "--capacity", "1", "--epochs", "1", "--max-price", "1"];
    expect(succeeded(await cli([...gpu, "--escrow", "1"], customer.privateKey))).to.match(/^order 2$/m);
  });

  it("orders lists the open orders the provider's devices can serve; --all lists every one", async function () {
    const mine = succeeded(await cli(["market", "orders"], providerAccount.privateKey));
    expect(mine).to.include(`open orders for the devices of ${providerAccount.address}: 1`);
    expect(mine).to.include("order 1  Storage  capacity 100  3 epoch(s)  max 10.0 MESH/epoch  min delivery 95%");
    expect(mine).to.include(`your devices: ${devices.join(", ")}`);
    expect(mine).to.not.include("order 2");

    const all = succeeded(await cli(["market", "orders", "--all"]));
    expect(all).to.include("open orders: 2").and.include("order 1  Storage").and.include("order 2  ComputeGpu");

    const json = JSON.parse(succeeded(await cli(["market", "orders", "--json", "--provider", providerAccount.address]))) as {
      orders: { orderId: string; resourceClass: string; region: string[]; devices: string[] }[];
    };
    expect(json.orders.map((o) => [o.orderId, o.resourceClass, o.region, o.devices])).to.deep.equal([
      ["1", "Storage", [REGION], devices],
    ]);
  });

  it("bid commits with a 0600 bid file of the sorted devices and refuses to overwrite it", async function () {
    const file = path.join(dir, "bids", `31337-1-${providerAccount.address}.json`);
    const bid = ["market", "bid", "1", "--price", "8", "--device", devices[1], devices[0]];
    const out = succeeded(await cli(bid, providerAccount.privateKey));
    expect(out).to.include(`bid saved to ${file} (mode 0600)`);
    expect(out).to.match(/approve Marketplace: tx 0x[0-9a-f]{64}/);
    expect(out).to.include(`BidCommitted(orderId=1, bidIndex=0, provider=${providerAccount.address}`);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    const saved = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    expect(saved).to.include({ chainId: "31337", orderId: "1", provider: providerAccount.address, price: parseEther("8").toString() });
    expect(saved.devices).to.deep.equal(devices);
    expect(saved.salt).to.match(/^0x[0-9a-f]{64}$/);

    const before = await nonce(providerAccount.address);
    expect(failureLine(await cli(bid, providerAccount.privateKey))).to.include(`bid file ${file} exists already`);
    expect(failureLine(await cli(["market", "cancel", "1"], customer.privateKey))).to.include("order 1 has 1 bid(s)");
    expect(await nonce(providerAccount.address)).to.equal(before);
  });

  it("bids shows the order and its sealed bid", async function () {
    const out = succeeded(await cli(["market", "bids", "1"]));
    expect(out).to.include("order 1  Open  Storage");
    expect(out).to.include(`region        ${REGION}`);
    expect(out).to.include(`#0  ${providerAccount.address}  sealed`);
  });

  it("reveal needs the bid file and the reveal window; a bid after the commit window is refused", async function () {
    expect(failureLine(await cli(["market", "reveal", "1"], third.privateKey))).to.include("no bid file");
    expect(failureLine(await cli(["market", "reveal", "1"], providerAccount.privateKey))).to.include(
      "the reveal window of order 1 opens at",
    );
    const order = await network.contracts.marketplace.getOrder(1);
    await advanceTo(provider, order.commitEndsAt);

    const before = await nonce(third.address);
    const late = failureLine(await cli(["market", "bid", "1", "--price", "5", "--device", devices[0]], third.privateKey));
    expect(late).to.include("the commit window of order 1 closed at");
    expect(await nonce(third.address)).to.equal(before);

    const out = succeeded(await cli(["market", "reveal", "1"], providerAccount.privateKey));
    expect(out).to.include(`BidRevealed(orderId=1, bidIndex=0, provider=${providerAccount.address}, pricePerEpoch=${parseEther("8")})`);

    const json = JSON.parse(succeeded(await cli(["market", "bids", "1", "--json"]))) as {
      order: { status: string; bidCount: string };
      bids: { provider: string; revealed: boolean; pricePerEpoch: string | null; devices: string[] }[];
    };
    expect(json.order).to.include({ status: "Open", bidCount: "1" });
    expect(json.bids).to.have.length(1);
    expect(json.bids[0]).to.include({ provider: providerAccount.address, revealed: true, pricePerEpoch: parseEther("8").toString() });
    expect(json.bids[0].devices).to.deep.equal(devices);
  });

  it("close-auction (anyone, after the reveal window) makes the lease, which lease shows", async function () {
    expect(failureLine(await cli(["market", "close-auction", "1"], third.privateKey))).to.include(
      "the auction of order 1 is not over",
    );
    const order = await network.contracts.marketplace.getOrder(1);
    await advanceTo(provider, order.revealEndsAt);
    const out = succeeded(await cli(["market", "close-auction", "1"], third.privateKey));
    expect(out).to.include(`LeaseStarted(leaseId=1, customer=${customer.address}, provider=${providerAccount.address}`);
    expect(out).to.match(/order 1 is now lease 1: provider 0x[0-9a-fA-F]{40} at 8\.0 MESH per epoch, epochs \d+\.\.\d+/);

    const lease = await network.contracts.marketplace.getLease(1);
    const human = succeeded(await cli(["market", "lease", "1"]));
    expect(human).to.include("lease 1  Active");
    expect(human).to.include("price            8.0 MESH per epoch (fee 1%)");
    expect(human).to.include(`epochs           ${lease.startEpoch}..${lease.startEpoch + 1n} (term through ${lease.startEpoch + 2n}`);
    expect(human).to.include("settled through  nothing settled yet");
    expect(human).to.include("escrow           16.0 MESH");

    const json = JSON.parse(succeeded(await cli(["market", "lease", "1", "--json"]))) as Record<string, unknown>;
    expect(json).to.include({ status: "Active", closing: false, pricePerEpoch: parseEther("8").toString(), settledThrough: null });
    expect(json.devices).to.deep.equal(devices);

    expect(succeeded(await cli(["market", "orders"], providerAccount.privateKey))).to.include(
      "has no Active, unleased device",
    );
  });

  it("top-up pulls only what the rest of the term needs", async function () {
    const out = succeeded(await cli(["market", "top-up", "1", "20"], customer.privateKey));
    expect(out).to.include("only 8.0 MESH is needed for the rest of the term");
    const lease = await network.contracts.marketplace.getLease(1);
    expect(out).to.include(`LeaseToppedUp(leaseId=1, funder=${customer.address}, amount=${parseEther("8")}, endEpoch=${lease.termEndEpoch})`);
    expect(failureLine(await cli(["market", "top-up", "1", "1"], customer.privateKey))).to.include("already pays for its whole term");
  });

  it("settle refuses a verdict file without the lease, then settles, showing a third party's bounty", async function () {
    const { marketplace, hub, config } = network.contracts;
    const lease = await marketplace.getLease(1);
    const epoch = lease.startEpoch;
    const tree = buildLeasesTree([
      { leaseId: 1n, delivered: 9_500n, breaches: 0n },
      { leaseId: 99n, delivered: 10_000n, breaches: 0n },
    ]);
    await advanceTo(provider, (await config.epochEnd(epoch)) + 1n);
    const verdict = makeVerdict(epoch, { leasesRoot: tree.root });
    await (await hub.submitVerdict(verdict, await signedBy(hub, verdict, oracleWallets().slice(0, 3)))).wait();
    await advanceTo(provider, (await hub.getVerdict(epoch)).challengeEndsAt + 1n);
    await (await hub.finaliseVerdict(epoch)).wait();

    const entry = (i: number, leaseId: bigint, delivered: bigint) => ({
      leaseId: leaseId.toString(),
      deliveredBps: Number(delivered),
      delivered: delivered.toString(),
      breaches: "0",
      leaf: tree.leafHashAt(i),
      proof: tree.getProof(i),
    });
    const file = { epoch: epoch.toString(), leasesRoot: tree.root, leases: [entry(0, 1n, 9_500n), entry(1, 99n, 10_000n)] };
    serve = { ...file, leases: file.leases.filter((l) => l.leaseId !== "1") };
    const before = await nonce(third.address);
    expect(failureLine(await cli(["market", "settle", "1", "--oracle", oracleUrl], third.privateKey))).to.include(
      `lease 1 is not in the verdict file of epoch ${epoch}`,
    );
    expect(await nonce(third.address)).to.equal(before);

    serve = file;
    const out = succeeded(await cli(["market", "settle", "1", "--oracle", oracleUrl], third.privateKey));
    const paid = parseEther("7.6");
    expect(out).to.include(`settling lease 1 for epoch ${epoch} with the verdict of epoch ${epoch}: delivered 95% on average`);
    expect(out).to.include(`bounty to ${third.address} (third-party settler): 0.038 MESH`);
    expect(out).to.include(
      `LeaseSettled(leaseId=1, verdictEpoch=${epoch}, throughEpoch=${epoch}, paid=${paid}, refunded=${parseEther("0.4")}, ` +
        `fee=${paid / 100n}, bounty=${(paid * 50n) / 10_000n}, settler=${third.address})`,
    );
    const json = JSON.parse(succeeded(await cli(["market", "lease", "1", "--json"]))) as Record<string, unknown>;
    expect(json).to.include({ settledThrough: epoch.toString(), deliveredPercent: 95, breaches: "0" });
  });

  it("withdraw pays the provider's credit (earnings and bid deposit); an empty credit is refused", async function () {
    const { marketplace, token } = network.contracts;
    const credit = await marketplace.credit(providerAccount.address, await token.getAddress());
    expect(credit).to.equal(parseEther("5") + parseEther("7.6") - parseEther("0.076") - parseEther("0.038"));
    const balance = await token.balanceOf(providerAccount.address);
    const out = succeeded(await cli(["market", "withdraw"], providerAccount.privateKey));
    expect(out).to.include(`Withdrawn(account=${providerAccount.address}`);
    expect((await token.balanceOf(providerAccount.address)) - balance).to.equal(credit);
    expect(failureLine(await cli(["market", "withdraw"], providerAccount.privateKey))).to.include("nothing is credited");
  });

  it("notice is for the lease's parties only; cancel withdraws an order without bids", async function () {
    expect(failureLine(await cli(["market", "notice", "1"], third.privateKey))).to.include("may give notice");
    expect(failureLine(await cli(["market", "close-breach", "1"], customer.privateKey))).to.include(
      "has 0 settled breach(es), closing for breach needs 3",
    );
    expect(succeeded(await cli(["market", "notice", "1"], customer.privateKey))).to.include(
      `LeaseNoticeGiven(leaseId=1, by=${customer.address}`,
    );
    expect(failureLine(await cli(["market", "cancel", "2"], third.privateKey))).to.include("only the customer");
    const out = succeeded(await cli(["market", "cancel", "2"], customer.privateKey));
    expect(out).to.include("OrderCancelled(orderId=2)");
    expect(out).to.include("escrow credited back: market withdraw");
  });

  it("order in another payment token: refused until governance allows it, then amounts in that token", async function () {
    const tusd = await new FeeOnTransferToken__factory(network.deployer).deploy("Test USD", "TUSD", 0);
    const address = await tusd.getAddress();
    await (await tusd.mint(customer.address, parseEther("50"))).wait();
    const order = ["market", "order", "--class", "Storage", "--capacity", "1", "--epochs", "2", "--max-price", "2.5"];
    expect(failureLine(await cli([...order, "--escrow", "5", "--token", address], customer.privateKey))).to.include(
      `token ${address} is not a payment token`,
    );
    await (await network.contracts.config.setPaymentToken(address, true)).wait();
    expect(failureLine(await cli([...order, "--escrow", "60", "--token", address], customer.privateKey))).to.include(
      "holds 50.0 TUSD, less than the 60.0 TUSD needed",
    );
    const out = succeeded(await cli([...order, "--escrow", "5", "--token", address], customer.privateKey));
    expect(out).to.match(/^order 3$/m);
    expect(succeeded(await cli(["market", "bids", "3"]))).to.include("max price     2.5 TUSD per epoch");
    succeeded(await cli(["market", "cancel", "3"], customer.privateKey));
    const withdrawn = succeeded(await cli(["market", "withdraw", "--token", address], customer.privateKey));
    expect(withdrawn).to.include("withdrawing 5.0 TUSD");
    expect(await tusd.balanceOf(customer.address)).to.equal(parseEther("50"));
  });
});
