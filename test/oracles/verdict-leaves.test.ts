import { expect } from "chai";
import Fastify, { type FastifyInstance } from "fastify";

import { VerdictStore } from "../../oracles/node/verdict-store";
import {
  LEAVES_MAX_BYTES,
  leavesDocument,
  registerVerdictRoutes,
  type LeavesDocument,
} from "../../oracles/node/verdict-routes";
import { hubDomain, verdictDigest, verdictToJson, type EpochVerdict } from "../../sdk/verdict";
import { aggregatedEpoch, deviceAddress } from "../helpers/leaves";

const DOMAIN = hubDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const EPOCH = 7n;

/** A lease entry of a verdict file (decimal strings, and what the document leaves out). */
const LEASE_ENTRY = { leaseId: "3", deliveredBps: 9_000, delivered: "27000", breaches: "1", leaf: "0x" + "3".repeat(64), proof: [] };

/** A verdict file with `count` rewards entries (only what the leaves document reads). */
function syntheticFile(count: number): string {
  const rewards = Array.from({ length: count }, (_, i) => ({
    device: "0x" + i.toString(16).padStart(40, "0"),
    cumulative: (10n ** 21n + BigInt(i)).toString(),
    leaf: "0x" + "1".repeat(64),
    proof: [],
  }));
  const faults = [{ device: "0x" + "f".repeat(40), kind: 1, evidence: "0x" + "2".repeat(64) }];
  return JSON.stringify({ rewards, faults, leases: [LEASE_ENTRY] });
}

