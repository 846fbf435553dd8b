import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "ethers";
import Fastify, { type FastifyInstance } from "fastify";

import {
  hubDomain,
  InvalidVerdictError,
  signVerdict,
  verdictDigest,
  verdictFromJson,
  verdictToJson,
  type EpochVerdict,
  type EpochVerdictJson,
} from "../../sdk/verdict";
import {
  dissents,
  quorumSignatures,
  tally,
  turnOf,
  type DigestSignature,
} from "../../oracles/node/quorum";
import { VerdictStore } from "../../oracles/node/verdict-store";
import {
  registerVerdictRoutes,
  type VerdictRoutesDeps,
} from "../../oracles/node/verdict-routes";
import { makeVerdict, oracleWallets } from "../helpers/verdicts";

const HUB = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DOMAIN = hubDomain(31337n, HUB);
const EPOCH = 7n;
const THRESHOLD = 3;

/** Five committee keys, sorted by address; a stranger outside the committee. */
const oracles = oracleWallets(5);
const members = oracles.map((w) => w.address);
const stranger = new ethers.Wallet(ethers.id("submit test stranger"));

const digestA = `0x${"a".repeat(64)}`;
const digestB = `0x${"b".repeat(64)}`;
const digestC = `0x${"c".repeat(64)}`;

/**
 * Two checksummed addresses whose string order is the reverse of their numeric order: `low` starts "0xa" (lowercase,
 * 0x61) and `high` starts "0xB" (uppercase, 0x42), so "0xB…" < "0xa…" as strings while 0xa… < 0xb… as numbers.
 */
function caseTrap(): { low: string; high: string } {
  const find = (prefix: string, wanted: string): string => {
    for (let i = 0; ; i++) {
      const address = ethers.getAddress(
        prefix + i.toString(16).padStart(39, "0"),
      );
      if (address.startsWith(wanted)) return address;
    }
  };
  return { low: find("0xa", "0xa"), high: find("0xb", "0xB") };
}
const trap = caseTrap();

const sig = (
  signer: string,
  digest: string,
  tag = signer,
): DigestSignature => ({
  signer,
  digest,
  signature: `sig:${tag}:${digest.slice(0, 6)}`,
});

const byNumber = (a: string, b: string) =>
  BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;

