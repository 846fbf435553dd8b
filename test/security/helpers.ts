/**
 * Shared pieces of the adversarial suite (test/security/): a protocol deployed on a hostile token, signature
 * malleation, gas measurement and the staking solvency check.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse, Wallet } from "ethers";

import { DEFAULT_CLASS_SPLIT, defaultEmission } from "../../scripts/lib/deploy";
import {
  EmissionSchedule__factory,
  HostileDelegator__factory,
  OracleHub__factory,
  ProtocolConfig__factory,
  ProviderRegistry__factory,
  ReentrantToken__factory,
  RewardsDistributor__factory,
  Slashing__factory,
  Staking__factory,
  type EmissionSchedule,
  type HostileDelegator,
  type OracleHub,
  type ProtocolConfig,
  type ProviderRegistry,
  type ReentrantToken,
  type RewardsDistributor,
  type Slashing,
  type Staking,
} from "../../typechain-types";
import { buildFaultsTree } from "../../sdk/trees";
import { DAY, FaultKind, MESH, registerDevice } from "../helpers/fixtures";
import { oracleWallets } from "../helpers/verdicts";

/** Order of the secp256k1 group. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Tokens every funded actor gets on the hostile token. */
export const HOSTILE_BALANCE = 1_000_000n * MESH;

export interface HostileFixture {
  token: ReentrantToken;
  config: ProtocolConfig;
  registry: ProviderRegistry;
  staking: Staking;
  slashing: Slashing;
  schedule: EmissionSchedule;
  hub: OracleHub;
  distributor: RewardsDistributor;
  oracles: Wallet[];
  governance: HardhatEthersSigner;
  alice: HardhatEthersSigner; // honest operator, 1,000 MESH self-stake, device "alice-1"
  carol: HardhatEthersSigner; // honest delegator
  arbitrator: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  mallory: HardhatEthersSigner; // runs the attack contract
  /** The attack contract, hooked on the token (it gets a callback inside every transfer from or to it). */
  attacker: HostileDelegator;
  aliceDevice: string;
}

/**
 * The whole protocol wired as `deployProtocol` wires it, but every contract that takes a token address at construction
 * (Staking, Slashing, EmissionSchedule, OracleHub, RewardsDistributor) gets `ReentrantToken`, which calls hooked
 * accounts back in the middle of transfers. alice (operator) and carol (delegator) are honest EOAs; `attacker` is a
 * `HostileDelegator` run by mallory, funded and with every protocol contract approved.
 */
export async function hostileProtocolFixture(): Promise<HostileFixture> {
  const [governance, alice, , carol, , , , arbitrator, treasury, mallory] = await ethers.getSigners();
  const admin = governance.address;
  const token = await new ReentrantToken__factory(governance).deploy();
  const config = await new ProtocolConfig__factory(governance).deploy(admin, 0n, DAY, treasury.address);
  const nonce = await governance.getNonce();
  const stakingAddress = ethers.getCreateAddress({ from: admin, nonce: nonce + 1 });
  const registry = await new ProviderRegistry__factory(governance).deploy(config, stakingAddress, admin, { nonce });
  const staking = await new Staking__factory(governance).deploy(token, config, registry, admin, { nonce: nonce + 1 });
  const slashing = await new Slashing__factory(governance).deploy(token, config, registry, staking, admin);
  const budget = 500_000_000n * MESH;
  const schedule = await new EmissionSchedule__factory(governance).deploy(
    config,
    token,
    staking,
    admin,
    budget,
    defaultEmission(budget),
    DEFAULT_CLASS_SPLIT,
  );
  const oracles = oracleWallets(5);
  const hub = await new OracleHub__factory(governance).deploy(
    token,
    config,
    slashing,
    oracles.map((o) => o.address),
    3,
    admin,
  );
  const distributor = await new RewardsDistributor__factory(governance).deploy(
    token,
    hub,
    schedule,
    registry,
    staking,
    admin,
  );
  await staking.grantRole(await staking.SLASHER_ROLE(), slashing);
  await staking.grantRole(await staking.DISTRIBUTOR_ROLE(), distributor);
  await registry.grantRole(await registry.JAILER_ROLE(), slashing);
  await slashing.grantRole(await slashing.REPORTER_ROLE(), hub);
  await slashing.grantRole(await slashing.ARBITRATOR_ROLE(), arbitrator.address);
  await hub.grantRole(await hub.ARBITRATOR_ROLE(), arbitrator.address);

  for (const actor of [governance, alice, carol]) {
    await token.mint(actor.address, HOSTILE_BALANCE);
    for (const spender of [staking, slashing, hub]) await token.connect(actor).approve(spender, ethers.MaxUint256);
  }
  const attacker = await new HostileDelegator__factory(mallory).deploy();
  await token.mint(attacker, HOSTILE_BALANCE);
  for (const spender of [staking, slashing, hub]) {
    await attacker.execute(
      token,
      token.interface.encodeFunctionData("approve", [await spender.getAddress(), ethers.MaxUint256]),
    );
  }
  await attacker.execute(token, token.interface.encodeFunctionData("setHook", [true]));

  await staking.connect(alice).stake(1_000n * MESH);
  const aliceDevice = await registerDevice(registry, alice, { label: "alice-1" });
  return {
    token,
    config,
    registry,
    staking,
    slashing,
    schedule,
    hub,
    distributor,
    oracles,
    governance,
    alice,
    carol,
    arbitrator,
    treasury,
    mallory,
    attacker,
    aliceDevice,
  };
}

