/**
 * Chainlink Functions end to end on the Hardhat network: the toolkit's Functions router and mock coordinator, the
 * FunctionsVerdictConfirmer with the real request source (oracles/functions/verdict-source.js), three oracle HTTP
 * endpoints (the node's verdict routes over their own verdict stores) started here, and the source run in Deno by
 * `simulateScript` as the DON would. The OracleHub finalises, refuses or takes over verdicts by its confirmation mode.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import Fastify, { type FastifyInstance } from "fastify";

import { FunctionsVerdictConfirmer__factory, type FunctionsVerdictConfirmer } from "../../typechain-types";
import { readVerdictSource } from "../../oracles/functions/source";
import { VerdictStore } from "../../oracles/node/verdict-store";
import { registerVerdictRoutes } from "../../oracles/node/verdict-routes";
import type { AggregateOutput } from "../../oracles/aggregate";
import { ConfirmationMode, ConfirmationStatus, VerdictStatus } from "../../sdk/enums";
import { hubDomain, verdictDigest, verdictStructHash, type EpochVerdict } from "../../sdk/verdict";
import {
  createFundedSubscription,
  deliver,
  deployFunctionsContracts,
  executeRequest,
  functionsSigner,
  oracleRequests,
  type DonOutcome,
} from "../../scripts/lib/functions";
import { DAY, hubFixture } from "../helpers/fixtures";
import { aggregatedEpoch } from "../helpers/leaves";
import { makeVerdict, signedBy } from "../helpers/verdicts";

const HOUR = 3_600n;
const SUBMISSION_WINDOW = DAY; // ProtocolConfig defaults
const CHALLENGE_WINDOW = 12n * HOUR;
const RETRY_INTERVAL = 15n * 60n;
const SOURCE = readVerdictSource();

/** One oracle's HTTP face: the node's verdict routes over its own store, on a fixed port so it can come back. */
class OracleEndpoint {
  readonly store = new VerdictStore(":memory:");
  private app: FastifyInstance | null = null;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const app = Fastify();
    await registerVerdictRoutes(app, {
      store: this.store,
      domain: hubDomain(31337n, ethers.ZeroAddress),
      committee: async () => ({ members: [], threshold: 1 }),
      submitted: async () => null,
    });
    await app.listen({ host: "127.0.0.1", port: this.port });
    this.port = (app.server.address() as { port: number }).port;
    this.app = app;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = null;
  }

  /** Makes `epoch`'s own verdict of this oracle the aggregate's. */
  own(out: AggregateOutput): void {
    const digest = ethers.id(`own:${out.verdict.dataHash}`);
    this.store.saveFile(digest, out.verdict, out.file);
    this.store.setOwn(out.epoch, { digest, proofCount: 1 });
  }
}