describe("oracles/node GET /v1/verdicts/:epoch/leaves", function () {
  let app: FastifyInstance;
  let store: VerdictStore;
  let submitted: Map<bigint, string>;
  let fileReads: number;

  const own = aggregatedEpoch(EPOCH);
  const other = aggregatedEpoch(EPOCH, { paid: 2, salt: "other" });
  const ownDigest = verdictDigest(DOMAIN, own.verdict);
  const otherDigest = verdictDigest(DOMAIN, other.verdict);

  beforeEach(async function () {
    store = new VerdictStore(":memory:");
    fileReads = 0;
    const read = store.fileByDigest.bind(store);
    store.fileByDigest = (digest) => {
      fileReads++;
      return read(digest);
    };
    submitted = new Map();
    app = Fastify();
    await registerVerdictRoutes(app, {
      store,
      domain: DOMAIN,
      committee: async () => ({ members: [], threshold: 1 }),
      submitted: async (epoch) => submitted.get(epoch) ?? null,
    });
    await app.ready();
  });
  afterEach(async function () {
    await app.close();
    store.close();
  });

  async function get(epoch: string = EPOCH.toString()) {
    const res = await app.inject({ method: "GET", url: `/v1/verdicts/${epoch}/leaves` });
    return { status: res.statusCode, type: res.headers["content-type"], body: res.json() as Record<string, unknown> };
  }

  function saveOwn(verdict: EpochVerdict, digest: string, file: string): void {
    store.saveFile(digest, verdict, file);
    store.setOwn(verdict.epoch, { digest, proofCount: 3 });
  }

  it("serves this oracle's own verdict with the tree leaves, not the submitted one", async function () {
    saveOwn(own.verdict, ownDigest, own.file);
    store.saveFile(otherDigest, other.verdict, other.file);
    submitted.set(EPOCH, otherDigest);
    const r = await get();
    expect(r.status).to.equal(200);
    expect(r.type).to.match(/application\/json/);
    const { leases } = JSON.parse(own.file) as { leases: { leaseId: string; delivered: string; breaches: string }[] };
    const expected: LeavesDocument = {
      version: 2,
      verdict: verdictToJson(own.verdict),
      rewards: own.cumulative.map((l) => [l.device, l.cumulativeAmount.toString()]),
      faults: own.faults.map((f) => [f.device, f.kind, f.evidence]),
      leases: leases.map((l) => [l.leaseId, l.delivered, l.breaches]),
    };
    expect(r.body).to.deep.equal(expected);
    // the rewards entry without a leaf (cumulative 0) is left out
    expect(own.rewards.some((x) => x.cumulative === 0n)).to.equal(true);
    expect(expected.rewards).to.have.length(own.rewards.length - 1);
  });

  it("404 not_found without an own verdict (a submitted one does not count), or when its file is missing", async function () {
    const notFound = { status: 404, body: { error: "not_found", message: `no own verdict for epoch ${EPOCH} here` } };
    store.saveFile(otherDigest, other.verdict, other.file);
    submitted.set(EPOCH, otherDigest);
    expect(await get()).to.deep.include(notFound);
    store.setOwn(EPOCH, { digest: ownDigest, proofCount: 1 });
    expect(await get()).to.deep.include(notFound);
  });

  it("400 for a bad epoch", async function () {
    for (const epoch of ["abc", "007", "-1", (1n << 64n).toString()]) {
      const r = await get(epoch);
      expect(r.status, epoch).to.equal(400);
      expect(r.body.message).to.include("epoch must be a uint64");
    }
  });

  it("builds the document once per digest, and again when the own digest changes", async function () {
    saveOwn(own.verdict, ownDigest, own.file);
    const first = await get();
    const second = await get();
    expect(second.body).to.deep.equal(first.body);
    expect(fileReads).to.equal(1);
    saveOwn(other.verdict, otherDigest, other.file);
    expect((await get()).body.verdict).to.deep.equal(verdictToJson(other.verdict));
    expect(fileReads).to.equal(2);
  });

  it("lists the file's leases as [leaseId, delivered, breaches] decimal strings, in file order", function () {
    const second = { ...LEASE_ENTRY, leaseId: (1n << 255n).toString(), deliveredBps: null, delivered: "0", breaches: "0" };
    const file = JSON.stringify({ ...JSON.parse(syntheticFile(1)), leases: [LEASE_ENTRY, second] });
    const doc = JSON.parse(leavesDocument(own.verdict, file)) as LeavesDocument;
    expect(doc.version).to.equal(2);
    expect(doc.leases).to.deep.equal([
      ["3", "27000", "1"],
      [(1n << 255n).toString(), "0", "0"],
    ]);
    const none = JSON.parse(leavesDocument(own.verdict, JSON.stringify({ ...JSON.parse(file), leases: [] }))) as LeavesDocument;
    expect(none.leases).to.deep.equal([]);
  });

  it("nulls all three lists when the document would exceed LEAVES_MAX_BYTES", async function () {
    const verdict = own.verdict;
    const size = (n: number): number => Buffer.byteLength(leavesDocument(verdict, syntheticFile(n)));
    const perEntry = size(2) - size(1);
    const fits = Math.floor((LEAVES_MAX_BYTES - size(1)) / perEntry) + 1; // the largest count within the limit
    const under = JSON.parse(leavesDocument(verdict, syntheticFile(fits))) as LeavesDocument;
    expect(size(fits)).to.be.at.most(LEAVES_MAX_BYTES);
    expect(under.rewards).to.have.length(fits);
    expect(under.faults).to.have.length(1);
    expect(under.leases).to.have.length(1);
    const over = leavesDocument(verdict, syntheticFile(fits + 1));
    expect(JSON.parse(over)).to.deep.equal({
      version: 2,
      verdict: verdictToJson(verdict),
      rewards: null,
      faults: null,
      leases: null,
    });

    saveOwn(verdict, ownDigest, syntheticFile(fits + 1));
    expect((await get()).body).to.deep.equal(JSON.parse(over));
  });

  it("keeps the file's order and checksummed addresses", async function () {
    saveOwn(own.verdict, ownDigest, own.file);
    const { rewards } = (await get()).body as unknown as LeavesDocument;
    const devices = rewards!.map(([device]) => device);
    expect(devices).to.deep.equal([...devices].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)));
    expect(devices).to.include(deviceAddress("leaves::gone"));
  });
});
