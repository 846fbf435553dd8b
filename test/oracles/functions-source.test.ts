import { simulateScript, type SimulationResult } from "@chainlink/functions-toolkit";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ethers } from "ethers";
import fc from "fast-check";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import vm from "node:vm";

import {
  InvalidConfirmationError,
  InvalidVerdictSourceArgsError,
  decodeConfirmation,
  readVerdictSource,
  verdictSourceArgs,
} from "../../oracles/functions/source";
import { leavesDocument, type LeavesDocument } from "../../oracles/node/verdict-routes";
import {
  LEASE_LEAF_ENCODING,
  buildFaultsTree,
  buildRewardsTree,
  type FaultLeaf,
  type LeaseLeaf,
  type RewardLeaf,
} from "../../sdk/trees";
import { verdictStructHash, verdictToJson, type EpochVerdict } from "../../sdk/verdict";
import { aggregatedEpoch } from "../helpers/leaves";

const EPOCH = 7n;
const source = readVerdictSource();

/** The leases root as OpenZeppelin's StandardMerkleTree computes it (ZeroHash without leaves). */
function leasesRootOf(leases: readonly LeaseLeaf[]): string {
  if (leases.length === 0) return ethers.ZeroHash;
  return StandardMerkleTree.of(
    leases.map((l) => [l.leaseId, l.delivered, l.breaches]),
    LEASE_LEAF_ENCODING,
  ).root;
}

/** A document with `leases` listed and the verdict's leasesRoot set to their root; the verdict it confirms. */
function withLeases(doc: LeavesDocument, verdict: EpochVerdict, leases: LeaseLeaf[]): [LeavesDocument, EpochVerdict] {
  const signed = { ...verdict, leasesRoot: leasesRootOf(leases) };
  const list = leases.map((l): [string, string, string] => [l.leaseId.toString(), l.delivered.toString(), l.breaches.toString()]);
  return [{ ...doc, verdict: verdictToJson(signed), leases: list }, signed];
}

/** Three leases, ascending by id, with a uint256 id and uint64/uint32 cumulatives at their limits. */
const LEASES: LeaseLeaf[] = [
  { leaseId: 1n, delivered: 9_500n, breaches: 0n },
  { leaseId: 2n, delivered: 0n, breaches: 1n },
  { leaseId: ethers.MaxUint256, delivered: (1n << 64n) - 1n, breaches: (1n << 32n) - 1n },
];

