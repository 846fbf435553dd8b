/**
 * Adversarial suite: dodging a slash by handing the device over. An operator that sees its device's fault in a
 * pending verdict offers the device to an accomplice with little stake; the fault must still be charged to the
 * operator of the fault's epoch (`ProviderRegistry.operatorAt`), and the device cannot be passed on again while that
 * operator's faults can still be applied.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { DAY, FaultKind, MESH, Param, protocolFixture } from "../helpers/fixtures";
import { makeVerdict, signedBy } from "../helpers/verdicts";
import { faultOf } from "./helpers";

const CHALLENGE_WINDOW = DAY;

async function faultPendingFixture() {
  const f = await loadFixture(protocolFixture);
  // Epoch 0's verdict (pending) proves a fault of alice's device; bob, the accomplice, stakes just enough.
  await time.increaseTo(await f.config.epochEnd(0n));
  const fault = faultOf(f.aliceDevice);
  const verdict = makeVerdict(0n, { faultsRoot: fault.root });
  await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  await f.staking.connect(f.bob).stake(1_000n * MESH);
  return { ...f, fault };
}

describe("Security: transferring a device to dodge its slash", function () {
  it("the fault of an epoch before the transfer is charged to the operator of that epoch, not to the new one", async function () {
    const f = await loadFixture(faultPendingFixture);
    await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
    await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
      .to.emit(f.registry, "DeviceTransferred")
      .withArgs(f.aliceDevice, f.alice.address, f.bob.address);
    const epoch = await f.config.currentEpoch();
    expect(await f.registry.operatorAt(f.aliceDevice, 0n)).to.equal(f.alice.address);
    expect(await f.registry.operatorAt(f.aliceDevice, epoch)).to.equal(f.alice.address);
    expect(await f.registry.operatorAt(f.aliceDevice, epoch + 1n)).to.equal(f.bob.address);

    await time.increase(CHALLENGE_WINDOW);
    await f.hub.finaliseVerdict(0n);
    const aliceBefore = await f.staking.slashableStake(f.alice.address);
    const bobBefore = await f.staking.slashableStake(f.bob.address);
    await expect(f.hub.applyFault(0n, f.aliceDevice, FaultKind.InvalidProof, f.fault.evidence, f.fault.proof))
      .to.emit(f.slashing, "FaultPenalised")
      .withArgs(
        await f.slashing.faultId(f.aliceDevice, FaultKind.InvalidProof, 0n),
        f.aliceDevice,
        f.alice.address,
        FaultKind.InvalidProof,
        0n,
        (slashed: bigint) => slashed > 0n,
        f.fault.evidence,
      );
    expect(await f.staking.slashableStake(f.alice.address)).to.be.lessThan(aliceBefore);
    expect(await f.staking.slashableStake(f.bob.address)).to.equal(bobBefore);
  });

  it("the device cannot be passed on again while its former operator's faults can be applied (TransferTooSoon)", async function () {
    const f = await loadFixture(faultPendingFixture);
    await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
    await f.registry.connect(f.bob).acceptTransfer(f.aliceDevice);
    const transferEpoch = await f.config.currentEpoch();
    const allowedAfter = (await f.config.epochEnd(transferEpoch)) + (await f.config.param(Param.UnbondingPeriod));

    await f.staking.connect(f.carol).stake(1_000n * MESH);
    await expect(f.registry.connect(f.bob).offerTransfer(f.aliceDevice, f.carol.address))
      .to.be.revertedWithCustomError(f.registry, "TransferTooSoon")
      .withArgs(f.aliceDevice, allowedAfter);

    // Past the limit, the fault is too old to apply anywhere and the device may move again.
    await time.increaseTo(allowedAfter + 1n);
    await f.registry.connect(f.bob).offerTransfer(f.aliceDevice, f.carol.address);
    await f.registry.connect(f.carol).acceptTransfer(f.aliceDevice);
    expect(await f.registry.operatorOf(f.aliceDevice)).to.equal(f.carol.address);
  });

  it("withdrawing an offer (to zero) is always possible; a new offer too soon is refused", async function () {
    const f = await loadFixture(faultPendingFixture);
    await f.staking.connect(f.carol).stake(1_000n * MESH);
    await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
    await f.registry.connect(f.bob).acceptTransfer(f.aliceDevice);
    await expect(f.registry.connect(f.bob).offerTransfer(f.aliceDevice, ethers.ZeroAddress)).to.emit(
      f.registry,
      "TransferOffered",
    );
    await expect(f.registry.connect(f.bob).offerTransfer(f.aliceDevice, f.carol.address)).to.be.revertedWithCustomError(
      f.registry,
      "TransferTooSoon",
    );
  });
});
