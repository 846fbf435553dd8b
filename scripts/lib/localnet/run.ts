/**
 * `npm start`: a whole Meshwork network on this machine, end to end.
 *
 * A Hardhat node (or the chain at `--chain`), the protocol deployed and handed to governance, five oracle processes
 * (3-of-5), a simulated fleet of every class with cheaters and absentees, and `epochs` epochs driven on chain time
 * (epochs last two days of chain time; the chain is moved forward instead of waiting). Along the way a provider joins
 * through the operator CLI and runs a compute device, a governance proposal changes the class split, one oracle is
 * killed, every device's rewards are claimed; then a summary. Figures in the summary are read back from the chain and
 * from the verdict files the oracles published.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { ethers, Wallet } from "ethers";

import { createFleet, Device, fleetProofs, type Behaviour, type Fleet } from "../../../oracles/agent";
import { proofDomain, type ProofRecord } from "../../../oracles/proof";
import { deploymentPath, readDeploymentFile } from "../../../sdk/deployment";
import { startExplorer, type RunningExplorer } from "../../explorer/server";
import { writeFunctionsSection } from "../deployments";
import { ConfirmationMode, Param, ResourceClass } from "../../../sdk/enums";
import { deliverProofs, newDelivery, settleEpoch, type OracleEndpoint, type VerdictFile } from "./epochs";
import {
  advanceTo,
  deployNetwork,
  epochBounds,
  freePort,
  hardhatAccount,
  MESH,
  registerFleet,
  REPO_ROOT,
  startHardhatNode,
  type Network,
} from "./network";
import { confirmEpoch, deployLocalFunctions } from "./functions";
import { rentalUsage, rentResources, settleRentals, type Rental, type RentalUsage } from "./market";
import { oracleUrl, startOracle, type OracleNetworkSpec, type OracleSpec } from "./oracles";
import { waitFor, type ServiceProcess } from "./process";

export interface RunOptions {
  devices: number;
  epochs: number;
  keepRunning: boolean;
  /** JSON-RPC URL of a running node to use instead of starting one. */
  chain?: string;
  /** Where logs, stores, verdict files and the deployment go. */
  workdir: string;
  /** Also write the summary's figures as JSON here. */
  summaryJson?: string;
  seed: string;
  /** Port of the explorer web page (default: any free port). */
  explorerPort?: number;
  log: (line: string) => void;
}

export interface Summary {
  chainId: number;
  rpcUrl: string;
  epochs: {
    epoch: number;
    signers: number;
    /** Chainlink Functions confirmed the verdict before it finalised (from the governance proposal on). */
    confirmed: boolean;
    devicesPaid: number;
    faults: number;
    allocated: string;
  }[];
  finalisedEpochs: number;
  classes: {
    resourceClass: string;
    devices: number;
    score: string;
    rewards: string;
    claimed: string;
    slashes: number;
    slashed: string;
  }[];
  emission: { allocated: string; scheduled: string; minted: string };
  totalClaimed: string;
  slashedTotal: string;
  faultsApplied: number;
  jailed: Record<string, number>;
  provider: { operator: string; device: string; claimed: string };
  /** The customer's leases (compute and storage) and what they paid for verified delivery. */
  market: RentalUsage[];
  governance: { proposalId: string; state: string; splitBefore: number[]; splitAfter: number[]; fromEpoch: number };
  /** The Chainlink Functions confirmer the proposal makes the hub wait for. */
  confirmer: string;
  killedOracle: string | null;
  /** The oracles' HTTP addresses (all of them, the killed one included). */
  oracles: string[];
  /** The network explorer's page (served by this process while the network runs). */
  explorer: string;
  workdir: string;
}

const EPOCH_LENGTH = 2n * 86_400n;
/** With --keep-running, how long each epoch waits (30 s of chain time before its end) for agents outside. */
const AGENT_WAIT_MS = 20_000;
const HOUR = 3_600n;
const DAY = 86_400n;
const PROPORTIONS = { honest: 0.6, offline: 0.06, flaky: 0.1, lazy: 0.08, forging: 0.05, replaying: 0.05, spoofing: 0.06 };
const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"];
const className = (c: number): string => Object.keys(ResourceClass)[c] ?? String(c);
const mesh = (wei: bigint): string => Number(ethers.formatEther(wei)).toLocaleString("en-US", { maximumFractionDigits: 2 });

