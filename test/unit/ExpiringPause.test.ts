/**
 * ExpiringPause on its three users: ProviderRegistry (registerDevice), Slashing (penaliseFault) and
 * RewardsDistributor (claim, claimMany). The same behaviour is checked on each: who pauses, duration bounds, guarded
 * functions stopped until the pause expires on its own, the cooldown, early unpause, and what a pause never stops.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";

import { buildRewardsTree } from "../../sdk/trees";
import type { ProviderRegistry, RewardsDistributor, Slashing } from "../../typechain-types";
import { DAY, FaultKind, H3_CELL, MESH, ResourceClass, protocolFixture, type ProtocolFixture } from "../helpers/fixtures";
import { deviceWallet, signRegistration } from "../helpers/devices";
import { makeVerdict, signedBy } from "../helpers/verdicts";

const HOUR = 3_600n;
const MAX_PAUSE = 7n * DAY;
const COOLDOWN = 7n * DAY;
const PAUSER_ROLE = ethers.id("PAUSER_ROLE");
const CHALLENGE_WINDOW = 12n * HOUR; // ProtocolConfig default VerdictChallengeWindow
const DISPUTE_WINDOW = 3n * DAY; // ProtocolConfig default
const ALICE_REWARD = 1_000n * MESH;

type F = ProtocolFixture & {
  guardian: HardhatEthersSigner;
  /** Proof of alice-1's epoch-0 reward leaf. */
  aliceProof: string[];
};

/**
 * protocolFixture plus: `guardian` holds PAUSER_ROLE on the registry, slashing and distributor; `reporter` holds
 * Slashing's REPORTER_ROLE; epoch 0 is finalised with a rewards root paying alice-1 1,000 MESH (unclaimed).
 */
async function pauseFixture(): Promise<F> {
  const f = await protocolFixture();
  const guardian = (await ethers.getSigners())[10];
  for (const c of [f.registry, f.slashing, f.distributor]) await c.grantRole(PAUSER_ROLE, guardian.address);
  await f.slashing.grantRole(await f.slashing.REPORTER_ROLE(), f.reporter.address);
  await time.increaseTo(await f.config.epochEnd(0n));
  const tree = buildRewardsTree([
    { device: f.aliceDevice, cumulativeAmount: ALICE_REWARD },
    { device: ethers.Wallet.createRandom().address, cumulativeAmount: 1n },
  ]);
  const verdict = makeVerdict(0n, { rewardsRoot: tree.root, devicesCounted: 2n });
  await f.hub.connect(f.outsider).submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  await time.increase(CHALLENGE_WINDOW);
  await f.hub.connect(f.outsider).finaliseVerdict(0n);
  let aliceProof: string[] = [];
  for (const [i, [d]] of tree.entries()) if (d === f.aliceDevice) aliceProof = tree.getProof(i);
  return { ...f, guardian, aliceProof };
}

type Call = (f: F) => Promise<ContractTransactionResponse>;
type Pausable = ProviderRegistry | Slashing | RewardsDistributor;

interface PauseCase {
  name: string;
  contract: (f: F) => Pausable;
  /** Each guarded function, as a call that succeeds when not paused. */
  guarded: [string, Call][];
  /** Functions a pause never stops, as calls that succeed (setup included). */
  unguarded: [string, Call][];
}

let labels = 0;
/** Registers a fresh Coverage device under alice (she has stake for several). */
const registerFresh: Call = async (f) => {
  const device = deviceWallet(`pause-test-${++labels}`);
  const { registration, signature } = await signRegistration(f.registry, device, {
    operator: f.alice.address,
    resourceClass: ResourceClass.Coverage,
    capacity: 1n,
    location: H3_CELL,
    deadline: BigInt(await time.latest()) + DAY,
  });
  return f.registry.connect(f.alice).registerDevice(registration, signature);
};