/** What a test server answers for any path; `requests` records the paths asked. */
interface Endpoint {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

const servers: Endpoint[] = [];

/** A local HTTP server answering every request with `status` and `body` (a document is sent as JSON). */
async function serve(body: unknown, status = 200): Promise<Endpoint> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? "");
    res.writeHead(status, { "content-type": "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint: Endpoint = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  servers.push(endpoint);
  return endpoint;
}

/** A base URL nothing listens on (a server started then closed). */
async function down(): Promise<string> {
  const endpoint = await serve({});
  await endpoint.close();
  servers.splice(servers.indexOf(endpoint), 1);
  return endpoint.url;
}

/** The route's document of a real aggregated epoch. */
function documentOf(verdict: EpochVerdict, file: string): LeavesDocument {
  return JSON.parse(leavesDocument(verdict, file)) as LeavesDocument;
}

/** Runs the source in Deno as Chainlink Functions would. */
async function simulate(args: string[]): Promise<SimulationResult> {
  const result = await simulateScript({ source, args, maxOnChainResponseBytes: 64 });
  expect(result.capturedTerminalOutput).not.to.match(/deno must be installed|deno: not found|command not found/i);
  return result;
}

function expectConfirmed(result: SimulationResult, verdict: EpochVerdict): void {
  expect(result.errorString, result.errorString).to.equal(undefined);
  expect(decodeConfirmation(result.responseBytesHexstring!)).to.deep.equal({
    epoch: verdict.epoch,
    verdictHash: verdictStructHash(verdict),
  });
}

function expectFailed(result: SimulationResult, ...fragments: (string | RegExp)[]): void {
  expect(result.responseBytesHexstring).to.equal(undefined);
  expect(result.errorString).to.be.a("string");
  expect(Buffer.byteLength(result.errorString!)).to.be.below(256);
  for (const f of fragments) {
    if (typeof f === "string") expect(result.errorString).to.include(f);
    else expect(result.errorString).to.match(f);
  }
}

/**
 * Runs the source in-process (node:vm, no Deno) with `Functions.makeHttpRequest` answering every URL with `doc`:
 * fast enough for property tests. Resolves to the response hex or rejects with the source's error message.
 */
async function runInVm(args: string[], doc: unknown): Promise<string> {
  const run = vm.runInNewContext(`(async function (args, Functions) {\n${source}\n})`, {}) as (
    args: string[],
    functions: { makeHttpRequest(request: { url: string }): Promise<unknown> },
  ) => Promise<Uint8Array>;
  const data = JSON.parse(JSON.stringify(doc)) as unknown;
  const bytes = await run(args, { makeHttpRequest: async () => ({ error: false, status: 200, data }) });
  return ethers.hexlify(Uint8Array.from(bytes));
}

describe("oracles/functions verdict source", function () {
  this.timeout(60_000);

  const own = aggregatedEpoch(EPOCH);
  const good = documentOf(own.verdict, own.file);

  afterEach(async function () {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe("simulated in Deno (simulateScript)", function () {
    it("confirms (epoch, verdictStructHash) when 3 endpoints agree; asks each /v1/verdicts/:epoch/leaves", async function () {
      const endpoints = await Promise.all([serve(good), serve(good), serve(good)]);
      const urls = endpoints.map((e, i) => (i === 1 ? e.url + "/" : e.url)); // a trailing slash is dropped
      expectConfirmed(await simulate([EPOCH.toString(), "3", ...urls]), own.verdict);
      for (const e of endpoints) expect(e.requests).to.deep.equal([`/v1/verdicts/${EPOCH}/leaves`]);
    });

    it("confirms documents without lists (a network too large for the response limit)", async function () {
      const large: LeavesDocument = { ...good, rewards: null, faults: null, leases: null };
      const urls = await Promise.all([serve(large), serve(good)]).then((e) => e.map((x) => x.url));
      expectConfirmed(await simulate([EPOCH.toString(), "2", ...urls]), own.verdict);
    });

    it("reaches quorum 2 of 3 when the third endpoint is down, answers 404 or sends garbage", async function () {
      const third = [
        await down(),
        (await serve({ error: "not_found", message: "no own verdict" }, 404)).url,
        (await serve("{ not json")).url,
      ];
      const [a, b] = await Promise.all([serve(good), serve(good)]);
      for (const bad of third) expectConfirmed(await simulate([EPOCH.toString(), "2", a.url, bad, b.url]), own.verdict);
    });

    it("counts a tampered document (leaf amount changed, root kept) as a failure", async function () {
      const rewards = good.rewards!.map(([d, a], i): [string, string] => [d, i === 0 ? (BigInt(a) + 1n).toString() : a]);
      const tampered = await serve({ ...good, rewards });
      const honest = await serve(good);
      expectFailed(await simulate([EPOCH.toString(), "2", tampered.url, honest.url]), "no quorum", "rewardsRoot mismatch");
      expectConfirmed(await simulate([EPOCH.toString(), "1", tampered.url, honest.url]), own.verdict);
    });

    it("fails with 'no quorum' when endpoints disagree", async function () {
      const other = aggregatedEpoch(EPOCH, { salt: "other" });
      const urls = await Promise.all([serve(good), serve(documentOf(other.verdict, other.file)), serve(good)]).then((e) =>
        e.map((x) => x.url),
      );
      expectFailed(await simulate([EPOCH.toString(), "3", ...urls]), /^no quorum: 2 of 3 agree/, "verdict 0x");
      expectConfirmed(await simulate([EPOCH.toString(), "2", ...urls]), own.verdict);
    });

    it("fails when every endpoint is down, naming each (message under 256 bytes)", async function () {
      const urls = await Promise.all([down(), down(), down(), down(), down()]);
      const long = urls.map((u, i) => `${u}/${"p".repeat(40)}${i}`);
      const result = await simulate([EPOCH.toString(), "1", ...long]);
      expectFailed(result, /^no quorum: 0 of 1 agree; 127\.0\.0\.1:\d+\/p+0: HTTP 400/);
    });

    it("rejects a document for another epoch, or that is not version 2", async function () {
      const wrongEpoch = await serve({ ...good, verdict: { ...good.verdict, epoch: (EPOCH + 1n).toString() } });
      const wrongVersion = await serve({ ...good, version: 1 });
      const result = await simulate([EPOCH.toString(), "1", wrongEpoch.url, wrongVersion.url]);
      expectFailed(result, `epoch ${EPOCH + 1n}`, "not a version 2 document");
    });

    it("recomputes the leases root and binds leasesRoot in the struct hash", async function () {
      const [leased, verdict] = withLeases(good, own.verdict, LEASES);
      expect(verdict.leasesRoot).to.not.equal(ethers.ZeroHash);
      const tampered: LeavesDocument = { ...leased, leases: leased.leases!.map((l, i) => (i === 1 ? [l[0], "1", l[2]] : l)) };
      const urls = await Promise.all([serve(leased), serve(tampered), serve({ ...leased, leases: null, rewards: null, faults: null })])
        .then((e) => e.map((x) => x.url));
      expectFailed(await simulate([EPOCH.toString(), "3", ...urls]), "no quorum: 2 of 3", "leasesRoot mismatch");
      expectConfirmed(await simulate([EPOCH.toString(), "2", ...urls]), verdict);
      expect(verdictStructHash(verdict)).to.not.equal(verdictStructHash(own.verdict));
    });

    it("confirms an epoch with no rewards leaves: the empty rewards tree has the zero root", async function () {
      const empty = aggregatedEpoch(EPOCH, { devices: 2, paid: 0 });
      expect(empty.verdict.rewardsRoot).to.equal(ethers.ZeroHash);
      const doc = documentOf(empty.verdict, empty.file);
      expect(doc.rewards).to.deep.equal([]);
      const urls = await Promise.all([serve(doc), serve({ ...doc, faults: [] })]).then((e) => e.map((x) => x.url));
      const result = await simulate([EPOCH.toString(), "2", ...urls]);
      expectFailed(result, "faultsRoot mismatch"); // the faults tree is not empty
      expectConfirmed(await simulate([EPOCH.toString(), "1", ...urls]), empty.verdict);
    });

    it("rejects bad args with an error naming them", async function () {
      const url = "http://127.0.0.1:9";
      const cases: [string[], string][] = [
        [[EPOCH.toString(), "1"], "args: epoch, quorum and 1 to 5 endpoints expected"],
        [[EPOCH.toString(), "0", url], "args: quorum must be 1..1"],
        [[EPOCH.toString(), "2", url], "args: quorum must be 1..1"],
        [[EPOCH.toString(), "1", ...Array.from({ length: 6 }, (_, i) => `${url}${i}`)], "1 to 5 endpoints"],
        [["0x7", "1", url], "args: epoch must be a uint64"],
        [[(1n << 64n).toString(), "1", url], "args: epoch must be a uint64"],
        [[EPOCH.toString(), "1", "ftp://x"], "args: endpoint must be an http(s) base URL"],
        [[EPOCH.toString(), "1", url, url + "/"], "args: duplicate endpoint"],
      ];
      for (const [args, message] of cases) expectFailed(await simulate(args), message);
    });
  });

  describe("in-process (node:vm), property tests", function () {
    const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => ethers.getAddress(ethers.hexlify(b)));
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b));
    const rewardLeaves = fc
      .uniqueArray(fc.record({ device: address, cumulativeAmount: fc.bigInt({ min: 1n, max: ethers.MaxUint256 }) }), {
        selector: (l) => l.device.toLowerCase(),
        maxLength: 40,
      })
      .map((ls) => ls.sort((a, b) => (BigInt(a.device) < BigInt(b.device) ? -1 : 1)));
    const faultLeaves = fc.array(
      fc.record({ device: address, kind: fc.integer({ min: 0, max: 4 }) as fc.Arbitrary<FaultLeaf["kind"]>, evidence: bytes32 }),
      { maxLength: 20 },
    );
    const leaseLeaves = fc
      .uniqueArray(
        fc.record({
          leaseId: fc.oneof(fc.bigInt({ min: 0n, max: 1_000n }), fc.bigInt({ min: 0n, max: ethers.MaxUint256 })),
          delivered: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          breaches: fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
        }),
        { selector: (l) => l.leaseId, maxLength: 20 },
      )
      .map((ls) => ls.sort((a, b) => (a.leaseId < b.leaseId ? -1 : 1)));
    const verdictOf = (rewards: RewardLeaf[], faults: FaultLeaf[], epoch: bigint, leases: LeaseLeaf[] = []): EpochVerdict => ({
      epoch,
      devicesCounted: BigInt(rewards.length),
      rewardsRoot: rewards.length === 0 ? ethers.ZeroHash : buildRewardsTree(rewards).root,
      faultsRoot: faults.length === 0 ? ethers.ZeroHash : buildFaultsTree(faults).root,
      leasesRoot: leasesRootOf(leases),
      totalWorkUnits: 12345n,
      dataHash: ethers.id(`data:${epoch}`),
    });
    const docOf = (verdict: EpochVerdict, rewards: RewardLeaf[], faults: FaultLeaf[], leases: LeaseLeaf[] = []): LeavesDocument => ({
      version: 2,
      verdict: verdictToJson(verdict),
      rewards: rewards.map((l) => [l.device, l.cumulativeAmount.toString()]),
      faults: faults.map((f) => [f.device, f.kind, f.evidence]),
      leases: leases.map((l) => [l.leaseId.toString(), l.delivered.toString(), l.breaches.toString()]),
    });

    it("recomputes sdk/trees.ts (and StandardMerkleTree) roots and the verdict struct hash for random leaf sets", async function () {
      await fc.assert(
        fc.asyncProperty(
          rewardLeaves,
          faultLeaves,
          leaseLeaves,
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          async (rewards, faults, leases, epoch) => {
            const verdict = verdictOf(rewards, faults, epoch, leases);
            const hex = await runInVm(verdictSourceArgs(epoch, 1, ["http://a"]), docOf(verdict, rewards, faults, leases));
            expect(decodeConfirmation(hex)).to.deep.equal({ epoch, verdictHash: verdictStructHash(verdict) });
          },
        ),
        { numRuns: 100 },
      );
    });

    it("rejects a document when any one lease value is changed", async function () {
      await fc.assert(
        fc.asyncProperty(leaseLeaves.filter((l) => l.length > 0), fc.nat(), fc.nat({ max: 1 }), async (leases, pick, field) => {
          const verdict = verdictOf([], [], EPOCH, leases);
          const doc = docOf(verdict, [], [], leases);
          const i = pick % leases.length;
          const entry = doc.leases![i];
          const value = BigInt(entry[1 + field]);
          entry[1 + field] = (value === 0n ? 1n : value - 1n).toString();
          const error = await runInVm([EPOCH.toString(), "1", "http://a"], doc).then(
            () => "confirmed",
            (e: Error) => e.message,
          );
          expect(error).to.match(/^no quorum: 0 of 1 agree; a: leasesRoot mismatch$/);
        }),
        { numRuns: 25 },
      );
    });

    it("rejects leases not strictly ascending by id, out of range or malformed", async function () {
      const [leased] = withLeases(good, own.verdict, LEASES);
      const [a, b, c] = leased.leases!;
      const bad: [string, unknown][] = [
        ["bad leases[1]", [b, a, c]],
        ["bad leases[1]", [a, a]],
        ["bad leases[0]", [[a[0], a[1]]]],
        ["bad leases[0]", [[...a, "0"]]],
        ["bad leases[0]", [[1, a[1], a[2]]]],
        ["bad leases[0]", [[a[0], "01", a[2]]]],
        ["bad leases[0]", [[a[0], "-1", a[2]]]],
        ["bad leases[0]", [[(1n << 256n).toString(), a[1], a[2]]]],
        ["bad leases[0]", [[a[0], (1n << 64n).toString(), a[2]]]],
        ["bad leases[0]", [[a[0], a[1], (1n << 32n).toString()]]],
        ["bad leases[0]", ["1"]],
        ["lists not arrays", {}],
        ["lists: some null", null],
      ];
      for (const [message, list] of bad) {
        const error = await runInVm([EPOCH.toString(), "1", "http://a"], { ...leased, leases: list }).catch((e: Error) => e.message);
        expect(error, message).to.include(message);
      }
      const missing = await runInVm([EPOCH.toString(), "1", "http://a"], { ...leased, leases: undefined }).catch((e: Error) => e.message);
      expect(missing).to.include("lists not arrays");
      const badRoot = { ...leased, verdict: { ...leased.verdict, leasesRoot: "0x1234" } };
      expect(await runInVm([EPOCH.toString(), "1", "http://a"], badRoot).catch((e: Error) => e.message)).to.include("bad leasesRoot");
    });

    it("rejects a document when any one leaf value is changed", async function () {
      await fc.assert(
        fc.asyncProperty(rewardLeaves.filter((r) => r.length > 0), fc.nat(), async (rewards, pick) => {
          const verdict = verdictOf(rewards, [], EPOCH);
          const doc = docOf(verdict, rewards, []);
          const i = pick % rewards.length;
          doc.rewards![i] = [doc.rewards![i][0], (rewards[i].cumulativeAmount ^ 1n || 2n).toString()];
          const error = await runInVm([EPOCH.toString(), "1", "http://a"], doc).then(
            () => "confirmed",
            (e: Error) => e.message,
          );
          expect(error).to.match(/^no quorum: 0 of 1 agree; a: rewardsRoot mismatch$/);
        }),
        { numRuns: 25 },
      );
    });

    it("rejects rewards not strictly ascending by address, and malformed entries", async function () {
      const rewards = good.rewards!;
      const bad: [string, unknown][] = [
        ["bad rewards[1]", [...rewards].reverse()],
        ["bad rewards[1]", [rewards[0], rewards[0]]],
        ["bad rewards[0]", [[rewards[0][0], "0"]]],
        ["bad rewards[0]", [[rewards[0][0], 5]]],
        ["bad rewards[0]", [[rewards[0][0], (1n << 256n).toString()]]],
        ["bad rewards[0]", [[rewards[0][0].slice(0, 41), "1"]]],
      ];
      for (const [message, list] of bad) {
        const error = await runInVm([EPOCH.toString(), "1", "http://a"], { ...good, rewards: list }).catch((e: Error) => e.message);
        expect(error, message).to.include(message);
      }
      const faults = await runInVm([EPOCH.toString(), "1", "http://a"], { ...good, faults: [[good.faults![0][0], 5, good.faults![0][2]]] })
        .catch((e: Error) => e.message);
      expect(faults).to.include("bad faults[0]");
      const half = await runInVm([EPOCH.toString(), "1", "http://a"], { ...good, faults: null }).catch((e: Error) => e.message);
      expect(half).to.include("lists: some null");
    });
  });

  describe("oracles/functions/source.ts helpers", function () {
    it("the source stays well under Functions' 30 KB request limit (source + args)", function () {
      expect(Buffer.byteLength(source)).to.be.below(12_000);
    });

    it("verdictSourceArgs builds the source's args and rejects what the source rejects", function () {
      expect(verdictSourceArgs(7n, 2, ["http://a:1/", "https://b"])).to.deep.equal(["7", "2", "http://a:1", "https://b"]);
      const bad: [bigint, number, string[]][] = [
        [-1n, 1, ["http://a"]],
        [1n << 64n, 1, ["http://a"]],
        [1n, 1, []],
        [1n, 0, ["http://a"]],
        [1n, 2, ["http://a"]],
        [1n, 1.5, ["http://a", "http://b"]],
        [1n, 1, ["http://a", "http://b", "http://c", "http://d", "http://e", "http://f"]],
        [1n, 1, ["a.example"]],
        [1n, 1, ["http://a", "HTTP://A/"]],
      ];
      for (const [epoch, quorum, endpoints] of bad) {
        expect(() => verdictSourceArgs(epoch, quorum, endpoints), endpoints.join()).to.throw(InvalidVerdictSourceArgsError);
      }
    });

    it("decodeConfirmation takes exactly 64 bytes with a uint64 epoch", function () {
      const hash = ethers.id("v");
      const encoded = ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "bytes32"], [7n, hash]);
      expect(decodeConfirmation(encoded)).to.deep.equal({ epoch: 7n, verdictHash: hash });
      for (const bad of ["0x", encoded.slice(0, -2), encoded + "00", encoded.replace("0x", ""), "0x" + "f".repeat(128)]) {
        expect(() => decodeConfirmation(bad)).to.throw(InvalidConfirmationError);
      }
    });
  });
});