/** Runs the network; resolves with the summary (after `--keep-running`, once interrupted). */
export async function runLocalNetwork(options: RunOptions, stop: { signal: AbortSignal }): Promise<Summary> {
  const { log, workdir } = options;
  mkdirSync(workdir, { recursive: true });
  const children: ServiceProcess[] = [];
  const oracles = new Map<string, ServiceProcess>();
  const explorer: { running?: RunningExplorer } = {};
  const cleanup = async (): Promise<void> => {
    await explorer.running?.close();
    await Promise.all([...oracles.values()].map((p) => p.stop()));
    await Promise.all(children.map((p) => p.stop()));
  };
  // Ctrl-C: end the children at once, so whatever the run awaits fails fast.
  stop.signal.addEventListener("abort", () => void cleanup(), { once: true });
  try {
    const summary = await run(options, children, oracles, explorer, stop.signal);
    return summary;
  } finally {
    log("Stopping oracles and chain...");
    await cleanup();
  }
}

async function run(
  options: RunOptions,
  children: ServiceProcess[],
  oracles: Map<string, ServiceProcess>,
  explorer: { running?: RunningExplorer },
  signal: AbortSignal,
): Promise<Summary> {
  const { log, workdir } = options;
  const checkStop = (): void => {
    if (signal.aborted) throw new Error("interrupted");
  };

  // 1. Chain and deployment, handed to governance with short governance timings (chain time is moved forward).
  let url = options.chain;
  if (url === undefined) {
    const node = await startHardhatNode();
    children.push(node);
    url = node.url;
    log(`Chain: Hardhat node at ${url}`);
  } else log(`Chain: ${url}`);
  const oracleKeys = [1, 2, 3, 4, 5].map((i) => hardhatAccount(i));
  const guardian = hardhatAccount(6).address;
  const arbitrator = hardhatAccount(7).address;
  const deploymentsDir = path.join(workdir, "deployments");
  const network = await deployNetwork(url, {
    oracles: oracleKeys.map((k) => k.address),
    epochLength: EPOCH_LENGTH,
    challengeWindow: HOUR,
    submissionWindow: DAY,
    jailAfterMissedEpochs: 2n,
    params: { [Param.UnbondingPeriod]: DAY },
    governance: { guardian, arbitrator, votingDelay: HOUR, votingPeriod: DAY, quorumPercent: 4n },
  });
  const deploymentFile = deploymentPath(network.chainId, deploymentsDir);
  mkdirSync(deploymentsDir, { recursive: true });
  writeFileSync(deploymentFile, JSON.stringify(network.deployment, null, 2) + "\n");
  const { contracts } = network;
  const governance = network.governance!;
  log(`Deployed Meshwork (chain ${network.chainId}); every admin role is the timelock's. Addresses: ${deploymentFile}`);
  checkStop();

  // 2. The fleet, registered through its operators.
  const domain = proofDomain(network.chainId, await contracts.registry.getAddress());
  const fleet = createFleet({ count: options.devices, seed: options.seed, proportions: PROPORTIONS, domain });
  const registered = await registerFleet(network, fleet, { operators: Math.max(2, Math.ceil(options.devices / 25)) });
  const counts = new Map<Behaviour, number>();
  for (const m of fleet.members) counts.set(m.behaviour, (counts.get(m.behaviour) ?? 0) + 1);
  log(
    `Fleet: ${options.devices} devices of every class under ${registered.operators.length} operators ` +
      `(${[...counts.entries()].map(([b, n]) => `${n} ${b}`).join(", ")}), registered in ${registered.elapsedMs} ms`,
  );

  // 3. Five oracle processes.
  const specs: OracleSpec[] = [];
  for (const [i, key] of oracleKeys.entries()) {
    const id = `oracle-${i + 1}`;
    specs.push({
      id,
      key,
      port: await freePort(),
      storePath: path.join(workdir, `${id}.sqlite`),
      logFile: path.join(workdir, `${id}.log`),
    });
  }
  const spec: OracleNetworkSpec = {
    rpcUrl: url,
    deploymentFile,
    oracles: specs,
    env: { MESHWORK_POLL_MS: "300", MESHWORK_SYNC_INTERVAL_MS: "500", MESHWORK_STAGGER_MS: "2000" },
  };
  const started = await Promise.all(specs.map((o) => startOracle(spec, o)));
  specs.forEach((o, i) => oracles.set(o.id, started[i]));
  log(`Oracles: ${specs.map((o) => `${o.id} ${oracleUrl(o)}`).join(", ")} (3 of 5 sign a verdict)`);
  const live = (): OracleEndpoint[] => specs.filter((o) => oracles.has(o.id)).map((o) => ({ id: o.id, url: oracleUrl(o) }));
  checkStop();

  // 3b. Chainlink Functions: a second verdict source reading the same five oracles.
  const confirmations = await deployLocalFunctions(network, specs.map(oracleUrl), await governance.timelock.getAddress());
  const confirmer = await confirmations.confirmer.getAddress();
  writeFunctionsSection(deploymentFile, {
    ...confirmations.functions,
    confirmer,
    subscriptionId: confirmations.subscriptionId.toString(),
    block: confirmations.block,
  });
  log(
    `Chainlink Functions: router and mock coordinator deployed; FunctionsVerdictConfirmer ${confirmer} reads the ` +
      `five oracles (3 must agree), paid by subscription ${confirmations.subscriptionId}`,
  );
  checkStop();

  // 3c. The explorer page, reading this chain and these oracles (the deployments file now has its Functions section).
  explorer.running = await startExplorer({
    rpcUrl: url,
    deployment: readDeploymentFile(deploymentFile),
    oracles: specs.map(oracleUrl),
    port: options.explorerPort ?? 0,
    buildLogLevel: "error",
  });
  log(`Explorer: ${explorer.running.url} (open it in a browser; it follows the epochs as they finalise)`);

  // 4. A provider joins through the operator CLI and runs a CPU compute device.
  const providerKey = hardhatAccount(9, network.provider);
  await (await contracts.token.connect(network.deployer).transfer(providerKey.address, 1_000n * MESH)).wait();
  const cli = (...args: string[]): Promise<string> =>
    runCli(args, { MESHWORK_RPC_URL: url!, MESHWORK_KEY: providerKey.privateKey, DEPLOYMENTS_DIR: deploymentsDir });
  const keyFile = path.join(workdir, "provider-device.key");
  await cli("device", "keygen", "--out", keyFile);
  await cli("stake", "100");
  await cli("device", "register", "--device-key-file", keyFile, "--class", "ComputeCpu", "--capacity", "4");
  const providerWallet = loadKey(keyFile);
  const providerDevice = new Device({
    wallet: providerWallet,
    resourceClass: ResourceClass.ComputeCpu,
    capacity: 4,
    location: fleet.members[0].device.location,
  });
  log(`Provider ${providerKey.address} joined with the CLI: staked 100 MESH, registered device ${providerDevice.address}`);

  // 4b. A customer rents CPU compute and storage: two sealed-bid reverse auctions, leases from the next epoch.
  const customer = hardhatAccount(40, network.provider);
  let rentals: Rental[] = [];
  if (options.epochs >= 2) {
    rentals = await rentResources(network, fleet, registered, {
      customer,
      epochs: options.epochs - 1,
      cliProvider: { address: providerKey.address, device: providerDevice.address, cli },
    });
    for (const r of rentals) {
      log(
        `Market: ${className(r.resourceClass)} order ${r.leaseId}: ${r.bids} sealed bid${r.bids === 1 ? "" : "s"}; ${r.provider} won at ` +
          `${mesh(r.pricePerEpoch)} MESH/epoch${r.losingPrice === null ? "" : ` (next best ${mesh(r.losingPrice)})`}; ` +
          `lease runs ${options.epochs === 2 ? "epoch 1" : `epochs 1-${options.epochs - 1}`}, paid per verified delivery`,
      );
    }
  }

  // 5. Governance: the genesis holder delegates its votes and proposes to move 10 % of emission to storage.
  const { schedule } = contracts;
  const { governor } = governance;
  await (await contracts.token.connect(network.deployer).delegate(network.deployer.address)).wait();
  const splitBefore = (await schedule.classSplitAt(0)).map(Number);
  const splitAfter = [...splitBefore];
  splitAfter[ResourceClass.Coverage] -= 1_000;
  splitAfter[ResourceClass.Storage] += 1_000;
  const description =
    "Move 10% of emission from Coverage to Storage; finalise only verdicts Chainlink Functions confirms";
  const { hub } = contracts;
  const proposal = {
    targets: [await schedule.getAddress(), await hub.getAddress()],
    values: [0n, 0n],
    calldatas: [
      schedule.interface.encodeFunctionData("setClassSplit", [splitAfter as never]),
      hub.interface.encodeFunctionData("setConfirmation", [confirmer, ConfirmationMode.MustAgree]),
    ],
    descriptionHash: ethers.id(description),
  };
  const gov = governor.connect(network.deployer);
  const proposeTx = await gov.propose(proposal.targets, proposal.values, proposal.calldatas, description);
  await proposeTx.wait();
  const proposalId = await gov.hashProposal(proposal.targets, proposal.values, proposal.calldatas, proposal.descriptionHash);
  log(`Governance: proposal ${shortId(proposalId)} "${description}" (vote in 1 h, for 1 day; then a 2-day timelock)`);
  let splitFrom = -1;

  // 6. Epochs.
  const indexOf = new Map<string, number>(fleet.members.map((m) => [m.device.address, m.index]));
  indexOf.set(providerDevice.address, fleet.members.length);
  const files = new Map<bigint, VerdictFile>();
  const summaryEpochs: Summary["epochs"] = [];
  const killAt = options.epochs >= 2 ? BigInt(Math.floor(options.epochs / 2)) : -1n;
  let killed: string | null = null;

  /**
   * One epoch of the fleet (and the provider's device): proofs delivered 30 s before the end (after `agentWaitMs` for
   * devices outside this process), the epoch ended, its verdict settled. With `kill`, the last live oracle is
   * SIGKILLed halfway through the delivery.
   */
  const playEpoch = async (e: bigint, kill: boolean, agentWaitMs: number): Promise<void> => {
    const t0 = Date.now();
    const bounds = await epochBounds(contracts.config, e);
    await waitFor(`seed of epoch ${e}`, async () => contracts.seeds.hasSeed(e));
    const seed = await contracts.seeds.seedOf(e);
    if ((await latestTimestamp(network)) < bounds.end - 30n) await advanceTo(network.provider, bounds.end - 30n);
    const proofs: ProofRecord[] = [
      ...fleetProofs(fleet, e, seed, bounds.window),
      ...providerDevice.proofs({ epoch: e, seed, window: bounds.window, domain }),
    ];
    const delivery = newDelivery();
    const byIndex = (d: string): number => indexOf.get(d) ?? 0;
    if (kill) {
      const half = Math.floor(proofs.length / 2);
      await deliverProofs(e, proofs.slice(0, half), live(), byIndex, delivery);
      const victim = specs[specs.length - 1];
      await oracles.get(victim.id)!.stop("SIGKILL");
      oracles.delete(victim.id);
      killed = victim.id;
      log(`  ${victim.id} killed (SIGKILL) mid-epoch; the other four go on`);
      await deliverProofs(e, proofs.slice(half), live(), byIndex, delivery);
    } else {
      await deliverProofs(e, proofs, live(), byIndex, delivery);
    }
    const accepted = [...delivery.acked.entries()].map(([id, set]) => `${id} ${set.size}`).join(", ");
    const rejected = [...delivery.rejected.entries()].map(([why, n]) => `${n} ${why}`).join(", ") || "none";
    log(`epoch ${e}: ${proofs.length} proofs sent; accepted ${accepted}; rejected ${rejected}`);
    if (agentWaitMs > 0) await sleep(agentWaitMs, signal);
    checkStop();

    await advanceTo(network.provider, bounds.end + 1n);
    let confirmed = false;
    const confirm = async (): Promise<void> => {
      if (Number(await hub.confirmationMode()) !== ConfirmationMode.MustAgree) return;
      await confirmWithRetries(e);
      confirmed = true;
    };
    const settled = await settleEpoch(network.provider, contracts, e, live(), confirm);
    files.set(e, settled.file);
    writeFileSync(path.join(workdir, `verdict-${e}.json`), settled.text);
    const paid = settled.file.rewards.filter((r) => BigInt(r.reward) > 0n).length;
    summaryEpochs.push({
      epoch: Number(e),
      signers: settled.signers,
      confirmed,
      devicesPaid: paid,
      faults: settled.file.faults.length,
      allocated: settled.file.allocated,
    });
    log(
      `  verdict signed by ${settled.signers} of 5${confirmed ? ", confirmed by Chainlink Functions" : ""}, ` +
        `finalised; ${paid} devices paid ` +
        `${mesh(BigInt(settled.file.allocated))} MESH, ${settled.file.faults.length} faults penalised ` +
        `(${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    const leases = await settleRentals(network, rentals, settled.file, { customer, keeper: network.deployer });
    if (leases.length > 0) log(`  leases ${leases.join(", ")} settled against the verdict's leases root`);
  };
  /**
   * Anyone may ask Chainlink Functions to confirm an epoch; the DON runs the source in Deno against the live oracles.
   * A failed run is retried after the retry interval (chain time moved on), as anyone would.
   */
  const confirmWithRetries = async (e: bigint): Promise<void> => {
    const retryInterval = await contracts.config.param(Param.ConfirmationRetryInterval);
    for (let attempt = 1; ; attempt++) {
      const outcome = await confirmEpoch(confirmations, network.deployer, e);
      if (outcome.error === undefined) {
        log(`  Chainlink Functions confirmed the verdict (source run in Deno against the oracles' own verdicts)`);
        return;
      }
      log(`  Chainlink Functions run failed: ${outcome.error}`);
      if (attempt === 3) throw new Error(`Chainlink Functions could not confirm epoch ${e}: ${outcome.error}`);
      await advanceTo(network.provider, (await latestTimestamp(network)) + retryInterval);
    }
  };
  for (let e = 0n; e < BigInt(options.epochs); e++) {
    checkStop();
    const bounds = await epochBounds(contracts.config, e);
    await waitFor(`seed of epoch ${e}`, async () => contracts.seeds.hasSeed(e));

    // Governance steps at their times inside the epoch.
    const state = async (): Promise<number> => Number(await gov.state(proposalId));
    if ((await state()) === 0) await advanceTo(network.provider, (await gov.proposalSnapshot(proposalId)) + 1n);
    if ((await state()) === 1) {
      await (await gov.castVote(proposalId, 1)).wait();
      await advanceTo(network.provider, (await gov.proposalDeadline(proposalId)) + 1n);
      log(`  governance: voted for; ${PROPOSAL_STATES[await state()]}`);
    }
    if ((await state()) === 4 && (await latestTimestamp(network)) < bounds.end - 60n) {
      await (await gov.queue(proposal.targets, proposal.values, proposal.calldatas, proposal.descriptionHash)).wait();
      log(`  governance: queued in the timelock`);
    }
    if ((await state()) === 5) {
      const eta = await gov.proposalEta(proposalId);
      if (eta < bounds.end - 60n) {
        if (eta > (await latestTimestamp(network))) await advanceTo(network.provider, eta);
        await (await gov.execute(proposal.targets, proposal.values, proposal.calldatas, proposal.descriptionHash)).wait();
        splitFrom = Number(e) + 1;
        log(
          `  governance: executed; the new class split pays from epoch ${splitFrom}, and verdicts finalise only ` +
            "once Chainlink Functions confirms them",
        );
      }
    }

    await playEpoch(e, e === killAt, 0);
  }
  checkStop();

  // 7. Claims: the provider through the CLI, everyone else in batches (anyone may claim for any device).
  const lastEpoch = BigInt(options.epochs - 1);
  const last = files.get(lastEpoch)!;
  const { distributor } = contracts;
  const providerLeaf = last.rewards.find((r) => r.device === providerDevice.address);
  if (providerLeaf !== undefined && BigInt(providerLeaf.cumulative) > 0n) {
    await cli("claim", "--oracle", live()[0].url, "--device", providerDevice.address);
  }
  const claims = last.rewards
    .filter((r) => BigInt(r.cumulative) > 0n)
    .map((r) => ({ device: r.device, cumulativeAmount: BigInt(r.cumulative), proof: r.proof }));
  const pendingClaims: typeof claims = [];
  for (const c of claims) if ((await distributor.claimed(c.device)) < c.cumulativeAmount) pendingClaims.push(c);
  for (let k = 0; k < pendingClaims.length; k += 40) {
    await (await distributor.connect(network.deployer).claimMany(pendingClaims.slice(k, k + 40))).wait();
  }
  log(`Claims: rewards of ${claims.length} devices paid into their operators' staking pools`);
  if (rentals.length > 0) {
    const { marketplace } = contracts;
    const meshAddress = await contracts.token.getAddress();
    if ((await marketplace.credit(providerKey.address, meshAddress)) > 0n) await cli("market", "withdraw");
    const storage = rentals.find((r) => r.resourceClass === ResourceClass.Storage);
    const wallet = registered.operators.find((o) => o.wallet.address === storage?.provider)?.wallet;
    if (wallet !== undefined && (await marketplace.credit(wallet.address, meshAddress)) > 0n) {
      await (await marketplace.connect(wallet).withdraw(meshAddress)).wait();
    }
    if ((await marketplace.credit(customer.address, meshAddress)) > 0n) {
      await (await marketplace.connect(customer).withdraw(meshAddress)).wait();
    }
    log("Market: the providers withdrew their earnings (the CLI provider with `market withdraw`), the customer its refunds");
  }

  const summary = await summarise(network, fleet, files, summaryEpochs, {
    market: await rentalUsage(network, rentals),
    rpcUrl: url,
    workdir,
    provider: { operator: providerKey.address, device: providerDevice.address },
    governance: {
      proposalId,
      state: PROPOSAL_STATES[Number(await gov.state(proposalId))],
      splitBefore,
      splitAfter,
      splitFrom,
    },
    killed,
    oracles: specs.map(oracleUrl),
    explorer: explorer.running.url,
    confirmer,
    log,
    summaryJson: options.summaryJson,
  });
  if (!options.keepRunning) return summary;

  // 8. Keep running: the fleet goes on epoch after epoch, leaving time before each epoch's end for outside agents.
  const joiner = hardhatAccount(12, network.provider);
  await (await contracts.token.connect(network.deployer).transfer(joiner.address, 10_000n * MESH)).wait();
  printJoin(summary, joiner.privateKey, live(), log);
  for (let e = BigInt(options.epochs); !signal.aborted; e++) {
    try {
      await playEpoch(e, false, AGENT_WAIT_MS);
    } catch (error) {
      if (signal.aborted) break;
      throw error;
    }
  }
  return summary;
}

async function summarise(
  network: Network,
  fleet: Fleet,
  files: Map<bigint, VerdictFile>,
  epochs: Summary["epochs"],
  ctx: {
    market: RentalUsage[];
    rpcUrl: string;
    workdir: string;
    provider: { operator: string; device: string };
    governance: { proposalId: bigint; state: string; splitBefore: number[]; splitAfter: number[]; splitFrom: number };
    killed: string | null;
    oracles: string[];
    explorer: string;
    confirmer: string;
    log: (line: string) => void;
    summaryJson?: string;
  },
): Promise<Summary> {
  const { contracts } = network;
  const { distributor, slashing, registry, hub, schedule } = contracts;
  const last = [...files.values()].at(-1)!;
  const classOf = new Map<string, number>(fleet.members.map((m) => [m.device.address, m.device.resourceClass]));
  classOf.set(ctx.provider.device, ResourceClass.ComputeCpu);
  const penalties = await slashing.queryFilter(slashing.filters.FaultPenalised());

  const classes: Summary["classes"] = [];
  for (const c of Object.values(ResourceClass)) {
    const devices = [...classOf.entries()].filter(([, k]) => k === c).map(([d]) => d);
    let claimed = 0n;
    for (const d of devices) claimed += await distributor.claimed(d);
    const mine = penalties.filter((p) => classOf.get(p.args.device) === c);
    classes.push({
      resourceClass: className(c),
      devices: devices.length,
      score: [...files.values()].reduce((s, f) => s + BigInt(f.classes[c].totalScore), 0n).toString(),
      rewards: last.rewards.filter((r) => r.resourceClass === c).reduce((s, r) => s + BigInt(r.cumulative), 0n).toString(),
      claimed: claimed.toString(),
      slashes: mine.length,
      slashed: mine.reduce((s, p) => s + p.args.slashed, 0n).toString(),
    });
  }
  const behaviourOf = new Map(fleet.members.map((m) => [m.device.address, m.behaviour]));
  const jailed: Record<string, number> = {};
  for (const [device, behaviour] of behaviourOf) {
    if (Number((await registry.getDevice(device)).status) === 2) jailed[behaviour] = (jailed[behaviour] ?? 0) + 1;
  }
  const lastEpoch = BigInt(last.epoch);
  const allocated = last.rewards.reduce((s, r) => s + BigInt(r.cumulative), 0n);
  const finalised = await hub.latestFinalised();
  const summary: Summary = {
    chainId: Number(network.chainId),
    rpcUrl: ctx.rpcUrl,
    epochs,
    finalisedEpochs: finalised.exists ? Number(finalised.epoch) + 1 : 0,
    classes,
    emission: {
      allocated: allocated.toString(),
      scheduled: (await schedule.cumulativeEmission(lastEpoch + 1n)).toString(),
      minted: (await distributor.totalMinted()).toString(),
    },
    totalClaimed: (await distributor.totalClaimed()).toString(),
    slashedTotal: penalties.reduce((s, p) => s + p.args.slashed, 0n).toString(),
    faultsApplied: penalties.length,
    jailed,
    provider: { ...ctx.provider, claimed: (await distributor.claimed(ctx.provider.device)).toString() },
    market: ctx.market,
    governance: {
      proposalId: ctx.governance.proposalId.toString(),
      state: ctx.governance.state,
      splitBefore: ctx.governance.splitBefore,
      splitAfter: ctx.governance.splitAfter,
      fromEpoch: ctx.governance.splitFrom,
    },
    killedOracle: ctx.killed,
    oracles: ctx.oracles,
    explorer: ctx.explorer,
    confirmer: ctx.confirmer,
    workdir: ctx.workdir,
  };
  printSummary(summary, ctx.log);
  if (ctx.summaryJson !== undefined) writeFileSync(ctx.summaryJson, JSON.stringify(summary, null, 2) + "\n");
  return summary;
}

function printSummary(s: Summary, log: (line: string) => void): void {
  const table = (head: string[], rows: string[][]): void => {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    log(line(head));
    log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of rows) log(line(r));
  };
  log("");
  log("Summary");
  log("");
  table(
    ["class", "devices", "verified work (score)", "rewards MESH", "claimed MESH", "slashes", "slashed MESH"],
    s.classes.map((c) => [
      c.resourceClass,
      String(c.devices),
      BigInt(c.score).toLocaleString("en-US"),
      mesh(BigInt(c.rewards)),
      mesh(BigInt(c.claimed)),
      String(c.slashes),
      mesh(BigInt(c.slashed)),
    ]),
  );
  log("");
  table(
    ["epoch", "oracle signatures", "Chainlink Functions", "devices paid", "faults", "allocated MESH"],
    s.epochs.map((e) => [
      String(e.epoch),
      `${e.signers} of 5`,
      e.confirmed ? "confirmed" : "-",
      String(e.devicesPaid),
      String(e.faults),
      mesh(BigInt(e.allocated)),
    ]),
  );
  log("");
  log(
    `Emission: ${mesh(BigInt(s.emission.allocated))} MESH allocated to devices of ${mesh(BigInt(s.emission.scheduled))} ` +
      `scheduled for epochs 0-${s.epochs.length - 1} (minted ${mesh(BigInt(s.emission.minted))}); ` +
      `claimed ${mesh(BigInt(s.totalClaimed))}. The rest is rounding dust and the pots of classes nobody earned.`,
  );
  if (s.market.length > 0) {
    log("");
    table(
      ["lease", "class", "price MESH/epoch", "epochs", "delivered", "paid to provider", "refunded", "fees", "bounties"],
      s.market.map((m) => [
        m.leaseId,
        m.resourceClass,
        mesh(BigInt(m.pricePerEpoch)),
        String(m.epochsSettled),
        `${m.deliveredPercent.toFixed(1)} %`,
        mesh(BigInt(m.paid) - BigInt(m.fees) - BigInt(m.bounties)),
        mesh(BigInt(m.refunded)),
        mesh(BigInt(m.fees)),
        mesh(BigInt(m.bounties)),
      ]),
    );
    const paid = s.market.reduce((a, m) => a + BigInt(m.paid), 0n);
    log(
      `Paid usage: ${mesh(paid)} MESH paid from escrow for verified delivery, beside ` +
        `${mesh(BigInt(s.emission.allocated))} MESH of emission.`,
    );
  }
  log(`Finalised epochs: ${s.finalisedEpochs}. Faults penalised: ${s.faultsApplied} (${mesh(BigInt(s.slashedTotal))} MESH slashed).`);
  log(`Jailed devices by behaviour: ${Object.entries(s.jailed).map(([b, n]) => `${n} ${b}`).join(", ") || "none"}.`);
  log(`Provider ${s.provider.operator}: device ${s.provider.device} claimed ${mesh(BigInt(s.provider.claimed))} MESH.`);
  log(
    `Governance: proposal ${shortId(BigInt(s.governance.proposalId))} ${s.governance.state}; class split ` +
      `${s.governance.splitBefore.join("/")} -> ${s.governance.splitAfter.join("/")} (bps, Coverage/Storage/GPU/CPU/` +
      `Mapping/Energy)${s.governance.fromEpoch >= 0 ? ` from epoch ${s.governance.fromEpoch}` : ""}.`,
  );
  if (s.killedOracle !== null) log(`Oracle killed mid-run: ${s.killedOracle}; every epoch still finalised.`);
  log(`Explorer: ${s.explorer}`);
  log(`Verdict files, oracle logs and stores: ${s.workdir}`);
}

