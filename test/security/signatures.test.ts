/**
 * Attacks 2-4: signature replay (across epochs, chains, contracts and operators), malleable signatures, and
 * front-running a device registration.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { TypedDataDomain } from "ethers";

import { OracleHub__factory, ProviderRegistry__factory } from "../../typechain-types";
import { buildFaultsTree } from "../../sdk/trees";
import { hubDomain, signVerdict, verdictDigest } from "../../sdk/verdict";
import { VerdictStatus } from "../../sdk/enums";
import {
  DAY,
  FaultKind,
  H3_CELL,
  MESH,
  ResourceClass,
  protocolFixture,
  type ProtocolFixture,
} from "../helpers/fixtures";
import { H3_CELL_2, deviceWallet, signLocationUpdate, signRegistration } from "../helpers/devices";
import { makeVerdict, signedBy } from "../helpers/verdicts";
import { compact, ecrecoverPrecompile, highS } from "./helpers";

const CHALLENGE_WINDOW = 12n * 3_600n; // ProtocolConfig defaults
const LOCATION_COOLDOWN = DAY;
const UNBONDING_PERIOD = 7n * DAY;

/** protocolFixture at the end of epoch 0 (its verdict can be submitted for a day). */
async function endedFixture(): Promise<ProtocolFixture> {
  const f = await protocolFixture();
  await time.increaseTo(await f.config.epochEnd(0n));
  return f;
}

/** The signer `ecrecover` finds for a signature over another message: what the hub compares with its committee. */
async function recoveredFor(f: ProtocolFixture, verdictEpoch: bigint, signature: string): Promise<string> {
  const domain = hubDomain((await ethers.provider.getNetwork()).chainId, await f.hub.getAddress());
  return ethers.recoverAddress(verdictDigest(domain, makeVerdict(verdictEpoch)), signature);
}

/** A fresh device's registration signed for alice on the fixture's registry, unless told otherwise. */
async function aliceRegistration(f: ProtocolFixture, label: string, domain?: Partial<TypedDataDomain>) {
  return signRegistration(f.registry, deviceWallet(label), {
    operator: f.alice.address,
    resourceClass: ResourceClass.Coverage,
    capacity: 1n,
    location: H3_CELL,
    deadline: BigInt(await time.latest()) + DAY,
    domain,
  });
}

