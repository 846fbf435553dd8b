/**
 * End-to-end test of the CLI (scripts/cli): Hardhat's in-process network served over HTTP by Hardhat's own JSON-RPC
 * server on a free port, the protocol deployed to it by `scripts/deploy.ts` (with governance, run as `npx hardhat run
 * --network remote` in its own process), and every command run in-process through `run(argv)` of scripts/cli/main.ts
 * (`runCliInProcess`) with MESHWORK_RPC_URL / MESHWORK_KEY / --deployments, checking exit codes and output, success
 * and failure paths. One test runs the CLI as a real process (`runCli`), for what only a process shows: its exit
 * status and stderr, and that it ends. The chain is snapshotted first and reverted afterwards, so the other test files
 * see it as it was.
 *
 * Accounts: 0 deploys and holds the genesis supply (governance), 10 is an operator, 11 a delegator. The oracle
 * committee is `oracleWallets()`, so the test can sign and finalise a verdict for the claim path.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { JsonRpcProvider, Wallet, ZeroHash, parseEther } from "ethers";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";

import { connectMeshwork, type Meshwork } from "../../sdk/deployment";
import { DeviceStatus, FaultKind, FaultParam, Param } from "../../sdk/enums";
import { exec, failureLine, runCli, runCliInProcess, succeeded, type Run } from "../helpers/cli";
import { makeVerdict, oracleWallets, signedBy } from "../helpers/verdicts";
import { advanceTo, freePort, hardhatAccount } from "../../scripts/lib/localnet/network";

const H3_CELL = "8c283082800b3ff";

describe("e2e: meshwork CLI", function () {
  this.timeout(180_000);

  let snapshot: string | undefined;
  let rpcServer: JsonRpcServer | undefined;
  let url: string;
  let dir: string;
  let provider: JsonRpcProvider;
  let meshwork: Meshwork;
  let server: Server | undefined;
  let serve: unknown = null; // what the fake oracle serves as the verdict file

  const deployer = hardhatAccount(0);
  const operator = hardhatAccount(10);
  const delegator = hardhatAccount(11);
  let deviceKeyFile: string;
  let deviceAddress: string;
  let oracleUrl: string;

  /** Runs `meshwork <args> --deployments <dir>` in-process with MESHWORK_RPC_URL set, sending with `key` (if any). */
  async function cli(args: string[], key?: string): Promise<Run> {
    return runCliInProcess([...args, "--deployments", dir], { MESHWORK_RPC_URL: url, MESHWORK_KEY: key });
  }

  async function latest(): Promise<bigint> {
    const block = await provider.getBlock("latest");
    return BigInt(block?.timestamp ?? 0);
  }

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "meshwork-cli-"));
    snapshot = (await hre.network.provider.request({ method: "evm_snapshot", params: [] })) as string;
    rpcServer = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
    url = `http://127.0.0.1:${(await rpcServer.listen()).port}`;
    const deployed = await exec(
      "npx",
      ["hardhat", "run", "--no-compile", "--network", "remote", "scripts/deploy.ts"],
      {
        ...process.env,
        MESHWORK_RPC_URL: url,
        DEPLOYER_KEY: deployer.privateKey,
        DEPLOYMENTS_DIR: dir,
        EPOCH_LENGTH: "3600",
        ORACLES: oracleWallets().map((w) => w.address).join(","),
        GUARDIAN: hardhatAccount(6).address,
        ARBITRATOR: hardhatAccount(7).address,
      },
      180_000,
    );
    expect(deployed.code, `deploy failed:\n${deployed.stderr}\n${deployed.stdout}`).to.equal(0);

    provider = new JsonRpcProvider(url, undefined, { pollingInterval: 50, cacheTimeout: -1 });
    meshwork = await connectMeshwork(deployer.connect(provider), { dir });
    expect(meshwork.governance).to.not.equal(null);
    // The operator and the delegator get MESH from the genesis holder.
    await (await meshwork.token.transfer(operator.address, parseEther("1000"))).wait();
    await (await meshwork.token.transfer(delegator.address, parseEther("500"))).wait();

    server = createServer((request, response) => {
      if (request.url?.startsWith("/v1/verdicts/") === true && request.url.endsWith("/file") && serve !== null) {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(serve));
      } else {
        response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
      }
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    oracleUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async function () {
    provider?.destroy();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await rpcServer?.close();
    if (snapshot !== undefined) await hre.network.provider.request({ method: "evm_revert", params: [snapshot] });
    await rm(dir, { recursive: true, force: true });
  });

  it("rejects bad input, unknown commands, an unreachable RPC and a wrong network with one line and exit 1", async function () {
    expect(failureLine(await cli(["stake", "12abc"], operator.privateKey))).to.include('bad amount "12abc"');
    expect(failureLine(await cli(["frobnicate"]))).to.include("unknown command 'frobnicate'");
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    expect(failureLine(await cli(["status", operator.address, "--rpc", unreachable]))).to.include(
      `cannot reach the RPC at ${unreachable}`,
    );
    const empty = await mkdtemp(path.join(tmpdir(), "meshwork-cli-empty-"));
    try {
      const run = await runCliInProcess(["status", operator.address, "--deployments", empty], { MESHWORK_RPC_URL: url });
      expect(failureLine(run)).to.include("no deployment for chain 31337");
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    expect(failureLine(await cli(["gov", "propose", "--param", "Bogus", "--value", "1"], deployer.privateKey))).to.include(
      'unknown parameter "Bogus"',
    );
  });

  it("as a real process: a bad command exits 1 with one line on stderr, --help and a command on the chain exit 0", async function () {
    // The other tests run the CLI in-process; this one spawns it as a user does (`runCli`), for what only a process
    // shows: the exit status, everything on stderr, and that it ends after talking to the RPC.
    const env: NodeJS.ProcessEnv = { ...process.env, MESHWORK_RPC_URL: url, FORCE_COLOR: "0" };
    delete env.MESHWORK_KEY;
    const [bad, help, status] = await Promise.all([
      runCli(["frobnicate", "--deployments", dir], env),
      runCli(["--help"], env),
      runCli(["status", operator.address, "--json", "--deployments", dir], env),
    ]);
    expect(failureLine(bad)).to.include("unknown command 'frobnicate'");
    expect(succeeded(help)).to.include("Usage: meshwork").and.include("status");
    expect(help.stderr).to.equal("");
    expect(JSON.parse(succeeded(status))).to.include({ selfStake: "0" });
    expect(status.stderr).to.equal("");
  });

  it("device keygen writes a 0600 key file and prints only the address", async function () {
    deviceKeyFile = path.join(dir, "device.key");
    const out = succeeded(await cli(["device", "keygen", "--out", deviceKeyFile]));
    const key = (await readFile(deviceKeyFile, "utf8")).trim();
    deviceAddress = new Wallet(key).address;
    expect(out).to.include(`device ${deviceAddress}`);
    expect(out).to.not.include(key.slice(2));
    expect((await stat(deviceKeyFile)).mode & 0o777).to.equal(0o600);
  });

  it("device register is refused before sending when the self-stake does not cover the device", async function () {
    const before = await provider.getTransactionCount(operator.address);
    const line = failureLine(
      await cli(
        ["device", "register", "--device-key-file", deviceKeyFile, "--class", "Coverage", "--capacity", "1", "--location", H3_CELL],
        operator.privateKey,
      ),
    );
    expect(line).to.include("insufficient self-stake").and.include("need 100.0 MESH");
    expect(await provider.getTransactionCount(operator.address)).to.equal(before);
  });

  it("stake approves Staking and stakes, printing the hashes and decoded events", async function () {
    const out = succeeded(await cli(["stake", "150"], operator.privateKey));
    expect(out).to.match(/approve Staking: tx 0x[0-9a-f]{64}/);
    expect(out).to.match(/stake: tx 0x[0-9a-f]{64}/);
    expect(out).to.include(`Staked(operator=${operator.address}, amount=${parseEther("150")})`);
    expect(await meshwork.staking.selfStake(operator.address)).to.equal(parseEther("150"));
  });

  it("device register signs with the device key and registers; a second registration is refused", async function () {
    const args = ["device", "register", "--device-key-file", deviceKeyFile, "--class", "Coverage", "--capacity", "1"];
    const out = succeeded(await cli([...args, "--location", H3_CELL, "--metadata", "ipfs://hotspot"], operator.privateKey));
    expect(out).to.match(/register 0x[0-9a-fA-F]{40}: tx 0x[0-9a-f]{64}/);
    expect(out).to.include(`DeviceRegistered(device=${deviceAddress}, operator=${operator.address}, resourceClass=0`);
    expect((await meshwork.registry.getDevice(deviceAddress)).status).to.equal(BigInt(DeviceStatus.Active));

    expect(failureLine(await cli([...args, "--location", H3_CELL], operator.privateKey))).to.include(
      `device ${deviceAddress} is already registered`,
    );
  });

  it("status shows the operator's devices and stake, human-readable and as JSON", async function () {
    const human = succeeded(await cli(["status", operator.address]));
    expect(human).to.include("self-stake      150.0 MESH");
    expect(human).to.include("required stake  100.0 MESH (covered)");
    expect(human).to.include(`${deviceAddress}  Coverage  capacity 1  Active  cell ${H3_CELL}`);

    const json = JSON.parse(succeeded(await cli(["status", operator.address, "--json"]))) as {
      selfStake: string;
      requiredStake: string;
      devices: { device: string; status: string }[];
    };
    expect(json.selfStake).to.equal(parseEther("150").toString());
    expect(json.requiredStake).to.equal(parseEther("100").toString());
    expect(json.devices).to.deep.equal([
      { device: deviceAddress, resourceClass: "Coverage", status: "Active", capacity: "1", location: H3_CELL, metadataURI: "ipfs://hotspot" },
    ]);
  });

  it("claim fails with one line while no root is finalised", async function () {
    expect(failureLine(await cli(["claim", "--oracle", oracleUrl], operator.privateKey))).to.include(
      "no finalised rewards root yet",
    );
  });

  it("claim refuses a verdict file whose root differs from the chain's, and claims with the right one", async function () {
    // Finalise epoch 0 with a one-leaf rewards tree: 5 MESH for the device.
    const reward = parseEther("5");
    const tree = StandardMerkleTree.of([[deviceAddress, reward]], ["address", "uint256"]);
    const verdict = makeVerdict(0n, { rewardsRoot: tree.root, devicesCounted: 1n });
    const epochEnd = await meshwork.config.epochEnd(0);
    await advanceTo(provider, epochEnd + 1n);
    const hub = meshwork.hub;
    await (await hub.submitVerdict(verdict, await signedBy(hub, verdict, oracleWallets().slice(0, 3)))).wait();
    const record = await hub.getVerdict(0);
    await advanceTo(provider, record.challengeEndsAt + 1n);
    await (await hub.finaliseVerdict(0)).wait();

    const file = (root: string) => ({
      epoch: "0",
      rewardsRoot: root,
      rewards: [{ device: deviceAddress, cumulative: reward.toString(), proof: tree.getProof(0) }],
    });
    serve = file(ZeroHash.replace(/0$/, "1"));
    const before = await provider.getTransactionCount(operator.address);
    expect(failureLine(await cli(["claim", "--oracle", oracleUrl], operator.privateKey))).to.include(
      `but the root on-chain is ${tree.root}`,
    );
    expect(await provider.getTransactionCount(operator.address)).to.equal(before);

    serve = file(tree.root);
    const out = succeeded(await cli(["claim", "--oracle", oracleUrl], operator.privateKey));
    expect(out).to.match(/claim: tx 0x[0-9a-f]{64}/);
    expect(out).to.include(`RewardsClaimed(device=${deviceAddress}, operator=${operator.address}, amount=${reward}`);
    expect(await meshwork.distributor.claimed(deviceAddress)).to.equal(reward);
  });

  it("delegate, undelegate and unstake queue stake; withdraw pays it after the unbonding period", async function () {
    const delegated = succeeded(await cli(["delegate", operator.address, "100"], delegator.privateKey));
    expect(delegated).to.include(`Delegated(delegator=${delegator.address}, operator=${operator.address}, amount=${parseEther("100")}`);

    const undelegated = succeeded(await cli(["undelegate", operator.address, "40"], delegator.privateKey));
    expect(undelegated).to.include(`Undelegated(delegator=${delegator.address}, operator=${operator.address}, amount=`);
    const [, left] = await meshwork.staking.delegationOf(operator.address, delegator.address);
    expect(left).to.be.closeTo(parseEther("60"), 1n);

    expect(failureLine(await cli(["unstake", "100"], operator.privateKey))).to.include("below the 100.0 MESH");
    expect(succeeded(await cli(["unstake", "50"], operator.privateKey))).to.include(`Unstaked(operator=${operator.address}, amount=${parseEther("50")}`);

    expect(failureLine(await cli(["withdraw"], delegator.privateKey))).to.include("nothing to withdraw yet");
    const unbonding = await meshwork.config.param(Param.UnbondingPeriod);
    await advanceTo(provider, (await latest()) + unbonding + 10n);
    const balance = await meshwork.token.balanceOf(delegator.address);
    const out = succeeded(await cli(["withdraw"], delegator.privateKey));
    expect(out).to.match(/Withdrawn\(staker=0x[0-9a-fA-F]{40}, amount=\d+, requests=1\)/);
    expect((await meshwork.token.balanceOf(delegator.address)) - balance).to.be.closeTo(parseEther("40"), 1n);
  });

  it("gov propose refuses an out-of-bounds value before sending, showing the bounds", async function () {
    const governor = meshwork.governance!.governor;
    const line = failureLine(
      await cli(["gov", "propose", "--param", "RateBps", "--fault", "MissedDuty", "--value", "6000"], deployer.privateKey),
    );
    expect(line).to.include("outside its on-chain bounds [0, 5000]");
    expect(await governor.queryFilter(governor.filters.ProposalCreated())).to.have.length(0);
  });

  it("governance end to end: delegate, propose RateBps, vote, queue, execute, show Executed", async function () {
    const { governor, timelock } = meshwork.governance!;
    expect(succeeded(await cli(["gov", "delegate"], deployer.privateKey))).to.include(
      `DelegateChanged(delegator=${deployer.address}`,
    );
    await advanceTo(provider, (await latest()) + 2n);

    const proposed = succeeded(
      await cli(["gov", "propose", "--param", "RateBps", "--fault", "MissedDuty", "--value", "20"], deployer.privateKey),
    );
    expect(proposed).to.include("ProposalCreated(");
    const id = /proposal id (\d+)/.exec(proposed)?.[1];
    expect(id, proposed).to.be.a("string");
    const proposalId = BigInt(id as string);

    expect(failureLine(await cli(["gov", "vote", id as string, "for"], deployer.privateKey))).to.include("is Pending, not Active");

    await advanceTo(provider, (await governor.proposalSnapshot(proposalId)) + 1n);
    expect(succeeded(await cli(["gov", "vote", id as string, "for"], deployer.privateKey))).to.include(
      `VoteCast(voter=${deployer.address}, proposalId=${id}, support=1`,
    );

    await advanceTo(provider, (await governor.proposalDeadline(proposalId)) + 1n);
    expect(succeeded(await cli(["gov", "queue", id as string], deployer.privateKey))).to.include("ProposalQueued(");

    await advanceTo(provider, (await latest()) + (await timelock.getMinDelay()) + 1n);
    const executed = succeeded(await cli(["gov", "execute", id as string], deployer.privateKey));
    expect(executed).to.include("ProposalExecuted(");
    expect(executed).to.include(`FaultParamSet(kind=${FaultKind.MissedDuty}, param=${FaultParam.RateBps}, value=20)`);
    expect(await meshwork.config.faultParam(FaultKind.MissedDuty, FaultParam.RateBps)).to.equal(20n);

    const shown = succeeded(await cli(["gov", "show", id as string]));
    expect(shown).to.match(/state\s+Executed/);
    expect(shown).to.include("setFaultParam(MissedDuty, RateBps, 20)");
  });
});