/** The reporter penalises alice-1 for a fresh InvalidProof fault in the current epoch. */
const penalise: Call = async (f) =>
  f.slashing
    .connect(f.reporter)
    .penaliseFault(f.aliceDevice, FaultKind.InvalidProof, await f.config.currentEpoch(), ethers.id(`e${++labels}`));

/** The last challenge opened (by `openChallenge`), resolved (upheld) by the arbitrator. */
const resolveLast: Call = async (f) =>
  f.slashing.connect(f.arbitrator).resolveChallenge(await f.slashing.challengeCount(), true);

/** The fisher challenges alice-1 (MissedDuty, current epoch). */
const openChallenge: Call = async (f) =>
  f.slashing
    .connect(f.fisher)
    .openChallenge(f.aliceDevice, FaultKind.MissedDuty, await f.config.currentEpoch(), ethers.id(`c${++labels}`));

const CASES: PauseCase[] = [
  {
    name: "ProviderRegistry",
    contract: (f) => f.registry,
    guarded: [["registerDevice", registerFresh]],
    unguarded: [
      ["beginExit", (f) => f.registry.connect(f.alice).beginExit(f.aliceDevice)],
      ["updateMetadata", (f) => f.registry.connect(f.alice).updateMetadata(f.aliceDevice, "ipfs://x")],
      ["Staking.stake", (f) => f.staking.connect(f.bob).stake(10n * MESH)],
      ["Staking.unstake", (f) => f.staking.connect(f.alice).unstake(100n * MESH)],
    ],
  },
  {
    name: "Slashing",
    contract: (f) => f.slashing,
    guarded: [["penaliseFault", penalise]],
    unguarded: [
      ["openChallenge", openChallenge],
      [
        "resolveChallenge",
        async (f) => {
          await openChallenge(f);
          return resolveLast(f);
        },
      ],
      [
        "expireChallenge",
        async (f) => {
          await openChallenge(f);
          await time.increase(DISPUTE_WINDOW + 1n);
          return f.slashing.connect(f.outsider).expireChallenge(await f.slashing.challengeCount());
        },
      ],
      ["Staking.unstake", (f) => f.staking.connect(f.alice).unstake(100n * MESH)],
    ],
  },
  {
    name: "RewardsDistributor",
    contract: (f) => f.distributor,
    guarded: [
      ["claim", (f) => f.distributor.connect(f.outsider).claim(f.aliceDevice, ALICE_REWARD, f.aliceProof)],
      [
        "claimMany",
        (f) =>
          f.distributor
            .connect(f.outsider)
            .claimMany([{ device: f.aliceDevice, cumulativeAmount: ALICE_REWARD, proof: f.aliceProof }]),
      ],
    ],
    unguarded: [
      ["sync", (f) => f.distributor.connect(f.outsider).sync()],
      ["Staking.unstake", (f) => f.staking.connect(f.alice).unstake(100n * MESH)],
    ],
  },
];

