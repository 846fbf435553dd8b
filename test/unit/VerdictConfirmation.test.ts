/**
 * FunctionsVerdictConfirmer on the toolkit's Functions router and mock coordinator, and the OracleHub's confirmation
 * modes. The DON's answers are written by hand here (what a source returned, or its error); the Deno source itself is
 * exercised in test/oracles/functions-source.test.ts and end to end in test/integration/functions-confirmation.test.ts.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer as SignerV5 } from "ethers-v5";

import { FunctionsVerdictConfirmer__factory, type FunctionsVerdictConfirmer } from "../../typechain-types";
import { ConfirmationMode, ConfirmationStatus, Param, VerdictStatus } from "../../sdk/enums";
import { verdictStructHash } from "../../sdk/verdict";
import {
  createFundedSubscription,
  deliver,
  deployFunctionsContracts,
  functionsSigner,
  oracleRequests,
  type DonOutcome,
  type FunctionsContracts,
  type OracleRequest,
} from "../../scripts/lib/functions";
import { DAY, hubFixture, type HubFixture } from "../helpers/fixtures";
import { makeVerdict, signedBy, type EpochVerdict } from "../helpers/verdicts";

const HOUR = 3_600n;
const SUBMISSION_WINDOW = DAY; // ProtocolConfig defaults
const CHALLENGE_WINDOW = 12n * HOUR;
const RETRY_INTERVAL = 15n * 60n;
const SOURCE = "return Functions.encodeString(args.join(','))"; // any text: the DON's answers are scripted here
const ENDPOINTS = ["http://oracle-a.test:8545", "http://oracle-b.test:8545", "http://oracle-c.test:8545"];
const LINK = 10n ** 18n;

interface ConfirmationFixture extends HubFixture {
  functions: FunctionsContracts;
  don: SignerV5;
  confirmer: FunctionsVerdictConfirmer;
  subscriptionId: bigint;
}

async function confirmationFixture(): Promise<ConfirmationFixture> {
  const f = await hubFixture();
  const don = functionsSigner(network.provider);
  const functions = await deployFunctionsContracts(don);
  const confirmer = await new FunctionsVerdictConfirmer__factory(f.governance).deploy(
    functions.router,
    f.config,
    f.hub,
    f.governance.address,
    ethers.id(SOURCE),
    1n, // replaced below, once the subscription exists
    functions.donId,
    ENDPOINTS,
    2,
  );
  const subscriptionId = await createFundedSubscription(don, functions, await confirmer.getAddress(), 100n * LINK);
  await confirmer.setSubscription(subscriptionId, functions.donId);
  return { ...f, functions, don, confirmer, subscriptionId };
}

/** Moves past the end of `epoch`. */
async function endEpoch(f: ConfirmationFixture, epoch: bigint): Promise<void> {
  const endsAt = await f.config.epochEnd(epoch);
  if (BigInt(await time.latest()) < endsAt) await time.increaseTo(endsAt);
}

/** Requests a confirmation of `epoch` and returns the coordinator's request. */
async function request(f: ConfirmationFixture, epoch: bigint): Promise<OracleRequest> {
  const block = await ethers.provider.getBlockNumber();
  await f.confirmer.connect(f.outsider).requestConfirmation(epoch, SOURCE);
  const requests = await oracleRequests(f.don, f.functions, block + 1);
  expect(requests).to.have.length(1);
  return requests[0];
}

/** What a source returns for a confirmed verdict: abi.encode(uint256 epoch, bytes32 verdictHash). */
function answer(epoch: bigint, verdict: EpochVerdict): DonOutcome {
  return { response: ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "bytes32"], [epoch, verdictStructHash(verdict)]) };
}

/** An EpochVerdict as an event argument (positional, in struct order). */
const verdictTuple = (v: EpochVerdict) =>
  [v.epoch, v.devicesCounted, v.rewardsRoot, v.faultsRoot, v.leasesRoot, v.totalWorkUnits, v.dataHash] as const;

async function submit(f: ConfirmationFixture, verdict: EpochVerdict): Promise<void> {
  await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
}

