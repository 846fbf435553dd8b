import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Wallet } from "ethers";

import { deployCore, deployProtocol, type CoreDeployment, type ProtocolDeployment } from "../../scripts/lib/deploy";
import { deployGovernance, type GovernanceDeployment } from "../../scripts/lib/governance";
import { OracleHub__factory, type OracleHub, type ProviderRegistry } from "../../typechain-types";
import { ResourceClass } from "../../sdk/enums";
import { H3_CELL, deviceWallet, signRegistration } from "./devices";
import { oracleWallets } from "./verdicts";

export { ClassParam, DeviceStatus, FaultKind, FaultParam, Param, ResourceClass } from "../../sdk/enums";
export { H3_CELL };

export const MESH = 10n ** 18n;
export const DAY = 86_400n;
/** Tokens each named actor starts with. */
export const ACTOR_BALANCE = 1_000_000n * MESH;

export interface Actors {
  governance: HardhatEthersSigner; // deployer; holds every admin role in these tests
  alice: HardhatEthersSigner; // operator
  bob: HardhatEthersSigner; // operator
  carol: HardhatEthersSigner; // delegator
  dave: HardhatEthersSigner; // delegator
  fisher: HardhatEthersSigner; // fisherman
  reporter: HardhatEthersSigner; // oracle verdict path (REPORTER_ROLE)
  arbitrator: HardhatEthersSigner; // dispute resolver (ARBITRATOR_ROLE)
  treasury: HardhatEthersSigner;
  outsider: HardhatEthersSigner; // no role, no tokens
}

export type CoreFixture = CoreDeployment & Actors;

/**
 * The protocol core deployed with default parameters and a treasury; every actor but `outsider` holds
 * `ACTOR_BALANCE` MESH and has approved Staking and Slashing. `reporter` and `arbitrator` hold their Slashing roles.
 */
export async function coreFixture(): Promise<CoreFixture> {
  const [governance, alice, bob, carol, dave, fisher, reporter, arbitrator, treasury, outsider] =
    await ethers.getSigners();
  const core = await deployCore(governance, {
    genesisRecipient: governance.address,
    genesisSupply: 100_000_000n * MESH,
    treasury: treasury.address,
  });
  for (const actor of [alice, bob, carol, dave, fisher, reporter, arbitrator]) {
    await core.token.transfer(actor.address, ACTOR_BALANCE);
    await core.token.connect(actor).approve(core.staking, ethers.MaxUint256);
    await core.token.connect(actor).approve(core.slashing, ethers.MaxUint256);
  }
  await core.token.approve(core.staking, ethers.MaxUint256);
  await core.slashing.grantRole(await core.slashing.REPORTER_ROLE(), reporter.address);
  await core.slashing.grantRole(await core.slashing.ARBITRATOR_ROLE(), arbitrator.address);
  return { ...core, governance, alice, bob, carol, dave, fisher, reporter, arbitrator, treasury, outsider };
}

export interface DeviceSpec {
  label: string;
  resourceClass?: number;
  capacity?: bigint;
  location?: bigint;
  metadataURI?: string;
}

/** Registers a device (Coverage at `H3_CELL` by default) under `operator`, which must hold enough self-stake. */
export async function registerDevice(
  registry: ProviderRegistry,
  operator: HardhatEthersSigner,
  spec: DeviceSpec,
): Promise<string> {
  const device = deviceWallet(spec.label);
  const resourceClass = spec.resourceClass ?? ResourceClass.Coverage;
  const { registration, signature } = await signRegistration(registry, device, {
    operator: operator.address,
    resourceClass,
    capacity: spec.capacity ?? 1n,
    location: spec.location ?? (resourceClass === ResourceClass.Coverage ? H3_CELL : 0n),
    deadline: BigInt(await time.latest()) + DAY,
    metadataURI: spec.metadataURI,
  });
  await registry.connect(operator).registerDevice(registration, signature);
  return device.address;
}

