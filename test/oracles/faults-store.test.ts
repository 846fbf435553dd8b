/**
 * Adversarial suite, oracle store faults: a full disk and a store file that is no longer writable, with the real
 * `ProofStore` (file-backed, WAL, group commit) behind the real ingest app.
 *
 * What must hold in every case: POST /v1/proofs and /v1/proofs/batch answer 503 `store_unavailable` while the store
 * cannot commit; nothing is acknowledged (202, or `accepted` in a batch) that is not stored, and nothing refused is
 * stored; GET /health answers 503 (unhealthy, with the proof count) so devices turn to another oracle; and once
 * the fault is gone the same proofs are accepted, without a restart.
 *
 * How the faults are made:
 * - "full disk" (always runs): `ProofStore.setMaxPageCount` caps the database at its current size, so SQLite fails
 *   the next write that needs a new page with SQLITE_FULL, the code it gives on ENOSPC. The pragma is per connection,
 *   hence a method of the store rather than a second connection opened by the test.
 * - a REAL full disk (runs where the test may mount, e.g. as root in a container; skipped otherwise): the store on a
 *   8 MiB tmpfs, filled up by a filler file until ENOSPC, then freed by deleting the filler.
 * - "unwritable": the store's directory is moved away from its path (a volume detached or replaced under a running
 *   oracle). chmod cannot make a file unwritable for root, and closing the handle is not a fault the process can
 *   recover from; a moved path is. SQLite in WAL mode would go on committing through its open descriptors into the
 *   moved (or deleted) inode, acknowledged proofs that a restart on the path would not find: store.ts refuses instead.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "ethers";
import type { FastifyInstance } from "fastify";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import { hubDomain, type EpochVerdict } from "../../sdk/verdict";
import { proofDigest, proofDomain, ProofKind, signProof, toProofJson, type ProofRecord } from "../../oracles/proof";
import { buildIngestApp } from "../../oracles/node/app";
import { FixedEpochClock, MemoryDeviceDirectory } from "../../oracles/node/directory";
import { classifyError, StoreUnavailableError } from "../../oracles/node/errors";
import { ProofStore } from "../../oracles/node/store";
import { VerdictStore } from "../../oracles/node/verdict-store";

const DOMAIN = proofDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const EPOCH_LENGTH = 3600n;
const EPOCH = 42n;
const EPOCH_START = 1_767_225_600n;
const GENESIS = EPOCH_START - EPOCH * EPOCH_LENGTH;
const NOW = EPOCH_START + 100n;

const devices = Array.from({ length: 8 }, (_, i) => new ethers.Wallet(ethers.id(`faults-store device ${i}`)));
const proof = (n: number): ProofRecord =>
  signProof(devices[n % devices.length], DOMAIN, {
    epoch: EPOCH,
    nonce: BigInt(1 + Math.floor(n / devices.length)),
    timestamp: EPOCH_START + 50n,
    resourceClass: ResourceClass.Coverage,
    kind: ProofKind.Heartbeat,
    payload: { uptimeSeconds: 60 + n },
  });
const wire = (r: ProofRecord) => JSON.parse(JSON.stringify(toProofJson(r))) as Record<string, unknown>;
const directory = () =>
  new MemoryDeviceDirectory(
    devices.map((d) => [
      d.address,
      { operator: d.address, resourceClass: ResourceClass.Coverage, status: DeviceStatus.Active },
    ]),
  );

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

class Harness {
  readonly store: ProofStore;
  readonly app: FastifyInstance;
  constructor(readonly path: string) {
    this.store = new ProofStore(path);
    this.app = buildIngestApp({
      store: this.store,
      directory: directory(),
      clock: new FixedEpochClock(GENESIS, EPOCH_LENGTH),
      domain: DOMAIN,
      now: () => NOW,
    });
  }
  async post(body: unknown, url = "/v1/proofs"): Promise<Reply> {
    const res = await this.app.inject({ method: "POST", url, payload: body as object });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  }
  async health(): Promise<Reply> {
    const res = await this.app.inject({ method: "GET", url: "/health" });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  }
  stored(r: ProofRecord): boolean {
    return this.store.digestOf(r.device, r.nonce) === proofDigest(DOMAIN, r).toLowerCase();
  }
  async close(): Promise<void> {
    await this.app.close();
    this.store.close();
  }
}

/** What a fault phase sent and what came back, checked against the store. */
interface Ledger {
  acked: ProofRecord[];
  refused: ProofRecord[];
}

