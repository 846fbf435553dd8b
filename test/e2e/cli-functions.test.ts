/**
 * End-to-end test of `meshwork functions` (scripts/cli/functions/): Hardhat's in-process network served over HTTP by
 * Hardhat's own JSON-RPC server on a free port (the toolkit's ethers v5 signer talks to it like to any RPC), the
 * protocol deployed and handed to governance, two fake oracle nodes serving genuine `/v1/verdicts/:epoch/leaves`
 * documents (built by the node's own `leavesDocument` from really aggregated epochs), and every command run in-process
 * (`runCliInProcess`), as test/e2e/cli.test.ts does; one test spawns the CLI as a real process (`runCli`). The source
 * runs in Deno (`simulateScript`, a child process): `npx hardhat test` puts it on PATH. The chain is snapshotted
 * first and reverted afterwards, so the other test files see it as it was.
 *
 * Epochs: 0 has the oracles' verdict on chain (agree), 1 a different verdict on chain (differ), 2 none yet.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Interface, keccak256, parseEther, toUtf8Bytes } from "ethers";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";

import { readVerdictSource } from "../../oracles/functions/source";
import { leavesDocument } from "../../oracles/node/verdict-routes";
import { deploymentPath, readDeploymentFile, type FunctionsSection } from "../../sdk/deployment";
import { ConfirmationMode, ConfirmationStatus } from "../../sdk/enums";
import { verdictStructHash } from "../../sdk/verdict";
import { OracleHub__factory, FunctionsVerdictConfirmer__factory } from "../../typechain-types";
import { failureLine, runCli, runCliInProcess, succeeded, type Run } from "../helpers/cli";
import { aggregatedEpoch } from "../helpers/leaves";
import { makeVerdict, oracleWallets, signedBy } from "../helpers/verdicts";
import { advanceTo, deployNetwork, hardhatAccount, type Network } from "../../scripts/lib/localnet/network";

/** An HTTP server on a free 127.0.0.1 port. */
function listen(handler: RequestListener): Promise<{ server: Server; url: string }> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A success prints nothing on stderr (the toolkit's notices are kept off it). */
function quietly(run: Run): string {
  expect(run.stderr).to.equal("");
  return succeeded(run);
}

describe("e2e: meshwork functions CLI", function () {
  this.timeout(120_000);

  const deployer = hardhatAccount(0);
  const epochs = [0n, 1n, 2n].map((e) => aggregatedEpoch(e));
  /** What the fake oracle nodes serve at /v1/verdicts/<epoch>/leaves. */
  const documents = new Map(epochs.map((a) => [a.verdict.epoch.toString(), leavesDocument(a.verdict, a.file)]));

  let snapshot: string | undefined;
  let rpcServer: JsonRpcServer | undefined;
  let url: string;
  let network: Network;
  let dir: string;
  const servers: Server[] = [];
  let endpoints: string[];
  let downUrl: string;

  /**
   * Runs `meshwork <args> --deployments <dir>` in-process with MESHWORK_RPC_URL set, sending with `key` (if any);
   * `extraEnv` sets more variables for the run (PATH). Concurrent calls take turns (see `runCliInProcess`).
   */
  async function cli(args: string[], key?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    return runCliInProcess([...args, "--deployments", dir], { MESHWORK_RPC_URL: url, MESHWORK_KEY: key, ...extraEnv });
  }

  /** PATH without the folders holding a `deno` (node_modules/.bin among them). */
  function pathWithoutDeno(): string {
    const entries = (process.env.PATH ?? "").split(path.delimiter);
    return entries.filter((entry) => entry !== "" && !existsSync(path.join(entry, "deno"))).join(path.delimiter);
  }

  function recorded(): FunctionsSection {
    const section = readDeploymentFile(deploymentPath(31337, dir)).Functions;
    expect(section, "Functions section").to.not.equal(undefined);
    return section as FunctionsSection;
  }

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "meshwork-cli-functions-"));
    snapshot = (await hre.network.provider.request({ method: "evm_snapshot", params: [] })) as string;
    rpcServer = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
    url = `http://127.0.0.1:${(await rpcServer.listen()).port}`;
    network = await deployNetwork(url, {
      oracles: oracleWallets().map((w) => w.address),
      epochLength: 3600n,
      submissionWindow: 86_400n,
      deploymentFile: deploymentPath(31337, dir),
      governance: { guardian: hardhatAccount(6).address, arbitrator: hardhatAccount(7).address },
    });

    for (let i = 0; i < 2; i++) {
      const { server, url } = await listen((request, response) => {
        const epoch = /^\/v1\/verdicts\/(\d+)\/leaves$/.exec(request.url ?? "")?.[1];
        const document = epoch === undefined ? undefined : documents.get(epoch);
        if (document === undefined) response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
        else response.writeHead(200, { "content-type": "application/json" }).end(document);
      });
      servers.push(server);
      endpoints = [...(endpoints ?? []), url];
    }
    const down = await listen((_request, response) => response.end());
    downUrl = down.url;
    await close(down.server);

    // Epochs 0..2 ended; the committee's verdict of epoch 0 is the oracles' own, that of epoch 1 is not.
    const { config, hub } = network.contracts;
    await advanceTo(network.provider, (await config.epochEnd(2)) + 1n);
    const committee = oracleWallets().slice(0, 3);
    for (const verdict of [epochs[0].verdict, makeVerdict(1n)]) {
      await (await hub.submitVerdict(verdict, await signedBy(hub, verdict, committee))).wait();
    }
  });

  after(async function () {
    network?.provider.destroy();
    await Promise.all(servers.map(close));
    await rpcServer?.close();
    if (snapshot !== undefined) await hre.network.provider.request({ method: "evm_revert", params: [snapshot] });
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses bad input, a missing Functions section, a non-local chain and a missing Deno with one line and exit 1", async function () {
    const [missing, quorum, endpoint, option, foreign, noDeno] = await Promise.all([
      cli(["functions", "simulate", "--epoch", "0"]),
      cli(["functions", "deploy-local", "--endpoints", endpoints.join(","), "--quorum", "1"], deployer.privateKey),
      cli(["functions", "deploy-local", "--endpoints", "ftp://oracle.example"], deployer.privateKey),
      cli(["functions", "simulate", "--epoch", "0", "--bogus"]),
      foreignChainRun(),
      cli(["functions", "simulate", "--epoch", "0", "--endpoints", endpoints[0]], undefined, { PATH: pathWithoutDeno() }),
    ]);
    expect(failureLine(missing)).to.include("has no Functions section");
    expect(failureLine(quorum)).to.include("bad --quorum 1: the confirmer needs a strict majority");
    expect(failureLine(endpoint)).to.include("endpoint is not an http(s) base URL");
    expect(failureLine(option)).to.include("unknown option '--bogus'");
    expect(failureLine(foreign)).to.include("works on a local Hardhat chain (id 31337) only; this RPC is chain 1");
    expect(failureLine(noDeno)).to.include("Deno is not on PATH");
  });

  /** deploy-local against an RPC that says it is chain 1 (it answers nothing else). */
  async function foreignChainRun(): Promise<Run> {
    const { server, url } = await listen((_request, response) =>
      response.writeHead(200, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'),
    );
    try {
      return await cli(["functions", "deploy-local", "--endpoints", endpoints.join(","), "--rpc", url], deployer.privateKey);
    } finally {
      await close(server);
    }
  }

  it("deploy-local deploys the toolkit's contracts, a funded subscription and the confirmer, and records them", async function () {
    const out = quietly(
      await cli(["functions", "deploy-local", "--endpoints", endpoints.join(","), "--link", "50"], deployer.privateKey),
    );
    const section = recorded();
    const timelock = network.deployment.MeshTimelock as string;
    expect(out).to.include(`FunctionsVerdictConfirmer ${section.confirmer}`);
    expect(out).to.include(`owner ${timelock}`);
    expect(out).to.include(`subscription ${section.subscriptionId} created and funded with 50.0 LINK`);
    const setConfirmation = new Interface(OracleHub__factory.abi).encodeFunctionData("setConfirmation", [
      section.confirmer,
      ConfirmationMode.MustAgree,
    ]);
    expect(out).to.include(`MustAgree calldata ${setConfirmation}`);

    const confirmer = FunctionsVerdictConfirmer__factory.connect(section.confirmer, network.provider);
    expect(await confirmer.owner()).to.equal(timelock);
    expect(await confirmer.subscriptionId()).to.equal(BigInt(section.subscriptionId));
    expect(await confirmer.donId()).to.equal(section.donId);
    expect(await confirmer.sourceHash()).to.equal(keccak256(toUtf8Bytes(readVerdictSource())));
    const [urls, quorum] = await confirmer.endpoints();
    expect([...urls]).to.deep.equal(endpoints);
    expect(quorum).to.equal(2n);
    // Every other key of the file is kept.
    const file = JSON.parse(await readFile(deploymentPath(31337, dir), "utf8")) as Record<string, unknown>;
    expect(file.OracleHub).to.equal(network.deployment.OracleHub);
  });

  it("subscription fund, show and create: owner, LINK balance, the confirmer as consumer", async function () {
    const section = recorded();
    const id = section.subscriptionId;
    const funded = quietly(await cli(["functions", "subscription", "fund", "--link", "5"], deployer.privateKey));
    expect(funded).to.match(new RegExp(`fund subscription ${id} with 5\\.0 LINK: tx 0x[0-9a-f]{64}`));
    expect(funded).to.include(
      `SubscriptionFunded(subscriptionId=${id}, oldBalance=${parseEther("50")}, newBalance=${parseEther("55")})`,
    );
    const [show, unknown, created] = await Promise.all([
      cli(["functions", "subscription", "show", "--subscription", id]),
      cli(["functions", "subscription", "show", "--subscription", "999"]),
      cli(["functions", "subscription", "create"], deployer.privateKey),
    ]);
    expect(quietly(created)).to.include(`SubscriptionCreated(subscriptionId=${BigInt(id) + 1n}, owner=${deployer.address})`);
    const shown = quietly(show);
    expect(shown).to.include(`owner          ${deployer.address}`);
    expect(shown).to.include("balance        55.0 LINK");
    expect(shown).to.include(`  ${section.confirmer}  (the confirmer)`);
    expect(failureLine(unknown)).to.include("subscription 999");
  });

  it("simulate: agrees with epoch 0's verdict, differs from epoch 1's, none for 2; fails when an endpoint is down", async function () {
    const [agree, differ, none, down] = await Promise.all([
      ...["0", "1", "2"].map((epoch) => cli(["functions", "simulate", "--epoch", epoch])),
      cli(["functions", "simulate", "--epoch", "0", "--endpoints", `${endpoints[0]},${downUrl}`, "--quorum", "2"]),
    ]);
    expect(quietly(agree)).to.include(`the oracles agree on verdict hash ${verdictStructHash(epochs[0].verdict)}`);
    expect(agree.stdout).to.include("agrees with the verdict on chain (Pending");
    expect(quietly(differ)).to.include(`the oracles agree on verdict hash ${verdictStructHash(epochs[1].verdict)}`);
    expect(differ.stdout).to.include("DIFFERS from the verdict on chain");
    expect(quietly(none)).to.include("no verdict on chain yet for epoch 2");
    // The source's own error text, on one line.
    expect(failureLine(down)).to.match(/the verdict source failed for epoch 0: no quorum: 1 of 2/);
  });

  it("request, fulfil and status: the DON confirms epoch 0's verdict, which agrees with the hub's", async function () {
    const requested = quietly(await cli(["functions", "request", "--epoch", "0"], deployer.privateKey));
    const requestId = /request id (0x[0-9a-f]{64})/.exec(requested)?.[1];
    expect(requestId, requested).to.be.a("string");
    expect(requested).to.include("ConfirmationRequested(epoch=0");

    const hash = verdictStructHash(epochs[0].verdict);
    const fulfilled = quietly(await cli(["functions", "fulfil"], deployer.privateKey));
    expect(fulfilled).to.include(`epoch 0, request ${requestId}: confirmed verdict hash ${hash}`);

    const section = recorded();
    const confirmer = FunctionsVerdictConfirmer__factory.connect(section.confirmer, network.provider);
    expect(await confirmer.confirmedVerdict(0)).to.equal(hash);
    expect((await confirmer.attemptOf(0)).status).to.equal(BigInt(ConfirmationStatus.Confirmed));

    const [status, again] = await Promise.all([
      cli(["functions", "status", "--epoch", "0"]),
      cli(["functions", "fulfil"], deployer.privateKey),
    ]);
    expect(quietly(status)).to.match(/hub mode\s+CommitteeOnly/);
    expect(status.stdout).to.match(/attempt\s+Confirmed/);
    expect(status.stdout).to.include(`request id    ${requestId}`);
    expect(status.stdout).to.include(`confirmed       ${hash}`);
    expect(status.stdout).to.include("agrees with the verdict on chain");
    expect(quietly(again)).to.include("no pending confirmation requests");
  });

  it("as a real process: a bad option exits 1 with one line on stderr; --help and a toolkit command exit 0", async function () {
    // The other tests run the CLI in-process; this one spawns it as a user does (`runCli`), for what only a process
    // shows: the exit status, everything on stderr (the toolkit's start-up notices kept off it), and that it ends.
    const env: NodeJS.ProcessEnv = { ...process.env, MESHWORK_RPC_URL: url, FORCE_COLOR: "0" };
    delete env.MESHWORK_KEY;
    const { subscriptionId } = recorded();
    const [bad, help, show] = await Promise.all([
      runCli(["functions", "simulate", "--epoch", "0", "--bogus", "--deployments", dir], env, 60_000),
      runCli(["functions", "--help"], env, 60_000),
      runCli(["functions", "subscription", "show", "--subscription", subscriptionId, "--deployments", dir], env, 60_000),
    ]);
    expect(failureLine(bad)).to.include("unknown option '--bogus'");
    expect(quietly(help)).to.include("Usage: meshwork functions").and.include("simulate");
    expect(quietly(show)).to.include(`owner          ${deployer.address}`);
  });
});
