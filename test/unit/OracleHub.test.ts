import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { TypedDataDomain, Wallet } from "ethers";

import { OracleHub__factory, type OracleHub } from "../../typechain-types";
import { VERDICT_TYPES, hubDomain, signVerdict, verdictDigest } from "../../sdk/verdict";
import { buildFaultsTree } from "../../sdk/trees";
import { VerdictStatus } from "../../sdk/enums";
import { DAY, FaultKind, MESH, hubFixture, type HubFixture } from "../helpers/fixtures";
import { makeVerdict, signedBy, type EpochVerdict } from "../helpers/verdicts";

/** `VerdictStatus` of IOracleHub. */

const HOUR = 3_600n;
// ProtocolConfig defaults
const SUBMISSION_WINDOW = DAY;
const CHALLENGE_WINDOW = 12n * HOUR;
const DISPUTE_WINDOW = 3n * DAY;
const BOND = 1_000n * MESH;
const REWARD = 500n * MESH;
const ALICE_STAKE = 1_000n * MESH; // operatorFixture

const ARBITRATOR_ROLE = ethers.id("ARBITRATOR_ROLE");
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
const VERDICT_TYPE =
  "EpochVerdict(uint64 epoch,uint32 devicesCounted,bytes32 rewardsRoot,bytes32 faultsRoot,bytes32 leasesRoot," +
  "uint256 totalWorkUnits,bytes32 dataHash)";
/** An EpochVerdict as an event argument (positional, in struct order). */
const verdictTuple = (v: EpochVerdict) =>
  [v.epoch, v.devicesCounted, v.rewardsRoot, v.faultsRoot, v.leasesRoot, v.totalWorkUnits, v.dataHash] as const;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const REASON = ethers.id("dispute: rewards root omits device alice-1");
const EVIDENCE_PROOF = ethers.id("evidence: forged proof of coverage, epoch bundle #7");
const EVIDENCE_SPOOF = ethers.id("evidence: impossible RSSI geometry");
const EVIDENCE_UNKNOWN = ethers.id("evidence: device never registered");
const UNKNOWN_DEVICE = ethers.getAddress(ethers.dataSlice(ethers.id("meshwork-test-unknown-device"), 12));

/* HELPERS */

/** Deterministic wallets sorted by address, for committees other than the fixture's. */
function walletsFor(label: string, count: number): Wallet[] {
  return Array.from({ length: count }, (_, i) => new ethers.Wallet(ethers.id(`meshwork-test-${label}:${i}`))).sort(
    (a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1),
  );
}

/** `count` distinct addresses (no keys), sorted ascending. */
function sortedAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => ethers.getAddress(ethers.dataSlice(ethers.id(`member:${i}`), 12))).sort(
    (a, b) => (BigInt(a) < BigInt(b) ? -1 : 1),
  );
}

function addressesOf(wallets: readonly Wallet[]): string[] {
  return wallets.map((w) => w.address);
}

function deployHub(f: HubFixture, members: string[], threshold: number): Promise<OracleHub> {
  return new OracleHub__factory(f.governance).deploy(
    f.token,
    f.config,
    f.slashing,
    members,
    threshold,
    f.governance.address,
  );
}

/** The high-s twin of a 65-byte signature: (r, n - s, v flipped). ecrecover accepts it for the same signer. */
function highSTwin(signature: string): string {
  const r = ethers.dataSlice(signature, 0, 32);
  const s = BigInt(ethers.dataSlice(signature, 32, 64));
  const v = Number(ethers.dataSlice(signature, 64, 65));
  return ethers.concat([r, ethers.toBeHex(SECP256K1_N - s, 32), ethers.toBeHex(v === 27 ? 28 : 27, 1)]);
}

/** Raw ecrecover (precompile 0x01), which has no low-s rule. */
async function ecrecoverRaw(digest: string, signature: string): Promise<string> {
  const r = ethers.dataSlice(signature, 0, 32);
  const s = ethers.dataSlice(signature, 32, 64);
  const v = Number(ethers.dataSlice(signature, 64, 65));
  const out = await ethers.provider.call({
    to: "0x0000000000000000000000000000000000000001",
    data: ethers.concat([digest, ethers.toBeHex(v, 32), r, s]),
  });
  return ethers.getAddress(ethers.dataSlice(out, 12));
}

/** A committee member's key as a funded transaction sender. */
async function fundedMember(f: HubFixture, wallet: Wallet): Promise<Wallet> {
  const member = wallet.connect(ethers.provider);
  await f.governance.sendTransaction({ to: member.address, value: ethers.parseEther("1") });
  return member;
}

function faultIdOf(device: string, kind: number, epoch: bigint): string {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint8", "uint64"], [device, kind, epoch]),
  );
}

/* FIXTURES */

type Ended = HubFixture & { epoch: bigint; endsAt: bigint; verdict: EpochVerdict; domain: TypedDataDomain };

/** Hub fixture two epochs on: epoch 2 (`epoch`) has just ended, the chain is at the first second of epoch 3. */
async function endedFixture(): Promise<Ended> {
  const f = await hubFixture();
  const epoch = (await f.config.currentEpoch()) + 2n;
  const endsAt = await f.config.epochEnd(epoch);
  await time.increaseTo(endsAt);
  const domain = hubDomain((await ethers.provider.getNetwork()).chainId, await f.hub.getAddress());
  return { ...f, epoch, endsAt, verdict: makeVerdict(epoch), domain };
}

type Pending = Ended & { submittedAt: bigint; challengeEndsAt: bigint };

/** endedFixture with the verdict of `epoch` signed by oracles 0..2 (3 of 5) and relayed by outsider. */
async function pendingFixture(): Promise<Pending> {
  const f = await endedFixture();
  await f.hub.connect(f.outsider).submitVerdict(f.verdict, await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3)));
  const submittedAt = BigInt(await time.latest());
  return { ...f, submittedAt, challengeEndsAt: submittedAt + CHALLENGE_WINDOW };
}

type Disputed = Pending & { openedAt: bigint };

/** pendingFixture, disputed by the fisher (1,000 MESH bond). */
async function disputedFixture(): Promise<Disputed> {
  const f = await pendingFixture();
  await f.hub.connect(f.fisher).disputeVerdict(f.epoch, REASON);
  return { ...f, openedAt: BigInt(await time.latest()) };
}

/** pendingFixture, disputed for free by committee member oracles[1]. */
async function memberDisputedFixture(): Promise<Disputed & { member: Wallet }> {
  const f = await pendingFixture();
  const member = await fundedMember(f, f.oracles[1]);
  await f.hub.connect(member).disputeVerdict(f.epoch, REASON);
  return { ...f, member, openedAt: BigInt(await time.latest()) };
}

const FAULT_LEAVES = (aliceDevice: string) => [
  { device: aliceDevice, kind: FaultKind.InvalidProof, evidence: EVIDENCE_PROOF },
  { device: aliceDevice, kind: FaultKind.LocationSpoofing, evidence: EVIDENCE_SPOOF },
  { device: UNKNOWN_DEVICE, kind: FaultKind.MissedDuty, evidence: EVIDENCE_UNKNOWN },
];

type Faults = Pending & { tree: ReturnType<typeof buildFaultsTree> };

/** endedFixture whose verdict carries a faults root of three leaves (alice: InvalidProof, LocationSpoofing). */
async function faultsPendingFixture(): Promise<Faults> {
  const f = await endedFixture();
  const tree = buildFaultsTree(FAULT_LEAVES(f.aliceDevice));
  const verdict = makeVerdict(f.epoch, { faultsRoot: tree.root });
  await f.hub.connect(f.outsider).submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  const submittedAt = BigInt(await time.latest());
  return { ...f, verdict, tree, submittedAt, challengeEndsAt: submittedAt + CHALLENGE_WINDOW };
}

/** faultsPendingFixture, finalised. */
async function faultsFinalisedFixture(): Promise<Faults> {
  const f = await faultsPendingFixture();
  await time.increaseTo(f.challengeEndsAt);
  await f.hub.finaliseVerdict(f.epoch);
  return f;
}

/* TESTS */