/**
 * Posts `records` one by one (`concurrency` at a time); each must be 202 (then stored) or 503 store_unavailable
 * (then not stored).
 */
async function postAll(h: Harness, records: readonly ProofRecord[], concurrency = 1): Promise<Ledger> {
  const ledger: Ledger = { acked: [], refused: [] };
  for (let i = 0; i < records.length; i += concurrency) {
    const chunk = records.slice(i, i + concurrency);
    const replies = await Promise.all(chunk.map((r) => h.post(wire(r))));
    replies.forEach((reply, k) => {
      if (reply.status === 202) {
        expect(reply.body.digest).to.equal(proofDigest(DOMAIN, chunk[k]));
        ledger.acked.push(chunk[k]);
      } else {
        expect(reply.status, JSON.stringify(reply.body)).to.equal(503);
        expect(reply.body.error).to.equal("store_unavailable");
        expect(reply.body.message).to.be.a("string");
        ledger.refused.push(chunk[k]);
      }
    });
  }
  return ledger;
}

/** A batch while the store cannot commit: 503 as a whole, none of its items stored. */
async function expectBatchRefused(h: Harness, records: readonly ProofRecord[]): Promise<void> {
  const reply = await h.post(records.map(wire), "/v1/proofs/batch");
  expect(reply.status, JSON.stringify(reply.body)).to.equal(503);
  expect(reply.body.error).to.equal("store_unavailable");
  for (const r of records) expect(h.stored(r)).to.equal(false);
}

/** The same proofs once the fault is gone: every one accepted (single and batch), all of them stored. */
async function expectRecovered(h: Harness, singles: readonly ProofRecord[], batch: readonly ProofRecord[]) {
  const before = h.store.count();
  for (const r of singles) {
    const reply = await h.post(wire(r));
    expect(reply.status, JSON.stringify(reply.body)).to.equal(202);
  }
  const reply = await h.post(batch.map(wire), "/v1/proofs/batch");
  expect(reply.status).to.equal(200);
  expect(reply.body.accepted).to.equal(batch.length);
  for (const r of [...singles, ...batch]) expect(h.stored(r)).to.equal(true);
  expect(h.store.count()).to.equal(before + singles.length + batch.length);
}

function checkLedger(h: Harness, ledger: Ledger): void {
  for (const r of ledger.acked) expect(h.stored(r), `acknowledged ${r.device}/${r.nonce} is stored`).to.equal(true);
  for (const r of ledger.refused) expect(h.stored(r), `refused ${r.device}/${r.nonce} not stored`).to.equal(false);
}

/** Mounts a tmpfs of `size` at a new directory; null where mounting is not allowed. */
function mountTmpfs(size: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), "meshwork-fullfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync("umount", [dir], { stdio: "ignore" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes zeros to `path` until the file system says ENOSPC; returns the bytes written. */
function fillUp(path: string): number {
  const fd = openSync(path, "w");
  const block = Buffer.alloc(4096);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, block);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).to.equal("ENOSPC");
  } finally {
    closeSync(fd);
  }
  return written;
}