for (const c of CASES) {
  describe(`ExpiringPause: ${c.name}`, function () {
    it("reports its limits and starts unpaused", async function () {
      const f = await loadFixture(pauseFixture);
      const p = c.contract(f);
      expect(await p.MAX_PAUSE_DURATION()).to.equal(MAX_PAUSE);
      expect(await p.PAUSE_COOLDOWN()).to.equal(COOLDOWN);
      expect(await p.PAUSER_ROLE()).to.equal(PAUSER_ROLE);
      expect(await p.paused()).to.equal(false);
      expect(await p.pausedUntil()).to.equal(0n);
      expect(await p.nextPauseAt()).to.equal(0n);
    });

    it("only the pause guardian pauses (not the admin, not anyone)", async function () {
      const f = await loadFixture(pauseFixture);
      const p = c.contract(f);
      for (const who of [f.governance, f.outsider, f.alice]) {
        await expect(p.connect(who).pause(HOUR))
          .to.be.revertedWithCustomError(p, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, PAUSER_ROLE);
      }
    });

    it("reverts InvalidPauseDuration for 0 or more than MAX_PAUSE_DURATION; the maximum itself is fine", async function () {
      const f = await loadFixture(pauseFixture);
      const p = c.contract(f).connect(f.guardian);
      for (const d of [0n, MAX_PAUSE + 1n, 2n ** 64n - 1n]) {
        await expect(p.pause(d)).to.be.revertedWithCustomError(p, "InvalidPauseDuration").withArgs(d, MAX_PAUSE);
      }
      const tx = p.pause(MAX_PAUSE);
      await expect(tx).to.emit(p, "Paused");
      const at = BigInt(await time.latest());
      expect(await p.pausedUntil()).to.equal(at + MAX_PAUSE);
      expect(await p.nextPauseAt()).to.equal(at + MAX_PAUSE + COOLDOWN);
    });

    for (const [label, call] of c.guarded) {
      it(`${label} reverts EnforcedPause while paused and works again once the pause expires`, async function () {
        const f = await loadFixture(pauseFixture);
        const p = c.contract(f).connect(f.guardian);
        await expect(p.pause(HOUR)).to.emit(p, "Paused");
        const until = BigInt(await time.latest()) + HOUR;
        // Already paused: the next pause is only allowed a cooldown after this one ends.
        await expect(p.pause(HOUR)).to.be.revertedWithCustomError(p, "PauseCoolingDown").withArgs(until + COOLDOWN);
        expect(await p.paused()).to.equal(true);
        expect(await p.pausedUntil()).to.equal(until);
        await expect(call(f)).to.be.revertedWithCustomError(p, "EnforcedPause").withArgs(until);
        await time.increaseTo(until - 2n);
        await expect(call(f)).to.be.revertedWithCustomError(p, "EnforcedPause").withArgs(until);
        // Nobody acts: the pause ends at `until`.
        await time.setNextBlockTimestamp(until);
        await expect(call(f)).not.to.be.reverted;
        expect(await p.paused()).to.equal(false);
      });
    }

    it("emits Paused with the guardian and the end of the pause", async function () {
      const f = await loadFixture(pauseFixture);
      const p = c.contract(f).connect(f.guardian);
      const at = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(at);
      await expect(p.pause(2n * HOUR))
        .to.emit(p, "Paused")
        .withArgs(f.guardian.address, at + 2n * HOUR);
    });

    it("cannot pause again until PAUSE_COOLDOWN after the pause ended (PauseCoolingDown)", async function () {
      const f = await loadFixture(pauseFixture);
      const p = c.contract(f).connect(f.guardian);
      await p.pause(HOUR);
      const until = BigInt(await time.latest()) + HOUR;
      await time.increaseTo(until + 1n);
      expect(await p.paused()).to.equal(false);
      await expect(p.pause(HOUR)).to.be.revertedWithCustomError(p, "PauseCoolingDown").withArgs(until + COOLDOWN);
      await time.increaseTo(until + COOLDOWN - 2n);
      await expect(p.pause(HOUR)).to.be.revertedWithCustomError(p, "PauseCoolingDown").withArgs(until + COOLDOWN);
      await time.setNextBlockTimestamp(until + COOLDOWN);
      await expect(p.pause(HOUR))
        .to.emit(p, "Paused")
        .withArgs(f.guardian.address, until + COOLDOWN + HOUR);
    });

    it("the guardian can lift a pause early; guarded functions work at once and the cooldown starts", async function () {
      const f = await loadFixture(pauseFixture);
      const p = c.contract(f).connect(f.guardian);
      await p.pause(MAX_PAUSE);
      await time.increase(HOUR);
      await expect(p.unpause()).to.emit(p, "Unpaused").withArgs(f.guardian.address);
      const at = BigInt(await time.latest());
      expect(await p.paused()).to.equal(false);
      expect(await p.pausedUntil()).to.equal(at);
      expect(await p.nextPauseAt()).to.equal(at + COOLDOWN);
      await expect(c.guarded[0][1](f)).not.to.be.reverted;
      await expect(p.pause(HOUR)).to.be.revertedWithCustomError(p, "PauseCoolingDown").withArgs(at + COOLDOWN);
    });

    it("governance (DEFAULT_ADMIN_ROLE) can lift a pause; nobody else can", async function () {
      const f = await loadFixture(pauseFixture);
      const p = c.contract(f);
      await p.connect(f.guardian).pause(MAX_PAUSE);
      for (const who of [f.outsider, f.alice, f.reporter]) {
        await expect(p.connect(who).unpause())
          .to.be.revertedWithCustomError(p, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, PAUSER_ROLE);
      }
      await expect(p.connect(f.governance).unpause()).to.emit(p, "Unpaused").withArgs(f.governance.address);
      expect(await p.paused()).to.equal(false);
    });

    it("unpause reverts NotPaused when nothing is paused (never, or expired)", async function () {
      const f = await loadFixture(pauseFixture);
      const p = c.contract(f);
      await expect(p.connect(f.guardian).unpause()).to.be.revertedWithCustomError(p, "NotPaused");
      await p.connect(f.guardian).pause(HOUR);
      await time.increase(HOUR);
      await expect(p.connect(f.guardian).unpause()).to.be.revertedWithCustomError(p, "NotPaused");
      await expect(p.connect(f.governance).unpause()).to.be.revertedWithCustomError(p, "NotPaused");
    });

    for (const [label, call] of c.unguarded) {
      it(`${label} keeps working while paused`, async function () {
        const f = await loadFixture(pauseFixture);
        await c.contract(f).connect(f.guardian).pause(MAX_PAUSE);
        await expect(call(f)).not.to.be.reverted;
        expect(await c.contract(f).paused()).to.equal(true);
      });
    }

    it("pauses only this contract", async function () {
      const f = await loadFixture(pauseFixture);
      await c.contract(f).connect(f.guardian).pause(MAX_PAUSE);
      for (const other of CASES.filter((o) => o !== c)) {
        expect(await other.contract(f).paused()).to.equal(false);
        await expect(other.guarded[0][1](f)).not.to.be.reverted;
      }
    });
  });
}