describe("FunctionsVerdictConfirmer", function () {
  describe("requests", function () {
    it("sends the pinned source with the epoch, quorum and endpoints, and the governed callback gas", async function () {
      const f = await loadFixture(confirmationFixture);
      await endEpoch(f, 0n);
      const block = await ethers.provider.getBlockNumber();
      const tx = await f.confirmer.connect(f.outsider).requestConfirmation(0n, SOURCE);
      const [req] = await oracleRequests(f.don, f.functions, block + 1);
      await expect(tx).to.emit(f.confirmer, "ConfirmationRequested").withArgs(0n, req.requestId, f.outsider.address);
      expect(await f.confirmer.requestArgs(0n)).to.deep.equal(["0", "2", ...ENDPOINTS]);
      expect(req.commitment.callbackGasLimit).to.equal(Number(await f.config.param(Param.ConfirmationCallbackGas)));
      const attempt = await f.confirmer.attemptOf(0n);
      expect(attempt.requestId).to.equal(req.requestId);
      expect(attempt.status).to.equal(ConfirmationStatus.Pending);
    });

    it("refuses another source, an epoch not ended, a settled epoch and a retry inside the interval", async function () {
      const f = await loadFixture(confirmationFixture);
      await expect(f.confirmer.requestConfirmation(0n, SOURCE + " "))
        .to.be.revertedWithCustomError(f.confirmer, "SourceMismatch")
        .withArgs(ethers.id(SOURCE + " "), ethers.id(SOURCE));
      await expect(f.confirmer.requestConfirmation(0n, SOURCE))
        .to.be.revertedWithCustomError(f.confirmer, "EpochNotEnded")
        .withArgs(0n, await f.config.epochEnd(0n));

      await endEpoch(f, 0n);
      await f.confirmer.requestConfirmation(0n, SOURCE);
      const sentAt = BigInt(await time.latest());
      await expect(f.confirmer.requestConfirmation(0n, SOURCE))
        .to.be.revertedWithCustomError(f.confirmer, "RetryTooSoon")
        .withArgs(0n, sentAt + RETRY_INTERVAL);

      // Settle epoch 0 with the committee alone: nothing left to confirm.
      const verdict = makeVerdict(0n);
      await submit(f, verdict);
      await time.increase(CHALLENGE_WINDOW);
      await f.hub.finaliseVerdict(0n);
      await time.increase(RETRY_INTERVAL);
      await expect(f.confirmer.requestConfirmation(0n, SOURCE))
        .to.be.revertedWithCustomError(f.confirmer, "VerdictAlreadyFinal")
        .withArgs(0n);
    });
  });

  describe("fulfilments", function () {
    it("records the first well-formed answer as the epoch's confirmation, once", async function () {
      const f = await loadFixture(confirmationFixture);
      await endEpoch(f, 0n);
      const verdict = makeVerdict(0n);
      const req = await request(f, 0n);
      await deliver(f.don, f.functions, req, answer(0n, verdict));

      expect(await f.confirmer.confirmedVerdict(0n)).to.equal(verdictStructHash(verdict));
      expect(await f.hub.verdictHash(verdict)).to.equal(verdictStructHash(verdict));
      expect((await f.confirmer.attemptOf(0n)).status).to.equal(ConfirmationStatus.Confirmed);
      await expect(f.confirmer.requestConfirmation(0n, SOURCE))
        .to.be.revertedWithCustomError(f.confirmer, "AlreadyConfirmed")
        .withArgs(0n, verdictStructHash(verdict));
    });

    it("fits the confirmation and the failure in the lowest callback gas governance can set", async function () {
      const f = await loadFixture(confirmationFixture);
      await f.config.setParam(Param.ConfirmationCallbackGas, 50_000n);
      await endEpoch(f, 1n);
      await deliver(f.don, f.functions, await request(f, 0n), { error: "x".repeat(256) });
      expect((await f.confirmer.attemptOf(0n)).status).to.equal(ConfirmationStatus.Failed);
      await deliver(f.don, f.functions, await request(f, 1n), answer(1n, makeVerdict(1n)));
      expect(await f.confirmer.confirmedVerdict(1n)).to.equal(verdictStructHash(makeVerdict(1n)));
    });

    it("needs under 50,000 gas in its callback (about 40,000 to confirm, 25,000 to fail), measured as the router calls it", async function () {
      const f = await loadFixture(confirmationFixture);
      await endEpoch(f, 0n);
      const req = await request(f, 0n);
      await network.provider.send("hardhat_setBalance", [f.functions.router, "0xde0b6b3a7640000"]);
      const router = await ethers.getImpersonatedSigner(f.functions.router);
      const confirm = f.confirmer.connect(router).handleOracleFulfillment;
      // Intrinsic transaction gas (21,000 plus calldata) is the router's own call overhead, not the callback's.
      const gas = async (response: string, err: string) =>
        (await confirm.estimateGas(req.requestId, response, err)) - 21_000n;
      const confirmed = await gas(answer(0n, makeVerdict(0n)).response!, "0x");
      const failed = await gas("0x", ethers.hexlify(ethers.toUtf8Bytes("x".repeat(256))));
      expect(confirmed).to.be.lessThan(50_000n);
      expect(failed).to.be.lessThan(50_000n);
    });

    it("keeps the first confirmation when another request of the epoch answers too", async function () {
      const f = await loadFixture(confirmationFixture);
      await endEpoch(f, 0n);
      const first = await request(f, 0n);
      await time.increase(RETRY_INTERVAL); // the first looks lost: anyone may ask again
      const second = await request(f, 0n);
      const verdict = makeVerdict(0n);
      await deliver(f.don, f.functions, first, answer(0n, verdict));
      const other = makeVerdict(0n, { rewardsRoot: ethers.id("other") });
      await expect(deliver(f.don, f.functions, second, answer(0n, other))).to.not.be.rejected;
      const events = await f.confirmer.queryFilter(f.confirmer.filters.ConfirmationIgnored());
      expect(events.map((e) => [e.args.epoch, e.args.requestId, e.args.verdictHash])).to.deep.equal([
        [0n, second.requestId, verdictStructHash(other)],
      ]);
      expect(await f.confirmer.confirmedVerdict(0n)).to.equal(verdictStructHash(verdict));
    });

    for (const [name, outcome, reason] of [
      ["the source's error", { error: "no quorum: 1 of 3 agree" }, "no quorum: 1 of 3 agree"],
      ["a short answer", { response: ethers.ZeroHash }, "malformed answer"],
      [
        "an answer for another epoch",
        { response: ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "bytes32"], [7n, ethers.id("x")]) },
        "answer for another epoch",
      ],
      [
        "a zero verdict hash",
        { response: ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "bytes32"], [0n, ethers.ZeroHash]) },
        "zero verdict hash",
      ],
    ] as const) {
      it(`records ${name} as a failure the epoch recovers from after the retry interval`, async function () {
        const f = await loadFixture(confirmationFixture);
        await endEpoch(f, 0n);
        const req = await request(f, 0n);
        await deliver(f.don, f.functions, req, outcome);
        const [failed] = await f.confirmer.queryFilter(f.confirmer.filters.ConfirmationFailed());
        expect(failed.args.requestId).to.equal(req.requestId);
        expect(ethers.toUtf8String(failed.args.reason)).to.equal(reason);
        expect(await f.confirmer.confirmedVerdict(0n)).to.equal(ethers.ZeroHash);
        expect((await f.confirmer.attemptOf(0n)).status).to.equal(ConfirmationStatus.Failed);

        await expect(f.confirmer.requestConfirmation(0n, SOURCE)).to.be.revertedWithCustomError(f.confirmer, "RetryTooSoon");
        await time.increase(RETRY_INTERVAL);
        const retry = await request(f, 0n);
        await deliver(f.don, f.functions, retry, answer(0n, makeVerdict(0n)));
        expect(await f.confirmer.confirmedVerdict(0n)).to.equal(verdictStructHash(makeVerdict(0n)));
      });
    }

    it("accepts fulfilments only from the router", async function () {
      const f = await loadFixture(confirmationFixture);
      await expect(
        f.confirmer.handleOracleFulfillment(ethers.id("request"), "0x", "0x"),
      ).to.be.revertedWithCustomError(f.confirmer, "OnlyRouterCanFulfill");
    });
  });

  describe("governance", function () {
    it("sets the source, endpoints and subscription, owner only, inside bounds", async function () {
      const f = await loadFixture(confirmationFixture);
      await expect(f.confirmer.connect(f.outsider).setSource(ethers.id("other")))
        .to.be.revertedWithCustomError(f.confirmer, "OwnableUnauthorizedAccount")
        .withArgs(f.outsider.address);
      await expect(f.confirmer.setSource(ethers.ZeroHash)).to.be.revertedWithCustomError(f.confirmer, "ZeroValue");
      await expect(f.confirmer.setSource(ethers.id("other"))).to.emit(f.confirmer, "SourceSet").withArgs(ethers.id("other"));
      await expect(f.confirmer.setSubscription(5n, ethers.ZeroHash)).to.be.revertedWithCustomError(f.confirmer, "ZeroValue");

      const five = ["a", "b", "c", "d", "e"].map((h) => `http://${h}.test`);
      for (const [urls, quorum] of [
        [[], 0],
        [[...five, "http://f.test"], 4],
        [five, 2], // not a majority
        [five, 6],
        [["http://a.test", ""], 2],
        [["http://a.test", "x".repeat(257)], 2],
      ] as const) {
        await expect(f.confirmer.setEndpoints([...urls], quorum))
          .to.be.revertedWithCustomError(f.confirmer, "InvalidEndpoints")
          .withArgs(urls.length, quorum);
      }
      await expect(f.confirmer.setEndpoints(five, 3)).to.emit(f.confirmer, "EndpointsSet").withArgs(five, 3);
      const [urls, quorum] = await f.confirmer.endpoints();
      expect([...urls, quorum]).to.deep.equal([...five, 3n]);
    });
  });
});

