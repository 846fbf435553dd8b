/**
 * Hands a deployed protocol over to on-chain governance: `VotingPower` (held + staked MESH), `MeshTimelock` and
 * `MeshGovernor`; the timelock becomes the owner or admin of every contract, the pause guardian and the dispute
 * arbitrator get their narrow roles, and the deployer keeps nothing.
 *
 * Bootstrap: Ownable2Step ownerships (ProtocolConfig, EmissionSchedule) must be accepted by the timelock itself, so the
 * timelock is created with no delay and the deployer as temporary admin; one batch operation accepts both ownerships
 * and sets the real delay (`updateDelay`, which requires it to exceed the unbonding period); then the deployer
 * renounces every role it held. After `deployGovernance` returns, `adminHolders` finds only the timelock.
 */
import { ethers, type Signer } from "ethers";

import {
  MeshGovernor__factory,
  MeshTimelock__factory,
  VotingPower__factory,
  type MeshGovernor,
  type MeshTimelock,
  type VotingPower,
} from "../../typechain-types";
import { Param } from "../../sdk/enums";
import type { ProtocolDeployment } from "./deploy";

const DAY = 86_400n;

export interface GovernanceOptions {
  /** Pause guardian (PAUSER_ROLE on the registry, slashing and distributor). */
  guardian: string;
  /** Dispute arbitrator (ARBITRATOR_ROLE on OracleHub and Slashing). */
  arbitrator: string;
  /** Timelock delay in seconds; must exceed the unbonding period (default: unbonding period + 1 day). */
  timelockDelay?: bigint;
  /** Seconds between a proposal and its vote (default 1 day). */
  votingDelay?: bigint;
  /** Seconds a vote lasts (default 5 days). */
  votingPeriod?: bigint;
  /** Votes needed to propose, in wei (default 100,000 MESH). */
  proposalThreshold?: bigint;
  /** Quorum, percent of the total supply (default 4). */
  quorumPercent?: bigint;
}

export interface GovernanceDeployment {
  votes: VotingPower;
  timelock: MeshTimelock;
  governor: MeshGovernor;
}

/** Every contract of the protocol with roles (AccessControl), and those with an owner (Ownable2Step). */
export function roleContracts(p: ProtocolDeployment) {
  return { token: p.token, registry: p.registry, staking: p.staking, slashing: p.slashing, hub: p.hub, distributor: p.distributor };
}

export async function deployGovernance(
  deployer: Signer,
  protocol: ProtocolDeployment,
  options: GovernanceOptions,
): Promise<GovernanceDeployment> {
  const me = await deployer.getAddress();
  const send = async (tx: Promise<ethers.ContractTransactionResponse>): Promise<void> => {
    await (await tx).wait();
  };
  const unbonding = await protocol.config.param(Param.UnbondingPeriod);
  const delay = options.timelockDelay ?? unbonding + DAY;

  const votes = await new VotingPower__factory(deployer).deploy(protocol.token, protocol.staking);
  await votes.waitForDeployment();
  const timelock = await new MeshTimelock__factory(deployer).deploy(protocol.config, 0n, [], [], me);
  await timelock.waitForDeployment();
  const governor = await new MeshGovernor__factory(deployer).deploy(
    votes,
    timelock,
    options.votingDelay ?? DAY,
    options.votingPeriod ?? 5n * DAY,
    options.proposalThreshold ?? 100_000n * 10n ** 18n,
    options.quorumPercent ?? 4n,
  );
  await governor.waitForDeployment();

  // The governor proposes and cancels; anyone executes a ready operation.
  await send(timelock.grantRole(await timelock.PROPOSER_ROLE(), governor));
  await send(timelock.grantRole(await timelock.CANCELLER_ROLE(), governor));
  await send(timelock.grantRole(await timelock.EXECUTOR_ROLE(), ethers.ZeroAddress));

  // Narrow roles, then the timelock as admin of every AccessControl contract.
  const { registry, slashing, hub, distributor } = protocol;
  for (const c of [registry, slashing, distributor]) await send(c.grantRole(await c.PAUSER_ROLE(), options.guardian));
  await send(hub.grantRole(await hub.ARBITRATOR_ROLE(), options.arbitrator));
  await send(slashing.grantRole(await slashing.ARBITRATOR_ROLE(), options.arbitrator));
  const admin = ethers.ZeroHash; // DEFAULT_ADMIN_ROLE
  for (const c of Object.values(roleContracts(protocol))) await send(c.grantRole(admin, timelock));

  // Ownerships, accepted by the timelock in one zero-delay batch that also sets the real delay.
  await send(protocol.config.transferOwnership(timelock));
  await send(protocol.schedule.transferOwnership(timelock));
  const proposer = await timelock.PROPOSER_ROLE();
  await send(timelock.grantRole(proposer, me));
  const targets = [await protocol.config.getAddress(), await protocol.schedule.getAddress(), await timelock.getAddress()];
  const calls = [
    protocol.config.interface.encodeFunctionData("acceptOwnership"),
    protocol.schedule.interface.encodeFunctionData("acceptOwnership"),
    timelock.interface.encodeFunctionData("updateDelay", [delay]),
  ];
  const values = targets.map(() => 0n);
  const salt = ethers.id("meshwork/bootstrap");
  await send(timelock.scheduleBatch(targets, values, calls, ethers.ZeroHash, salt, 0n));
  await send(timelock.executeBatch(targets, values, calls, ethers.ZeroHash, salt));
  await send(timelock.revokeRole(proposer, me));

  // The deployer keeps nothing.
  for (const c of Object.values(roleContracts(protocol))) await send(c.renounceRole(admin, me));
  await send(timelock.renounceRole(admin, me));
  return { votes, timelock, governor };
}