/** Staking's books balance to the wei: it holds exactly its active stake, unbonding stake and reserved rewards. */
export async function expectStakingSolvent(
  staking: Staking,
  token: { balanceOf(account: string | Staking): Promise<bigint> },
): Promise<void> {
  const [held, staked, unbonding, reserved] = await Promise.all([
    token.balanceOf(await staking.getAddress()),
    staking.totalStaked(),
    staking.totalUnbonding(),
    staking.rewardsReserved(),
  ]);
  expect(held, "balanceOf(staking) == totalStaked + totalUnbonding + rewardsReserved").to.equal(
    staked + unbonding + reserved,
  );
}

/** The other valid ECDSA signature of the same message: s' = n - s, v flipped (27 <-> 28). */
export function highS(signature: string): string {
  const bytes = ethers.getBytes(signature);
  const r = ethers.hexlify(bytes.slice(0, 32));
  const s = BigInt(ethers.hexlify(bytes.slice(32, 64)));
  const v = bytes[64];
  return ethers.concat([r, ethers.toBeHex(SECP256K1_N - s, 32), ethers.toBeHex(v === 27 ? 28 : 27, 1)]);
}

/** EIP-2098 compact (64-byte) form of a 65-byte signature. */
export function compact(signature: string): string {
  return ethers.Signature.from(signature).compactSerialized;
}

/** What the raw `ecrecover` precompile returns for (digest, signature): no low-s rule applies there. */
export async function ecrecoverPrecompile(digest: string, signature: string): Promise<string> {
  const bytes = ethers.getBytes(signature);
  const input = ethers.concat([
    digest,
    ethers.toBeHex(bytes[64], 32),
    ethers.hexlify(bytes.slice(0, 32)),
    ethers.hexlify(bytes.slice(32, 64)),
  ]);
  const out = await ethers.provider.call({ to: "0x0000000000000000000000000000000000000001", data: input });
  return ethers.getAddress(ethers.dataSlice(out, 12));
}

/** Gas used by a mined transaction. */
export async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  return receipt!.gasUsed;
}

/** A faults tree proving an InvalidProof fault of `device` (leaf 0, with `evidence`) and a stranger's MissedDuty. */
export function faultOf(device: string, evidence = ethers.id("forged proof")) {
  const tree = buildFaultsTree([
    { device, kind: FaultKind.InvalidProof, evidence },
    { device: ethers.Wallet.createRandom().address, kind: FaultKind.MissedDuty, evidence: ethers.ZeroHash },
  ]);
  return { evidence, root: tree.root, proof: tree.getProof(0) };
}