describe("OracleHub confirmation modes", function () {
  it("lets governance only choose the confirmer and mode, and needs a confirmer for any mode but CommitteeOnly", async function () {
    const f = await loadFixture(confirmationFixture);
    await expect(f.hub.connect(f.outsider).setConfirmation(f.confirmer, ConfirmationMode.MustAgree))
      .to.be.revertedWithCustomError(f.hub, "AccessControlUnauthorizedAccount");
    await expect(f.hub.setConfirmation(ethers.ZeroAddress, ConfirmationMode.Fallback))
      .to.be.revertedWithCustomError(f.hub, "ConfirmerRequired");
    await expect(f.hub.setConfirmation(f.confirmer, ConfirmationMode.MustAgree))
      .to.emit(f.hub, "ConfirmationSet")
      .withArgs(await f.confirmer.getAddress(), ConfirmationMode.MustAgree);
    expect(await f.hub.confirmer()).to.equal(await f.confirmer.getAddress());
    expect(await f.hub.confirmationMode()).to.equal(ConfirmationMode.MustAgree);
  });

  describe("MustAgree", function () {
    async function mustAgreeFixture() {
      const f = await loadFixture(confirmationFixture);
      await f.hub.setConfirmation(f.confirmer, ConfirmationMode.MustAgree);
      await endEpoch(f, 0n);
      const verdict = makeVerdict(0n);
      await submit(f, verdict);
      await time.increase(CHALLENGE_WINDOW);
      return { ...f, verdict };
    }

    it("finalises a committee verdict only once the confirmer confirmed the same verdict", async function () {
      const f = await mustAgreeFixture();
      await expect(f.hub.finaliseVerdict(0n)).to.be.revertedWithCustomError(f.hub, "VerdictUnconfirmed").withArgs(0n);
      await expect(f.hub.refuseVerdict(0n)).to.be.revertedWithCustomError(f.hub, "VerdictUnconfirmed").withArgs(0n);
      await deliver(f.don, f.functions, await request(f, 0n), answer(0n, f.verdict));
      await expect(f.hub.refuseVerdict(0n)).to.be.revertedWithCustomError(f.hub, "ConfirmationAgrees").withArgs(0n);
      await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
    });

    it("refuses a contradicted verdict and finalises the corrected one", async function () {
      const f = await mustAgreeFixture();
      const corrected = makeVerdict(0n, { rewardsRoot: ethers.id("corrected") });
      await deliver(f.don, f.functions, await request(f, 0n), answer(0n, corrected));
      const digest = (await f.hub.getVerdict(0n)).digest;
      const confirmedDigest = await f.hub.verdictDigest(corrected);
      await expect(f.hub.finaliseVerdict(0n))
        .to.be.revertedWithCustomError(f.hub, "ConfirmationMismatch")
        .withArgs(0n, digest, confirmedDigest);

      await expect(f.hub.connect(f.outsider).refuseVerdict(0n))
        .to.emit(f.hub, "VerdictRefused")
        .withArgs(0n, digest, confirmedDigest);
      expect((await f.hub.getVerdict(0n)).status).to.equal(VerdictStatus.None);
      // Past the original submission window, the refusal reopened the epoch for a corrected verdict.
      await time.increaseTo((await f.config.epochEnd(0n)) + SUBMISSION_WINDOW + HOUR);
      await submit(f, corrected);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
    });

    it("refuses only pending verdicts, and only in MustAgree mode", async function () {
      const f = await mustAgreeFixture();
      await expect(f.hub.refuseVerdict(1n))
        .to.be.revertedWithCustomError(f.hub, "InvalidVerdictStatus")
        .withArgs(1n, VerdictStatus.None);
      await f.hub.setConfirmation(f.confirmer, ConfirmationMode.Fallback);
      await expect(f.hub.refuseVerdict(0n))
        .to.be.revertedWithCustomError(f.hub, "WrongConfirmationMode")
        .withArgs(ConfirmationMode.Fallback);
      // Back to the committee alone: the pending verdict finalises without a confirmation.
      await f.hub.setConfirmation(ethers.ZeroAddress, ConfirmationMode.CommitteeOnly);
      await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
    });
  });

  describe("Fallback", function () {
    async function fallbackFixture() {
      const f = await loadFixture(confirmationFixture);
      await f.hub.setConfirmation(f.confirmer, ConfirmationMode.Fallback);
      await endEpoch(f, 0n);
      return { ...f, verdict: makeVerdict(0n) };
    }

    it("takes the confirmed verdict once the committee's window closed without one", async function () {
      const f = await fallbackFixture();
      await deliver(f.don, f.functions, await request(f, 0n), answer(0n, f.verdict));
      const closesAt = (await f.config.epochEnd(0n)) + SUBMISSION_WINDOW;
      await expect(f.hub.submitConfirmedVerdict(f.verdict))
        .to.be.revertedWithCustomError(f.hub, "CommitteeWindowOpen")
        .withArgs(0n, closesAt);
      await time.increaseTo(closesAt + 1n);
      await expect(f.hub.submitConfirmedVerdict(makeVerdict(0n, { dataHash: ethers.id("other") })))
        .to.be.revertedWithCustomError(f.hub, "ConfirmationMismatch");
      await expect(f.hub.connect(f.outsider).submitConfirmedVerdict(f.verdict))
        .to.emit(f.hub, "VerdictSubmitted")
        .withArgs(0n, await f.hub.verdictDigest(f.verdict), verdictTuple(f.verdict), 0n);
      const record = await f.hub.getVerdict(0n);
      expect([record.status, record.signers]).to.deep.equal([VerdictStatus.Pending, 0n]);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
    });

    it("needs a confirmation, an open epoch and Fallback mode", async function () {
      const f = await fallbackFixture();
      await time.increaseTo((await f.config.epochEnd(0n)) + SUBMISSION_WINDOW + 1n);
      await expect(f.hub.submitConfirmedVerdict(f.verdict))
        .to.be.revertedWithCustomError(f.hub, "VerdictUnconfirmed")
        .withArgs(0n);
      await expect(f.hub.submitConfirmedVerdict(makeVerdict(100n))).to.be.revertedWithCustomError(f.hub, "EpochNotEnded");
      await f.hub.setConfirmation(f.confirmer, ConfirmationMode.MustAgree);
      await expect(f.hub.submitConfirmedVerdict(f.verdict))
        .to.be.revertedWithCustomError(f.hub, "WrongConfirmationMode")
        .withArgs(ConfirmationMode.MustAgree);
    });

    it("leaves committee verdicts to the committee while its window is open", async function () {
      const f = await fallbackFixture();
      await submit(f, f.verdict);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised"); // no confirmation needed
    });
  });
});