describe("adversarial: oracle store faults (full disk, unwritable store)", function () {
  this.timeout(60_000);
  let dir: string;
  const open: Harness[] = [];
  const harness = (path: string): Harness => {
    const h = new Harness(path);
    open.push(h);
    return h;
  };
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "meshwork-faults-"));
  });
  afterEach(async function () {
    for (const h of open.splice(0)) await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("full disk (SQLITE_FULL at max_page_count): 503, nothing acknowledged unstored, /health answers; recovers without restart", async function () {
    const h = harness(join(dir, "proofs.sqlite"));
    const records = Array.from({ length: 260 }, (_, i) => proof(i));
    // Some proofs before the disk fills up.
    const early = await postAll(h, records.slice(0, 20));
    expect(early.refused).to.deep.equal([]);

    const pages = h.store.setMaxPageCount(1); // SQLite keeps the current size: not one page more
    expect(pages).to.be.greaterThan(1);
    // One by one, then 10 concurrent clients at a time (one group commit each turn): the disk fills mid-stream.
    const sequential = await postAll(h, records.slice(20, 120));
    const concurrent = await postAll(h, records.slice(120, 220), 10);
    const ledger = {
      acked: [...sequential.acked, ...concurrent.acked],
      refused: [...sequential.refused, ...concurrent.refused],
    };
    expect(ledger.refused.length).to.be.greaterThan(0);
    checkLedger(h, ledger);
    // Full by now: a batch of 20 needs pages, refused as a whole.
    const batch = records.slice(220, 240);
    await expectBatchRefused(h, batch);
    expect(h.store.writeStatus()).to.deep.equal({ ok: false, reason: "database or disk is full" });
    // Reads go on.
    const health = await h.health();
    expect(health.status).to.equal(503);
    expect(health.body).to.deep.equal({
      ok: false,
      error: "store_unavailable",
      message: "database or disk is full",
      proofs: 20 + ledger.acked.length,
    });
    const sync = await h.app.inject({ method: "GET", url: `/v1/sync/proofs?epoch=${EPOCH}&limit=1000` });
    expect(sync.statusCode).to.equal(200);
    expect((sync.json() as { proofs: unknown[] }).proofs).to.have.length(20 + ledger.acked.length);
    console.log(
      `      cap ${pages} pages: ${ledger.acked.length} acknowledged and stored, ${ledger.refused.length} + batch of ` +
        `${batch.length} refused with 503 and not stored`,
    );

    // Space is back: the refused proofs go in, the acknowledged ones are replays.
    expect(h.store.setMaxPageCount(null)).to.be.greaterThan(1_000_000);
    await expectRecovered(h, ledger.refused, batch);
    expect(h.store.writeStatus()).to.deep.equal({ ok: true });
    for (const r of ledger.acked.slice(0, 3)) expect((await h.post(wire(r))).status).to.equal(409);
    expect((await h.health()).body).to.deep.equal({ ok: true, proofs: 240 });

    // And all of it survives a reopen.
    await h.close();
    open.splice(open.indexOf(h), 1);
    const reopened = new ProofStore(join(dir, "proofs.sqlite"));
    try {
      expect(reopened.countByEpoch(EPOCH)).to.equal(240);
    } finally {
      reopened.close();
    }
  });

  it("a REAL full disk (ENOSPC on an 8 MiB tmpfs): 503 while full, accepted again once space is freed", async function () {
    const mount = mountTmpfs("8m");
    if (mount === null) this.skip(); // needs the right to mount (root in a container, as in CI here)
    try {
      const h = new Harness(join(mount, "proofs.sqlite"));
      try {
        const records = Array.from({ length: 120 }, (_, i) => proof(1000 + i));
        expect((await postAll(h, records.slice(0, 20))).refused).to.deep.equal([]);
        const filler = join(mount, "filler");
        const filled = fillUp(filler);
        expect(filled).to.be.greaterThan(0);

        const ledger = await postAll(h, records.slice(20, 80), 5);
        expect(ledger.refused.length).to.be.greaterThan(0);
        checkLedger(h, ledger);
        const batch = records.slice(80, 100);
        await expectBatchRefused(h, batch);
        const health = await h.health();
        expect(health.status).to.equal(503);
        expect(health.body.proofs).to.equal(20 + ledger.acked.length);
        console.log(
          `      tmpfs filled (${filled} bytes of filler): ${ledger.acked.length} acknowledged and stored, ` +
            `${ledger.refused.length} + batch of ${batch.length} refused with 503`,
        );

        unlinkSync(filler);
        await expectRecovered(h, ledger.refused, batch);
        expect((await h.health()).body).to.deep.equal({ ok: true, proofs: 100 });
      } finally {
        await h.close();
      }
      const reopened = new ProofStore(join(mount, "proofs.sqlite"));
      try {
        expect(reopened.count()).to.equal(100);
      } finally {
        reopened.close();
      }
    } finally {
      unmount(mount);
    }
  });

  it("store moved away from its path (volume gone): 503 instead of acknowledging into a lost file; resumes when it is back", async function () {
    const volume = join(dir, "volume");
    mkdirSync(volume);
    const path = join(volume, "proofs.sqlite");
    const h = harness(path);
    const records = Array.from({ length: 60 }, (_, i) => proof(2000 + i));
    expect((await postAll(h, records.slice(0, 10))).refused).to.deep.equal([]);

    // The directory disappears from under the running store (the open descriptors still work: WAL writes would too).
    renameSync(volume, join(dir, "detached"));
    const gone = await postAll(h, records.slice(10, 30), 5);
    expect(gone.acked).to.deep.equal([]);
    await expectBatchRefused(h, records.slice(30, 40));
    expect((await h.health()).status).to.equal(503);
    expect((await h.health()).body.proofs).to.equal(10);
    expect(h.store.writeStatus()).to.deep.equal({
      ok: false,
      reason: "the store's database file is gone from its path (moved or deleted)",
    });

    // Another, empty store file at the path is not the store: still refused.
    mkdirSync(volume);
    writeFileSync(path, "");
    const replaced = await postAll(h, records.slice(40, 45));
    expect(replaced.acked).to.deep.equal([]);
    const refusal = await h.post(wire(records[45]));
    expect(refusal.status).to.equal(503);
    expect(refusal.body.message).to.match(/replaced by another file/);
    rmSync(volume, { recursive: true });

    // The same volume comes back: writes resume, the refused proofs go in.
    renameSync(join(dir, "detached"), volume);
    await expectRecovered(h, [...gone.refused, ...replaced.refused], records.slice(30, 40));
    await h.close();
    open.splice(open.indexOf(h), 1);
    const reopened = new ProofStore(path);
    try {
      expect(reopened.count()).to.equal(45);
    } finally {
      reopened.close();
    }
  });

  it("verdict store on a full disk: writes throw StoreUnavailableError (503), store nothing, and work again after", async function () {
    const path = join(dir, "node.sqlite");
    const verdicts = new VerdictStore(path);
    const proofs = new ProofStore(path); // same file, as server.ts opens them
    try {
      const verdict = (epoch: bigint): EpochVerdict => ({
        epoch,
        devicesCounted: 3n,
        rewardsRoot: ethers.id(`rewards ${epoch}`),
        faultsRoot: ethers.ZeroHash,
        leasesRoot: ethers.ZeroHash,
        totalWorkUnits: 1000n,
        dataHash: ethers.id(`data ${epoch}`),
      });
      const file = "x".repeat(64 * 1024); // a verdict file of 64 KiB: needs pages
      const oracle = new ethers.Wallet(ethers.id("faults-store oracle"));
      const domain = hubDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
      const signature = async (epoch: bigint) => ({
        signer: oracle.address,
        digest: ethers.id(`digest ${epoch}`),
        verdict: verdict(epoch),
        signature: await oracle.signTypedData(domain, { Dummy: [{ name: "epoch", type: "uint64" }] }, { epoch }),
      });
      verdicts.saveFile(ethers.id("digest 1"), verdict(1n), "small");

      verdicts.setMaxPageCount(1);
      const failures: unknown[] = [];
      const attempt = (run: () => unknown) => {
        try {
          run();
        } catch (error) {
          failures.push(error);
        }
      };
      attempt(() => verdicts.saveFile(ethers.id("digest 2"), verdict(2n), file));
      const sig = await signature(2n);
      // Fill whatever room is left with signatures until one fails.
      for (let e = 2n; e < 400n && failures.length < 2; e++) {
        attempt(() => verdicts.putSignature({ ...sig, verdict: verdict(e) }));
      }
      attempt(() => verdicts.setOwn(2n, { digest: ethers.id("digest 2"), proofCount: 5 }));
      expect(failures.length).to.be.greaterThanOrEqual(2);
      for (const error of failures) {
        expect(error).to.be.instanceOf(StoreUnavailableError);
        expect(classifyError(error)).to.include({ status: 503, code: "store_unavailable" });
        expect((error as StoreUnavailableError).cause).to.have.property("code", "SQLITE_FULL");
      }
      // Nothing of the failed writes is there; reads work.
      expect(verdicts.fileByDigest(ethers.id("digest 2"))).to.equal(null);
      expect(verdicts.fileByDigest(ethers.id("digest 1"))?.file).to.equal("small");
      // The proof store's connection has no cap: the cap is per connection, a real full disk hits both.
      expect(proofs.count()).to.equal(0);

      verdicts.setMaxPageCount(null);
      verdicts.saveFile(ethers.id("digest 2"), verdict(2n), file);
      verdicts.setOwn(2n, { digest: ethers.id("digest 2"), proofCount: 5 });
      expect(verdicts.fileByDigest(ethers.id("digest 2"))?.file).to.equal(file);
      expect(verdicts.own(2n)).to.deep.equal({ digest: ethers.id("digest 2").toLowerCase(), proofCount: 5 });
    } finally {
      proofs.close();
      verdicts.close();
    }
  });
});