describe("Security: signature replay", function () {
  describe("oracle verdicts", function () {
    it("a verdict signed for epoch N submitted as epoch N+1 reverts NotCommitteeMember (the epoch is in the signed digest)", async function () {
      const f = await loadFixture(endedFixture);
      const signatures = await signedBy(f.hub, makeVerdict(0n), f.oracles.slice(0, 3));
      await f.hub.submitVerdict(makeVerdict(0n), signatures);
      await time.increaseTo(await f.config.epochEnd(1n));
      const relabelled = makeVerdict(1n); // same roots and totals, only the epoch moved
      await expect(f.hub.submitVerdict(relabelled, signatures))
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(1n, await recoveredFor(f, 1n, signatures[0]));
    });

    it("re-relaying a verdict's signatures for its own epoch reverts VerdictAlreadySubmitted, then EpochAlreadySettled once final", async function () {
      const f = await loadFixture(endedFixture);
      const verdict = makeVerdict(0n);
      const signatures = await signedBy(f.hub, verdict, f.oracles.slice(0, 3));
      await f.hub.submitVerdict(verdict, signatures);
      await expect(f.hub.submitVerdict(verdict, signatures))
        .to.be.revertedWithCustomError(f.hub, "VerdictAlreadySubmitted")
        .withArgs(0n, VerdictStatus.Pending);
      await time.increase(CHALLENGE_WINDOW);
      await f.hub.finaliseVerdict(0n);
      await expect(f.hub.submitVerdict(verdict, signatures))
        .to.be.revertedWithCustomError(f.hub, "EpochAlreadySettled")
        .withArgs(0n, 0n);
    });

    it("a verdict signed under another chainId reverts NotCommitteeMember", async function () {
      const f = await loadFixture(endedFixture);
      const verdict = makeVerdict(0n);
      const otherChain = hubDomain(1n, await f.hub.getAddress());
      const signatures = await Promise.all(f.oracles.slice(0, 3).map((o) => signVerdict(o, otherChain, verdict)));
      const first = signatures[0].signature; // oracles are sorted, so this is the first one checked
      const recovered = await recoveredFor(f, 0n, first);
      await expect(
        f.hub.submitVerdict(
          verdict,
          signatures.map((s) => s.signature),
        ),
      )
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(0n, recovered);
    });

    it("a verdict signed for another OracleHub (same committee, same chain) reverts NotCommitteeMember", async function () {
      const f = await loadFixture(endedFixture);
      const otherHub = await new OracleHub__factory(f.governance).deploy(
        f.token,
        f.config,
        f.slashing,
        f.oracles.map((o) => o.address),
        3,
        f.governance.address,
      );
      const verdict = makeVerdict(0n);
      const forOther = await signedBy(otherHub, verdict, f.oracles.slice(0, 3));
      await expect(f.hub.submitVerdict(verdict, forOther))
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(0n, await recoveredFor(f, 0n, forOther[0]));
      await expect(otherHub.submitVerdict(verdict, forOther)).to.emit(otherHub, "VerdictSubmitted");
    });
  });

  describe("device signatures", function () {
    it("a registration signed for one registry, replayed on another registry, reverts InvalidDeviceSignature", async function () {
      const f = await loadFixture(protocolFixture);
      const otherRegistry = await new ProviderRegistry__factory(f.governance).deploy(
        f.config,
        f.staking,
        f.governance.address,
      );
      const { registration, signature } = await aliceRegistration(f, "replayed");
      await expect(otherRegistry.connect(f.alice).registerDevice(registration, signature))
        .to.be.revertedWithCustomError(otherRegistry, "InvalidDeviceSignature")
        .withArgs(registration.device);
      await expect(f.registry.connect(f.alice).registerDevice(registration, signature)).to.emit(
        f.registry,
        "DeviceRegistered",
      );
    });

    it("a registration signed under another chainId reverts InvalidDeviceSignature", async function () {
      const f = await loadFixture(protocolFixture);
      const { registration, signature } = await aliceRegistration(f, "other-chain", { chainId: 1n });
      await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
        .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
        .withArgs(registration.device);
    });

    it("a used registration replayed on the same registry reverts DeviceAlreadyRegistered (keys are never reused)", async function () {
      const f = await loadFixture(protocolFixture);
      const { registration, signature } = await aliceRegistration(f, "once");
      await f.registry.connect(f.alice).registerDevice(registration, signature);
      await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
        .to.be.revertedWithCustomError(f.registry, "DeviceAlreadyRegistered")
        .withArgs(registration.device);
    });

    it("a used location-update signature replayed later reverts InvalidDeviceSignature (its nonce is spent)", async function () {
      const f = await loadFixture(protocolFixture);
      const device = deviceWallet("alice-1"); // f.aliceDevice
      await time.increase(LOCATION_COOLDOWN);
      const deadline = BigInt(await time.latest()) + 30n * DAY;
      const toCell2 = await signLocationUpdate(f.registry, device, H3_CELL_2, deadline);
      await f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, toCell2);
      await time.increase(LOCATION_COOLDOWN);
      const back = await signLocationUpdate(f.registry, device, H3_CELL, deadline);
      await f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL, deadline, back);
      await time.increase(LOCATION_COOLDOWN);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, toCell2))
        .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
        .withArgs(f.aliceDevice);
    });
  });

  describe("fault evidence", function () {
    /** Epoch 0 finalised with a faults root holding alice-1's InvalidProof. */
    async function faultsFixture() {
      const f = await endedFixture();
      const evidence = ethers.id("forged proof");
      const tree = buildFaultsTree([
        { device: f.aliceDevice, kind: FaultKind.InvalidProof, evidence },
        { device: ethers.Wallet.createRandom().address, kind: FaultKind.MissedDuty, evidence: ethers.ZeroHash },
      ]);
      const verdict = makeVerdict(0n, { faultsRoot: tree.root });
      await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
      await time.increase(CHALLENGE_WINDOW);
      await f.hub.finaliseVerdict(0n);
      return { ...f, evidence, proof: tree.getProof(0) };
    }

    it("a fault applied twice reverts FaultAlreadyPenalised; a fisherman re-challenging it reverts FaultAlreadyPenalised", async function () {
      const f = await loadFixture(faultsFixture);
      await f.hub.applyFault(0n, f.aliceDevice, FaultKind.InvalidProof, f.evidence, f.proof);
      const id = await f.slashing.faultId(f.aliceDevice, FaultKind.InvalidProof, 0n);
      await expect(f.hub.applyFault(0n, f.aliceDevice, FaultKind.InvalidProof, f.evidence, f.proof))
        .to.be.revertedWithCustomError(f.slashing, "FaultAlreadyPenalised")
        .withArgs(id);
      await expect(f.slashing.connect(f.fisher).openChallenge(f.aliceDevice, FaultKind.InvalidProof, 0n, f.evidence))
        .to.be.revertedWithCustomError(f.slashing, "FaultAlreadyPenalised")
        .withArgs(id);
    });

    it("epoch N's fault proof replayed against epoch N+1's verdict reverts InvalidFaultProof", async function () {
      const f = await loadFixture(faultsFixture);
      await time.increaseTo(await f.config.epochEnd(1n));
      const verdict = makeVerdict(1n); // no faults
      await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
      await time.increase(CHALLENGE_WINDOW);
      await f.hub.finaliseVerdict(1n);
      await expect(f.hub.applyFault(1n, f.aliceDevice, FaultKind.InvalidProof, f.evidence, f.proof))
        .to.be.revertedWithCustomError(f.hub, "InvalidFaultProof")
        .withArgs(1n, f.aliceDevice);
    });

    it("a fault replayed after the unbonding period (statute of limitations) reverts FaultTooOld", async function () {
      const f = await loadFixture(faultsFixture);
      const expiredAt = (await f.config.epochEnd(0n)) + UNBONDING_PERIOD;
      await time.increaseTo(expiredAt + 1n);
      await expect(f.hub.applyFault(0n, f.aliceDevice, FaultKind.InvalidProof, f.evidence, f.proof))
        .to.be.revertedWithCustomError(f.slashing, "FaultTooOld")
        .withArgs(0n, expiredAt);
    });
  });
});

