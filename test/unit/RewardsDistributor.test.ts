import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";

import type { RewardClaimStruct } from "../../typechain-types/contracts/RewardsDistributor";
import { buildRewardsTree, type RewardLeaf, type RewardsTree } from "../../sdk/trees";
import { DAY, MESH, ResourceClass, protocolFixture, registerDevice, type ProtocolFixture } from "../helpers/fixtures";
import { makeVerdict, signedBy } from "../helpers/verdicts";

const HOUR = 3_600n;
const CHALLENGE_WINDOW = 12n * HOUR; // ProtocolConfig default VerdictChallengeWindow
const GENESIS_SUPPLY = 100_000_000n * MESH; // protocolFixture
const MAX_SUPPLY = 1_000_000_000n * MESH; // MeshToken.MAX_SUPPLY
const BUDGET = MAX_SUPPLY - GENESIS_SUPPLY;
/** Default schedule: halving every 730 epochs with 2 x 730 x R = budget, so R per epoch in the first period. */
const EPOCH_EMISSION = BUDGET / 1_460n;
const REWARD_SCALE = 10n ** 36n; // Staking.REWARD_SCALE
const BPS = 10_000n;
const DISTRIBUTOR_ROLE = ethers.id("DISTRIBUTOR_ROLE"); // Staking.DISTRIBUTOR_ROLE

/** A registered-nowhere address with a recognisable origin. */
const GHOST = ethers.getAddress(ethers.dataSlice(ethers.id("meshwork-test-unregistered-device"), 12));

/* HELPERS */

/**
 * Waits until `epoch` has ended, builds the rewards tree of `leaves`, relays a verdict carrying its root signed by 3
 * of the 5 oracles, waits out the challenge window and finalises it. Returns the tree.
 */
async function finaliseEpoch(f: ProtocolFixture, epoch: bigint, leaves: readonly RewardLeaf[]): Promise<RewardsTree> {
  const endsAt = await f.config.epochEnd(epoch);
  if (BigInt(await time.latest()) < endsAt) await time.increaseTo(endsAt);
  const tree = buildRewardsTree(leaves);
  const verdict = makeVerdict(epoch, { rewardsRoot: tree.root, devicesCounted: BigInt(leaves.length) });
  await f.hub.connect(f.outsider).submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  await time.increase(CHALLENGE_WINDOW);
  await f.hub.connect(f.outsider).finaliseVerdict(epoch);
  return tree;
}

/** Proof of the leaf (device, amount) in `tree`. */
function proofOf(tree: RewardsTree, device: string, amount: bigint): string[] {
  for (const [i, [d, a]] of tree.entries()) {
    if (d === device && BigInt(a) === amount) return tree.getProof(i);
  }
  throw new Error(`no leaf (${device}, ${amount})`);
}

/** The claim of (device, amount) against `tree`. */
function claimOf(tree: RewardsTree, device: string, amount: bigint): RewardClaimStruct {
  return { device, cumulativeAmount: amount, proof: proofOf(tree, device, amount) };
}

/** The token's Transfer events of `tx`, in order, as [from, to, value]. */
async function tokenTransfers(
  f: ProtocolFixture,
  tx: Promise<ContractTransactionResponse>,
): Promise<[string, string, bigint][]> {
  const receipt = await (await tx).wait();
  const token = await f.token.getAddress();
  return receipt!.logs
    .filter((log) => log.address === token)
    .map((log) => f.token.interface.parseLog(log))
    .filter((ev) => ev?.name === "Transfer")
    .map((ev) => [ev!.args.from as string, ev!.args.to as string, ev!.args.value as bigint]);
}

/**
 * The books after the emission path moved into Staking: the distributor never holds tokens, Staking holds exactly its
 * stake plus its reserve, and the unclaimed emission (totalMinted - totalClaimed) is part of that reserve, next to what
 * claims credited and nobody has collected yet (`credited`).
 */
async function expectBooks(f: ProtocolFixture, credited: bigint): Promise<void> {
  const { token, staking, distributor } = f;
  expect(await token.balanceOf(distributor)).to.equal(0n);
  const reserved = await staking.rewardsReserved();
  expect(await token.balanceOf(staking)).to.equal(
    (await staking.totalStaked()) + (await staking.totalUnbonding()) + reserved,
  );
  expect(reserved).to.equal((await distributor.totalMinted()) - (await distributor.totalClaimed()) + credited);
}

/* FIXTURES */

// Cumulative rewards of the first finalised root (epoch 0).
const ALICE_1 = 1_000n * MESH;
const ALICE_2 = 250n * MESH;
const BOB_1 = 400n * MESH;

type Devices = ProtocolFixture & { aliceStorage: string; bobDevice: string };

/** protocolFixture plus alice's Storage device (1,000 GiB) and bob (1,000 MESH self-stake) with a Coverage device. */
async function devicesFixture(): Promise<Devices> {
  const f = await protocolFixture();
  const aliceStorage = await registerDevice(f.registry, f.alice, {
    label: "rd-alice-disk",
    resourceClass: ResourceClass.Storage,
    capacity: 1_000n,
  });
  await f.staking.connect(f.bob).stake(1_000n * MESH);
  const bobDevice = await registerDevice(f.registry, f.bob, { label: "rd-bob-1" });
  return { ...f, aliceStorage, bobDevice };
}

type Finalised = Devices & { tree0: RewardsTree; leaves0: RewardLeaf[] };

/** devicesFixture with epoch 0 finalised (root of alice-1, alice's disk and bob-1); nobody has synced yet. */
async function finalisedFixture(): Promise<Finalised> {
  const f = await devicesFixture();
  const leaves0: RewardLeaf[] = [
    { device: f.aliceDevice, cumulativeAmount: ALICE_1 },
    { device: f.aliceStorage, cumulativeAmount: ALICE_2 },
    { device: f.bobDevice, cumulativeAmount: BOB_1 },
  ];
  const tree0 = await finaliseEpoch(f, 0n, leaves0);
  return { ...f, tree0, leaves0 };
}