/** Core fixture plus: alice staked 1,000 MESH and runs one Coverage device ("alice-1", needs 100 MESH). */
export async function operatorFixture(): Promise<CoreFixture & { aliceDevice: string }> {
  const f = await coreFixture();
  await f.staking.connect(f.alice).stake(1_000n * MESH);
  const aliceDevice = await registerDevice(f.registry, f.alice, { label: "alice-1" });
  return { ...f, aliceDevice };
}

export interface HubFixture extends CoreFixture {
  aliceDevice: string;
  hub: OracleHub;
  /** The 3-of-5 committee in force from epoch 0, sorted by address. */
  oracles: Wallet[];
}

/**
 * Operator fixture plus an OracleHub with a 3-of-5 committee (from epoch 0), `arbitrator` holding its
 * ARBITRATOR_ROLE, the hub holding Slashing's REPORTER_ROLE, and every actor's approval of the hub.
 */
export async function hubFixture(): Promise<HubFixture> {
  const f = await operatorFixture();
  const oracles = oracleWallets(5);
  const hub = await new OracleHub__factory(f.governance).deploy(
    f.token,
    f.config,
    f.slashing,
    oracles.map((o) => o.address),
    3,
    f.governance.address,
  );
  await hub.grantRole(await hub.ARBITRATOR_ROLE(), f.arbitrator.address);
  await f.slashing.grantRole(await f.slashing.REPORTER_ROLE(), hub);
  for (const actor of [f.governance, f.alice, f.bob, f.carol, f.dave, f.fisher, f.reporter, f.arbitrator]) {
    await f.token.connect(actor).approve(hub, ethers.MaxUint256);
  }
  return { ...f, hub, oracles };
}

export type ProtocolFixture = ProtocolDeployment &
  Actors & {
    /** The 3-of-5 committee in force from epoch 0, sorted by address. */
    oracles: Wallet[];
    /** alice's Coverage device ("alice-1"); alice has 1,000 MESH self-stake. */
    aliceDevice: string;
  };

/**
 * The whole protocol (core, EmissionSchedule with the default halving, OracleHub with a 3-of-5 committee,
 * RewardsDistributor as the only minter) with default parameters and a treasury; actors funded and approved as in
 * `coreFixture` (also for the hub); `arbitrator` rules on both slashing challenges and verdict disputes.
 */
export async function protocolFixture(): Promise<ProtocolFixture> {
  const [governance, alice, bob, carol, dave, fisher, reporter, arbitrator, treasury, outsider] =
    await ethers.getSigners();
  const oracles = oracleWallets(5);
  const protocol = await deployProtocol(governance, {
    genesisRecipient: governance.address,
    genesisSupply: 100_000_000n * MESH,
    treasury: treasury.address,
    oracles: oracles.map((o) => o.address),
  });
  const { token, staking, slashing, hub } = protocol;
  for (const actor of [alice, bob, carol, dave, fisher, reporter, arbitrator]) {
    await token.transfer(actor.address, ACTOR_BALANCE);
    for (const spender of [staking, slashing, hub]) await token.connect(actor).approve(spender, ethers.MaxUint256);
  }
  await token.approve(staking, ethers.MaxUint256);
  await slashing.grantRole(await slashing.ARBITRATOR_ROLE(), arbitrator.address);
  await hub.grantRole(await hub.ARBITRATOR_ROLE(), arbitrator.address);
  await staking.connect(alice).stake(1_000n * MESH);
  const aliceDevice = await registerDevice(protocol.registry, alice, { label: "alice-1" });
  const actors = { governance, alice, bob, carol, dave, fisher, reporter, arbitrator, treasury, outsider };
  return { ...protocol, ...actors, oracles, aliceDevice };
}

/* GOVERNANCE */