describe("ExpiringPause: interplay with the protocol's clocks", function () {
  it("Staking withdraw keeps working while everything is paused", async function () {
    const f = await loadFixture(pauseFixture);
    await f.staking.connect(f.alice).unstake(100n * MESH);
    await time.increase(7n * DAY);
    for (const p of [f.registry, f.slashing, f.distributor]) await p.connect(f.guardian).pause(MAX_PAUSE);
    await expect(f.staking.connect(f.alice).withdraw(1n)).to.changeTokenBalance(f.token, f.alice, 100n * MESH);
  });

  it("a slashing pause does not stop the arbitrator: an open challenge is ruled while paused", async function () {
    const f = await loadFixture(pauseFixture);
    await openChallenge(f);
    const id = await f.slashing.challengeCount();
    await f.slashing.connect(f.guardian).pause(MAX_PAUSE);
    await time.increase(DISPUTE_WINDOW - 60n);
    await expect(f.slashing.connect(f.arbitrator).resolveChallenge(id, true)).to.emit(f.slashing, "ChallengeResolved");
  });

  it("RISK: a fault from the epoch before a maximal slashing pause can no longer be penalised after it", async function () {
    // Slashing ignores faults whose epoch ended more than UnbondingPeriod (7 days) ago; MAX_PAUSE_DURATION is 7 days.
    const f = await loadFixture(pauseFixture);
    const previous = (await f.config.currentEpoch()) - 1n;
    await f.slashing.connect(f.guardian).pause(MAX_PAUSE);
    await time.increase(MAX_PAUSE);
    await expect(
      f.slashing.connect(f.reporter).penaliseFault(f.aliceDevice, FaultKind.InvalidProof, previous, ethers.id("late")),
    ).to.be.revertedWithCustomError(f.slashing, "FaultTooOld");
  });
});
