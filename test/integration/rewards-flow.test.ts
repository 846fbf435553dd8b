import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import type { RewardClaimStruct } from "../../typechain-types/contracts/RewardsDistributor";
import { buildRewardsTree, type RewardLeaf, type RewardsTree } from "../../sdk/trees";
import { H3_CELL_2 } from "../helpers/devices";
import { MESH, ResourceClass, protocolFixture, registerDevice, type ProtocolFixture } from "../helpers/fixtures";
import { makeVerdict, signedBy } from "../helpers/verdicts";

/**
 * End to end on the Hardhat network, from devices to delegators' wallets: operators stake and register devices of
 * every class, a delegator joins each operator, and for each epoch the oracles build a cumulative rewards tree off-chain
 * (the epoch's emission split between classes by the schedule's class split, then between a class's devices by their
 * work), relay it with 3 of 5 signatures and let it finalise. Syncing mints the emission straight into Staking's
 * reserve; claims credit each device's increment to its operator's staking pool there (no tokens move), where
 * commission and delegators' shares are taken. Epoch 2 gets no verdict: its emission rolls over into epoch 3's. The
 * steps share one chain state and run in order.
 */
describe("Rewards flow (integration)", function () {
  const ZERO_ADDRESS = "0x" + "00".repeat(20);
  const CHALLENGE_WINDOW = 12n * 3_600n; // ProtocolConfig default VerdictChallengeWindow
  const BPS = 10_000n;
  const REWARD_SCALE = 10n ** 36n; // Staking.REWARD_SCALE
  const ALICE_COMMISSION = 1_000n; // 10%
  const BOB_COMMISSION = 500n; // 5%
  const CAROL_DELEGATION = 4_000n * MESH; // to alice (self-stake 1,000)
  const DAVE_DELEGATION = 20_000n * MESH; // to bob (self-stake 10,000)

  /** Work units per device in some epoch(s). */
  type Work = Record<string, bigint>;

  let f: ProtocolFixture;
  // devices
  let aliceHotspot: string;
  let aliceDisk: string;
  let aliceCpu: string;
  let bobHotspot: string;
  let bobGpu: string;
  let bobCamera: string;
  let bobMeter: string;
  const classOf: Record<string, number> = {};
  // off-chain state of the oracles: cumulative rewards per device
  const cumulative: Record<string, bigint> = {};
  let tree: RewardsTree;
  let lastFinalised: bigint;
  // what operators and delegators collected from Staking's reserve
  let collected = 0n;

  /* HELPERS */

  /**
   * The oracles' allocation of `emission` for `epoch`: each class gets `emission * splitBps / 10,000`, shared among
   * the class's devices in proportion to their work (rounded down; a class without work leaves its share unpaid).
   */
  async function allocate(epoch: bigint, emission: bigint, work: Work): Promise<Record<string, bigint>> {
    const split = await f.schedule.classSplitAt(epoch);
    const classWork = new Map<number, bigint>();
    for (const [device, units] of Object.entries(work)) {
      classWork.set(classOf[device], (classWork.get(classOf[device]) ?? 0n) + units);
    }
    const rewards: Record<string, bigint> = {};
    for (const [device, units] of Object.entries(work)) {
      const classPool = (emission * split[classOf[device]]) / BPS;
      rewards[device] = (classPool * units) / classWork.get(classOf[device])!;
    }
    return rewards;
  }

  /** Adds `rewards` to the cumulative amounts and returns the leaves of every device that ever earned. */
  function accumulate(rewards: Record<string, bigint>): RewardLeaf[] {
    for (const [device, amount] of Object.entries(rewards)) cumulative[device] = (cumulative[device] ?? 0n) + amount;
    return Object.entries(cumulative).map(([device, cumulativeAmount]) => ({ device, cumulativeAmount }));
  }

  /**
   * Waits until `epoch` has ended, builds the rewards tree, relays a 3-of-5 verdict carrying its root, waits out the
   * challenge window and finalises it. Returns the tree.
   */
  async function finaliseEpoch(
    fx: ProtocolFixture,
    epoch: bigint,
    leaves: readonly RewardLeaf[],
  ): Promise<RewardsTree> {
    const endsAt = await fx.config.epochEnd(epoch);
    if (BigInt(await time.latest()) < endsAt) await time.increaseTo(endsAt);
    const rewardsTree = buildRewardsTree(leaves);
    const verdict = makeVerdict(epoch, { rewardsRoot: rewardsTree.root, devicesCounted: BigInt(leaves.length) });
    await expect(fx.hub.connect(fx.outsider).submitVerdict(verdict, await signedBy(fx.hub, verdict, fx.oracles.slice(0, 3))))
      .to.emit(fx.hub, "VerdictSubmitted");
    await time.increase(CHALLENGE_WINDOW);
    await expect(fx.hub.connect(fx.outsider).finaliseVerdict(epoch))
      .to.emit(fx.hub, "VerdictFinalised")
      .withArgs(epoch, rewardsTree.root, verdict.faultsRoot);
    return rewardsTree;
  }

  function claimFor(device: string): RewardClaimStruct {
    for (const [i, [d, amount]] of tree.entries()) {
      if (d === device) return { device, cumulativeAmount: amount, proof: tree.getProof(i) };
    }
    throw new Error(`device ${device} is not in the tree`);
  }

  /**
   * What `Staking.addRewards(operator, amount)` will credit, from the operator's state now: commission first, then
   * the rest pro rata between self-stake and delegated stake; delegators' part through reward-per-share.
   */
  async function expectedSplit(operator: string, amount: bigint): Promise<{ toOperator: bigint; perShare: bigint }> {
    const op = await f.staking.getOperatorStake(operator);
    const afterCommission = amount - (amount * (await f.staking.commissionOf(operator))) / BPS;
    const delegated = op.delegated.tokens;
    let toDelegators = (afterCommission * delegated) / (delegated + op.selfStake);
    const perShare = (toDelegators * REWARD_SCALE) / op.delegated.shares;
    if (perShare === 0n) toDelegators = 0n;
    return { toOperator: amount - toDelegators, perShare };
  }

  /** Claims `devices` one by one (or in one batch), checking each operator's and delegator's pending rewards. */
  async function claimAndCheck(devices: string[], batch: boolean): Promise<bigint> {
    const operators = [f.alice, f.bob];
    const delegatorOf = new Map<string, HardhatEthersSigner>([
      [f.alice.address, f.carol],
      [f.bob.address, f.dave],
    ]);
    const before = new Map<string, { self: bigint; delegator: bigint; shares: bigint; rps: bigint }>();
    for (const op of operators) {
      const [shares] = await f.staking.delegationOf(op, delegatorOf.get(op.address)!);
      before.set(op.address, {
        self: await f.staking.pendingRewards(op, op),
        delegator: await f.staking.pendingRewards(op, delegatorOf.get(op.address)!),
        shares,
        rps: 0n,
      });
    }
    // Expected credits, in claim order (each addRewards sees the same stake: nothing else moves in between).
    const claims = devices.map(claimFor);
    const rows: { claim: RewardClaimStruct; operator: string; amount: bigint }[] = [];
    for (const claim of claims) {
      const amount = BigInt(claim.cumulativeAmount) - (await f.distributor.claimed(claim.device));
      const operator = await f.registry.operatorOf(claim.device);
      const { toOperator, perShare } = await expectedSplit(operator, amount);
      const b = before.get(operator)!;
      b.self += toOperator;
      b.rps += perShare;
      rows.push({ claim, operator, amount });
    }
    const total = rows.reduce((sum, r) => sum + r.amount, 0n);

    const totalClaimedBefore = await f.distributor.totalClaimed();
    const mintedBefore = await f.distributor.totalMinted();
    const stakingBefore = await f.token.balanceOf(f.staking);
    const reservedBefore = await f.staking.rewardsReserved();
    if (batch) {
      expect(await f.distributor.connect(f.outsider).claimMany.staticCall(claims)).to.equal(total);
      const tx = await f.distributor.connect(f.outsider).claimMany(claims);
      for (const r of rows) {
        await expect(tx)
          .to.emit(f.distributor, "RewardsClaimed")
          .withArgs(r.claim.device, r.operator, r.amount, r.claim.cumulativeAmount);
      }
    } else {
      for (const r of rows) {
        const c = r.claim;
        await expect(f.distributor.connect(f.outsider).claim(c.device, c.cumulativeAmount, c.proof))
          .to.emit(f.distributor, "RewardsClaimed")
          .withArgs(c.device, r.operator, r.amount, c.cumulativeAmount);
      }
    }

    for (const c of claims) expect(await f.distributor.claimed(c.device)).to.equal(c.cumulativeAmount);
    expect(await f.distributor.totalClaimed()).to.equal(totalClaimedBefore + total);
    // Claims move no tokens: Staking's balance and reserve grow only by what a claim's own sync minted into it.
    const minted = (await f.distributor.totalMinted()) - mintedBefore;
    expect(await f.token.balanceOf(f.staking)).to.equal(stakingBefore + minted);
    expect(await f.staking.rewardsReserved()).to.equal(reservedBefore + minted);
    for (const op of operators) {
      const b = before.get(op.address)!;
      expect(await f.staking.pendingRewards(op, op)).to.equal(b.self, `${op.address} own rewards`);
      expect(await f.staking.pendingRewards(op, delegatorOf.get(op.address)!)).to.equal(
        b.delegator + (b.shares * b.rps) / REWARD_SCALE,
        "delegator rewards",
      );
    }
    return total;
  }

  async function expectBooks(): Promise<void> {
    const { token, staking, distributor, schedule } = f;
    // The distributor holds nothing: all emission is minted into Staking, whose reserve is what was minted less what
    // was collected from it (the unclaimed emission, totalMinted - totalClaimed, included).
    expect(await token.balanceOf(distributor)).to.equal(0n);
    expect(await token.balanceOf(staking)).to.equal(
      (await staking.totalStaked()) + (await staking.totalUnbonding()) + (await staking.rewardsReserved()),
    );
    expect(await staking.rewardsReserved()).to.equal((await distributor.totalMinted()) - collected);
    const [epoch, , exists] = await f.hub.latestFinalised();
    if (exists) expect(await distributor.totalMinted()).to.be.lte(await schedule.cumulativeEmission(epoch + 1n));
  }

  /* FLOW */

  before(async function () {
    f = await loadFixture(protocolFixture);
  });

  afterEach(async function () {
    await expectBooks();
  });

  it("1. operators stake and register devices of every class; delegators join", async function () {
    const { staking, registry, alice, bob, carol, dave } = f;
    aliceHotspot = f.aliceDevice; // Coverage, 100 MESH
    aliceDisk = await registerDevice(registry, alice, {
      label: "flow-rw-alice-disk",
      resourceClass: ResourceClass.Storage,
      capacity: 5_000n, // GiB at 0.1 MESH: 500 MESH
    });
    aliceCpu = await registerDevice(registry, alice, {
      label: "flow-rw-alice-cpu",
      resourceClass: ResourceClass.ComputeCpu,
      capacity: 8n, // vCPU at 5 MESH: 40 MESH
    });
    expect(await registry.requiredStake(alice)).to.equal(640n * MESH);

    await staking.connect(bob).stake(10_000n * MESH);
    bobHotspot = await registerDevice(registry, bob, { label: "flow-rw-bob-hotspot", location: H3_CELL_2 });
    bobGpu = await registerDevice(registry, bob, {
      label: "flow-rw-bob-gpu",
      resourceClass: ResourceClass.ComputeGpu,
      capacity: 100n, // TFLOPS at 50 MESH: 5,000 MESH
    });
    bobCamera = await registerDevice(registry, bob, { label: "flow-rw-bob-cam", resourceClass: ResourceClass.Mapping });
    bobMeter = await registerDevice(registry, bob, {
      label: "flow-rw-bob-meter",
      resourceClass: ResourceClass.Energy,
      capacity: 10n, // kW at 10 MESH: 100 MESH
    });
    expect(await registry.requiredStake(bob)).to.equal(5_250n * MESH);
    Object.assign(classOf, {
      [aliceHotspot]: ResourceClass.Coverage,
      [bobHotspot]: ResourceClass.Coverage,
      [aliceDisk]: ResourceClass.Storage,
      [bobGpu]: ResourceClass.ComputeGpu,
      [aliceCpu]: ResourceClass.ComputeCpu,
      [bobCamera]: ResourceClass.Mapping,
      [bobMeter]: ResourceClass.Energy,
    });

    // Commissions before anyone delegates, so they apply at once.
    await expect(staking.connect(alice).setCommission(ALICE_COMMISSION))
      .to.emit(staking, "CommissionSet")
      .withArgs(alice.address, ALICE_COMMISSION);
    await staking.connect(bob).setCommission(BOB_COMMISSION);
    await staking.connect(carol).delegate(alice, CAROL_DELEGATION);
    await staking.connect(dave).delegate(bob, DAVE_DELEGATION);
    expect((await staking.delegationOf(alice, carol))[1]).to.equal(CAROL_DELEGATION);
    expect((await staking.delegationOf(bob, dave))[1]).to.equal(DAVE_DELEGATION);
    expect(await f.distributor.totalMinted()).to.equal(0n);
  });

  it("2. the oracles build epoch 0's tree from its emission and class split", async function () {
    const emission = await f.schedule.epochEmission(0n);
    expect(emission).to.equal((900_000_000n * MESH) / 1_460n); // the default halving's first-period rate
    expect((await f.schedule.classSplitAt(0n)).map(Number)).to.deep.equal([3_000, 2_500, 1_500, 1_000, 1_000, 1_000]);

    const rewards = await allocate(0n, emission, {
      [aliceHotspot]: 3n,
      [bobHotspot]: 1n,
      [aliceDisk]: 5_000n,
      [aliceCpu]: 8n,
      [bobGpu]: 100n,
      [bobCamera]: 1n,
      [bobMeter]: 10n,
    });
    // Coverage (30%) 3:1, every other class to its only device.
    expect(rewards[aliceHotspot]).to.equal((((emission * 3_000n) / BPS) * 3n) / 4n);
    expect(rewards[bobHotspot]).to.equal((emission * 3_000n) / BPS / 4n);
    expect(rewards[aliceDisk]).to.equal((emission * 2_500n) / BPS);
    expect(rewards[bobGpu]).to.equal((emission * 1_500n) / BPS);
    const allocated = Object.values(rewards).reduce((a, b) => a + b, 0n);
    expect(allocated).to.be.lte(emission);
    expect(emission - allocated).to.be.lt(7n); // rounding dust only

    const leaves = accumulate(rewards);
    expect(leaves).to.have.length(7);
    tree = buildRewardsTree(leaves);
  });

  it("3. a 3-of-5 verdict carrying the root is relayed and finalised after the challenge window", async function () {
    const { hub, config, oracles, outsider } = f;
    await time.increaseTo(await config.epochEnd(0n));
    const verdict = makeVerdict(0n, { rewardsRoot: tree.root, devicesCounted: 7n, totalWorkUnits: 5_123n });
    await expect(hub.connect(outsider).submitVerdict(verdict, await signedBy(hub, verdict, oracles.slice(0, 3))))
      .to.emit(hub, "VerdictSubmitted");
    // Nothing to mint while the verdict is pending.
    await expect(f.distributor.sync()).not.to.emit(f.distributor, "RootUpdated");
    await expect(hub.finaliseVerdict(0n)).to.be.revertedWithCustomError(hub, "ChallengeWindowOpen");

    await time.increase(CHALLENGE_WINDOW);
    await expect(hub.connect(outsider).finaliseVerdict(0n)).to.emit(hub, "VerdictFinalised").withArgs(0n, tree.root, verdict.faultsRoot);
    const emission = await f.schedule.epochEmission(0n);
    const sync = f.distributor.connect(outsider).sync();
    await expect(sync).to.emit(f.distributor, "RootUpdated").withArgs(0n, tree.root, emission);
    await expect(sync).to.emit(f.token, "Transfer").withArgs(ZERO_ADDRESS, await f.staking.getAddress(), emission);
    await expect(sync).to.emit(f.staking, "RewardsReserved").withArgs(await f.distributor.getAddress(), emission);
    await expect(sync).to.changeTokenBalances(f.token, [f.distributor, f.staking], [0n, emission]);
    expect(await f.distributor.totalMinted()).to.equal(emission);
    expect(await f.staking.rewardsReserved()).to.equal(emission);
    expect(await f.distributor.currentRoot()).to.deep.equal([0n, tree.root]);
    lastFinalised = 0n;
  });

  it("4. anyone claims alice's hotspot: its operator's pool is credited, commission and carol's share included", async function () {
    const paid = await claimAndCheck([aliceHotspot], false);
    expect(paid).to.equal(cumulative[aliceHotspot]);
    expect(await f.distributor.totalClaimed()).to.equal(cumulative[aliceHotspot]);
  });

  it("5. the other six devices are claimed in one batch", async function () {
    const rest = [aliceDisk, aliceCpu, bobHotspot, bobGpu, bobCamera, bobMeter];
    const paid = await claimAndCheck(rest, true);
    expect(paid).to.equal(rest.reduce((sum, d) => sum + cumulative[d], 0n));
    const all = Object.values(cumulative).reduce((a, b) => a + b, 0n);
    expect(await f.distributor.totalClaimed()).to.equal(all);
    // Nothing was collected yet: the reserve is the whole mint, the unallocated dust included.
    expect(await f.staking.rewardsReserved()).to.equal(await f.schedule.epochEmission(0n));
    expect((await f.distributor.totalMinted()) - all).to.be.lt(7n);
  });

  it("6. operators and delegators collect their shares from staking", async function () {
    const { staking, token, alice, bob, carol, dave } = f;
    // Concrete split of alice's pool: 10% commission, then 1,000 : 4,000 between her stake and carol.
    const alicePaid = cumulative[aliceHotspot] + cumulative[aliceDisk] + cumulative[aliceCpu];
    const carolShare = await staking.pendingRewards(alice, carol);
    const aliceShare = await staking.pendingRewards(alice, alice);
    expect(aliceShare + carolShare).to.be.closeTo(alicePaid, 3n); // at most a wei of dust per addRewards
    expect(carolShare).to.be.closeTo((alicePaid * 9n * 4n) / 50n, 3n); // 90% x 4/5
    const bobPaid = cumulative[bobHotspot] + cumulative[bobGpu] + cumulative[bobCamera] + cumulative[bobMeter];
    const daveShare = await staking.pendingRewards(bob, dave);
    expect(daveShare).to.be.closeTo((bobPaid * 95n * 2n) / 300n, 4n); // 95% x 20,000/30,000

    for (const [account, operator, amount] of [
      [alice, alice, aliceShare],
      [carol, alice, carolShare],
      [bob, bob, await staking.pendingRewards(bob, bob)],
      [dave, bob, daveShare],
    ] as const) {
      await expect(staking.connect(account).claimRewards(operator))
        .to.emit(staking, "RewardsClaimed")
        .withArgs(account.address, operator.address, amount);
      collected += amount;
      expect(await staking.pendingRewards(operator, account)).to.equal(0n);
    }
    await expect(staking.connect(carol).claimRewards(alice)).to.be.revertedWithCustomError(staking, "NothingToClaim");
    expect(await token.balanceOf(carol)).to.be.gt(0n);
  });

  it("7. epoch 1's cumulative root pays only each device's increment", async function () {
    const emission = await f.schedule.epochEmission(1n);
    // aliceCpu did no work in epoch 1: the ComputeCpu share is not allocated and its leaf keeps its amount.
    const rewards = await allocate(1n, emission, {
      [aliceHotspot]: 1n,
      [bobHotspot]: 1n,
      [aliceDisk]: 4_000n,
      [bobGpu]: 50n,
      [bobCamera]: 1n,
      [bobMeter]: 7n,
    });
    const previous = { ...cumulative };
    tree = await finaliseEpoch(f, 1n, accumulate(rewards));
    lastFinalised = 1n;
    expect(cumulative[aliceCpu]).to.equal(previous[aliceCpu]);

    // Root 0 is still in use until someone syncs: the old proof verifies against it, but was paid in full already.
    const stale = buildRewardsTree(Object.entries(previous).map(([device, cumulativeAmount]) => ({ device, cumulativeAmount })));
    const staleIndex = [...stale.entries()].find(([, [d]]) => d === aliceHotspot)![0];
    await expect(f.distributor.claim(aliceHotspot, previous[aliceHotspot], stale.getProof(staleIndex)))
      .to.be.revertedWithCustomError(f.distributor, "NothingToClaim")
      .withArgs(aliceHotspot, previous[aliceHotspot], previous[aliceHotspot]);

    // aliceCpu has nothing new: a batch with it would revert, so it is left out. Its epoch-1 proof makes the claim
    // sync first; the revert undoes that too.
    const cpu = claimFor(aliceCpu);
    await expect(f.distributor.claim(cpu.device, cpu.cumulativeAmount, cpu.proof))
      .to.be.revertedWithCustomError(f.distributor, "NothingToClaim")
      .withArgs(aliceCpu, previous[aliceCpu], previous[aliceCpu]);
    expect((await f.distributor.currentRoot())[0]).to.equal(0n);

    // Once the new root is adopted (here by the batch's sync), the old proof no longer verifies.
    const devices = [aliceHotspot, aliceDisk, bobHotspot, bobGpu, bobCamera, bobMeter];
    const paid = await claimAndCheck(devices, true);
    expect(paid).to.equal(devices.reduce((sum, d) => sum + rewards[d], 0n));
    expect(await f.distributor.totalMinted()).to.equal(await f.schedule.cumulativeEmission(2n));
    expect(await f.distributor.currentRoot()).to.deep.equal([1n, tree.root]);
    await expect(f.distributor.claim(aliceHotspot, previous[aliceHotspot], stale.getProof(staleIndex)))
      .to.be.revertedWithCustomError(f.distributor, "InvalidProof")
      .withArgs(aliceHotspot, previous[aliceHotspot]);
  });

  it("8. epoch 2 gets no verdict; its emission rolls over into epoch 3's root and mint", async function () {
    const { hub, config, schedule, distributor } = f;
    // Epoch 2's submission window closes at the end of epoch 3; wait past it, unsubmitted.
    await time.increaseTo((await config.epochEnd(3n)) + 1n);
    const late = makeVerdict(2n);
    await expect(hub.submitVerdict(late, await signedBy(hub, late, f.oracles.slice(0, 3))))
      .to.be.revertedWithCustomError(hub, "SubmissionWindowClosed")
      .withArgs(2n, await config.epochEnd(3n));

    // The oracles allocate epochs 2 and 3 together, from their combined emission, in epoch 3's cumulative root.
    const emission = (await schedule.epochEmission(2n)) + (await schedule.epochEmission(3n));
    expect(emission).to.equal((await schedule.cumulativeEmission(4n)) - (await schedule.cumulativeEmission(2n)));
    const rewards = await allocate(3n, emission, {
      [aliceHotspot]: 2n,
      [bobHotspot]: 2n,
      [aliceDisk]: 9_000n,
      [aliceCpu]: 16n,
      [bobGpu]: 200n,
      [bobCamera]: 2n,
      [bobMeter]: 20n,
    });
    tree = await finaliseEpoch(f, 3n, accumulate(rewards));
    lastFinalised = 3n;

    const mintedBefore = await distributor.totalMinted();
    await expect(distributor.sync()).to.emit(distributor, "RootUpdated").withArgs(3n, tree.root, emission);
    expect(await distributor.totalMinted()).to.equal(mintedBefore + emission);
    expect(await distributor.totalMinted()).to.equal(await schedule.cumulativeEmission(4n));

    // aliceCpu, idle in epoch 1, is paid epochs 2-3 with one proof; the rest in a batch.
    const single = await claimAndCheck([aliceCpu], false);
    expect(single).to.equal(rewards[aliceCpu]);
    const others = [aliceHotspot, aliceDisk, bobHotspot, bobGpu, bobCamera, bobMeter];
    expect(await claimAndCheck(others, true)).to.equal(others.reduce((sum, d) => sum + rewards[d], 0n));
  });

  it("9. property: totalClaimed <= totalMinted <= cumulativeEmission(lastFinalised + 1) <= emissionBudget", async function () {
    const { distributor, schedule, hub } = f;
    const [epoch, root, exists] = await hub.latestFinalised();
    expect(exists).to.equal(true);
    expect(epoch).to.equal(lastFinalised);
    expect(await distributor.currentRoot()).to.deep.equal([lastFinalised, root]);

    const totalClaimed = await distributor.totalClaimed();
    const totalMinted = await distributor.totalMinted();
    const scheduled = await schedule.cumulativeEmission(lastFinalised + 1n);
    const budget = await schedule.emissionBudget();
    expect(totalClaimed).to.be.lte(totalMinted);
    expect(totalMinted).to.be.lte(scheduled);
    expect(scheduled).to.be.lte(budget);

    // Concretely: everything scheduled for epochs 0-3 was minted, and everything in the tree was paid.
    expect(totalMinted).to.equal(scheduled);
    expect(totalMinted).to.equal(4n * ((900_000_000n * MESH) / 1_460n));
    expect(totalClaimed).to.equal(Object.values(cumulative).reduce((a, b) => a + b, 0n));
    for (const [device, amount] of Object.entries(cumulative)) expect(await distributor.claimed(device)).to.equal(amount);
    // The unallocated remainder (epoch 1's idle ComputeCpu share and rounding dust) stays in Staking's reserve, which
    // holds all that was minted except what was collected (step 6): the remainder plus the uncollected credits.
    expect(await f.token.balanceOf(distributor)).to.equal(0n);
    expect(totalMinted - totalClaimed).to.be.gte((await schedule.epochEmission(1n)) / 10n);
    expect(await f.staking.rewardsReserved()).to.equal(totalMinted - collected);
    expect(collected).to.be.lte(totalClaimed);
  });
});