describe("Chainlink Functions verdict confirmation (Deno source, local DON)", function () {
  this.timeout(120_000);
  const endpoints = [new OracleEndpoint(), new OracleEndpoint(), new OracleEndpoint()];
  /** What every oracle computed for epoch 0. */
  const computed = aggregatedEpoch(0n);

  before(async function () {
    for (const endpoint of endpoints) {
      await endpoint.start();
      endpoint.own(computed);
    }
  });
  after(async function () {
    for (const endpoint of endpoints) {
      await endpoint.stop();
      endpoint.store.close();
    }
  });

  async function functionsFixture() {
    const f = await hubFixture();
    const don = functionsSigner(network.provider);
    const functions = await deployFunctionsContracts(don);
    const confirmer: FunctionsVerdictConfirmer = await new FunctionsVerdictConfirmer__factory(f.governance).deploy(
      functions.router,
      f.config,
      f.hub,
      f.governance.address,
      ethers.id(SOURCE),
      1n,
      functions.donId,
      endpoints.map((e) => e.url),
      2,
    );
    const subscriptionId = await createFundedSubscription(don, functions, await confirmer.getAddress(), 10n ** 20n);
    await confirmer.setSubscription(subscriptionId, functions.donId);
    await time.increaseTo(await f.config.epochEnd(0n));
    return { ...f, don, functions, confirmer };
  }
  type Fixture = Awaited<ReturnType<typeof functionsFixture>>;

  async function submitByCommittee(f: Fixture, verdict: EpochVerdict): Promise<void> {
    await f.hub.submitVerdict(verdict, await signedBy(f.hub, verdict, f.oracles.slice(0, 3)));
  }

  /** Anyone requests a confirmation of epoch 0; the DON runs the source in Deno and the coordinator delivers. */
  async function confirmThroughDon(f: Fixture): Promise<DonOutcome> {
    const block = await ethers.provider.getBlockNumber();
    await f.confirmer.connect(f.outsider).requestConfirmation(0n, SOURCE);
    const [request] = await oracleRequests(f.don, f.functions, block + 1);
    const outcome = await executeRequest(request.data);
    await deliver(f.don, f.functions, request, outcome);
    return outcome;
  }

  describe("MustAgree", function () {
    async function mustAgreeFixture() {
      const f = await loadFixture(functionsFixture);
      await f.hub.setConfirmation(f.confirmer, ConfirmationMode.MustAgree);
      return f;
    }

    it("finalises the committee's verdict once the DON, recomputing the oracles' trees, confirms it", async function () {
      const f = await mustAgreeFixture();
      await submitByCommittee(f, computed.verdict);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.hub.finaliseVerdict(0n)).to.be.revertedWithCustomError(f.hub, "VerdictUnconfirmed");

      const outcome = await confirmThroughDon(f);
      expect(outcome.error).to.equal(undefined);
      expect(await f.confirmer.confirmedVerdict(0n)).to.equal(verdictStructHash(computed.verdict));
      await expect(f.hub.finaliseVerdict(0n))
        .to.emit(f.hub, "VerdictFinalised")
        .withArgs(0n, computed.rewardsRoot, computed.faultsRoot);
    });

    it("refuses a committee verdict the DON contradicts, then finalises the corrected one", async function () {
      const f = await mustAgreeFixture();
      const wrong = makeVerdict(0n, { rewardsRoot: ethers.id("a root no oracle computed") });
      await submitByCommittee(f, wrong);
      await confirmThroughDon(f);
      await time.increase(CHALLENGE_WINDOW);
      const domain = hubDomain(31337n, await f.hub.getAddress());
      await expect(f.hub.finaliseVerdict(0n))
        .to.be.revertedWithCustomError(f.hub, "ConfirmationMismatch")
        .withArgs(0n, verdictDigest(domain, wrong), verdictDigest(domain, computed.verdict));

      await expect(f.hub.connect(f.outsider).refuseVerdict(0n)).to.emit(f.hub, "VerdictRefused");
      await submitByCommittee(f, computed.verdict);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
    });

    it("leaves the epoch recoverable when the source fails (endpoints down), and confirms on a retry", async function () {
      const f = await mustAgreeFixture();
      await submitByCommittee(f, computed.verdict);
      await time.increase(CHALLENGE_WINDOW);
      await endpoints[0].stop();
      await endpoints[1].stop();
      let outcome: DonOutcome;
      try {
        outcome = await confirmThroughDon(f);
      } finally {
        await endpoints[0].start();
        await endpoints[1].start();
      }
      expect(outcome.error).to.match(/no quorum/);
      const [failed] = await f.confirmer.queryFilter(f.confirmer.filters.ConfirmationFailed());
      expect(ethers.toUtf8String(failed.args.reason)).to.equal(outcome.error);
      expect((await f.confirmer.attemptOf(0n)).status).to.equal(ConfirmationStatus.Failed);
      expect((await f.hub.getVerdict(0n)).status).to.equal(VerdictStatus.Pending);
      await expect(f.hub.finaliseVerdict(0n)).to.be.revertedWithCustomError(f.hub, "VerdictUnconfirmed");

      await time.increase(RETRY_INTERVAL);
      expect((await confirmThroughDon(f)).error).to.equal(undefined);
      await expect(f.hub.finaliseVerdict(0n)).to.emit(f.hub, "VerdictFinalised");
    });
  });

  describe("Fallback", function () {
    it("lets the DON's verdict stand in for a committee that never reached quorum", async function () {
      const f = await loadFixture(functionsFixture);
      await f.hub.setConfirmation(f.confirmer, ConfirmationMode.Fallback);
      await confirmThroughDon(f);
      await time.increaseTo((await f.config.epochEnd(0n)) + SUBMISSION_WINDOW + 1n);
      await expect(f.hub.connect(f.outsider).submitConfirmedVerdict(computed.verdict)).to.emit(f.hub, "VerdictSubmitted");
      await time.increase(CHALLENGE_WINDOW);
      await f.hub.finaliseVerdict(0n);
      const [epoch, rewardsRoot, exists] = await f.hub.latestFinalised();
      expect([epoch, rewardsRoot, exists]).to.deep.equal([0n, computed.rewardsRoot, true]);
    });
  });
});

