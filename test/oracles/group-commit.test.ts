import { expect } from "chai";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "ethers";
import type { FastifyInstance } from "fastify";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import { proofDigest, proofDomain, ProofKind, signProof, toProofJson, type ProofRecord } from "../../oracles/proof";
import { VerifierPool } from "../../oracles/proof/verifier-pool";
import { admitProofs, importProofs } from "../../oracles/node/admit";
import { buildIngestApp } from "../../oracles/node/app";
import { FixedEpochClock, MemoryDeviceDirectory } from "../../oracles/node/directory";
import { classifyError, ReplayError, StoreUnavailableError } from "../../oracles/node/errors";
import { ProofStore } from "../../oracles/node/store";

const DOMAIN = proofDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const device = new ethers.Wallet(ethers.id("group commit device"));
const EPOCH_LENGTH = 3600n;
const EPOCH = 42n;
const EPOCH_START = 1_767_225_600n;
const GENESIS = EPOCH_START - EPOCH * EPOCH_LENGTH;
const NOW = EPOCH_START + 100n;

const proof = (nonce: bigint, uptimeSeconds = 60): ProofRecord =>
  signProof(device, DOMAIN, {
    epoch: EPOCH,
    nonce,
    timestamp: EPOCH_START + 50n,
    resourceClass: ResourceClass.Coverage,
    kind: ProofKind.Heartbeat,
    payload: { uptimeSeconds },
  });
const wire = (r: ProofRecord) => JSON.parse(JSON.stringify(toProofJson(r))) as Record<string, unknown>;
const directory = () =>
  new MemoryDeviceDirectory([
    [device.address, { operator: device.address, resourceClass: ResourceClass.Coverage, status: DeviceStatus.Active }],
  ]);