/** Extra MESH given to each of the two voters (carol, dave) on top of `ACTOR_BALANCE`. */
export const VOTER_EXTRA = 2_000_000n * MESH;
/** alice's self-stake in `governanceFixture` (her delegation cap is 16 times this). */
export const GOV_ALICE_STAKE = 200_000n * MESH;
/** What dave delegates (stakes) to alice in `governanceFixture`. */
export const GOV_DAVE_STAKED = 2_500_000n * MESH;

export type GovernanceFixture = ProtocolDeployment &
  GovernanceDeployment &
  Actors & {
    /** Pause guardian (PAUSER_ROLE on registry, slashing, distributor). */
    guardian: HardhatEthersSigner;
  };

/**
 * `deployProtocol` then `deployGovernance` (guardian: its own signer, arbitrator: `arbitrator`, default governor
 * settings: 1 day voting delay, 5 days voting period, 100,000 MESH threshold, 4 % quorum; timelock delay: unbonding + 1
 * day); then every actor but `outsider` gets `ACTOR_BALANCE` MESH with approvals of Staking, Slashing and the hub, and
 * the voters: carol (3M MESH, self-delegated on the token) and dave (3M MESH, self-delegated, 2.5M of it delegated
 * in Staking to alice, who self-stakes 200,000 MESH). Quorum (4M of the 100M supply) needs dave's staked votes.
 */
export async function governanceFixture(): Promise<GovernanceFixture> {
  const signers = await ethers.getSigners();
  const [governance, alice, bob, carol, dave, fisher, reporter, arbitrator, treasury, outsider, guardian] = signers;
  const oracles = oracleWallets(5);
  const protocol = await deployProtocol(governance, {
    genesisRecipient: governance.address,
    genesisSupply: 100_000_000n * MESH,
    treasury: treasury.address,
    oracles: oracles.map((o) => o.address),
  });
  const gov = await deployGovernance(governance, protocol, {
    guardian: guardian.address,
    arbitrator: arbitrator.address,
  });
  const { token, staking, slashing, hub } = protocol;
  for (const actor of [alice, bob, carol, dave, fisher, reporter, arbitrator]) {
    await token.transfer(actor.address, ACTOR_BALANCE);
    for (const spender of [staking, slashing, hub]) await token.connect(actor).approve(spender, ethers.MaxUint256);
  }
  for (const voter of [carol, dave]) {
    await token.transfer(voter.address, VOTER_EXTRA);
    await token.connect(voter).delegate(voter.address);
  }
  await staking.connect(alice).stake(GOV_ALICE_STAKE);
  await staking.connect(dave).delegate(alice.address, GOV_DAVE_STAKED);
  const actors = { governance, alice, bob, carol, dave, fisher, reporter, arbitrator, treasury, outsider };
  return { ...protocol, ...gov, ...actors, guardian };
}

/** A proposal as the governor takes it. */
export interface Proposal {
  targets: string[];
  values: bigint[];
  calldatas: string[];
  description: string;
}

/**
 * Takes `proposal` through the governor up to the point of execution: `proposer` proposes, the vote opens after the
 * voting delay, every voter votes For, the vote closes, the proposal is queued and the timelock delay elapses. Returns
 * the proposal id and description hash; the caller executes.
 */
export async function passProposal(
  f: GovernanceFixture,
  proposal: Proposal,
  voters: HardhatEthersSigner[] = [f.carol, f.dave],
  proposer: HardhatEthersSigner = f.carol,
): Promise<{ proposalId: bigint; descriptionHash: string }> {
  const { governor } = f;
  const { targets, values, calldatas, description } = proposal;
  const descriptionHash = ethers.id(description);
  const proposalId = await governor.hashProposal(targets, values, calldatas, descriptionHash);
  await governor.connect(proposer).propose(targets, values, calldatas, description);
  await time.increase((await governor.votingDelay()) + 1n);
  for (const voter of voters) await governor.connect(voter).castVote(proposalId, 1);
  await time.increase(await governor.votingPeriod());
  await governor.queue(targets, values, calldatas, descriptionHash);
  await time.increase(await f.timelock.getMinDelay());
  return { proposalId, descriptionHash };
}