function printJoin(s: Summary, key: string, oracles: readonly OracleEndpoint[], log: (line: string) => void): void {
  const deployments = path.join(s.workdir, "deployments");
  log("");
  log("The network keeps running: a new epoch every minute or so, each waiting 20 s before its end for your devices.");
  log("Press Ctrl-C to stop it. To join as a provider, in another terminal (the key is a Hardhat test account");
  log("given 10,000 MESH):");
  log(`  export MESHWORK_RPC_URL=${s.rpcUrl} DEPLOYMENTS_DIR=${deployments}`);
  log(`  export MESHWORK_KEY=${key}`);
  log("  npm run cli -- device keygen --out my-device.key");
  log("  npm run cli -- stake 100");
  log("  npm run cli -- device register --device-key-file my-device.key --class ComputeCpu --capacity 4");
  log(`  npm run agent -- --key-file my-device.key --class ComputeCpu --capacity 4 --oracle ${oracles[0].url}`);
  log("  npm run cli -- status <your address>");
  log("  npm run cli -- functions status --epoch <n>   (the epoch's Chainlink Functions confirmation)");
  log("  npm run cli -- market orders                  (open orders your devices can serve: market bid, then reveal)");
  log("For storage: --class Storage --capacity 1 on both, and --folder <a folder of your files> for the agent.");
  log(`Oracles up: ${oracles.map((o) => `${o.id} ${o.url}`).join(", ")} (logs in ${s.workdir}).`);
  log(`Watch it in the explorer: ${s.explorer}`);
}

const shortId = (id: bigint): string => {
  const hex = id.toString(16);
  return `0x${hex.slice(0, 6)}…${hex.slice(-4)}`;
};

/** Waits `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

async function latestTimestamp(network: Network): Promise<bigint> {
  const block = await network.provider.getBlock("latest");
  return BigInt(block?.timestamp ?? 0);
}

function loadKey(file: string): Wallet {
  return new Wallet(readFileSync(file, "utf8").trim());
}

/** Runs the operator CLI as a user would; rejects with its one-line error. */
function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/cli/main.ts", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`cli ${args.join(" ")}: ${err.trim() || `exit ${code}`}`)),
    );
  });
}