describe("OracleHub", function () {
  describe("deployment", function () {
    it("is wired to the core, grants governance the admin role and starts empty", async function () {
      const f = await loadFixture(hubFixture);
      const { hub } = f;
      expect(await hub.ARBITRATOR_ROLE()).to.equal(ARBITRATOR_ROLE);
      expect(await hub.VERDICT_TYPEHASH()).to.equal(ethers.id(VERDICT_TYPE));
      expect(await hub.VERDICT_TYPEHASH()).to.equal(
        ethers.id(ethers.TypedDataEncoder.from(VERDICT_TYPES).encodeType("EpochVerdict")),
      );
      expect(await hub.MAX_COMMITTEE_SIZE()).to.equal(32n);
      expect(await hub.token()).to.equal(await f.token.getAddress());
      expect(await hub.config()).to.equal(await f.config.getAddress());
      expect(await hub.slashing()).to.equal(await f.slashing.getAddress());
      expect(await hub.hasRole(DEFAULT_ADMIN_ROLE, f.governance.address)).to.equal(true);
      expect(await hub.hasRole(ARBITRATOR_ROLE, f.arbitrator.address)).to.equal(true);
      expect(await hub.hasRole(ARBITRATOR_ROLE, f.governance.address)).to.equal(false);
      expect(await hub.disputeRewardReserve()).to.equal(0n);

      const [epoch, root, exists] = await hub.latestFinalised();
      expect(epoch).to.equal(0n);
      expect(root).to.equal(ethers.ZeroHash);
      expect(exists).to.equal(false);

      const record = await hub.getVerdict(0n);
      expect(record.status).to.equal(VerdictStatus.None);
      expect(record.rewardsRoot).to.equal(ethers.ZeroHash);
      expect(record.challengeEndsAt).to.equal(0n);
      expect(record.signers).to.equal(0n);
      const dispute = await hub.getDispute(0n);
      expect(dispute.challenger).to.equal(ethers.ZeroAddress);
      expect(dispute.bond).to.equal(0n);

      const domain = await hub.eip712Domain();
      expect(domain.name).to.equal("Meshwork OracleHub");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal((await ethers.provider.getNetwork()).chainId);
      expect(domain.verifyingContract).to.equal(await hub.getAddress());
    });

    it("installs the first committee from epoch 0 and emits CommitteeScheduled", async function () {
      const f = await loadFixture(hubFixture);
      const members = addressesOf(f.oracles);
      const hub = await deployHub(f, members, 3);
      await expect(hub.deploymentTransaction())
        .to.emit(hub, "CommitteeScheduled")
        .withArgs(0n, 0n, 3n, members);
      expect(await hub.committeeCount()).to.equal(1n);
      for (const epoch of [0n, 1n, 1_000_000n]) {
        const committee = await hub.committeeAt(epoch);
        expect(committee.fromEpoch).to.equal(0n);
        expect(committee.threshold).to.equal(3n);
        expect(committee.members).to.deep.equal(members);
      }
      // The fixture's hub too.
      expect(await f.hub.committeeCount()).to.equal(1n);
      const first = await f.hub.committeeAt(0n);
      expect(first.fromEpoch).to.equal(0n);
      expect(first.threshold).to.equal(3n);
      expect(first.members).to.deep.equal(members);
    });

    it("accepts the smallest (1 of 1) and the largest (17 of 32) committees and strict majorities like 3 of 4", async function () {
      const f = await loadFixture(hubFixture);
      const one = sortedAddresses(1);
      const hub1 = await deployHub(f, one, 1);
      expect((await hub1.committeeAt(0n)).members).to.deep.equal(one);

      const max = sortedAddresses(32);
      const hub32 = await deployHub(f, max, 17);
      const c32 = await hub32.committeeAt(0n);
      expect(c32.members).to.deep.equal(max);
      expect(c32.threshold).to.equal(17n);

      const hub4 = await deployHub(f, sortedAddresses(4), 3);
      expect((await hub4.committeeAt(0n)).threshold).to.equal(3n);
    });

    it("rejects an empty committee", async function () {
      const f = await loadFixture(hubFixture);
      const factory = new OracleHub__factory(f.governance);
      await expect(deployHub(f, [], 1)).to.be.revertedWithCustomError(factory, "InvalidCommittee").withArgs(0n, 1n);
      await expect(deployHub(f, [], 0)).to.be.revertedWithCustomError(factory, "InvalidCommittee").withArgs(0n, 0n);
    });

    it("rejects more than 32 members", async function () {
      const f = await loadFixture(hubFixture);
      const factory = new OracleHub__factory(f.governance);
      await expect(deployHub(f, sortedAddresses(33), 17))
        .to.be.revertedWithCustomError(factory, "InvalidCommittee")
        .withArgs(33n, 17n);
      await expect(deployHub(f, sortedAddresses(33), 33))
        .to.be.revertedWithCustomError(factory, "InvalidCommittee")
        .withArgs(33n, 33n);
    });

    it("rejects unsorted, duplicate and zero members", async function () {
      const f = await loadFixture(hubFixture);
      const factory = new OracleHub__factory(f.governance);
      const [a, b, c] = addressesOf(f.oracles);
      for (const members of [
        [b, a, c], // unsorted
        [a, c, b], // unsorted at the end
        [a, a, b], // duplicate
        [a, b, b], // duplicate at the end
        [ethers.ZeroAddress, a, b], // zero member
      ]) {
        await expect(deployHub(f, members, 2))
          .to.be.revertedWithCustomError(factory, "InvalidCommittee")
          .withArgs(3n, 2n);
      }
    });

    it("rejects a threshold that is not a strict majority or exceeds the size", async function () {
      const f = await loadFixture(hubFixture);
      const factory = new OracleHub__factory(f.governance);
      const cases: Array<[number, number]> = [
        [4, 2], // half is not a majority
        [5, 2],
        [5, 0],
        [1, 0],
        [32, 16],
        [5, 6], // more than the members
        [1, 2],
      ];
      for (const [size, threshold] of cases) {
        await expect(deployHub(f, sortedAddresses(size), threshold))
          .to.be.revertedWithCustomError(factory, "InvalidCommittee")
          .withArgs(BigInt(size), BigInt(threshold));
      }
    });
  });

  describe("verdictDigest and faultLeaf", function () {
    it("verdictDigest equals the SDK's EIP-712 digest and binds every field", async function () {
      const f = await loadFixture(hubFixture);
      const chainId = (await ethers.provider.getNetwork()).chainId;
      const domain = hubDomain(chainId, await f.hub.getAddress());
      const verdict = makeVerdict(7n, {
        faultsRoot: ethers.id("faults"),
        leasesRoot: ethers.id("leases"),
        totalWorkUnits: 123_456n,
        devicesCounted: 42n,
      });
      const digest = await f.hub.verdictDigest(verdict);
      expect(digest).to.equal(verdictDigest(domain, verdict));
      expect(digest).to.equal(ethers.TypedDataEncoder.hash(domain, VERDICT_TYPES, verdict));

      const variants: EpochVerdict[] = [
        { ...verdict, epoch: 8n },
        { ...verdict, rewardsRoot: ethers.id("other") },
        { ...verdict, faultsRoot: ethers.ZeroHash },
        { ...verdict, leasesRoot: ethers.ZeroHash },
        { ...verdict, leasesRoot: verdict.faultsRoot, faultsRoot: verdict.leasesRoot },
        { ...verdict, totalWorkUnits: 123_457n },
        { ...verdict, devicesCounted: 43n },
        { ...verdict, dataHash: ethers.id("other data") },
      ];
      for (const v of variants) {
        const d = await f.hub.verdictDigest(v);
        expect(d).to.not.equal(digest);
        expect(d).to.equal(verdictDigest(domain, v));
      }
      // Another chain or another hub gives another digest.
      expect(verdictDigest(hubDomain(chainId + 1n, await f.hub.getAddress()), verdict)).to.not.equal(digest);
    });

    it("faultLeaf equals the StandardMerkleTree leaf hash", async function () {
      const f = await loadFixture(hubFixture);
      const leaves = FAULT_LEAVES(f.aliceDevice);
      const tree = buildFaultsTree(leaves);
      for (const leaf of leaves) {
        expect(await f.hub.faultLeaf(leaf.device, leaf.kind, leaf.evidence)).to.equal(
          tree.leafHash([leaf.device, leaf.kind, leaf.evidence]),
        );
      }
      const coder = ethers.AbiCoder.defaultAbiCoder();
      const inner = ethers.keccak256(
        coder.encode(["address", "uint8", "bytes32"], [f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF]),
      );
      expect(await f.hub.faultLeaf(f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF)).to.equal(
        ethers.keccak256(inner),
      );
    });
  });

  describe("submitVerdict", function () {
    it("accepts exactly 3 of 5 signatures from anyone, emits VerdictSubmitted and records the verdict", async function () {
      const f = await loadFixture(endedFixture);
      const verdict = makeVerdict(f.epoch, {
        faultsRoot: ethers.id("faults root"),
        leasesRoot: ethers.id("leases root"),
        totalWorkUnits: 987n,
      });
      const sigs = await signedBy(f.hub, verdict, f.oracles.slice(0, 3));
      const digest = verdictDigest(f.domain, verdict);
      await expect(f.hub.connect(f.outsider).submitVerdict(verdict, sigs))
        .to.emit(f.hub, "VerdictSubmitted")
        .withArgs(f.epoch, digest, verdictTuple(verdict), 3n);
      const now = BigInt(await time.latest());

      const record = await f.hub.getVerdict(f.epoch);
      expect(record.status).to.equal(VerdictStatus.Pending);
      expect(record.challengeEndsAt).to.equal(now + CHALLENGE_WINDOW);
      expect(record.signers).to.equal(3n);
      expect(record.digest).to.equal(digest);
      expect(record.rewardsRoot).to.equal(verdict.rewardsRoot);
      expect(record.faultsRoot).to.equal(verdict.faultsRoot);
      expect(record.leasesRoot).to.equal(verdict.leasesRoot);
      // Submission alone finalises nothing.
      expect((await f.hub.latestFinalised())[2]).to.equal(false);
    });

    it("accepts any 3-member subset, 4 of 5 and all 5, recording the number of signers", async function () {
      const cases: Array<[number[], bigint]> = [
        [[0, 2, 4], 3n],
        [[2, 3, 4], 3n],
        [[0, 1, 3, 4], 4n],
        [[0, 1, 2, 3, 4], 5n],
      ];
      for (const [indices, count] of cases) {
        const f = await loadFixture(endedFixture);
        const sigs = await signedBy(
          f.hub,
          f.verdict,
          indices.map((i) => f.oracles[i]),
        );
        await expect(f.hub.connect(f.fisher).submitVerdict(f.verdict, sigs))
          .to.emit(f.hub, "VerdictSubmitted")
          .withArgs(f.epoch, verdictDigest(f.domain, f.verdict), verdictTuple(f.verdict), count);
        expect((await f.hub.getVerdict(f.epoch)).signers).to.equal(count);
      }
    });

    it("reverts with QuorumNotReached below the threshold", async function () {
      const f = await loadFixture(endedFixture);
      const two = await signedBy(f.hub, f.verdict, [f.oracles[1], f.oracles[4]]);
      await expect(f.hub.submitVerdict(f.verdict, two))
        .to.be.revertedWithCustomError(f.hub, "QuorumNotReached")
        .withArgs(f.epoch, 2n, 3n);
      await expect(f.hub.submitVerdict(f.verdict, []))
        .to.be.revertedWithCustomError(f.hub, "QuorumNotReached")
        .withArgs(f.epoch, 0n, 3n);
    });

    it("reverts with SignersNotAscending for a duplicated signature (same signer twice)", async function () {
      const f = await loadFixture(endedFixture);
      const [s0, s1] = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 2));
      await expect(f.hub.submitVerdict(f.verdict, [s0, s0, s1]))
        .to.be.revertedWithCustomError(f.hub, "SignersNotAscending")
        .withArgs(1n, f.oracles[0].address);
      await expect(f.hub.submitVerdict(f.verdict, [s0, s1, s1]))
        .to.be.revertedWithCustomError(f.hub, "SignersNotAscending")
        .withArgs(2n, f.oracles[1].address);
      // A duplicate never makes up a quorum, even with enough distinct signers around it.
      const all = await signedBy(f.hub, f.verdict, f.oracles);
      await expect(f.hub.submitVerdict(f.verdict, [...all, all[4]]))
        .to.be.revertedWithCustomError(f.hub, "SignersNotAscending")
        .withArgs(5n, f.oracles[4].address);
    });

    it("reverts with SignersNotAscending for signatures not sorted by signer", async function () {
      const f = await loadFixture(endedFixture);
      const [s0, s1, s2] = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3));
      await expect(f.hub.submitVerdict(f.verdict, [s1, s0, s2]))
        .to.be.revertedWithCustomError(f.hub, "SignersNotAscending")
        .withArgs(1n, f.oracles[0].address);
      await expect(f.hub.submitVerdict(f.verdict, [s0, s2, s1]))
        .to.be.revertedWithCustomError(f.hub, "SignersNotAscending")
        .withArgs(2n, f.oracles[1].address);
      await expect(f.hub.submitVerdict(f.verdict, [s2, s1, s0]))
        .to.be.revertedWithCustomError(f.hub, "SignersNotAscending")
        .withArgs(1n, f.oracles[1].address);
    });

    it("reverts with NotCommitteeMember for a signer outside the committee", async function () {
      const f = await loadFixture(endedFixture);
      const [stranger] = walletsFor("stranger", 1);
      const sigs = await signedBy(f.hub, f.verdict, [f.oracles[0], f.oracles[1], f.oracles[2], stranger]);
      await expect(f.hub.submitVerdict(f.verdict, sigs))
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(f.epoch, stranger.address);
    });

    it("rejects a signature over another epoch (or any other field): it recovers to a non-member", async function () {
      const f = await loadFixture(endedFixture);
      const digest = await f.hub.verdictDigest(f.verdict);
      const [, s1, s2] = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3));
      for (const signed of [
        { ...f.verdict, epoch: f.epoch + 1n },
        { ...f.verdict, epoch: f.epoch - 1n },
        { ...f.verdict, totalWorkUnits: f.verdict.totalWorkUnits + 1n },
      ]) {
        const { signature } = await signVerdict(f.oracles[0], f.domain, signed);
        const recovered = ethers.recoverAddress(digest, signature);
        expect(recovered).to.not.equal(f.oracles[0].address);
        await expect(f.hub.submitVerdict(f.verdict, [signature, s1, s2]))
          .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
          .withArgs(f.epoch, recovered);
      }
    });

    it("binds leasesRoot: signatures over another leases root do not count; the signed root is stored", async function () {
      const f = await loadFixture(endedFixture);
      const signed = { ...f.verdict, leasesRoot: ethers.id("leases root") };
      const sigs = await signedBy(f.hub, signed, f.oracles.slice(0, 3));
      for (const leasesRoot of [ethers.ZeroHash, ethers.id("another leases root")]) {
        const relayed = { ...signed, leasesRoot };
        const digest = await f.hub.verdictDigest(relayed);
        expect(digest).to.not.equal(await f.hub.verdictDigest(signed));
        const recovered = ethers.recoverAddress(digest, sigs[0]);
        expect(addressesOf(f.oracles)).to.not.include(recovered);
        await expect(f.hub.submitVerdict(relayed, sigs))
          .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
          .withArgs(f.epoch, recovered);
      }
      await expect(f.hub.submitVerdict(signed, sigs))
        .to.emit(f.hub, "VerdictSubmitted")
        .withArgs(f.epoch, verdictDigest(f.domain, signed), verdictTuple(signed), 3n);
      const record = await f.hub.getVerdict(f.epoch);
      expect(record.leasesRoot).to.equal(signed.leasesRoot);
      expect(record.faultsRoot).to.equal(signed.faultsRoot);
      expect(record.digest).to.equal(verdictDigest(f.domain, signed));

      await time.increaseTo(record.challengeEndsAt);
      await f.hub.finaliseVerdict(f.epoch);
      const final = await f.hub.getVerdict(f.epoch);
      expect(final.status).to.equal(VerdictStatus.Finalised);
      expect(final.leasesRoot).to.equal(signed.leasesRoot);
    });

    it("rejects signatures made for another chain id", async function () {
      const f = await loadFixture(endedFixture);
      const digest = await f.hub.verdictDigest(f.verdict);
      const otherChain = hubDomain(BigInt(f.domain.chainId!) + 1n, await f.hub.getAddress());
      const { signature } = await signVerdict(f.oracles[0], otherChain, f.verdict);
      const [, s1, s2] = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3));
      const recovered = ethers.recoverAddress(digest, signature);
      expect(recovered).to.not.equal(f.oracles[0].address);
      await expect(f.hub.submitVerdict(f.verdict, [signature, s1, s2]))
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(f.epoch, recovered);
    });

    it("rejects signatures made for another hub, which that hub accepts", async function () {
      const f = await loadFixture(endedFixture);
      const hub2 = await deployHub(f, addressesOf(f.oracles), 3);
      const forHub2 = await signedBy(hub2, f.verdict, f.oracles.slice(0, 3));
      const recovered = ethers.recoverAddress(await f.hub.verdictDigest(f.verdict), forHub2[0]);
      expect(recovered).to.not.equal(f.oracles[0].address);
      await expect(f.hub.submitVerdict(f.verdict, forHub2))
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(f.epoch, recovered);
      // The same signatures are valid where they belong, and this hub's are not valid there.
      const forHub1 = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3));
      await expect(hub2.submitVerdict(f.verdict, forHub1))
        .to.be.revertedWithCustomError(hub2, "NotCommitteeMember")
        .withArgs(f.epoch, ethers.recoverAddress(await hub2.verdictDigest(f.verdict), forHub1[0]));
      await expect(hub2.submitVerdict(f.verdict, forHub2)).to.emit(hub2, "VerdictSubmitted");
      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.None);
    });

    it("rejects a malleable (high-s) twin of a valid signature with InvalidSignature", async function () {
      const f = await loadFixture(endedFixture);
      const digest = await f.hub.verdictDigest(f.verdict);
      const [s0, s1, s2] = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3));
      const twin = highSTwin(s1);
      expect(twin).to.not.equal(s1);
      // Raw ecrecover accepts both forms for the same signer: only the low-s rule rejects the twin.
      expect(await ecrecoverRaw(digest, s1)).to.equal(f.oracles[1].address);
      expect(await ecrecoverRaw(digest, twin)).to.equal(f.oracles[1].address);
      await expect(f.hub.submitVerdict(f.verdict, [s0, twin, s2]))
        .to.be.revertedWithCustomError(f.hub, "InvalidSignature")
        .withArgs(1n);
      await expect(f.hub.submitVerdict(f.verdict, [highSTwin(s0), s1, s2]))
        .to.be.revertedWithCustomError(f.hub, "InvalidSignature")
        .withArgs(0n);
    });

    it("rejects malformed signatures (wrong length, invalid v) with InvalidSignature(index)", async function () {
      const f = await loadFixture(endedFixture);
      const [s0, s1, s2] = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3));
      const short = ethers.dataSlice(s2, 0, 64); // 64 bytes (EIP-2098 compact form is not accepted)
      const long = ethers.concat([s2, "0x00"]); // 66 bytes
      const badV = ethers.concat([ethers.dataSlice(s2, 0, 64), "0x1d"]); // v = 29
      for (const bad of [short, long, badV, "0x"]) {
        await expect(f.hub.submitVerdict(f.verdict, [s0, s1, bad]))
          .to.be.revertedWithCustomError(f.hub, "InvalidSignature")
          .withArgs(2n);
      }
      await expect(f.hub.submitVerdict(f.verdict, [ethers.ZeroHash, s1, s2]))
        .to.be.revertedWithCustomError(f.hub, "InvalidSignature")
        .withArgs(0n);
    });

    it("reverts with EpochNotEnded until the epoch's end, then accepts at the end", async function () {
      const f = await loadFixture(endedFixture);
      const current = await f.config.currentEpoch();
      expect(current).to.equal(f.epoch + 1n);
      const currentEnd = await f.config.epochEnd(current);
      const verdict = makeVerdict(current);
      const sigs = await signedBy(f.hub, verdict, f.oracles.slice(0, 3));
      await expect(f.hub.submitVerdict(verdict, sigs))
        .to.be.revertedWithCustomError(f.hub, "EpochNotEnded")
        .withArgs(current, currentEnd);
      const future = makeVerdict(current + 10n);
      await expect(f.hub.submitVerdict(future, await signedBy(f.hub, future, f.oracles.slice(0, 3))))
        .to.be.revertedWithCustomError(f.hub, "EpochNotEnded")
        .withArgs(current + 10n, await f.config.epochEnd(current + 10n));

      await time.setNextBlockTimestamp(currentEnd - 1n);
      await expect(f.hub.submitVerdict(verdict, sigs))
        .to.be.revertedWithCustomError(f.hub, "EpochNotEnded")
        .withArgs(current, currentEnd);
      await time.setNextBlockTimestamp(currentEnd);
      await expect(f.hub.submitVerdict(verdict, sigs)).to.emit(f.hub, "VerdictSubmitted");
    });

    it("accepts a verdict at the last second of the submission window (epoch end + 1 day)", async function () {
      const f = await loadFixture(endedFixture);
      const sigs = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3));
      await time.setNextBlockTimestamp(f.endsAt + SUBMISSION_WINDOW);
      await expect(f.hub.submitVerdict(f.verdict, sigs)).to.emit(f.hub, "VerdictSubmitted");
      expect((await f.hub.getVerdict(f.epoch)).challengeEndsAt).to.equal(
        f.endsAt + SUBMISSION_WINDOW + CHALLENGE_WINDOW,
      );
    });

    it("reverts with SubmissionWindowClosed after epoch end + 1 day", async function () {
      const f = await loadFixture(endedFixture);
      const sigs = await signedBy(f.hub, f.verdict, f.oracles.slice(0, 3));
      await time.setNextBlockTimestamp(f.endsAt + SUBMISSION_WINDOW + 1n);
      await expect(f.hub.submitVerdict(f.verdict, sigs))
        .to.be.revertedWithCustomError(f.hub, "SubmissionWindowClosed")
        .withArgs(f.epoch, f.endsAt + SUBMISSION_WINDOW);
      // An older epoch of the fixture has long closed.
      const old = makeVerdict(0n);
      await expect(f.hub.submitVerdict(old, await signedBy(f.hub, old, f.oracles.slice(0, 3))))
        .to.be.revertedWithCustomError(f.hub, "SubmissionWindowClosed")
        .withArgs(0n, (await f.config.epochEnd(0n)) + SUBMISSION_WINDOW);
    });

    it("reverts with VerdictAlreadySubmitted for a second verdict of a pending epoch", async function () {
      const f = await loadFixture(pendingFixture);
      const rival = makeVerdict(f.epoch, { rewardsRoot: ethers.id("rival rewards") });
      const sigs = await signedBy(f.hub, rival, f.oracles.slice(2, 5));
      await expect(f.hub.submitVerdict(rival, sigs))
        .to.be.revertedWithCustomError(f.hub, "VerdictAlreadySubmitted")
        .withArgs(f.epoch, VerdictStatus.Pending);
      // The same verdict again, too.
      await expect(f.hub.submitVerdict(f.verdict, await signedBy(f.hub, f.verdict, f.oracles)))
        .to.be.revertedWithCustomError(f.hub, "VerdictAlreadySubmitted")
        .withArgs(f.epoch, VerdictStatus.Pending);
      expect((await f.hub.getVerdict(f.epoch)).rewardsRoot).to.equal(f.verdict.rewardsRoot);
    });

    it("reverts with VerdictAlreadySubmitted for a second verdict of a disputed epoch", async function () {
      const f = await loadFixture(disputedFixture);
      const rival = makeVerdict(f.epoch, { rewardsRoot: ethers.id("rival rewards") });
      await expect(f.hub.submitVerdict(rival, await signedBy(f.hub, rival, f.oracles.slice(0, 3))))
        .to.be.revertedWithCustomError(f.hub, "VerdictAlreadySubmitted")
        .withArgs(f.epoch, VerdictStatus.Disputed);
    });

    it("rejects a second verdict of a finalised epoch (inside its submission window) as EpochAlreadySettled", async function () {
      // Both VerdictAlreadySubmitted(epoch, Finalised) and EpochAlreadySettled(epoch, epoch) describe this case; the
      // hub checks settlement first, so a finalised epoch always reports EpochAlreadySettled.
      const f = await loadFixture(pendingFixture);
      await time.increaseTo(f.challengeEndsAt);
      await f.hub.finaliseVerdict(f.epoch);
      expect(BigInt(await time.latest())).to.be.lessThan(f.endsAt + SUBMISSION_WINDOW);
      const rival = makeVerdict(f.epoch, { rewardsRoot: ethers.id("rival rewards") });
      await expect(f.hub.submitVerdict(rival, await signedBy(f.hub, rival, f.oracles.slice(0, 3))))
        .to.be.revertedWithCustomError(f.hub, "EpochAlreadySettled")
        .withArgs(f.epoch, f.epoch);
    });

    it("reverts with EpochAlreadySettled for an earlier epoch once a later one is final, unless a dispute reopened it", async function () {
      const f = await loadFixture(endedFixture); // no verdict for E
      const next = makeVerdict(f.epoch + 1n);
      await time.increaseTo(await f.config.epochEnd(f.epoch + 1n));
      await f.hub.submitVerdict(next, await signedBy(f.hub, next, f.oracles.slice(0, 3)));
      await time.increase(CHALLENGE_WINDOW);
      await f.hub.finaliseVerdict(f.epoch + 1n);

      const late = makeVerdict(f.epoch);
      await expect(f.hub.submitVerdict(late, await signedBy(f.hub, late, f.oracles.slice(0, 3))))
        .to.be.revertedWithCustomError(f.hub, "EpochAlreadySettled")
        .withArgs(f.epoch, f.epoch + 1n);
    });

    it("takes the corrected verdict of an epoch struck down on dispute after a later one finalised", async function () {
      const f = await loadFixture(disputedFixture);
      const next = makeVerdict(f.epoch + 1n);
      await time.increaseTo(await f.config.epochEnd(f.epoch + 1n));
      await f.hub.submitVerdict(next, await signedBy(f.hub, next, f.oracles.slice(0, 3)));
      await time.increase(CHALLENGE_WINDOW);
      await f.hub.finaliseVerdict(f.epoch + 1n);
      await f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true);

      const corrected = makeVerdict(f.epoch, { rewardsRoot: ethers.id("corrected") });
      await expect(f.hub.submitVerdict(corrected, await signedBy(f.hub, corrected, f.oracles.slice(0, 3)))).to.emit(
        f.hub,
        "VerdictSubmitted",
      );
      expect((await f.hub.latestFinalised())[1]).to.equal(next.rewardsRoot);
    });
  });

  describe("finaliseVerdict", function () {
    it("reverts with ChallengeWindowOpen before challengeEndsAt and finalises at challengeEndsAt", async function () {
      const f = await loadFixture(pendingFixture);
      await expect(f.hub.finaliseVerdict(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "ChallengeWindowOpen")
        .withArgs(f.epoch, f.challengeEndsAt);
      await time.setNextBlockTimestamp(f.challengeEndsAt - 1n);
      await expect(f.hub.connect(f.outsider).finaliseVerdict(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "ChallengeWindowOpen")
        .withArgs(f.epoch, f.challengeEndsAt);

      await time.setNextBlockTimestamp(f.challengeEndsAt);
      await expect(f.hub.connect(f.outsider).finaliseVerdict(f.epoch))
        .to.emit(f.hub, "VerdictFinalised")
        .withArgs(f.epoch, f.verdict.rewardsRoot, ethers.ZeroHash);
      const record = await f.hub.getVerdict(f.epoch);
      expect(record.status).to.equal(VerdictStatus.Finalised);
      expect(record.challengeEndsAt).to.equal(f.challengeEndsAt);
      expect(record.signers).to.equal(3n);
      const [epoch, root, exists] = await f.hub.latestFinalised();
      expect(epoch).to.equal(f.epoch);
      expect(root).to.equal(f.verdict.rewardsRoot);
      expect(exists).to.equal(true);
    });

    it("reverts with InvalidVerdictStatus for None, Disputed and Finalised verdicts", async function () {
      const f = await loadFixture(disputedFixture);
      await expect(f.hub.finaliseVerdict(f.epoch - 1n))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch - 1n, VerdictStatus.None);
      await time.increaseTo(f.challengeEndsAt);
      await expect(f.hub.finaliseVerdict(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.Disputed);

      const p = await loadFixture(pendingFixture);
      await time.increaseTo(p.challengeEndsAt);
      await p.hub.finaliseVerdict(p.epoch);
      await expect(p.hub.finaliseVerdict(p.epoch))
        .to.be.revertedWithCustomError(p.hub, "InvalidVerdictStatus")
        .withArgs(p.epoch, VerdictStatus.Finalised);
    });

    it("moves latestFinalised forward with each finalised epoch", async function () {
      const f = await loadFixture(pendingFixture);
      await time.increaseTo(f.challengeEndsAt);
      await f.hub.finaliseVerdict(f.epoch);

      const next = makeVerdict(f.epoch + 1n);
      await time.increaseTo(await f.config.epochEnd(f.epoch + 1n));
      await f.hub.submitVerdict(next, await signedBy(f.hub, next, f.oracles.slice(1, 4)));
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.hub.finaliseVerdict(f.epoch + 1n))
        .to.emit(f.hub, "VerdictFinalised")
        .withArgs(f.epoch + 1n, next.rewardsRoot, ethers.ZeroHash);
      const [epoch, root, exists] = await f.hub.latestFinalised();
      expect(epoch).to.equal(f.epoch + 1n);
      expect(root).to.equal(next.rewardsRoot);
      expect(exists).to.equal(true);
      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.Finalised);
    });

    it("finalises an earlier pending epoch after a later one, keeping the later (cumulative) root as the latest", async function () {
      const f = await loadFixture(pendingFixture); // epoch E pending, not finalised before E + 1
      const next = makeVerdict(f.epoch + 1n);
      await time.increaseTo(await f.config.epochEnd(f.epoch + 1n));
      await f.hub.submitVerdict(next, await signedBy(f.hub, next, f.oracles.slice(0, 3)));
      await time.increase(CHALLENGE_WINDOW);
      await f.hub.finaliseVerdict(f.epoch + 1n);

      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.Pending);
      await expect(f.hub.finaliseVerdict(f.epoch)).to.emit(f.hub, "VerdictFinalised");
      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.Finalised);
      const [epoch, root] = await f.hub.latestFinalised();
      expect(epoch).to.equal(f.epoch + 1n);
      expect(root).to.equal(next.rewardsRoot);
    });

    it("skips an epoch without a verdict: the next epoch finalises and the gap stays closed", async function () {
      const f = await loadFixture(endedFixture); // no verdict for E
      const next = makeVerdict(f.epoch + 1n);
      await time.increaseTo(await f.config.epochEnd(f.epoch + 1n));
      await f.hub.submitVerdict(next, await signedBy(f.hub, next, f.oracles.slice(0, 3)));
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.hub.finaliseVerdict(f.epoch + 1n))
        .to.emit(f.hub, "VerdictFinalised")
        .withArgs(f.epoch + 1n, next.rewardsRoot, ethers.ZeroHash);
      const [epoch, root, exists] = await f.hub.latestFinalised();
      expect(epoch).to.equal(f.epoch + 1n);
      expect(root).to.equal(next.rewardsRoot);
      expect(exists).to.equal(true);
      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.None);
      await expect(f.hub.finaliseVerdict(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.None);
    });
  });

  describe("committee rotation", function () {
    it("lets only governance schedule a committee", async function () {
      const f = await loadFixture(hubFixture);
      const next = addressesOf(walletsFor("next", 3));
      for (const caller of [f.alice, f.arbitrator, f.outsider]) {
        await expect(f.hub.connect(caller).scheduleCommittee(next, 2, 5n))
          .to.be.revertedWithCustomError(f.hub, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
      expect(await f.hub.committeeCount()).to.equal(1n);
    });

    it("reverts with InvalidCommitteeStart for the current or a past epoch", async function () {
      const f = await loadFixture(endedFixture);
      const current = await f.config.currentEpoch();
      expect(current).to.equal(3n);
      const next = addressesOf(walletsFor("next", 3));
      for (const fromEpoch of [0n, current - 1n, current]) {
        await expect(f.hub.scheduleCommittee(next, 2, fromEpoch))
          .to.be.revertedWithCustomError(f.hub, "InvalidCommitteeStart")
          .withArgs(fromEpoch, current + 1n);
      }
    });

    it("validates the scheduled committee like the constructor (InvalidCommittee)", async function () {
      const f = await loadFixture(hubFixture);
      const [a, b, c, d] = sortedAddresses(4);
      await expect(f.hub.scheduleCommittee([a, b, c, d], 2, 5n))
        .to.be.revertedWithCustomError(f.hub, "InvalidCommittee")
        .withArgs(4n, 2n);
      await expect(f.hub.scheduleCommittee([b, a, c], 2, 5n))
        .to.be.revertedWithCustomError(f.hub, "InvalidCommittee")
        .withArgs(3n, 2n);
      await expect(f.hub.scheduleCommittee([], 0, 5n))
        .to.be.revertedWithCustomError(f.hub, "InvalidCommittee")
        .withArgs(0n, 0n);
      await expect(f.hub.scheduleCommittee(sortedAddresses(33), 17, 5n))
        .to.be.revertedWithCustomError(f.hub, "InvalidCommittee")
        .withArgs(33n, 17n);
      expect(await f.hub.committeeCount()).to.equal(1n);
    });

    it("schedules a committee from a future epoch, emitting CommitteeScheduled", async function () {
      const f = await loadFixture(hubFixture);
      const current = await f.config.currentEpoch();
      const next = addressesOf(walletsFor("next", 3));
      await expect(f.hub.scheduleCommittee(next, 2, current + 1n))
        .to.emit(f.hub, "CommitteeScheduled")
        .withArgs(1n, current + 1n, 2n, next);
      expect(await f.hub.committeeCount()).to.equal(2n);
      const before = await f.hub.committeeAt(current);
      expect(before.fromEpoch).to.equal(0n);
      expect(before.members).to.deep.equal(addressesOf(f.oracles));
      for (const epoch of [current + 1n, current + 2n, current + 1_000n]) {
        const after = await f.hub.committeeAt(epoch);
        expect(after.fromEpoch).to.equal(current + 1n);
        expect(after.threshold).to.equal(2n);
        expect(after.members).to.deep.equal(next);
      }
    });

    it("rotates without downtime: the old committee signs epochs before fromEpoch, the new one from it", async function () {
      const f = await loadFixture(hubFixture);
      const current = await f.config.currentEpoch();
      const fromEpoch = current + 1n;
      const nextWallets = walletsFor("next", 3);
      await f.hub.scheduleCommittee(addressesOf(nextWallets), 2, fromEpoch);

      // The new committee is in force, but the last epoch of the old one is still theirs to sign.
      await time.increaseTo(await f.config.epochEnd(current));
      expect(await f.config.currentEpoch()).to.equal(fromEpoch);
      const last = makeVerdict(current);
      await expect(f.hub.submitVerdict(last, await signedBy(f.hub, last, nextWallets.slice(0, 2))))
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(current, nextWallets[0].address);
      await expect(f.hub.submitVerdict(last, await signedBy(f.hub, last, f.oracles.slice(0, 2))))
        .to.be.revertedWithCustomError(f.hub, "QuorumNotReached")
        .withArgs(current, 2n, 3n);
      await expect(f.hub.submitVerdict(last, await signedBy(f.hub, last, f.oracles.slice(0, 3))))
        .to.emit(f.hub, "VerdictSubmitted")
        .withArgs(current, await f.hub.verdictDigest(last), verdictTuple(last), 3n);

      // The first epoch of the new committee: the old members are strangers now, and 2 of 3 is a quorum.
      await time.increaseTo(await f.config.epochEnd(fromEpoch));
      const first = makeVerdict(fromEpoch);
      await expect(f.hub.submitVerdict(first, await signedBy(f.hub, first, f.oracles.slice(0, 3))))
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(fromEpoch, f.oracles[0].address);
      await expect(f.hub.submitVerdict(first, await signedBy(f.hub, first, nextWallets.slice(1, 3))))
        .to.emit(f.hub, "VerdictSubmitted")
        .withArgs(fromEpoch, await f.hub.verdictDigest(first), verdictTuple(first), 2n);
    });

    it("replaces a committee that is not yet in force", async function () {
      const f = await loadFixture(hubFixture);
      const current = await f.config.currentEpoch();
      const b = walletsFor("b", 3);
      const c = walletsFor("c", 3);
      await f.hub.scheduleCommittee(addressesOf(b), 2, current + 5n);
      // The replacement may start earlier than the committee it replaces, but not in the current epoch.
      await expect(f.hub.scheduleCommittee(addressesOf(c), 2, current))
        .to.be.revertedWithCustomError(f.hub, "InvalidCommitteeStart")
        .withArgs(current, current + 1n);
      await expect(f.hub.scheduleCommittee(addressesOf(c), 2, current + 1n))
        .to.emit(f.hub, "CommitteeScheduled")
        .withArgs(2n, current + 1n, 2n, addressesOf(c));
      expect(await f.hub.committeeCount()).to.equal(3n); // ids are never reused
      expect((await f.hub.committeeAt(current)).members).to.deep.equal(addressesOf(f.oracles));
      for (const epoch of [current + 1n, current + 5n, current + 50n]) {
        const committee = await f.hub.committeeAt(epoch);
        expect(committee.fromEpoch).to.equal(current + 1n);
        expect(committee.members).to.deep.equal(addressesOf(c));
      }

      // The replaced committee cannot sign; the replacement can.
      await time.increaseTo(await f.config.epochEnd(current + 1n));
      const verdict = makeVerdict(current + 1n);
      await expect(f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, b.slice(0, 2))))
        .to.be.revertedWithCustomError(f.hub, "NotCommitteeMember")
        .withArgs(current + 1n, b[0].address);
      await expect(f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, c.slice(0, 2)))).to.emit(
        f.hub,
        "VerdictSubmitted",
      );
    });

    it("does not replace a committee already in force: the next one follows it", async function () {
      const f = await loadFixture(hubFixture);
      const current = await f.config.currentEpoch();
      const b = addressesOf(walletsFor("b", 3));
      const d = addressesOf(walletsFor("d", 5));
      await f.hub.scheduleCommittee(b, 2, current + 1n);
      await time.increaseTo(await f.config.epochEnd(current)); // b is in force
      await expect(f.hub.scheduleCommittee(d, 3, current + 1n))
        .to.be.revertedWithCustomError(f.hub, "InvalidCommitteeStart")
        .withArgs(current + 1n, current + 2n);
      await expect(f.hub.scheduleCommittee(d, 3, current + 3n))
        .to.emit(f.hub, "CommitteeScheduled")
        .withArgs(2n, current + 3n, 3n, d);
      expect(await f.hub.committeeCount()).to.equal(3n);
      expect((await f.hub.committeeAt(current)).members).to.deep.equal(addressesOf(f.oracles));
      expect((await f.hub.committeeAt(current + 1n)).members).to.deep.equal(b);
      expect((await f.hub.committeeAt(current + 2n)).members).to.deep.equal(b);
      expect((await f.hub.committeeAt(current + 3n)).members).to.deep.equal(d);
      expect((await f.hub.committeeAt(current + 3n)).threshold).to.equal(3n);
    });
  });

  describe("disputeVerdict", function () {
    it("lets a fisher dispute a pending verdict, pulling the 1,000 MESH bond", async function () {
      const f = await loadFixture(pendingFixture);
      const tx = f.hub.connect(f.fisher).disputeVerdict(f.epoch, REASON);
      await expect(tx).to.emit(f.hub, "VerdictDisputed").withArgs(f.epoch, f.fisher.address, BOND, REASON);
      await expect(tx).to.changeTokenBalances(f.token, [f.fisher, f.hub], [-BOND, BOND]);
      const openedAt = BigInt(await time.latest());

      const record = await f.hub.getVerdict(f.epoch);
      expect(record.status).to.equal(VerdictStatus.Disputed);
      expect(record.challengeEndsAt).to.equal(f.challengeEndsAt);
      const dispute = await f.hub.getDispute(f.epoch);
      expect(dispute.challenger).to.equal(f.fisher.address);
      expect(dispute.openedAt).to.equal(openedAt);
      expect(dispute.bond).to.equal(BOND);
      expect(dispute.reason).to.equal(REASON);
    });

    it("lets a committee member dispute for free", async function () {
      const f = await loadFixture(pendingFixture);
      const member = await fundedMember(f, f.oracles[3]); // did not sign the verdict
      expect(await f.token.balanceOf(member.address)).to.equal(0n);
      const tx = f.hub.connect(member).disputeVerdict(f.epoch, REASON);
      await expect(tx).to.emit(f.hub, "VerdictDisputed").withArgs(f.epoch, member.address, 0n, REASON);
      await expect(tx).to.changeTokenBalances(f.token, [member.address, f.hub], [0n, 0n]);
      const dispute = await f.hub.getDispute(f.epoch);
      expect(dispute.challenger).to.equal(member.address);
      expect(dispute.bond).to.equal(0n);
      expect(dispute.reason).to.equal(REASON);
      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.Disputed);
    });

    it("accepts a dispute in the last second of the challenge window and reverts with ChallengeWindowClosed at its end", async function () {
      const f = await loadFixture(pendingFixture);
      await time.setNextBlockTimestamp(f.challengeEndsAt);
      await expect(f.hub.connect(f.fisher).disputeVerdict(f.epoch, REASON))
        .to.be.revertedWithCustomError(f.hub, "ChallengeWindowClosed")
        .withArgs(f.epoch, f.challengeEndsAt);

      const g = await loadFixture(pendingFixture);
      await time.setNextBlockTimestamp(g.challengeEndsAt - 1n);
      await expect(g.hub.connect(g.fisher).disputeVerdict(g.epoch, REASON)).to.emit(g.hub, "VerdictDisputed");
    });

    it("reverts with InvalidVerdictStatus unless the verdict is pending", async function () {
      const f = await loadFixture(disputedFixture);
      await expect(f.hub.connect(f.bob).disputeVerdict(f.epoch - 1n, REASON))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch - 1n, VerdictStatus.None);
      await expect(f.hub.connect(f.bob).disputeVerdict(f.epoch, REASON))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.Disputed);

      const p = await loadFixture(pendingFixture);
      await time.increaseTo(p.challengeEndsAt);
      await p.hub.finaliseVerdict(p.epoch);
      await expect(p.hub.connect(p.fisher).disputeVerdict(p.epoch, REASON))
        .to.be.revertedWithCustomError(p.hub, "InvalidVerdictStatus")
        .withArgs(p.epoch, VerdictStatus.Finalised);
    });
  });

  describe("fundDisputeRewards", function () {
    it("adds to the reserve, pulling the tokens", async function () {
      const f = await loadFixture(hubFixture);
      const tx = f.hub.connect(f.carol).fundDisputeRewards(750n * MESH);
      await expect(tx).to.emit(f.hub, "DisputeRewardsFunded").withArgs(f.carol.address, 750n * MESH);
      await expect(tx).to.changeTokenBalances(f.token, [f.carol, f.hub], [-750n * MESH, 750n * MESH]);
      await f.hub.connect(f.governance).fundDisputeRewards(250n * MESH);
      expect(await f.hub.disputeRewardReserve()).to.equal(1_000n * MESH);
    });

    it("reverts with ZeroAmount for zero", async function () {
      const f = await loadFixture(hubFixture);
      await expect(f.hub.fundDisputeRewards(0n)).to.be.revertedWithCustomError(f.hub, "ZeroAmount");
    });
  });

  describe("resolveDispute", function () {
    it("is restricted to the arbitrator", async function () {
      const f = await loadFixture(disputedFixture);
      for (const caller of [f.governance, f.fisher, f.outsider]) {
        await expect(f.hub.connect(caller).resolveDispute(f.epoch, true))
          .to.be.revertedWithCustomError(f.hub, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ARBITRATOR_ROLE);
      }
    });

    it("reverts with InvalidVerdictStatus without an open dispute", async function () {
      const f = await loadFixture(pendingFixture);
      await expect(f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.Pending);
      await expect(f.hub.connect(f.arbitrator).resolveDispute(f.epoch - 1n, false))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch - 1n, VerdictStatus.None);
    });

    it("upheld: strikes the verdict down and pays the bond plus the 500 MESH reward from the reserve", async function () {
      const f = await loadFixture(disputedFixture);
      await f.hub.connect(f.governance).fundDisputeRewards(2_000n * MESH);
      const tx = f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true);
      await expect(tx).to.emit(f.hub, "DisputeResolved").withArgs(f.epoch, true, REWARD);
      await expect(tx).to.changeTokenBalances(f.token, [f.fisher, f.hub], [BOND + REWARD, -(BOND + REWARD)]);
      expect(await f.hub.disputeRewardReserve()).to.equal(1_500n * MESH);
      expect(await f.token.balanceOf(f.hub)).to.equal(1_500n * MESH);

      const record = await f.hub.getVerdict(f.epoch);
      expect(record.status).to.equal(VerdictStatus.None);
      expect(record.digest).to.equal(ethers.ZeroHash);
      expect(record.rewardsRoot).to.equal(ethers.ZeroHash);
      expect(record.challengeEndsAt).to.equal(0n);
      expect(record.signers).to.equal(0n);
      const dispute = await f.hub.getDispute(f.epoch);
      expect(dispute.challenger).to.equal(ethers.ZeroAddress);
      expect(dispute.openedAt).to.equal(0n);
      expect(dispute.bond).to.equal(0n);
      expect(dispute.reason).to.equal(ethers.ZeroHash);
      await expect(f.hub.finaliseVerdict(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.None);
    });

    it("upheld: pays only what the reserve holds, and only the bond when it is empty", async function () {
      const f = await loadFixture(disputedFixture);
      await f.hub.connect(f.governance).fundDisputeRewards(200n * MESH);
      const partial = f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true);
      await expect(partial).to.emit(f.hub, "DisputeResolved").withArgs(f.epoch, true, 200n * MESH);
      await expect(partial).to.changeTokenBalances(f.token, [f.fisher, f.hub], [BOND + 200n * MESH, -(BOND + 200n * MESH)]);
      expect(await f.hub.disputeRewardReserve()).to.equal(0n);

      const g = await loadFixture(disputedFixture);
      expect(await g.hub.disputeRewardReserve()).to.equal(0n);
      const empty = g.hub.connect(g.arbitrator).resolveDispute(g.epoch, true);
      await expect(empty).to.emit(g.hub, "DisputeResolved").withArgs(g.epoch, true, 0n);
      await expect(empty).to.changeTokenBalances(g.token, [g.fisher, g.hub], [BOND, -BOND]);
      expect(await g.token.balanceOf(g.hub)).to.equal(0n);
    });

    it("upheld: a committee member's free dispute earns no reward", async function () {
      const f = await loadFixture(memberDisputedFixture);
      await f.hub.connect(f.governance).fundDisputeRewards(2_000n * MESH);
      const tx = f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true);
      await expect(tx).to.emit(f.hub, "DisputeResolved").withArgs(f.epoch, true, 0n);
      await expect(tx).to.changeTokenBalances(f.token, [f.member.address, f.hub], [0n, 0n]);
      expect(await f.hub.disputeRewardReserve()).to.equal(2_000n * MESH);
      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.None);
    });

    it("upheld: a corrected verdict may be submitted for a day after the ruling, past the original window", async function () {
      const f = await loadFixture(disputedFixture);
      const ruledAt = f.openedAt + 2n * DAY; // inside the dispute window, after the original submission window
      expect(ruledAt).to.be.greaterThan(f.endsAt + SUBMISSION_WINDOW);
      await time.setNextBlockTimestamp(ruledAt);
      await f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true);

      const corrected = makeVerdict(f.epoch, { rewardsRoot: ethers.id("corrected rewards"), totalWorkUnits: 999n });
      const sigs = await signedBy(f.hub, corrected, f.oracles.slice(2, 5));
      await time.setNextBlockTimestamp(ruledAt + SUBMISSION_WINDOW);
      await expect(f.hub.connect(f.outsider).submitVerdict(corrected, sigs))
        .to.emit(f.hub, "VerdictSubmitted")
        .withArgs(f.epoch, verdictDigest(f.domain, corrected), verdictTuple(corrected), 3n);
      const record = await f.hub.getVerdict(f.epoch);
      expect(record.status).to.equal(VerdictStatus.Pending);
      expect(record.rewardsRoot).to.equal(corrected.rewardsRoot);
      expect(record.challengeEndsAt).to.equal(ruledAt + SUBMISSION_WINDOW + CHALLENGE_WINDOW);

      await time.increaseTo(record.challengeEndsAt);
      await expect(f.hub.finaliseVerdict(f.epoch))
        .to.emit(f.hub, "VerdictFinalised")
        .withArgs(f.epoch, corrected.rewardsRoot, ethers.ZeroHash);
    });

    it("upheld: the resubmission window closes a day after the ruling", async function () {
      const f = await loadFixture(disputedFixture);
      const ruledAt = f.openedAt + 2n * DAY;
      await time.setNextBlockTimestamp(ruledAt);
      await f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true);
      const corrected = makeVerdict(f.epoch, { rewardsRoot: ethers.id("corrected rewards") });
      await time.setNextBlockTimestamp(ruledAt + SUBMISSION_WINDOW + 1n);
      await expect(f.hub.submitVerdict(corrected, await signedBy(f.hub, corrected, f.oracles.slice(0, 3))))
        .to.be.revertedWithCustomError(f.hub, "SubmissionWindowClosed")
        .withArgs(f.epoch, ruledAt + SUBMISSION_WINDOW);
    });

    it("upheld early: the window is the later of the original one and a day after the ruling", async function () {
      const f = await loadFixture(disputedFixture);
      await f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true);
      const ruledAt = BigInt(await time.latest());
      expect(ruledAt + SUBMISSION_WINDOW).to.be.greaterThan(f.endsAt + SUBMISSION_WINDOW);
      const corrected = makeVerdict(f.epoch, { rewardsRoot: ethers.id("corrected rewards") });
      await time.setNextBlockTimestamp(ruledAt + SUBMISSION_WINDOW + 1n);
      await expect(f.hub.submitVerdict(corrected, await signedBy(f.hub, corrected, f.oracles.slice(0, 3))))
        .to.be.revertedWithCustomError(f.hub, "SubmissionWindowClosed")
        .withArgs(f.epoch, ruledAt + SUBMISSION_WINDOW);
    });

    it("rejected: the bond goes to the treasury and the verdict is finalisable at once", async function () {
      const f = await loadFixture(disputedFixture);
      await f.hub.connect(f.governance).fundDisputeRewards(2_000n * MESH);
      const tx = f.hub.connect(f.arbitrator).resolveDispute(f.epoch, false);
      await expect(tx).to.emit(f.hub, "DisputeResolved").withArgs(f.epoch, false, 0n);
      await expect(tx).to.changeTokenBalances(f.token, [f.treasury, f.hub, f.fisher], [BOND, -BOND, 0n]);
      const ruledAt = BigInt(await time.latest());
      expect(ruledAt).to.be.lessThan(f.challengeEndsAt);
      expect(await f.hub.disputeRewardReserve()).to.equal(2_000n * MESH);

      const record = await f.hub.getVerdict(f.epoch);
      expect(record.status).to.equal(VerdictStatus.Pending);
      expect(record.challengeEndsAt).to.equal(ruledAt);
      expect(record.rewardsRoot).to.equal(f.verdict.rewardsRoot);
      expect((await f.hub.getDispute(f.epoch)).challenger).to.equal(ethers.ZeroAddress);
      // No second dispute: the challenge window is over.
      await expect(f.hub.connect(f.bob).disputeVerdict(f.epoch, REASON))
        .to.be.revertedWithCustomError(f.hub, "ChallengeWindowClosed")
        .withArgs(f.epoch, ruledAt);

      await expect(f.hub.connect(f.outsider).finaliseVerdict(f.epoch))
        .to.emit(f.hub, "VerdictFinalised")
        .withArgs(f.epoch, f.verdict.rewardsRoot, ethers.ZeroHash);
    });

    it("rejected: the bond is burned when no treasury is set", async function () {
      const f = await loadFixture(disputedFixture);
      await f.config.connect(f.governance).setTreasury(ethers.ZeroAddress);
      const supply = await f.token.totalSupply();
      const tx = f.hub.connect(f.arbitrator).resolveDispute(f.epoch, false);
      await expect(tx).to.emit(f.hub, "DisputeResolved").withArgs(f.epoch, false, 0n);
      await expect(tx).to.changeTokenBalances(f.token, [f.hub, f.treasury, f.fisher], [-BOND, 0n, 0n]);
      expect(await f.token.totalSupply()).to.equal(supply - BOND);
    });

    it("rejected: a committee member's free dispute moves no tokens", async function () {
      const f = await loadFixture(memberDisputedFixture);
      const supply = await f.token.totalSupply();
      const tx = f.hub.connect(f.arbitrator).resolveDispute(f.epoch, false);
      await expect(tx).to.emit(f.hub, "DisputeResolved").withArgs(f.epoch, false, 0n);
      await expect(tx).to.changeTokenBalances(f.token, [f.hub, f.treasury], [0n, 0n]);
      expect(await f.token.totalSupply()).to.equal(supply);
      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.Pending);
    });

    it("rules at the last second of the dispute window and reverts with DisputeWindowClosed after it", async function () {
      const f = await loadFixture(disputedFixture);
      const closesAt = f.openedAt + DISPUTE_WINDOW;
      await time.setNextBlockTimestamp(closesAt + 1n);
      await expect(f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true))
        .to.be.revertedWithCustomError(f.hub, "DisputeWindowClosed")
        .withArgs(f.epoch, closesAt);
      await expect(f.hub.connect(f.arbitrator).resolveDispute(f.epoch, false))
        .to.be.revertedWithCustomError(f.hub, "DisputeWindowClosed")
        .withArgs(f.epoch, closesAt);

      const g = await loadFixture(disputedFixture);
      await time.setNextBlockTimestamp(g.openedAt + DISPUTE_WINDOW);
      await expect(g.hub.connect(g.arbitrator).resolveDispute(g.epoch, false))
        .to.emit(g.hub, "DisputeResolved")
        .withArgs(g.epoch, false, 0n);
    });
  });

  describe("expireDispute", function () {
    it("reverts with DisputeWindowOpen until the dispute window has passed", async function () {
      const f = await loadFixture(disputedFixture);
      const closesAt = f.openedAt + DISPUTE_WINDOW;
      await expect(f.hub.connect(f.outsider).expireDispute(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "DisputeWindowOpen")
        .withArgs(f.epoch, closesAt);
      await time.setNextBlockTimestamp(closesAt);
      await expect(f.hub.connect(f.outsider).expireDispute(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "DisputeWindowOpen")
        .withArgs(f.epoch, closesAt);
    });

    it("returns the bond after the window, lets the verdict finalise and emits DisputeExpired", async function () {
      const f = await loadFixture(disputedFixture);
      const expiredAt = f.openedAt + DISPUTE_WINDOW + 1n;
      await time.setNextBlockTimestamp(expiredAt);
      const tx = f.hub.connect(f.outsider).expireDispute(f.epoch);
      await expect(tx).to.emit(f.hub, "DisputeExpired").withArgs(f.epoch);
      await expect(tx).to.changeTokenBalances(f.token, [f.fisher, f.hub, f.treasury], [BOND, -BOND, 0n]);

      const record = await f.hub.getVerdict(f.epoch);
      expect(record.status).to.equal(VerdictStatus.Pending);
      expect(record.challengeEndsAt).to.equal(expiredAt);
      const dispute = await f.hub.getDispute(f.epoch);
      expect(dispute.challenger).to.equal(ethers.ZeroAddress);
      expect(dispute.bond).to.equal(0n);
      // The arbitrator can no longer rule, and the dispute cannot expire twice.
      await expect(f.hub.connect(f.arbitrator).resolveDispute(f.epoch, true))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.Pending);
      await expect(f.hub.expireDispute(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.Pending);

      await expect(f.hub.connect(f.outsider).finaliseVerdict(f.epoch))
        .to.emit(f.hub, "VerdictFinalised")
        .withArgs(f.epoch, f.verdict.rewardsRoot, ethers.ZeroHash);
    });

    it("moves no tokens for a committee member's dispute", async function () {
      const f = await loadFixture(memberDisputedFixture);
      await time.increaseTo(f.openedAt + DISPUTE_WINDOW + 1n);
      const tx = f.hub.expireDispute(f.epoch);
      await expect(tx).to.emit(f.hub, "DisputeExpired").withArgs(f.epoch);
      await expect(tx).to.changeTokenBalances(f.token, [f.member.address, f.hub], [0n, 0n]);
      expect((await f.hub.getVerdict(f.epoch)).status).to.equal(VerdictStatus.Pending);
    });

    it("reverts with InvalidVerdictStatus without an open dispute", async function () {
      const f = await loadFixture(pendingFixture);
      await expect(f.hub.expireDispute(f.epoch))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.Pending);
      await expect(f.hub.expireDispute(f.epoch + 1n))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch + 1n, VerdictStatus.None);
    });
  });

  describe("applyFault", function () {
    it("lets anyone apply a proven fault of a finalised verdict through the slashing module", async function () {
      const f = await loadFixture(faultsFinalisedFixture);
      const proof = f.tree.getProof(0);
      const slash = 50n * MESH; // InvalidProof: 5% of alice's 1,000 MESH
      expect(
        await f.hub
          .connect(f.outsider)
          .applyFault.staticCall(f.epoch, f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, proof),
      ).to.equal(slash);

      const tx = f.hub.connect(f.outsider).applyFault(f.epoch, f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, proof);
      await expect(tx)
        .to.emit(f.hub, "FaultApplied")
        .withArgs(f.epoch, f.aliceDevice, FaultKind.InvalidProof, slash);
      await expect(tx)
        .to.emit(f.slashing, "FaultPenalised")
        .withArgs(
          faultIdOf(f.aliceDevice, FaultKind.InvalidProof, f.epoch),
          f.aliceDevice,
          f.alice.address,
          FaultKind.InvalidProof,
          f.epoch,
          slash,
          EVIDENCE_PROOF,
        );
      await expect(tx).to.changeTokenBalance(f.token, f.treasury, slash);
      expect(await f.staking.selfStake(f.alice.address)).to.equal(ALICE_STAKE - slash);
      expect(await f.slashing.penalised(faultIdOf(f.aliceDevice, FaultKind.InvalidProof, f.epoch))).to.equal(true);

      // Another leaf of the same verdict: LocationSpoofing, 10% of the remaining 950 MESH.
      await expect(
        f.hub.applyFault(f.epoch, f.aliceDevice, FaultKind.LocationSpoofing, EVIDENCE_SPOOF, f.tree.getProof(1)),
      )
        .to.emit(f.hub, "FaultApplied")
        .withArgs(f.epoch, f.aliceDevice, FaultKind.LocationSpoofing, 95n * MESH);
      expect(await f.staking.selfStake(f.alice.address)).to.equal(855n * MESH);
    });

    it("reverts with the slashing module's FaultAlreadyPenalised on a second application", async function () {
      const f = await loadFixture(faultsFinalisedFixture);
      const proof = f.tree.getProof(0);
      await f.hub.applyFault(f.epoch, f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, proof);
      await expect(f.hub.connect(f.bob).applyFault(f.epoch, f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, proof))
        .to.be.revertedWithCustomError(f.slashing, "FaultAlreadyPenalised")
        .withArgs(faultIdOf(f.aliceDevice, FaultKind.InvalidProof, f.epoch));
      expect(await f.staking.selfStake(f.alice.address)).to.equal(ALICE_STAKE - 50n * MESH);
    });

    it("reverts with InvalidFaultProof for a wrong proof, kind, evidence, device or epoch", async function () {
      const f = await loadFixture(faultsFinalisedFixture);
      const proof = f.tree.getProof(0);
      const cases: Array<[string, number, string, string[]]> = [
        [f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, f.tree.getProof(1)], // another leaf's proof
        [f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, []], // no proof
        [f.aliceDevice, FaultKind.LocationSpoofing, EVIDENCE_PROOF, proof], // wrong kind
        [f.aliceDevice, FaultKind.MissedDuty, EVIDENCE_PROOF, proof], // wrong kind
        [f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_SPOOF, proof], // wrong evidence
        [f.bob.address, FaultKind.InvalidProof, EVIDENCE_PROOF, proof], // wrong device
      ];
      for (const [device, kind, evidence, p] of cases) {
        await expect(f.hub.applyFault(f.epoch, device, kind, evidence, p))
          .to.be.revertedWithCustomError(f.hub, "InvalidFaultProof")
          .withArgs(f.epoch, device);
      }
      expect(await f.staking.selfStake(f.alice.address)).to.equal(ALICE_STAKE);
    });

    it("reverts with InvalidFaultProof against a verdict without faults", async function () {
      const f = await loadFixture(pendingFixture);
      await time.increaseTo(f.challengeEndsAt);
      await f.hub.finaliseVerdict(f.epoch);
      const tree = buildFaultsTree(FAULT_LEAVES(f.aliceDevice));
      await expect(f.hub.applyFault(f.epoch, f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, tree.getProof(0)))
        .to.be.revertedWithCustomError(f.hub, "InvalidFaultProof")
        .withArgs(f.epoch, f.aliceDevice);
    });

    it("reverts with InvalidVerdictStatus before finalisation (None, Pending, Disputed)", async function () {
      const f = await loadFixture(faultsPendingFixture);
      const proof = f.tree.getProof(0);
      await expect(f.hub.applyFault(f.epoch, f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, proof))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.Pending);
      await expect(f.hub.applyFault(f.epoch - 1n, f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, proof))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch - 1n, VerdictStatus.None);
      await f.hub.connect(f.fisher).disputeVerdict(f.epoch, REASON);
      await expect(f.hub.applyFault(f.epoch, f.aliceDevice, FaultKind.InvalidProof, EVIDENCE_PROOF, proof))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(f.epoch, VerdictStatus.Disputed);
      expect(await f.staking.selfStake(f.alice.address)).to.equal(ALICE_STAKE);
    });

    it("bubbles up the slashing module's errors (UnknownDevice for a leaf of an unregistered device)", async function () {
      const f = await loadFixture(faultsFinalisedFixture);
      await expect(f.hub.applyFault(f.epoch, UNKNOWN_DEVICE, FaultKind.MissedDuty, EVIDENCE_UNKNOWN, f.tree.getProof(2)))
        .to.be.revertedWithCustomError(f.slashing, "UnknownDevice")
        .withArgs(UNKNOWN_DEVICE);
    });
  });
});