describe("oracles/node submit stage", function () {
  describe("quorum: tally", function () {
    it("counts only committee members, grouping digests case-insensitively", function () {
      const tallies = tally(
        [
          sig(members[0], digestA),
          sig(members[1], digestA.toUpperCase().replace("0X", "0x")),
          sig(stranger.address, digestA),
          sig(members[2], digestB),
        ],
        members,
      );
      expect(tallies).to.deep.equal([
        { digest: digestA, signers: [members[0], members[1]] },
        { digest: digestB, signers: [members[2]] },
      ]);
    });

    it("matches members case-insensitively", function () {
      const tallies = tally([sig(members[0].toLowerCase(), digestA)], members);
      expect(tallies).to.deep.equal([
        { digest: digestA, signers: [members[0].toLowerCase()] },
      ]);
    });

    it("orders most-signed first, then by digest; signers ascending by address", function () {
      const tallies = tally(
        [
          sig(members[4], digestC),
          sig(members[3], digestB),
          sig(members[0], digestC),
          sig(members[2], digestA),
          sig(members[1], digestB),
        ],
        members,
      );
      expect(tallies.map((t) => t.digest)).to.deep.equal([
        digestB,
        digestC,
        digestA,
      ]);
      expect(tallies[0].signers).to.deep.equal([members[1], members[3]]);
      expect(tallies[1].signers).to.deep.equal([members[0], members[4]]);
    });

    it("sorts signers as numbers, not strings (checksum case)", function () {
      const [t] = tally(
        [sig(trap.high, digestA), sig(trap.low, digestA)],
        [trap.high, trap.low],
      );
      expect(t.signers).to.deep.equal([trap.low, trap.high]);
    });

    it("is empty with no signatures or no member signatures", function () {
      expect(tally([], members)).to.deep.equal([]);
      expect(tally([sig(stranger.address, digestA)], members)).to.deep.equal(
        [],
      );
    });
  });

  describe("quorum: quorumSignatures", function () {
    it("is null below the threshold", function () {
      const signatures = [
        sig(members[0], digestA),
        sig(members[1], digestA),
        sig(members[2], digestB),
      ];
      expect(
        quorumSignatures(signatures, members, digestA, THRESHOLD),
      ).to.equal(null);
    });

    it("returns exactly the threshold's signatures, ordered by signer", function () {
      const signatures = [
        sig(members[3], digestA),
        sig(members[0], digestA),
        sig(members[2], digestA),
      ];
      expect(
        quorumSignatures(signatures, members, digestA, THRESHOLD),
      ).to.deep.equal(
        [members[0], members[2], members[3]].map(
          (m) => sig(m, digestA).signature,
        ),
      );
    });

    it("relays all matching signatures above the threshold, ascending by signer as numbers", function () {
      const committee = [...members, trap.low, trap.high];
      const signatures = [
        trap.high,
        members[4],
        trap.low,
        members[1],
        members[2],
      ].map((m) => sig(m, digestA));
      const relayed = quorumSignatures(
        signatures,
        committee,
        digestA.toUpperCase().replace("0X", "0x"),
        THRESHOLD,
      );
      const expectedOrder = [
        trap.high,
        members[4],
        trap.low,
        members[1],
        members[2],
      ].sort(byNumber);
      expect(relayed).to.deep.equal(
        expectedOrder.map((m) => sig(m, digestA).signature),
      );
      expect(expectedOrder.indexOf(trap.low)).to.be.lessThan(
        expectedOrder.indexOf(trap.high),
      );
    });

    it("ignores non-members and other digests", function () {
      const signatures = [
        sig(members[0], digestA),
        sig(members[1], digestA),
        sig(stranger.address, digestA),
        sig(members[2], digestB),
      ];
      expect(
        quorumSignatures(signatures, members, digestA, THRESHOLD),
      ).to.equal(null);
      expect(quorumSignatures(signatures, members, digestA, 2)).to.deep.equal([
        sig(members[0], digestA).signature,
        sig(members[1], digestA).signature,
      ]);
    });
  });

  describe("quorum: dissents", function () {
    it("returns the signers of another digest, by signer, whatever the digest's case", function () {
      const signatures = [
        sig(members[4], digestB),
        sig(members[0], digestA),
        sig(members[1], digestC),
        sig(members[2], digestA),
      ];
      const out = dissents(
        signatures,
        digestA.toUpperCase().replace("0X", "0x"),
      );
      expect(out.map((s) => s.signer)).to.deep.equal([members[1], members[4]]);
      expect(dissents(signatures, digestA)).to.deep.equal(out);
    });

    it("is empty when everyone agrees", function () {
      expect(
        dissents([sig(members[0], digestA), sig(members[1], digestA)], digestA),
      ).to.deep.equal([]);
    });
  });

  describe("quorum: turnOf", function () {
    it("starts the rotation at member epoch mod n of the address-sorted committee", function () {
      const shuffled = [
        members[3],
        members[0],
        members[4],
        members[2],
        members[1],
      ];
      // epoch 0: sorted order; epoch 7 (7 mod 5 = 2): member 2 acts first, then 3, 4, 0, 1.
      expect(members.map((m) => turnOf(m, shuffled, 0n))).to.deep.equal([
        0, 1, 2, 3, 4,
      ]);
      expect(members.map((m) => turnOf(m, shuffled, 7n))).to.deep.equal([
        3, 4, 0, 1, 2,
      ]);
      expect(turnOf(members[2].toLowerCase(), shuffled, 7n)).to.equal(0);
    });

    it("is -1 for a non-member (and for an empty committee)", function () {
      expect(turnOf(stranger.address, members, 3n)).to.equal(-1);
      expect(turnOf(stranger.address, [], 3n)).to.equal(-1);
    });

    it("gives every member a distinct turn 0..n-1 for every epoch (property)", function () {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.bigInt({ min: 1n, max: (1n << 160n) - 1n }), {
            minLength: 1,
            maxLength: 12,
          }),
          fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          (raw, epoch) => {
            const committee = raw.map((n) =>
              ethers.getAddress(ethers.toBeHex(n, 20)),
            );
            const turns = committee.map((m) => turnOf(m, committee, epoch));
            expect([...turns].sort((a, b) => a - b)).to.deep.equal(
              committee.map((_, i) => i),
            );
            const first = [...committee].sort(byNumber)[
              Number(epoch % BigInt(committee.length))
            ];
            expect(turnOf(first, committee, epoch)).to.equal(0);
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe("sdk/verdict JSON form", function () {
    const verdict: EpochVerdict = {
      epoch: (1n << 64n) - 1n,
      devicesCounted: (1n << 32n) - 1n,
      rewardsRoot: ethers.id("rewards").toUpperCase().replace("0X", "0x"),
      faultsRoot: ethers.ZeroHash,
      leasesRoot: ethers.id("leases"),
      totalWorkUnits: (1n << 256n) - 1n,
      dataHash: ethers.id("data"),
    };
    const good = (): Record<string, unknown> => ({ ...verdictToJson(verdict) });

    function rejects(input: unknown, fragment: string) {
      expect(() => verdictFromJson(input)).to.throw(
        InvalidVerdictError,
        fragment,
      );
    }

    it("round-trips, with integers as decimal strings and hashes lowercased", function () {
      const json = verdictToJson(verdict);
      expect(json).to.deep.equal({
        epoch: "18446744073709551615",
        devicesCounted: "4294967295",
        rewardsRoot: ethers.id("rewards"),
        faultsRoot: ethers.ZeroHash,
        leasesRoot: ethers.id("leases"),
        totalWorkUnits: ((1n << 256n) - 1n).toString(),
        dataHash: ethers.id("data"),
      } satisfies EpochVerdictJson);
      const back = verdictFromJson(JSON.parse(JSON.stringify(json)));
      expect(back).to.deep.equal({
        ...verdict,
        rewardsRoot: verdict.rewardsRoot.toLowerCase(),
      });
      expect(verdictToJson(back)).to.deep.equal(json);
      const zero = {
        ...makeVerdict(0n),
        devicesCounted: 0n,
        totalWorkUnits: 0n,
      };
      expect(verdictFromJson(verdictToJson(zero))).to.deep.equal(zero);
    });

    it("rejects non-objects", function () {
      for (const input of [null, undefined, "x", 1, true])
        rejects(input, "verdict must be an object");
    });

    it("rejects a missing field, naming it", function () {
      for (const key of [
        "epoch",
        "devicesCounted",
        "rewardsRoot",
        "faultsRoot",
        "leasesRoot",
        "totalWorkUnits",
        "dataHash",
      ]) {
        const input = good();
        delete input[key];
        rejects(input, `verdict.${key}`);
      }
    });

    it('rejects non-decimal integers and leading zeros; accepts "0"', function () {
      for (const bad of ["01", "-1", "1.5", "0x10", "1e3", " 1", "", "+1"])
        rejects(
          { ...good(), epoch: bad },
          "verdict.epoch must be a decimal string",
        );
      rejects(
        { ...good(), totalWorkUnits: 5 },
        "verdict.totalWorkUnits must be a decimal string",
      );
      rejects(
        { ...good(), devicesCounted: "007" },
        "verdict.devicesCounted must be a decimal string",
      );
      expect(verdictFromJson({ ...good(), epoch: "0" }).epoch).to.equal(0n);
    });

    it("rejects integers that overflow their Solidity type", function () {
      rejects(
        { ...good(), epoch: (1n << 64n).toString() },
        "verdict.epoch does not fit uint64",
      );
      rejects(
        { ...good(), devicesCounted: (1n << 32n).toString() },
        "verdict.devicesCounted does not fit uint32",
      );
      rejects(
        { ...good(), totalWorkUnits: (1n << 256n).toString() },
        "verdict.totalWorkUnits does not fit uint256",
      );
      rejects(
        { ...good(), totalWorkUnits: "1".repeat(79) },
        "verdict.totalWorkUnits must be a decimal string",
      );
    });

    it("rejects bad bytes32 values, naming the field", function () {
      for (const key of ["rewardsRoot", "faultsRoot", "leasesRoot", "dataHash"]) {
        for (const bad of [
          ethers.id("x").slice(0, 65),
          `${ethers.id("x")}00`,
          ethers.id("x").slice(2),
          `0x${"g".repeat(64)}`,
          1,
        ]) {
          rejects(
            { ...good(), [key]: bad },
            `verdict.${key} must be bytes32 hex`,
          );
        }
      }
    });
  });

  describe("VerdictStore", function () {
    let store: VerdictStore;
    beforeEach(function () {
      store = new VerdictStore(":memory:");
    });
    afterEach(function () {
      store.close();
    });

    const v1 = makeVerdict(EPOCH);
    const v2 = makeVerdict(EPOCH, { totalWorkUnits: 2_000n });
    const d1 = verdictDigest(DOMAIN, v1);
    const d2 = verdictDigest(DOMAIN, v2);

    it("saveFile is idempotent (first file wins) and fileByDigest is case-insensitive", function () {
      expect(store.fileByDigest(d1)).to.equal(null);
      store.saveFile(d1.toUpperCase().replace("0X", "0x"), v1, '{"n":1}');
      store.saveFile(d1, v1, '{"n":2}');
      expect(store.fileByDigest(d1)).to.deep.equal({
        verdict: v1,
        file: '{"n":1}',
      });
      expect(
        store.fileByDigest(d1.toUpperCase().replace("0X", "0x")),
      ).to.deep.equal({ verdict: v1, file: '{"n":1}' });
      expect(store.fileByDigest(d2)).to.equal(null);
    });

    it("setOwn / own upsert per epoch", function () {
      expect(store.own(EPOCH)).to.equal(null);
      store.setOwn(EPOCH, {
        digest: d1.toUpperCase().replace("0X", "0x"),
        proofCount: 3,
      });
      expect(store.own(EPOCH)).to.deep.equal({ digest: d1, proofCount: 3 });
      store.setOwn(EPOCH, { digest: d2, proofCount: 4 });
      expect(store.own(EPOCH)).to.deep.equal({ digest: d2, proofCount: 4 });
      expect(store.own(EPOCH + 1n)).to.equal(null);
    });

    it("putSignature: new -> true, same digest -> false, changed digest -> true and replaces", function () {
      const [a] = oracles;
      expect(
        store.putSignature(
          { signer: a.address, digest: d1, verdict: v1, signature: "0x01" },
          1000,
        ),
      ).to.equal(true);
      expect(
        store.putSignature(
          {
            signer: a.address,
            digest: d1.toUpperCase().replace("0X", "0x"),
            verdict: v1,
            signature: "0x02",
          },
          2000,
        ),
      ).to.equal(false);
      expect(store.signatures(EPOCH)).to.deep.equal([
        {
          signer: a.address,
          digest: d1,
          verdict: v1,
          signature: "0x01",
          receivedAt: 1000,
        },
      ]);
      expect(
        store.putSignature(
          { signer: a.address, digest: d2, verdict: v2, signature: "0x03" },
          3000,
        ),
      ).to.equal(true);
      expect(store.signatures(EPOCH)).to.deep.equal([
        {
          signer: a.address,
          digest: d2,
          verdict: v2,
          signature: "0x03",
          receivedAt: 3000,
        },
      ]);
      // Back to the first digest is a change again.
      expect(
        store.putSignature(
          { signer: a.address, digest: d1, verdict: v1, signature: "0x01" },
          4000,
        ),
      ).to.equal(true);
    });

    it("signatures(epoch): one per signer, sorted by signer, epochs kept apart", function () {
      const other = makeVerdict(EPOCH + 1n);
      for (const w of [oracles[3], oracles[0], oracles[2]]) {
        store.putSignature({
          signer: w.address,
          digest: d1,
          verdict: v1,
          signature: `0x${w.address.slice(2, 6)}`,
        });
      }
      store.putSignature({
        signer: oracles[1].address,
        digest: verdictDigest(DOMAIN, other),
        verdict: other,
        signature: "0x00",
      });
      const signers = store.signatures(EPOCH).map((s) => s.signer);
      expect(signers).to.have.members([
        oracles[0].address,
        oracles[2].address,
        oracles[3].address,
      ]);
      expect(signers).to.deep.equal([...signers].sort());
      expect(store.signatures(EPOCH + 1n).map((s) => s.signer)).to.deep.equal([
        oracles[1].address,
      ]);
      expect(store.signatures(EPOCH + 2n)).to.deep.equal([]);
    });

    // BUG: verdict-store.ts `signatures()` uses `ORDER BY signer` on checksummed (mixed-case) addresses, i.e. string
    // order, where "0xB…" sorts before "0xa…"; "by signer" elsewhere (quorum.ts, OracleHub) means ascending as numbers.
    // No caller relies on this order today (quorumSignatures/dissents re-sort), but the GET /v1/verdicts `signatures`
    // list and any future caller see a non-numeric order. Fix: `ORDER BY lower(signer)` (same-length hex sorts like
    // numbers once lowercased), or store signers lowercased.
    it("signatures(epoch) are ascending by signer as numbers even when checksum case disagrees", function () {
      const v = makeVerdict(EPOCH);
      store.putSignature({
        signer: trap.high,
        digest: d1,
        verdict: v,
        signature: "0x01",
      });
      store.putSignature({
        signer: trap.low,
        digest: d1,
        verdict: v,
        signature: "0x02",
      });
      expect(store.signatures(EPOCH).map((s) => s.signer)).to.deep.equal([
        trap.low,
        trap.high,
      ]);
    });

    it("keeps files, own verdicts and signatures across a reopen of a file-backed store", function () {
      const dir = mkdtempSync(join(tmpdir(), "meshwork-verdicts-"));
      try {
        const path = join(dir, "verdicts.sqlite");
        const first = new VerdictStore(path);
        first.saveFile(d1, v1, "file-1");
        first.setOwn(EPOCH, { digest: d1, proofCount: 9 });
        first.putSignature(
          {
            signer: oracles[0].address,
            digest: d1,
            verdict: v1,
            signature: "0xaa",
          },
          42,
        );
        first.close();
        first.close(); // closing twice is harmless

        const reopened = new VerdictStore(path);
        try {
          expect(reopened.fileByDigest(d1)).to.deep.equal({
            verdict: v1,
            file: "file-1",
          });
          expect(reopened.own(EPOCH)).to.deep.equal({
            digest: d1,
            proofCount: 9,
          });
          expect(reopened.signatures(EPOCH)).to.deep.equal([
            {
              signer: oracles[0].address,
              digest: d1,
              verdict: v1,
              signature: "0xaa",
              receivedAt: 42,
            },
          ]);
          expect(
            reopened.putSignature({
              signer: oracles[0].address,
              digest: d1,
              verdict: v1,
              signature: "0xaa",
            }),
          ).to.equal(false);
        } finally {
          reopened.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("verdict routes", function () {
    interface Harness {
      app: FastifyInstance;
      store: VerdictStore;
      submitted: Map<bigint, string>;
      notified: bigint[];
      committeeCalls: bigint[];
    }
    let h: Harness;

    async function harness(): Promise<Harness> {
      const store = new VerdictStore(":memory:");
      const submitted = new Map<bigint, string>();
      const notified: bigint[] = [];
      const committeeCalls: bigint[] = [];
      const deps: VerdictRoutesDeps = {
        store,
        domain: DOMAIN,
        committee: async (epoch) => {
          committeeCalls.push(epoch);
          return { members: [...members], threshold: THRESHOLD };
        },
        submitted: async (epoch) => submitted.get(epoch) ?? null,
        onSignature: (epoch) => notified.push(epoch),
      };
      const app = Fastify();
      await registerVerdictRoutes(app, deps);
      await app.ready();
      return { app, store, submitted, notified, committeeCalls };
    }

    beforeEach(async function () {
      h = await harness();
    });
    afterEach(async function () {
      await h.app.close();
      h.store.close();
    });

    const vA = makeVerdict(EPOCH);
    const vB = makeVerdict(EPOCH, { devicesCounted: 11n });
    const dA = verdictDigest(DOMAIN, vA);
    const dB = verdictDigest(DOMAIN, vB);

    async function body(wallet: ethers.Wallet, verdict: EpochVerdict = vA) {
      const { signer, signature } = await signVerdict(wallet, DOMAIN, verdict);
      return { signer, verdict: verdictToJson(verdict), signature } as Record<
        string,
        unknown
      >;
    }

    async function post(payload: unknown, epoch: string = EPOCH.toString()) {
      const res = await h.app.inject({
        method: "POST",
        url: `/v1/verdicts/${epoch}/signatures`,
        payload: payload as object,
      });
      return {
        status: res.statusCode,
        body: res.json() as Record<string, unknown>,
        res,
      };
    }

    async function get(url: string) {
      const res = await h.app.inject({ method: "GET", url });
      return {
        status: res.statusCode,
        body: res.json() as Record<string, unknown>,
        res,
      };
    }

    function expectError(
      r: {
        status: number;
        body: Record<string, unknown>;
        res: { headers: Record<string, unknown> };
      },
      status: number,
      error?: string,
      fragment?: string,
    ) {
      expect(r.status, JSON.stringify(r.body)).to.equal(status);
      expect(r.res.headers["content-type"]).to.match(/application\/json/);
      expect(Object.keys(r.body).sort()).to.deep.equal(["error", "message"]);
      expect(r.body.error).to.be.a("string");
      expect(r.body.message).to.be.a("string");
      if (error !== undefined) expect(r.body.error).to.equal(error);
      if (fragment !== undefined) expect(r.body.message).to.include(fragment);
    }

    describe("POST /v1/verdicts/:epoch/signatures", function () {
      it("stores a committee member's valid signature: 202 { stored: true, digest }", async function () {
        const payload = await body(oracles[1]);
        const r = await post(payload);
        expect(r.status, JSON.stringify(r.body)).to.equal(202);
        expect(r.body).to.deep.equal({ stored: true, digest: dA });
        const [stored] = h.store.signatures(EPOCH);
        expect(stored).to.include({
          signer: oracles[1].address,
          digest: dA.toLowerCase(),
          signature: payload.signature,
        });
        expect(stored.verdict).to.deep.equal(vA);
        expect(h.notified).to.deep.equal([EPOCH]);
      });

      it("accepts a lowercase signer address and stores it checksummed", async function () {
        const payload = await body(oracles[2]);
        const r = await post({
          ...payload,
          signer: (payload.signer as string).toLowerCase(),
        });
        expect(r.status, JSON.stringify(r.body)).to.equal(202);
        expect(h.store.signatures(EPOCH).map((s) => s.signer)).to.deep.equal([
          oracles[2].address,
        ]);
      });

      it("is idempotent: the same signature again -> 202 { stored: false }, onSignature not called again", async function () {
        const payload = await body(oracles[0]);
        expect((await post(payload)).body).to.deep.equal({
          stored: true,
          digest: dA,
        });
        const again = await post(payload);
        expect(again.status).to.equal(202);
        expect(again.body).to.deep.equal({ stored: false, digest: dA });
        expect(h.notified).to.deep.equal([EPOCH]);
        expect(h.store.signatures(EPOCH)).to.have.length(1);
      });

      it("replaces a member's signature when it signs another digest (onSignature called per new signature)", async function () {
        await post(await body(oracles[0], vA));
        await post(await body(oracles[1], vA));
        const r = await post(await body(oracles[0], vB));
        expect(r.body).to.deep.equal({ stored: true, digest: dB });
        expect(h.notified).to.deep.equal([EPOCH, EPOCH, EPOCH]);
        expect(
          h.store.signatures(EPOCH).find((s) => s.signer === oracles[0].address)
            ?.digest,
        ).to.equal(dB.toLowerCase());
      });

      it("403 not_committee_member for a signer outside the committee", async function () {
        const r = await post(await body(stranger));
        expectError(r, 403, "not_committee_member", stranger.address);
        expect(h.store.signatures(EPOCH)).to.deep.equal([]);
        expect(h.notified).to.deep.equal([]);
      });

      it("400 invalid_verdict_signature when the signature is another key's", async function () {
        const payload = await body(oracles[1]);
        const r = await post({ ...payload, signer: oracles[2].address });
        expectError(r, 400, "invalid_verdict_signature", oracles[2].address);
        expect(h.store.signatures(EPOCH)).to.deep.equal([]);
      });

      it("400 invalid_verdict_signature when the signature is over another verdict or domain", async function () {
        const payload = await body(oracles[1], vA);
        expectError(
          await post({ ...payload, verdict: verdictToJson(vB) }),
          400,
          "invalid_verdict_signature",
        );
        const foreign = await signVerdict(oracles[1], hubDomain(1n, HUB), vA);
        expectError(
          await post({ ...payload, signature: foreign.signature }),
          400,
          "invalid_verdict_signature",
        );
        expect(h.store.signatures(EPOCH)).to.deep.equal([]);
      });

      it("400 for malformed signature hex (wrong length, not hex, unrecoverable)", async function () {
        const payload = await body(oracles[1]);
        const signature = payload.signature as string;
        expectError(
          await post({ ...payload, signature: signature.slice(0, -2) }),
          400,
          undefined,
          "signature must be 65 bytes hex",
        );
        expectError(
          await post({ ...payload, signature: `0x${"z".repeat(130)}` }),
          400,
          undefined,
          "signature must be 65 bytes hex",
        );
        expectError(await post({ ...payload, signature: 42 }), 400);
        // Right length, but v = 0x05 and r = s = 0: rejected by the recovery, as malformed.
        expectError(
          await post({ ...payload, signature: `0x${"0".repeat(128)}05` }),
          400,
          "invalid_verdict_signature",
        );
        expect(h.store.signatures(EPOCH)).to.deep.equal([]);
      });

      it("400 for a bad signer address or a missing / non-JSON body", async function () {
        const payload = await body(oracles[1]);
        expectError(
          await post({ ...payload, signer: "0x1234" }),
          400,
          undefined,
          "signer must be an address",
        );
        const { signer: _signer, ...noSigner } = payload;
        expectError(await post(noSigner), 400);
        const res = await h.app.inject({
          method: "POST",
          url: `/v1/verdicts/${EPOCH}/signatures`,
          headers: { "content-type": "application/json" },
          payload: "{not json",
        });
        expectError({ status: res.statusCode, body: res.json(), res }, 400);
      });

      it("400 invalid_verdict when the verdict is for another epoch than the path", async function () {
        const other = makeVerdict(EPOCH + 1n);
        const r = await post(await body(oracles[1], other));
        expectError(
          r,
          400,
          "invalid_verdict",
          `verdict is for epoch ${EPOCH + 1n}, not ${EPOCH}`,
        );
        expect(h.store.signatures(EPOCH + 1n)).to.deep.equal([]);
      });

      it("400 for a bad epoch in the path", async function () {
        const payload = await body(oracles[1]);
        for (const epoch of ["x", "-1", "01", "1.5", "0x7", "1".repeat(21)]) {
          expectError(
            await post(payload, epoch),
            400,
            undefined,
            "epoch must be a uint64",
          );
        }
        expect(h.store.signatures(EPOCH)).to.deep.equal([]);
      });

      it("400 invalid_verdict naming the field for bad verdict JSON", async function () {
        const payload = await body(oracles[1]);
        const verdict = payload.verdict as Record<string, unknown>;
        expectError(
          await post({
            ...payload,
            verdict: { ...verdict, devicesCounted: "01" },
          }),
          400,
          "invalid_verdict",
          "verdict.devicesCounted",
        );
        expectError(
          await post({ ...payload, verdict: { ...verdict, dataHash: "0x12" } }),
          400,
          "invalid_verdict",
          "verdict.dataHash",
        );
        expectError(
          await post({
            ...payload,
            verdict: { ...verdict, epoch: (1n << 64n).toString() },
          }),
          400,
          "invalid_verdict",
          "verdict.epoch",
        );
        expectError(
          await post({ ...payload, verdict: "nope" }),
          400,
          "invalid_verdict",
          "verdict must be an object",
        );
        // A missing `verdict` fails the body schema first: bad_request naming the key.
        const { verdict: _v, ...noVerdict } = payload;
        expectError(await post(noVerdict), 400, "bad_request", "verdict");
      });
    });

    describe("GET /v1/verdicts/:epoch", function () {
      it("reports committee, own, submitted, tally and no dissents when nothing is agreed", async function () {
        await post(await body(oracles[0], vA));
        await post(await body(oracles[1], vB));
        h.store.setOwn(EPOCH, { digest: dA, proofCount: 5 });
        const r = await get(`/v1/verdicts/${EPOCH}`);
        expect(r.status).to.equal(200);
        expect(r.body).to.deep.include({
          epoch: EPOCH.toString(),
          threshold: THRESHOLD,
          members,
          own: dA.toLowerCase(),
          submitted: null,
          dissents: [],
        });
        expect(r.body.tally).to.deep.equal([
          {
            digest: [dA, dB].sort()[0].toLowerCase(),
            signers: [
              [dA, dB].sort()[0] === dA
                ? oracles[0].address
                : oracles[1].address,
            ],
          },
          {
            digest: [dA, dB].sort()[1].toLowerCase(),
            signers: [
              [dA, dB].sort()[1] === dA
                ? oracles[0].address
                : oracles[1].address,
            ],
          },
        ]);
      });

      it("3 on digest A, 1 on B: B's signer is the dissent; with submitted() = B the three are", async function () {
        for (const w of [oracles[4], oracles[0], oracles[2]])
          await post(await body(w, vA));
        await post(await body(oracles[3], vB));

        const quorum = await get(`/v1/verdicts/${EPOCH}`);
        expect(quorum.status).to.equal(200);
        expect(quorum.body.own).to.equal(null);
        expect(quorum.body.submitted).to.equal(null);
        expect(quorum.body.tally).to.deep.equal([
          {
            digest: dA.toLowerCase(),
            signers: [
              oracles[0].address,
              oracles[2].address,
              oracles[4].address,
            ],
          },
          { digest: dB.toLowerCase(), signers: [oracles[3].address] },
        ]);
        expect(quorum.body.dissents).to.deep.equal([
          {
            signer: oracles[3].address,
            digest: dB.toLowerCase(),
            verdict: verdictToJson(vB),
          },
        ]);
        expect((quorum.body.signatures as unknown[]).length).to.equal(4);

        h.submitted.set(EPOCH, dB);
        const onChain = await get(`/v1/verdicts/${EPOCH}`);
        expect(onChain.body.submitted).to.equal(dB);
        expect(
          (onChain.body.dissents as { signer: string; digest: string }[]).map(
            (d) => [d.signer, d.digest],
          ),
        ).to.deep.equal(
          [oracles[0], oracles[2], oracles[4]].map((w) => [
            w.address,
            dA.toLowerCase(),
          ]),
        );
      });

      it("is empty for an epoch with nothing stored", async function () {
        const r = await get(`/v1/verdicts/${EPOCH + 5n}`);
        expect(r.status).to.equal(200);
        expect(r.body).to.deep.include({
          own: null,
          submitted: null,
          tally: [],
          signatures: [],
          dissents: [],
        });
      });

      it("400 for a bad epoch", async function () {
        expectError(
          await get("/v1/verdicts/abc"),
          400,
          undefined,
          "epoch must be a uint64",
        );
        expectError(
          await get("/v1/verdicts/007"),
          400,
          undefined,
          "epoch must be a uint64",
        );
        expect(h.committeeCalls).to.deep.equal([]);
      });

      // BUG: verdict-routes.ts epochParam (line ~46) is /^(0|[1-9][0-9]{0,19})$/: it accepts up to 20 digits, i.e.
      // values up to 99999999999999999999 > 2^64-1, despite its message "epoch must be a uint64". The out-of-range
      // epoch then reaches deps.committee()/submitted() (on-chain calls with a uint64 argument, which throw an ethers
      // encoding error -> 500 internal), and in this harness a 200. Fix: add `.refine((e) => BigInt(e) < 1n << 64n)`
      // (or a transform to bigint with a max) to epochParam.
      it("400 for an epoch above uint64 (2^64)", async function () {
        expectError(
          await get(`/v1/verdicts/${1n << 64n}`),
          400,
          undefined,
          "epoch must be a uint64",
        );
        expectError(
          await get(`/v1/verdicts/${1n << 64n}/file`),
          400,
          undefined,
          "epoch must be a uint64",
        );
        expect(h.committeeCalls).to.deep.equal([]);
      });

      it("accepts the largest uint64 epoch", async function () {
        const r = await get(`/v1/verdicts/${(1n << 64n) - 1n}`);
        expect(r.status).to.equal(200);
        expect(r.body.epoch).to.equal(((1n << 64n) - 1n).toString());
      });
    });

    describe("GET /v1/verdicts/:epoch/file and /v1/verdict-files/:digest", function () {
      const fileA = JSON.stringify({
        verdict: verdictToJson(vA),
        rewards: [{ operator: "a" }],
      });
      const fileB = JSON.stringify({
        verdict: verdictToJson(vB),
        rewards: [{ operator: "b" }],
      });

      it("404 JSON when there is no file for the epoch", async function () {
        expectError(
          await get(`/v1/verdicts/${EPOCH}/file`),
          404,
          "not_found",
          `epoch ${EPOCH}`,
        );
        // own digest known but its file missing
        h.store.setOwn(EPOCH, { digest: dA, proofCount: 1 });
        expectError(await get(`/v1/verdicts/${EPOCH}/file`), 404, "not_found");
      });

      it("returns this oracle's own file when nothing is submitted", async function () {
        h.store.saveFile(dA, vA, fileA);
        h.store.saveFile(dB, vB, fileB);
        h.store.setOwn(EPOCH, { digest: dA, proofCount: 2 });
        const r = await get(`/v1/verdicts/${EPOCH}/file`);
        expect(r.status).to.equal(200);
        expect(r.res.headers["content-type"]).to.match(/application\/json/);
        expect(r.res.body).to.equal(fileA);
      });

      it("prefers the submitted digest's file over its own", async function () {
        h.store.saveFile(dA, vA, fileA);
        h.store.saveFile(dB, vB, fileB);
        h.store.setOwn(EPOCH, { digest: dA, proofCount: 2 });
        h.submitted.set(EPOCH, dB.toUpperCase().replace("0X", "0x"));
        const r = await get(`/v1/verdicts/${EPOCH}/file`);
        expect(r.status).to.equal(200);
        expect(r.res.body).to.equal(fileB);
      });

      it("400 for a bad epoch", async function () {
        expectError(
          await get("/v1/verdicts/-3/file"),
          400,
          undefined,
          "epoch must be a uint64",
        );
      });

      it("GET /v1/verdict-files/:digest: 404 JSON, then 200 with the file (any case)", async function () {
        expectError(await get(`/v1/verdict-files/${dA}`), 404, "not_found", dA);
        h.store.saveFile(dA, vA, fileA);
        const r = await get(`/v1/verdict-files/${dA}`);
        expect(r.status).to.equal(200);
        expect(r.res.headers["content-type"]).to.match(/application\/json/);
        expect(r.res.body).to.equal(fileA);
        expect(
          (
            await get(
              `/v1/verdict-files/${dA.toUpperCase().replace("0X", "0x")}`,
            )
          ).res.body,
        ).to.equal(fileA);
      });

      it("GET /v1/verdict-files/:digest: 400 for a malformed digest", async function () {
        expectError(
          await get("/v1/verdict-files/0x1234"),
          400,
          undefined,
          "digest must be bytes32 hex",
        );
        expectError(
          await get(`/v1/verdict-files/${"a".repeat(64)}`),
          400,
          undefined,
          "digest must be bytes32 hex",
        );
      });
    });
  });
});