describe("Security: malleable signatures", function () {
  it("the high-s twin of a valid oracle signature (s' = n - s, v flipped) reverts InvalidSignature, though raw ecrecover accepts it", async function () {
    const f = await loadFixture(endedFixture);
    const verdict = makeVerdict(0n);
    const signatures = await signedBy(f.hub, verdict, f.oracles.slice(0, 3));
    const twin = highS(signatures[0]);
    const digest = await f.hub.verdictDigest(verdict);
    expect(await ecrecoverPrecompile(digest, twin)).to.equal(f.oracles[0].address);
    await expect(f.hub.submitVerdict(verdict, [twin, ...signatures.slice(1)]))
      .to.be.revertedWithCustomError(f.hub, "InvalidSignature")
      .withArgs(0n);
  });

  it("the EIP-2098 compact (64-byte) form of an oracle signature reverts InvalidSignature", async function () {
    const f = await loadFixture(endedFixture);
    const verdict = makeVerdict(0n);
    const signatures = await signedBy(f.hub, verdict, f.oracles.slice(0, 3));
    await expect(f.hub.submitVerdict(verdict, [signatures[0], signatures[1], compact(signatures[2])]))
      .to.be.revertedWithCustomError(f.hub, "InvalidSignature")
      .withArgs(2n);
  });

  it("one oracle cannot count twice: its signature repeated reverts SignersNotAscending, its high-s twin InvalidSignature", async function () {
    const f = await loadFixture(endedFixture);
    const verdict = makeVerdict(0n);
    const [a, b] = await signedBy(f.hub, verdict, f.oracles.slice(0, 2));
    await expect(f.hub.submitVerdict(verdict, [a, a, b]))
      .to.be.revertedWithCustomError(f.hub, "SignersNotAscending")
      .withArgs(1n, f.oracles[0].address);
    await expect(f.hub.submitVerdict(verdict, [a, highS(a), b]))
      .to.be.revertedWithCustomError(f.hub, "InvalidSignature")
      .withArgs(1n);
    await expect(f.hub.submitVerdict(verdict, [a, b]))
      .to.be.revertedWithCustomError(f.hub, "QuorumNotReached")
      .withArgs(0n, 2n, 3n);
  });

  it("the high-s twin of a valid device registration signature reverts InvalidDeviceSignature", async function () {
    const f = await loadFixture(protocolFixture);
    const { registration, signature } = await aliceRegistration(f, "malleable");
    await expect(f.registry.connect(f.alice).registerDevice(registration, highS(signature)))
      .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
      .withArgs(registration.device);
    await expect(f.registry.connect(f.alice).registerDevice(registration, signature)).to.emit(
      f.registry,
      "DeviceRegistered",
    );
  });
});