/** finalisedFixture with alice-1's epoch-0 rewards claimed. */
async function claimedFixture(): Promise<Finalised> {
  const f = await finalisedFixture();
  await f.distributor.connect(f.outsider).claim(f.aliceDevice, ALICE_1, proofOf(f.tree0, f.aliceDevice, ALICE_1));
  return f;
}

/* TESTS */

describe("RewardsDistributor", function () {
  describe("deployment", function () {
    it("wires token, hub, schedule, registry and staking and starts empty", async function () {
      const f = await loadFixture(protocolFixture);
      const { distributor } = f;
      expect(await distributor.token()).to.equal(await f.token.getAddress());
      expect(await distributor.hub()).to.equal(await f.hub.getAddress());
      expect(await distributor.schedule()).to.equal(await f.schedule.getAddress());
      expect(await distributor.registry()).to.equal(await f.registry.getAddress());
      expect(await distributor.staking()).to.equal(await f.staking.getAddress());
      expect(await distributor.currentRoot()).to.deep.equal([0n, ethers.ZeroHash]);
      expect(await distributor.totalMinted()).to.equal(0n);
      expect(await distributor.totalClaimed()).to.equal(0n);
      expect(await distributor.claimed(f.aliceDevice)).to.equal(0n);
      // The distributor mints into Staking and credits there: it holds no tokens and approves nothing, but holds
      // Staking's DISTRIBUTOR_ROLE (and the token's MINTER_ROLE).
      expect(await f.token.allowance(distributor, f.staking)).to.equal(0n);
      expect(await f.token.balanceOf(distributor)).to.equal(0n);
      expect(await f.staking.DISTRIBUTOR_ROLE()).to.equal(DISTRIBUTOR_ROLE);
      expect(await f.staking.hasRole(DISTRIBUTOR_ROLE, distributor)).to.equal(true);
      expect(await f.token.hasRole(await f.token.MINTER_ROLE(), distributor)).to.equal(true);
      expect(await f.staking.rewardsReserved()).to.equal(0n);
      // The schedule the tests rely on: R per epoch in the first halving period, within the budget.
      expect(await f.schedule.emissionBudget()).to.equal(BUDGET);
      expect(await f.schedule.epochEmission(0n)).to.equal(EPOCH_EMISSION);
      expect(await f.schedule.cumulativeEmission(2n)).to.equal(2n * EPOCH_EMISSION);
    });
  });

  describe("sync", function () {
    it("is a no-op before any verdict is finalised", async function () {
      const f = await loadFixture(devicesFixture);
      const supply = await f.token.totalSupply();
      const tx = f.distributor.connect(f.outsider).sync();
      await expect(tx).not.to.emit(f.distributor, "RootUpdated");
      await expect(tx).not.to.emit(f.staking, "RewardsReserved");
      expect(await f.distributor.totalMinted()).to.equal(0n);
      expect(await f.distributor.currentRoot()).to.deep.equal([0n, ethers.ZeroHash]);
      expect(await f.token.balanceOf(f.distributor)).to.equal(0n);
      expect(await f.staking.rewardsReserved()).to.equal(0n);
      expect(await f.token.totalSupply()).to.equal(supply);
    });

    it("is a no-op while the only verdict is pending", async function () {
      const f = await loadFixture(devicesFixture);
      await time.increaseTo(await f.config.epochEnd(0n));
      const verdict = makeVerdict(0n);
      await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
      await expect(f.distributor.sync()).not.to.emit(f.distributor, "RootUpdated");
      expect(await f.distributor.totalMinted()).to.equal(0n);
      expect(await f.distributor.currentRoot()).to.deep.equal([0n, ethers.ZeroHash]);
    });

    it("after epoch 0 is finalised, adopts its root and mints exactly cumulativeEmission(1)", async function () {
      const f = await loadFixture(finalisedFixture);
      const expected = await f.schedule.cumulativeEmission(1n);
      expect(expected).to.equal(EPOCH_EMISSION);
      const supply = await f.token.totalSupply();

      const reservedBefore = await f.staking.rewardsReserved();
      expect(reservedBefore).to.equal(0n);

      // Minted straight into Staking (the only Transfer), then reserved there by the distributor.
      const tx = f.distributor.connect(f.outsider).sync();
      await expect(tx).to.emit(f.distributor, "RootUpdated").withArgs(0n, f.tree0.root, expected);
      expect(await tokenTransfers(f, tx)).to.deep.equal([[ethers.ZeroAddress, await f.staking.getAddress(), expected]]);
      await expect(tx)
        .to.emit(f.staking, "RewardsReserved")
        .withArgs(await f.distributor.getAddress(), expected);
      await expect(tx).to.changeTokenBalances(f.token, [f.distributor, f.staking], [0n, expected]);

      expect(await f.distributor.totalMinted()).to.equal(expected);
      expect(await f.distributor.totalClaimed()).to.equal(0n);
      expect(await f.distributor.currentRoot()).to.deep.equal([0n, f.tree0.root]);
      expect(await f.token.totalSupply()).to.equal(supply + expected);
      expect(await f.staking.rewardsReserved()).to.equal(reservedBefore + expected);
      await expectBooks(f, 0n);
    });

    it("mints nothing when called again for the same root", async function () {
      const f = await loadFixture(finalisedFixture);
      await f.distributor.sync();
      const tx = f.distributor.sync();
      await expect(tx).not.to.emit(f.distributor, "RootUpdated");
      await expect(tx).not.to.emit(f.token, "Transfer");
      await expect(tx).not.to.emit(f.staking, "RewardsReserved");
      expect(await f.distributor.totalMinted()).to.equal(EPOCH_EMISSION);
      expect(await f.staking.rewardsReserved()).to.equal(EPOCH_EMISSION);
      expect(await f.token.balanceOf(f.staking)).to.equal((await f.staking.totalStaked()) + EPOCH_EMISSION);
      await expectBooks(f, 0n);
      expect(await f.distributor.currentRoot()).to.deep.equal([0n, f.tree0.root]);
    });

    it("adopts a newer finalised root and mints only the newer epochs' emission", async function () {
      const f = await loadFixture(finalisedFixture);
      await f.distributor.sync();
      const tree1 = await finaliseEpoch(f, 1n, [{ device: f.aliceDevice, cumulativeAmount: 2n * ALICE_1 }]);
      const increment = await f.schedule.epochEmission(1n);
      expect(increment).to.equal(EPOCH_EMISSION);

      const tx = f.distributor.sync();
      await expect(tx).to.emit(f.distributor, "RootUpdated").withArgs(1n, tree1.root, increment);
      await expect(tx).to.emit(f.staking, "RewardsReserved").withArgs(await f.distributor.getAddress(), increment);
      const mint = [ethers.ZeroAddress, await f.staking.getAddress(), increment];
      expect(await tokenTransfers(f, tx)).to.deep.equal([mint]);
      expect(await f.distributor.totalMinted()).to.equal(await f.schedule.cumulativeEmission(2n));
      expect(await f.staking.rewardsReserved()).to.equal(2n * EPOCH_EMISSION);
      await expectBooks(f, 0n);
      expect(await f.distributor.currentRoot()).to.deep.equal([1n, tree1.root]);
    });

    it("rolls an epoch without a verdict over into the next finalised one (epoch 0 skipped, epoch 1 finalised)", async function () {
      const f = await loadFixture(devicesFixture);
      const tree1 = await finaliseEpoch(f, 1n, [{ device: f.aliceDevice, cumulativeAmount: ALICE_1 }]);
      expect((await f.hub.getVerdict(0n)).status).to.equal(0n); // epoch 0 never got a verdict
      const expected = await f.schedule.cumulativeEmission(2n);
      expect(expected).to.equal((await f.schedule.epochEmission(0n)) + (await f.schedule.epochEmission(1n)));

      const tx = f.distributor.sync();
      await expect(tx).to.emit(f.distributor, "RootUpdated").withArgs(1n, tree1.root, expected);
      await expect(tx).to.emit(f.staking, "RewardsReserved").withArgs(await f.distributor.getAddress(), expected);
      expect(await f.distributor.totalMinted()).to.equal(2n * EPOCH_EMISSION);
      expect(await f.staking.rewardsReserved()).to.equal(2n * EPOCH_EMISSION);
      await expectBooks(f, 0n);
    });

    it("mints only up to the finalised epoch, however late it is synced", async function () {
      const f = await loadFixture(devicesFixture);
      await time.increaseTo(await f.config.epochEnd(0n));
      const verdict = makeVerdict(0n);
      await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
      await time.increase(5n * DAY); // finalised while epoch 6 runs
      await f.hub.finaliseVerdict(0n);
      expect(await f.config.currentEpoch()).to.equal(6n);

      await expect(f.distributor.sync()).to.emit(f.distributor, "RootUpdated").withArgs(0n, verdict.rewardsRoot, EPOCH_EMISSION);
      expect(await f.distributor.totalMinted()).to.equal(await f.schedule.cumulativeEmission(1n));
    });

    it("never mints more than the schedule's cumulative emission up to the latest finalised epoch", async function () {
      const f = await loadFixture(devicesFixture);
      const supply = await f.token.totalSupply();
      // Epochs 0, 2 (1 rolled over), 3, 6 (4 and 5 rolled over); sync after each.
      for (const epoch of [0n, 2n, 3n, 6n]) {
        await finaliseEpoch(f, epoch, [{ device: f.aliceDevice, cumulativeAmount: (epoch + 1n) * MESH }]);
        await f.distributor.sync();
        await f.distributor.sync();
        const cumulative = await f.schedule.cumulativeEmission(epoch + 1n);
        expect(cumulative).to.equal((epoch + 1n) * EPOCH_EMISSION);
        expect(await f.distributor.totalMinted()).to.equal(cumulative);
        expect(await f.token.totalSupply()).to.equal(supply + cumulative);
        expect(await f.staking.rewardsReserved()).to.equal(cumulative);
        expect(await f.distributor.totalMinted()).to.be.lte(await f.schedule.emissionBudget());
      }
    });
  });

  describe("claim", function () {
    it("pays the device's cumulative amount into its operator's pool via staking", async function () {
      const f = await loadFixture(finalisedFixture);
      const { distributor, staking, token, alice, aliceDevice } = f;
      const proof = proofOf(f.tree0, aliceDevice, ALICE_1);
      expect(await staking.pendingRewards(alice, alice)).to.equal(0n);
      expect(await distributor.connect(f.outsider).claim.staticCall(aliceDevice, ALICE_1, proof)).to.equal(ALICE_1);

      // Anyone may claim (outsider has no tokens and no role). No root is in use yet, so the proof fails against it
      // and the claim syncs: the emission is minted into Staking and reserved, then alice's pool is credited from
      // that reserve without moving tokens.
      const tx = distributor.connect(f.outsider).claim(aliceDevice, ALICE_1, proof);
      await expect(tx).to.emit(distributor, "RootUpdated").withArgs(0n, f.tree0.root, EPOCH_EMISSION);
      await expect(tx).to.emit(staking, "RewardsReserved").withArgs(await distributor.getAddress(), EPOCH_EMISSION);
      await expect(tx)
        .to.emit(distributor, "RewardsClaimed")
        .withArgs(aliceDevice, alice.address, ALICE_1, ALICE_1);
      // No delegators: everything goes to alice's own rewards.
      await expect(tx)
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, await distributor.getAddress(), ALICE_1, 0n);
      // The mint is the only transfer.
      const mint = [ethers.ZeroAddress, await staking.getAddress(), EPOCH_EMISSION];
      expect(await tokenTransfers(f, tx)).to.deep.equal([mint]);
      await expect(tx).to.changeTokenBalances(token, [distributor, staking, f.outsider], [0n, EPOCH_EMISSION, 0n]);

      expect(await staking.pendingRewards(alice, alice)).to.equal(ALICE_1);
      expect(await distributor.claimed(aliceDevice)).to.equal(ALICE_1);
      expect(await distributor.totalClaimed()).to.equal(ALICE_1);
      expect(await distributor.claimed(f.aliceStorage)).to.equal(0n);
      // The credit does not change the reserve: it holds the whole mint, alice's credit included.
      expect(await staking.rewardsReserved()).to.equal(EPOCH_EMISSION);
      await expectBooks(f, ALICE_1);

      // A claim against the root in use neither syncs nor moves tokens.
      const storageProof = proofOf(f.tree0, f.aliceStorage, ALICE_2);
      const tx2 = distributor.connect(f.outsider).claim(f.aliceStorage, ALICE_2, storageProof);
      await expect(tx2).not.to.emit(distributor, "RootUpdated");
      await expect(tx2).not.to.emit(staking, "RewardsReserved");
      await expect(tx2).not.to.emit(token, "Transfer");
      await expect(tx2)
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, await distributor.getAddress(), ALICE_2, 0n);
      await expect(tx2).to.changeTokenBalances(token, [distributor, staking], [0n, 0n]);
      expect(await staking.rewardsReserved()).to.equal(EPOCH_EMISSION);
      expect(await staking.pendingRewards(alice, alice)).to.equal(ALICE_1 + ALICE_2);
      await expectBooks(f, ALICE_1 + ALICE_2);

      // alice collects it from staking's reserve.
      const collect = staking.connect(alice).claimRewards(alice);
      await expect(collect).to.changeTokenBalances(token, [alice, staking], [ALICE_1 + ALICE_2, -(ALICE_1 + ALICE_2)]);
      expect(await staking.rewardsReserved()).to.equal(EPOCH_EMISSION - ALICE_1 - ALICE_2);
      await expectBooks(f, 0n);
    });

    it("pays only the increment against a newer root", async function () {
      const f = await loadFixture(claimedFixture);
      const tree1 = await finaliseEpoch(f, 1n, [
        { device: f.aliceDevice, cumulativeAmount: 1_600n * MESH },
        { device: f.bobDevice, cumulativeAmount: BOB_1 },
      ]);
      const proof = proofOf(tree1, f.aliceDevice, 1_600n * MESH);
      expect(await f.distributor.claim.staticCall(f.aliceDevice, 1_600n * MESH, proof)).to.equal(600n * MESH);

      // The proof is for the newer root, not the one in use: the claim syncs (minting epoch 1) and pays against it.
      const tx = f.distributor.claim(f.aliceDevice, 1_600n * MESH, proof);
      await expect(tx).to.emit(f.distributor, "RootUpdated").withArgs(1n, tree1.root, EPOCH_EMISSION);
      await expect(tx)
        .to.emit(f.distributor, "RewardsClaimed")
        .withArgs(f.aliceDevice, f.alice.address, 600n * MESH, 1_600n * MESH);
      expect(await f.distributor.claimed(f.aliceDevice)).to.equal(1_600n * MESH);
      expect(await f.distributor.totalClaimed()).to.equal(1_600n * MESH);
      expect(await f.staking.pendingRewards(f.alice, f.alice)).to.equal(1_600n * MESH);
      expect(await f.staking.rewardsReserved()).to.equal(2n * EPOCH_EMISSION);
      await expectBooks(f, 1_600n * MESH);
    });

    it("pays every missed epoch with one proof of the latest root", async function () {
      const f = await loadFixture(claimedFixture);
      // bob never claimed epoch 0 (400); epoch 1 adds 300: one claim pays 700.
      const tree1 = await finaliseEpoch(f, 1n, [
        { device: f.aliceDevice, cumulativeAmount: ALICE_1 },
        { device: f.bobDevice, cumulativeAmount: 700n * MESH },
      ]);
      await expect(f.distributor.claim(f.bobDevice, 700n * MESH, proofOf(tree1, f.bobDevice, 700n * MESH)))
        .to.emit(f.distributor, "RewardsClaimed")
        .withArgs(f.bobDevice, f.bob.address, 700n * MESH, 700n * MESH);
      expect(await f.staking.pendingRewards(f.bob, f.bob)).to.equal(700n * MESH);
      expect(await f.distributor.totalClaimed()).to.equal(ALICE_1 + 700n * MESH);
    });

    it("reverts with NothingToClaim for an amount already claimed", async function () {
      const f = await loadFixture(claimedFixture);
      const proof = proofOf(f.tree0, f.aliceDevice, ALICE_1);
      await expect(f.distributor.claim(f.aliceDevice, ALICE_1, proof))
        .to.be.revertedWithCustomError(f.distributor, "NothingToClaim")
        .withArgs(f.aliceDevice, ALICE_1, ALICE_1);

      // A newer root with the same (or a lower, faulty) cumulative pays nothing either.
      const tree1 = await finaliseEpoch(f, 1n, [
        { device: f.aliceDevice, cumulativeAmount: ALICE_1 },
        { device: f.aliceStorage, cumulativeAmount: ALICE_2 },
        { device: f.bobDevice, cumulativeAmount: BOB_1 },
        { device: f.aliceDevice, cumulativeAmount: ALICE_1 - 1n },
      ]);
      await expect(f.distributor.claim(f.aliceDevice, ALICE_1, proofOf(tree1, f.aliceDevice, ALICE_1)))
        .to.be.revertedWithCustomError(f.distributor, "NothingToClaim")
        .withArgs(f.aliceDevice, ALICE_1, ALICE_1);
      await expect(f.distributor.claim(f.aliceDevice, ALICE_1 - 1n, proofOf(tree1, f.aliceDevice, ALICE_1 - 1n)))
        .to.be.revertedWithCustomError(f.distributor, "NothingToClaim")
        .withArgs(f.aliceDevice, ALICE_1 - 1n, ALICE_1);
      expect(await f.distributor.totalClaimed()).to.equal(ALICE_1);
    });

    it("reverts with InvalidProof for a wrong amount, a wrong device, a wrong or empty proof", async function () {
      const f = await loadFixture(finalisedFixture);
      const { distributor, aliceDevice, bobDevice, tree0 } = f;
      const aliceProof = proofOf(tree0, aliceDevice, ALICE_1);
      const bobProof = proofOf(tree0, bobDevice, BOB_1);

      await expect(distributor.claim(aliceDevice, ALICE_1 + 1n, aliceProof))
        .to.be.revertedWithCustomError(distributor, "InvalidProof")
        .withArgs(aliceDevice, ALICE_1 + 1n);
      await expect(distributor.claim(aliceDevice, BOB_1, bobProof))
        .to.be.revertedWithCustomError(distributor, "InvalidProof")
        .withArgs(aliceDevice, BOB_1);
      await expect(distributor.claim(bobDevice, ALICE_1, aliceProof))
        .to.be.revertedWithCustomError(distributor, "InvalidProof")
        .withArgs(bobDevice, ALICE_1);
      await expect(distributor.claim(aliceDevice, ALICE_1, bobProof))
        .to.be.revertedWithCustomError(distributor, "InvalidProof")
        .withArgs(aliceDevice, ALICE_1);
      await expect(distributor.claim(aliceDevice, ALICE_1, []))
        .to.be.revertedWithCustomError(distributor, "InvalidProof")
        .withArgs(aliceDevice, ALICE_1);
      await expect(distributor.claim(aliceDevice, ALICE_1, [...aliceProof, ethers.ZeroHash]))
        .to.be.revertedWithCustomError(distributor, "InvalidProof")
        .withArgs(aliceDevice, ALICE_1);
      expect(await distributor.totalClaimed()).to.equal(0n);
    });

    it("pays a proof for the root in use without syncing while a newer root is finalised but not adopted", async function () {
      const f = await loadFixture(finalisedFixture);
      const { distributor, staking, token } = f;
      await distributor.sync();
      const tree1 = await finaliseEpoch(f, 1n, [{ device: f.aliceDevice, cumulativeAmount: 2n * ALICE_1 }]);
      expect((await f.hub.latestFinalised()).rewardsRoot).to.equal(tree1.root);

      // bob's epoch-0 leaf (absent from tree1) still verifies against root 0, which is in use: paid, no sync.
      const tx = distributor.claim(f.bobDevice, BOB_1, proofOf(f.tree0, f.bobDevice, BOB_1));
      await expect(tx).to.emit(distributor, "RewardsClaimed").withArgs(f.bobDevice, f.bob.address, BOB_1, BOB_1);
      await expect(tx).not.to.emit(distributor, "RootUpdated");
      await expect(tx).not.to.emit(token, "Transfer");
      expect(await distributor.currentRoot()).to.deep.equal([0n, f.tree0.root]);
      expect(await distributor.totalMinted()).to.equal(EPOCH_EMISSION);
      expect(await staking.rewardsReserved()).to.equal(EPOCH_EMISSION);

      // Likewise alice's epoch-0 amount, although tree1 gives her more.
      const tx0 = distributor.claim(f.aliceDevice, ALICE_1, proofOf(f.tree0, f.aliceDevice, ALICE_1));
      await expect(tx0)
        .to.emit(distributor, "RewardsClaimed")
        .withArgs(f.aliceDevice, f.alice.address, ALICE_1, ALICE_1);
      await expect(tx0).not.to.emit(distributor, "RootUpdated");
      expect(await distributor.currentRoot()).to.deep.equal([0n, f.tree0.root]);
      await expectBooks(f, ALICE_1 + BOB_1);

      // Her tree1 proof fails against root 0: the claim adopts tree1 (minting epoch 1) and pays the increment.
      const tx1 = distributor.claim(f.aliceDevice, 2n * ALICE_1, proofOf(tree1, f.aliceDevice, 2n * ALICE_1));
      await expect(tx1).to.emit(distributor, "RootUpdated").withArgs(1n, tree1.root, EPOCH_EMISSION);
      await expect(tx1)
        .to.emit(distributor, "RewardsClaimed")
        .withArgs(f.aliceDevice, f.alice.address, ALICE_1, 2n * ALICE_1);
      const mint = [ethers.ZeroAddress, await staking.getAddress(), EPOCH_EMISSION];
      expect(await tokenTransfers(f, tx1)).to.deep.equal([mint]);
      expect(await distributor.currentRoot()).to.deep.equal([1n, tree1.root]);
      expect(await distributor.totalMinted()).to.equal(2n * EPOCH_EMISSION);
      expect(await distributor.totalClaimed()).to.equal(2n * ALICE_1 + BOB_1);
      expect(await staking.pendingRewards(f.alice, f.alice)).to.equal(2n * ALICE_1);
      await expectBooks(f, 2n * ALICE_1 + BOB_1);

      // Root 0 is superseded now: its leaves verify against neither root.
      await expect(distributor.claim(f.aliceStorage, ALICE_2, proofOf(f.tree0, f.aliceStorage, ALICE_2)))
        .to.be.revertedWithCustomError(distributor, "InvalidProof")
        .withArgs(f.aliceStorage, ALICE_2);
    });

    it("reverts with InvalidProof for a proof valid for neither the root in use nor the latest finalised one", async function () {
      const f = await loadFixture(finalisedFixture);
      const { distributor } = f;
      await distributor.sync();
      const tree1 = await finaliseEpoch(f, 1n, [
        { device: f.aliceDevice, cumulativeAmount: 2n * ALICE_1 },
        { device: f.bobDevice, cumulativeAmount: 2n * BOB_1 },
      ]);
      // Epoch 2's verdict is only pending: its root is not a candidate.
      await time.increaseTo(await f.config.epochEnd(2n));
      const tree2 = buildRewardsTree([
        { device: f.aliceDevice, cumulativeAmount: 3n * ALICE_1 },
        { device: GHOST, cumulativeAmount: 1n },
      ]);
      const verdict2 = makeVerdict(2n, { rewardsRoot: tree2.root });
      await f.hub.submitVerdict(verdict2, await signedBy(f.hub, verdict2, f.oracles.slice(0, 3)));

      for (const [device, amount, proof] of [
        [f.aliceDevice, ALICE_1 + 1n, proofOf(f.tree0, f.aliceDevice, ALICE_1)], // forged amount, old proof
        [f.aliceDevice, 2n * ALICE_1 + 1n, proofOf(tree1, f.aliceDevice, 2n * ALICE_1)], // forged amount, new proof
        [f.aliceDevice, 3n * ALICE_1, proofOf(tree2, f.aliceDevice, 3n * ALICE_1)], // leaf of the pending root
        [f.bobDevice, BOB_1, []],
      ] as const) {
        await expect(distributor.claim(device, amount, [...proof]))
          .to.be.revertedWithCustomError(distributor, "InvalidProof")
          .withArgs(device, amount);
      }
      // The sync those claims attempted was undone with them.
      expect(await distributor.currentRoot()).to.deep.equal([0n, f.tree0.root]);
      expect(await distributor.totalMinted()).to.equal(EPOCH_EMISSION);
      expect(await distributor.totalClaimed()).to.equal(0n);
      expect(await f.staking.rewardsReserved()).to.equal(EPOCH_EMISSION);
      await expectBooks(f, 0n);
    });

    it("reverts with UnknownDevice for a leaf of an unregistered address", async function () {
      const f = await loadFixture(devicesFixture);
      const tree = await finaliseEpoch(f, 0n, [
        { device: f.aliceDevice, cumulativeAmount: ALICE_1 },
        { device: GHOST, cumulativeAmount: 5n * MESH },
      ]);
      expect(await f.registry.operatorOf(GHOST)).to.equal(ethers.ZeroAddress);
      await expect(f.distributor.claim(GHOST, 5n * MESH, proofOf(tree, GHOST, 5n * MESH)))
        .to.be.revertedWithCustomError(f.distributor, "UnknownDevice")
        .withArgs(GHOST);
      expect(await f.distributor.claimed(GHOST)).to.equal(0n);
    });

    it("reverts with NoFinalisedRoot before any verdict is finalised", async function () {
      const f = await loadFixture(devicesFixture);
      await expect(f.distributor.claim(f.aliceDevice, ALICE_1, [])).to.be.revertedWithCustomError(
        f.distributor,
        "NoFinalisedRoot",
      );
      // A pending verdict does not count.
      await time.increaseTo(await f.config.epochEnd(0n));
      const tree = buildRewardsTree([{ device: f.aliceDevice, cumulativeAmount: ALICE_1 }]);
      const verdict = makeVerdict(0n, { rewardsRoot: tree.root });
      await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
      await expect(f.distributor.claim(f.aliceDevice, ALICE_1, tree.getProof(0))).to.be.revertedWithCustomError(
        f.distributor,
        "NoFinalisedRoot",
      );
    });

    it("reverts with ClaimExceedsMinted when a faulty root pays more than was minted", async function () {
      const f = await loadFixture(devicesFixture);
      // A faulty root: 10 wei short of the whole mint for alice-1, 20 wei for bob-1.
      const tree = await finaliseEpoch(f, 0n, [
        { device: f.aliceDevice, cumulativeAmount: EPOCH_EMISSION - 10n },
        { device: f.bobDevice, cumulativeAmount: 20n },
        { device: f.aliceStorage, cumulativeAmount: EPOCH_EMISSION + 1n },
      ]);
      // More than minted in one claim (the claim's own sync mints first).
      await expect(f.distributor.claim(f.aliceStorage, EPOCH_EMISSION + 1n, proofOf(tree, f.aliceStorage, EPOCH_EMISSION + 1n)))
        .to.be.revertedWithCustomError(f.distributor, "ClaimExceedsMinted")
        .withArgs(EPOCH_EMISSION + 1n, EPOCH_EMISSION);

      await f.distributor.claim(f.aliceDevice, EPOCH_EMISSION - 10n, proofOf(tree, f.aliceDevice, EPOCH_EMISSION - 10n));
      // The second claim would bring the total paid to 10 wei above the mint.
      await expect(f.distributor.claim(f.bobDevice, 20n, proofOf(tree, f.bobDevice, 20n)))
        .to.be.revertedWithCustomError(f.distributor, "ClaimExceedsMinted")
        .withArgs(EPOCH_EMISSION + 10n, EPOCH_EMISSION);
      expect(await f.distributor.totalClaimed()).to.equal(EPOCH_EMISSION - 10n);
      expect(await f.distributor.claimed(f.bobDevice)).to.equal(0n);
      // The 10 wei left unclaimed sit in Staking's reserve next to alice's credit.
      expect(await f.staking.rewardsReserved()).to.equal(EPOCH_EMISSION);
      expect(await f.staking.pendingRewards(f.alice, f.alice)).to.equal(EPOCH_EMISSION - 10n);
      await expectBooks(f, EPOCH_EMISSION - 10n);
    });

    it("pays exactly what was minted (boundary of ClaimExceedsMinted)", async function () {
      const f = await loadFixture(devicesFixture);
      const tree = await finaliseEpoch(f, 0n, [{ device: f.aliceDevice, cumulativeAmount: EPOCH_EMISSION }]);
      await expect(f.distributor.claim(f.aliceDevice, EPOCH_EMISSION, proofOf(tree, f.aliceDevice, EPOCH_EMISSION)))
        .to.emit(f.distributor, "RewardsClaimed")
        .withArgs(f.aliceDevice, f.alice.address, EPOCH_EMISSION, EPOCH_EMISSION);
      expect(await f.distributor.totalClaimed()).to.equal(await f.distributor.totalMinted());
      // The whole reserve is alice's credit.
      expect(await f.staking.rewardsReserved()).to.equal(EPOCH_EMISSION);
      expect(await f.staking.pendingRewards(f.alice, f.alice)).to.equal(EPOCH_EMISSION);
      await expectBooks(f, EPOCH_EMISSION);
    });
  });

  describe("claimMany", function () {
    it("claims for several devices of several operators in one transaction and returns the total", async function () {
      const f = await loadFixture(finalisedFixture);
      const { distributor, staking, tree0 } = f;
      const claims = f.leaves0.map((l) => claimOf(tree0, l.device, l.cumulativeAmount));
      const total = ALICE_1 + ALICE_2 + BOB_1;
      expect(await distributor.connect(f.outsider).claimMany.staticCall(claims)).to.equal(total);

      const tx = distributor.connect(f.outsider).claimMany(claims);
      await expect(tx).to.emit(distributor, "RootUpdated").withArgs(0n, tree0.root, EPOCH_EMISSION);
      await expect(tx).to.emit(distributor, "RewardsClaimed").withArgs(f.aliceDevice, f.alice.address, ALICE_1, ALICE_1);
      await expect(tx).to.emit(distributor, "RewardsClaimed").withArgs(f.aliceStorage, f.alice.address, ALICE_2, ALICE_2);
      await expect(tx).to.emit(distributor, "RewardsClaimed").withArgs(f.bobDevice, f.bob.address, BOB_1, BOB_1);
      const self = await distributor.getAddress();
      await expect(tx).to.emit(staking, "RewardsAdded").withArgs(f.alice.address, self, ALICE_1, 0n);
      await expect(tx).to.emit(staking, "RewardsAdded").withArgs(f.alice.address, self, ALICE_2, 0n);
      await expect(tx).to.emit(staking, "RewardsAdded").withArgs(f.bob.address, self, BOB_1, 0n);
      // claimMany syncs first: the mint into Staking is the only transfer.
      const mint = [ethers.ZeroAddress, await staking.getAddress(), EPOCH_EMISSION];
      expect(await tokenTransfers(f, tx)).to.deep.equal([mint]);
      await expect(tx).to.changeTokenBalances(f.token, [distributor, staking], [0n, EPOCH_EMISSION]);

      expect(await staking.pendingRewards(f.alice, f.alice)).to.equal(ALICE_1 + ALICE_2);
      expect(await staking.pendingRewards(f.bob, f.bob)).to.equal(BOB_1);
      expect(await distributor.totalClaimed()).to.equal(total);
      for (const l of f.leaves0) expect(await distributor.claimed(l.device)).to.equal(l.cumulativeAmount);
      expect(await staking.rewardsReserved()).to.equal(EPOCH_EMISSION);
      await expectBooks(f, total);
    });

    it("pays only the increments against a newer root", async function () {
      const f = await loadFixture(claimedFixture);
      const leaves1: RewardLeaf[] = [
        { device: f.aliceDevice, cumulativeAmount: ALICE_1 + 1n * MESH },
        { device: f.aliceStorage, cumulativeAmount: ALICE_2 + 2n * MESH },
        { device: f.bobDevice, cumulativeAmount: BOB_1 + 3n * MESH },
      ];
      const tree1 = await finaliseEpoch(f, 1n, leaves1);
      const claims = leaves1.map((l) => claimOf(tree1, l.device, l.cumulativeAmount));
      // alice-1 claimed 1,000 before: it gets 1; the others get everything.
      const expected = 1n * MESH + ALICE_2 + 2n * MESH + BOB_1 + 3n * MESH;
      expect(await f.distributor.claimMany.staticCall(claims)).to.equal(expected);
      await expect(f.distributor.claimMany(claims))
        .to.emit(f.distributor, "RewardsClaimed")
        .withArgs(f.aliceDevice, f.alice.address, 1n * MESH, ALICE_1 + 1n * MESH);
      expect(await f.distributor.totalClaimed()).to.equal(ALICE_1 + expected);
    });

    it("reverts the whole batch when one claim is invalid", async function () {
      const f = await loadFixture(finalisedFixture);
      const { distributor, tree0 } = f;
      const good = f.leaves0.map((l) => claimOf(tree0, l.device, l.cumulativeAmount));

      const wrongAmount = [good[0], { ...good[1], cumulativeAmount: ALICE_2 + 1n }, good[2]];
      await expect(distributor.claimMany(wrongAmount))
        .to.be.revertedWithCustomError(distributor, "InvalidProof")
        .withArgs(f.aliceStorage, ALICE_2 + 1n);

      const duplicate = [good[0], good[1], good[0]];
      await expect(distributor.claimMany(duplicate))
        .to.be.revertedWithCustomError(distributor, "NothingToClaim")
        .withArgs(f.aliceDevice, ALICE_1, ALICE_1);

      // Nothing was paid, and the sync of the reverted batches was undone too.
      expect(await distributor.totalClaimed()).to.equal(0n);
      expect(await distributor.totalMinted()).to.equal(0n);
      for (const l of f.leaves0) expect(await distributor.claimed(l.device)).to.equal(0n);
      expect(await f.staking.pendingRewards(f.alice, f.alice)).to.equal(0n);

      // One claim already paid makes a batch containing it revert as a whole.
      await distributor.claim(f.aliceDevice, ALICE_1, good[0].proof);
      await expect(distributor.claimMany(good))
        .to.be.revertedWithCustomError(distributor, "NothingToClaim")
        .withArgs(f.aliceDevice, ALICE_1, ALICE_1);
      expect(await distributor.totalClaimed()).to.equal(ALICE_1);
    });

    it("reverts with UnknownDevice and ClaimExceedsMinted inside a batch", async function () {
      const f = await loadFixture(devicesFixture);
      const leaves: RewardLeaf[] = [
        { device: f.aliceDevice, cumulativeAmount: EPOCH_EMISSION },
        { device: f.bobDevice, cumulativeAmount: 1n },
        { device: GHOST, cumulativeAmount: 1n },
      ];
      const tree = await finaliseEpoch(f, 0n, leaves);
      const [alice, bob, ghost] = leaves.map((l) => claimOf(tree, l.device, l.cumulativeAmount));
      await expect(f.distributor.claimMany([alice, ghost]))
        .to.be.revertedWithCustomError(f.distributor, "UnknownDevice")
        .withArgs(GHOST);
      await expect(f.distributor.claimMany([alice, bob]))
        .to.be.revertedWithCustomError(f.distributor, "ClaimExceedsMinted")
        .withArgs(EPOCH_EMISSION + 1n, EPOCH_EMISSION);
      expect(await f.distributor.totalClaimed()).to.equal(0n);
    });

    it("reverts with NoFinalisedRoot before any verdict is finalised, even for an empty batch", async function () {
      const f = await loadFixture(devicesFixture);
      await expect(
        f.distributor.claimMany([{ device: f.aliceDevice, cumulativeAmount: ALICE_1, proof: [] }]),
      ).to.be.revertedWithCustomError(f.distributor, "NoFinalisedRoot");
      await expect(f.distributor.claimMany([])).to.be.revertedWithCustomError(f.distributor, "NoFinalisedRoot");
    });

    it("an empty batch pays nothing but still syncs", async function () {
      const f = await loadFixture(finalisedFixture);
      expect(await f.distributor.claimMany.staticCall([])).to.equal(0n);
      await expect(f.distributor.claimMany([]))
        .to.emit(f.distributor, "RootUpdated")
        .withArgs(0n, f.tree0.root, EPOCH_EMISSION);
      expect(await f.distributor.totalClaimed()).to.equal(0n);
      expect(await f.distributor.totalMinted()).to.equal(EPOCH_EMISSION);
      expect(await f.staking.rewardsReserved()).to.equal(EPOCH_EMISSION);
      await expectBooks(f, 0n);
    });
  });

  describe("delegators", function () {
    const COMMISSION = 1_000n; // 10%
    const DELEGATED = 3_000n * MESH; // carol; alice's self-stake is 1,000 MESH

    it("a claim is split: commission to the operator, then pro rata between self-stake and delegators", async function () {
      const f = await loadFixture(finalisedFixture);
      const { distributor, staking, token, alice, carol } = f;
      // Set before anyone delegates, so the commission applies at once.
      await staking.connect(alice).setCommission(COMMISSION);
      await staking.connect(carol).delegate(alice, DELEGATED);
      const [shares] = await staking.delegationOf(alice, carol);
      const selfStake = await staking.selfStake(alice);
      expect(selfStake).to.equal(1_000n * MESH);

      // 1,000 MESH: 100 commission; of the 900 left, 3/4 to carol (675) and 1/4 to alice's stake (225).
      const commission = (ALICE_1 * COMMISSION) / BPS;
      const toDelegators = ((ALICE_1 - commission) * DELEGATED) / (DELEGATED + selfStake);
      const toOperator = ALICE_1 - toDelegators;
      expect(toDelegators).to.equal(675n * MESH);
      expect(toOperator).to.equal(325n * MESH);
      const carolExpected = (shares * ((toDelegators * REWARD_SCALE) / shares)) / REWARD_SCALE;
      expect(carolExpected).to.be.closeTo(675n * MESH, 1n);

      await expect(distributor.claim(f.aliceDevice, ALICE_1, proofOf(f.tree0, f.aliceDevice, ALICE_1)))
        .to.emit(staking, "RewardsAdded")
        .withArgs(alice.address, await distributor.getAddress(), toOperator, toDelegators);
      expect(await staking.pendingRewards(alice, alice)).to.equal(toOperator);
      expect(await staking.pendingRewards(alice, carol)).to.equal(carolExpected);

      await expect(staking.connect(carol).claimRewards(alice)).to.changeTokenBalance(token, carol, carolExpected);
      await expect(staking.connect(alice).claimRewards(alice)).to.changeTokenBalance(token, alice, toOperator);
      // bob's pool is untouched by alice's device.
      expect(await staking.pendingRewards(f.bob, f.bob)).to.equal(0n);
    });

    it("the next increment is split the same way and adds to carol's pending rewards", async function () {
      const f = await loadFixture(finalisedFixture);
      const { distributor, staking, alice, carol } = f;
      await staking.connect(alice).setCommission(COMMISSION);
      await staking.connect(carol).delegate(alice, DELEGATED);
      await distributor.claim(f.aliceDevice, ALICE_1, proofOf(f.tree0, f.aliceDevice, ALICE_1));
      const carolBefore = await staking.pendingRewards(alice, carol);
      const aliceBefore = await staking.pendingRewards(alice, alice);

      const tree1 = await finaliseEpoch(f, 1n, [{ device: f.aliceStorage, cumulativeAmount: 2_000n * MESH }]);
      await distributor.claim(f.aliceStorage, 2_000n * MESH, proofOf(tree1, f.aliceStorage, 2_000n * MESH));
      // 2,000: 200 commission, 1,350 to carol, 450 to alice's stake.
      expect((await staking.pendingRewards(alice, carol)) - carolBefore).to.be.closeTo(1_350n * MESH, 1n);
      expect((await staking.pendingRewards(alice, alice)) - aliceBefore).to.equal(650n * MESH);
    });
  });

  describe("leafHash", function () {
    it("equals the OpenZeppelin standard tree's leaf hash", async function () {
      const f = await loadFixture(finalisedFixture);
      for (const l of f.leaves0) {
        expect(await f.distributor.leafHash(l.device, l.cumulativeAmount)).to.equal(
          f.tree0.leafHash([l.device, l.cumulativeAmount]),
        );
      }
      const edge = buildRewardsTree([
        { device: ethers.ZeroAddress, cumulativeAmount: 0n },
        { device: GHOST, cumulativeAmount: ethers.MaxUint256 },
      ]);
      expect(await f.distributor.leafHash(ethers.ZeroAddress, 0n)).to.equal(edge.leafHash([ethers.ZeroAddress, 0n]));
      expect(await f.distributor.leafHash(GHOST, ethers.MaxUint256)).to.equal(edge.leafHash([GHOST, ethers.MaxUint256]));
      const manual = ethers.keccak256(
        ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [GHOST, 7n])),
      );
      expect(await f.distributor.leafHash(GHOST, 7n)).to.equal(manual);
    });
  });
});