describe("oracles/node group commit", function () {
  this.timeout(30_000);
  let dir: string;
  let path: string;
  let store: ProofStore;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "meshwork-group-"));
    path = join(dir, "proofs.sqlite");
    store = new ProofStore(path);
  });
  afterEach(function () {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("commits the inserts of one event-loop turn in one transaction, resolving each after the commit", async function () {
    const records = [1n, 2n, 3n, 4n, 5n].map((n) => proof(n));
    const promises = records.map((r) => store.insertGrouped(r, proofDigest(DOMAIN, r)));
    expect(store.count()).to.equal(0); // nothing before the commit
    expect(await Promise.all(promises)).to.deep.equal(Array(5).fill("inserted"));
    expect(store.groupCommits).to.equal(1);
    // Durable: another connection sees them all.
    const other = new ProofStore(path);
    expect(other.count()).to.equal(5);
    other.close();
    // A later turn is another group.
    await store.insertGrouped(proof(6n), proofDigest(DOMAIN, proof(6n)));
    expect(store.groupCommits).to.equal(2);
  });

  it("keeps duplicates inside a group as one by one: the first stored, the next a duplicate", async function () {
    const a = proof(7n, 1);
    const sameNonce = proof(7n, 2);
    const results = await Promise.all([
      store.insertGrouped(a, proofDigest(DOMAIN, a)),
      store.insertGrouped(a, proofDigest(DOMAIN, a)),
      store.insertGrouped(sameNonce, proofDigest(DOMAIN, sameNonce)),
    ]);
    expect(results).to.deep.equal(["inserted", "duplicate", "duplicate"]);
    expect(store.byEpoch(EPOCH).map((p) => p.record)).to.deep.equal([a]);
  });

  it("rejects every waiter of a failed commit with a 5xx error and stores nothing of the group", async function () {
    // Another connection makes any insert of nonce 666 abort: the whole group must roll back.
    const admin = new Database(path);
    admin.exec(
      "CREATE TRIGGER fail BEFORE INSERT ON proofs WHEN NEW.nonce = '666' BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
    );
    admin.close();
    const records = [proof(1n), proof(666n), proof(2n)];
    const settled = await Promise.allSettled(records.map((r) => store.insertGrouped(r, proofDigest(DOMAIN, r))));
    for (const s of settled) {
      expect(s.status).to.equal("rejected");
      if (s.status === "rejected") {
        expect(s.reason).to.be.instanceOf(StoreUnavailableError);
        expect(classifyError(s.reason).status).to.equal(503);
      }
    }
    expect(store.count()).to.equal(0);
    // The next group commits normally.
    expect(await store.insertGrouped(proof(3n), proofDigest(DOMAIN, proof(3n)))).to.equal("inserted");
  });

  it("admitProofs: a batch is one group; replays inside it resolve in item order", async function () {
    const deps = {
      store,
      directory: directory(),
      clock: new FixedEpochClock(GENESIS, EPOCH_LENGTH),
      domain: DOMAIN,
      now: () => NOW,
      maxClockSkew: 60n,
    };
    const a = proof(10n);
    const outcomes = await admitProofs([wire(a), wire(proof(11n)), wire(a), wire(proof(10n, 9))], deps);
    expect(outcomes.map((o) => o.ok)).to.deep.equal([true, true, false, false]);
    for (const o of outcomes.slice(2)) if (!o.ok) expect(o.error).to.be.instanceOf(ReplayError);
    expect(store.groupCommits).to.equal(1);
    // Import: a copy is simply not inserted; another proof under the same nonce (equivocation) only if its digest
    // is smaller, replacing the stored one (store.ts).
    const [first, twin] = [proof(12n), proof(12n, 5)];
    const smaller = proofDigest(DOMAIN, twin).toLowerCase() < proofDigest(DOMAIN, first).toLowerCase();
    const imported = await importProofs([wire(first), wire(first), wire(twin)], deps);
    expect(imported.map((o) => o.ok && o.value.inserted)).to.deep.equal([true, false, smaller]);
    expect(store.count()).to.equal(3);
  });

  describe("over HTTP, with the verifier pool", function () {
    let pool: VerifierPool;
    let app: FastifyInstance;
    beforeEach(function () {
      pool = new VerifierPool({ size: 2 });
      app = buildIngestApp({
        store,
        directory: directory(),
        clock: new FixedEpochClock(GENESIS, EPOCH_LENGTH),
        domain: DOMAIN,
        now: () => NOW,
        verifier: pool,
      });
    });
    afterEach(async function () {
      await app.close();
      await pool.close();
    });

    it("groups concurrent single-proof requests and batch items into few commits", async function () {
      const singles = [20n, 21n, 22n, 23n].map((n) =>
        app.inject({ method: "POST", url: "/v1/proofs", payload: wire(proof(n)) }),
      );
      const batch = app.inject({
        method: "POST",
        url: "/v1/proofs/batch",
        payload: [30n, 31n, 32n, 30n].map((n) => wire(proof(n))),
      });
      const replies = await Promise.all([...singles, batch]);
      expect(replies.slice(0, 4).map((r) => r.statusCode)).to.deep.equal([202, 202, 202, 202]);
      const body = replies[4].json() as { accepted: number; rejected: number; results: { error?: string }[] };
      expect([body.accepted, body.rejected, body.results[3].error]).to.deep.equal([3, 1, "replay"]);
      expect(store.count()).to.equal(7);
      expect(store.groupCommits).to.be.below(7);
    });

    it("answers 503 to every request of a failed group, accepting none", async function () {
      const admin = new Database(path);
      admin.exec("CREATE TRIGGER fail BEFORE INSERT ON proofs WHEN NEW.nonce = '40' BEGIN SELECT RAISE(ABORT, 'x'); END");
      admin.close();
      const replies = await Promise.all([
        app.inject({ method: "POST", url: "/v1/proofs/batch", payload: [40n, 41n].map((n) => wire(proof(n))) }),
      ]);
      expect(replies[0].statusCode).to.equal(503);
      expect(replies[0].json()).to.include({ error: "store_unavailable" });
      expect(store.count()).to.equal(0);
    });
  });
});