describe("Security: front-running a device registration", function () {
  /** protocolFixture plus: bob, the attacker, is a staked operator able to register a device himself. */
  async function frontRunFixture() {
    const f = await protocolFixture();
    await f.staking.connect(f.bob).stake(1_000n * MESH);
    return f;
  }

  it("the attacker relaying the operator's registration from its own account reverts InvalidDeviceSignature (the device signed the operator)", async function () {
    const f = await loadFixture(frontRunFixture);
    const { registration, signature } = await aliceRegistration(f, "victim");
    await expect(f.registry.connect(f.bob).registerDevice(registration, signature))
      .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
      .withArgs(registration.device);
    // Nor with another metadata URI (the one field the device does not sign).
    await expect(f.registry.connect(f.bob).registerDevice({ ...registration, metadataURI: "ipfs://bob" }, signature))
      .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
      .withArgs(registration.device);
    expect(await f.registry.nonces(registration.device)).to.equal(0n);
  });

  it("mined ahead of the victim in the same block, the attacker's copy fails and the victim's registration goes through", async function () {
    const f = await loadFixture(frontRunFixture);
    const { registration, signature } = await aliceRegistration(f, "mempool");
    const fee = (await ethers.provider.getFeeData()).maxFeePerGas!;
    await network.provider.send("evm_setAutomine", [false]);
    try {
      const victim = await f.registry
        .connect(f.alice)
        .registerDevice(registration, signature, { gasLimit: 500_000n, maxFeePerGas: fee, maxPriorityFeePerGas: 1n });
      const attacker = await f.registry
        .connect(f.bob)
        .registerDevice(registration, signature, {
          gasLimit: 500_000n,
          maxFeePerGas: fee * 2n,
          maxPriorityFeePerGas: fee,
        });
      await network.provider.send("evm_mine", []);
      const [a, v] = await Promise.all([
        ethers.provider.getTransactionReceipt(attacker.hash),
        ethers.provider.getTransactionReceipt(victim.hash),
      ]);
      expect(a!.blockNumber).to.equal(v!.blockNumber);
      expect(a!.index).to.be.lessThan(v!.index); // the attacker really went first
      expect(a!.status).to.equal(0);
      expect(v!.status).to.equal(1);
    } finally {
      await network.provider.send("evm_setAutomine", [true]);
    }
    expect(await f.registry.operatorOf(registration.device)).to.equal(f.alice.address);
  });
});
