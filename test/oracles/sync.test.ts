import { expect } from "chai";
import { ethers } from "ethers";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import { createFleet, fleetProofs, type Fleet } from "../../oracles/agent";
import {
  parseProofRecord,
  proofDigest,
  proofDomain,
  signProof,
  SignerMismatchError,
  toProofJson,
  type ProofRecord,
} from "../../oracles/proof";
import { importProof, type ImportDeps } from "../../oracles/node/admit";
import { buildIngestApp } from "../../oracles/node/app";
import { FixedEpochClock, MemoryDeviceDirectory, type DeviceDirectory } from "../../oracles/node/directory";
import { UnknownDeviceError } from "../../oracles/node/errors";
import { ProofStore } from "../../oracles/node/store";
import { PeerSync, type Peer, type PeerSyncOptions } from "../../oracles/node/sync";

const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DOMAIN = proofDomain(31337n, REGISTRY);
const EPOCH_LENGTH = 3600n;
const EPOCH = 42n;
const GENESIS = 1_767_225_600n - EPOCH * EPOCH_LENGTH;
const SEED = ethers.id("sync epoch seed");
const windowOf = (epoch: bigint) => ({
  start: Number(GENESIS + epoch * EPOCH_LENGTH),
  end: Number(GENESIS + (epoch + 1n) * EPOCH_LENGTH),
});
/** Late in EPOCH: every fleet timestamp of EPOCH is in the past. */
const LATE_IN_EPOCH = GENESIS + (EPOCH + 1n) * EPOCH_LENGTH - 1n;

const fleet: Fleet = createFleet({
  count: 12,
  seed: "sync-fleet",
  proportions: { honest: 1 },
  classes: [ResourceClass.Coverage, ResourceClass.Energy, ResourceClass.Mapping],
  domain: DOMAIN,
});
const proofs: ProofRecord[] = fleetProofs(fleet, EPOCH, SEED, windowOf(EPOCH));
const stranger = new ethers.Wallet(ethers.id("sync stranger"));
const forgerKey = new ethers.Wallet(ethers.id("sync forger"));

const wire = (record: ProofRecord) => JSON.parse(JSON.stringify(toProofJson(record))) as Record<string, unknown>;
const digests = (store: ProofStore, epoch = EPOCH) => store.byEpoch(epoch).map((p) => p.digest).sort();

function directory(): MemoryDeviceDirectory {
  return new MemoryDeviceDirectory(
    fleet.members.map((m) => [
      m.device.address,
      { operator: ethers.ZeroAddress, resourceClass: m.device.resourceClass, status: DeviceStatus.Active },
    ]),
  );
}

/** A record naming a fleet device, signed by another key, as a lying oracle would have stored it. */
function forged(record: ProofRecord): ProofRecord {
  const signature = forgerKey.signingKey.sign(proofDigest(DOMAIN, record)).serialized;
  return { ...record, signature };
}

/** One in-process oracle: ingest app on a real socket, its store, and a PeerSync importing into that store. */
interface Oracle {
  app: FastifyInstance;
  store: ProofStore;
  url: string;
  deps: ImportDeps;
  clock: { now: bigint };
  sync(peers: readonly Peer[], options?: Partial<PeerSyncOptions>): PeerSync;
}

const running: { close(): Promise<void> }[] = [];

async function listen(app: FastifyInstance, port = 0): Promise<string> {
  running.push(app);
  return app.listen({ host: "127.0.0.1", port });
}

async function oracle(
  options: { store?: ProofStore; port?: number; directory?: DeviceDirectory } = {},
): Promise<Oracle> {
  const store = options.store ?? new ProofStore(":memory:");
  const clock = { now: LATE_IN_EPOCH };
  const dir = options.directory ?? directory();
  const deps: ImportDeps = { store, directory: dir, domain: DOMAIN, now: () => clock.now };
  const app = buildIngestApp({
    store,
    directory: dir,
    clock: new FixedEpochClock(GENESIS, EPOCH_LENGTH),
    domain: DOMAIN,
    now: () => clock.now,
  });
  const url = await listen(app, options.port);
  running.push({ close: async () => store.close() });
  return {
    app,
    store,
    url,
    deps,
    clock,
    sync: (peers, extra = {}) =>
      new PeerSync({ peers, import: (input) => importProof(input, deps), timeoutMs: 1000, ...extra }),
  };
}

async function post(o: Oracle, records: readonly ProofRecord[]): Promise<void> {
  for (const r of records) {
    const res = await o.app.inject({ method: "POST", url: "/v1/proofs", payload: wire(r) });
    expect(res.statusCode, res.body).to.equal(202);
  }
}

/** A fake peer whose sync route answers `reply` (status, raw body). */
async function liar(reply: () => { status?: number; body: string }): Promise<string> {
  const app = Fastify({ logger: false });
  app.get("/v1/sync/proofs", async (_request, res) => {
    const { status = 200, body } = reply();
    return res.code(status).type("application/json").send(body);
  });
  return listen(app);
}

/** A fetch that counts requests per URL prefix. */
function countingFetch(): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: (input, init) => {
      calls.push(String(input));
      return fetch(input, init);
    },
  };
}

async function servedMetric(o: Oracle): Promise<number> {
  const res = await o.app.inject({ method: "GET", url: "/metrics" });
  const m = /meshwork_ingest_sync_proofs_served_total (\d+)/.exec(res.body);
  expect(m, res.body).to.not.equal(null);
  return Number(m![1]);
}

describe("oracles/node sync", function () {
  this.timeout(10_000);

  before(function () {
    expect(proofs.length).to.be.greaterThan(30);
  });

  afterEach(async function () {
    for (const r of running.splice(0).reverse()) await r.close();
  });

  describe("ProofStore.page / countByEpoch", function () {
    it("pages an epoch by id ascending and counts per epoch", function () {
      const store = new ProofStore(":memory:");
      try {
        const other = signProof(fleet.members[0].device.wallet, DOMAIN, {
          epoch: EPOCH - 1n,
          nonce: 999n,
          timestamp: 1n,
          resourceClass: fleet.members[0].device.resourceClass,
          kind: proofs[0].kind,
          payload: proofs[0].payload,
        } as Parameters<typeof signProof>[2]);
        store.insert(proofs[0], proofDigest(DOMAIN, proofs[0]));
        store.insert(other, proofDigest(DOMAIN, other));
        for (const r of proofs.slice(1, 5)) store.insert(r, proofDigest(DOMAIN, r));

        expect(store.countByEpoch(EPOCH)).to.equal(5);
        expect(store.countByEpoch(EPOCH - 1n)).to.equal(1);
        expect(store.countByEpoch(EPOCH + 1n)).to.equal(0);

        const first = store.page(EPOCH, 0, 3);
        expect(first.proofs.map((p) => parseProofRecord(JSON.parse(p.body)))).to.deep.equal(proofs.slice(0, 3));
        expect(first.proofs.map((p) => p.id)).to.deep.equal([1, 3, 4]);
        expect(first.proofs[0].digest).to.equal(proofDigest(DOMAIN, proofs[0]).toLowerCase());
        expect(first.next).to.equal(4);
        const second = store.page(EPOCH, first.next, 3);
        expect(second.proofs.map((p) => parseProofRecord(JSON.parse(p.body)))).to.deep.equal(proofs.slice(3, 5));
        expect(second.next).to.equal(6);
        expect(store.page(EPOCH, second.next, 3)).to.deep.equal({ proofs: [], next: 6 });
        expect(store.page(EPOCH + 1n, 0, 3)).to.deep.equal({ proofs: [], next: 0 });
        expect(() => store.page(EPOCH, -1, 3)).to.throw(RangeError);
        expect(() => store.page(EPOCH, 0, 0)).to.throw(RangeError);
      } finally {
        store.close();
      }
    });
  });

  describe("importProof", function () {
    it("stores a proof once; a duplicate (same proof, or same device and nonce with a larger digest) is not an error", async function () {
      const o = await oracle();
      const first = await importProof(wire(proofs[0]), o.deps);
      expect(first).to.deep.equal({ digest: proofDigest(DOMAIN, proofs[0]), inserted: true });
      expect(await importProof(wire(proofs[0]), o.deps)).to.deep.equal({ ...first, inserted: false });
      const sameNonce = signProof(fleet.members[0].device.wallet, DOMAIN, {
        ...proofs[0],
        timestamp: proofs[0].timestamp - 1n,
      } as Parameters<typeof signProof>[2]);
      // Equivocation: the smaller digest is kept (store.ts).
      const smaller = proofDigest(DOMAIN, sameNonce).toLowerCase() < proofDigest(DOMAIN, proofs[0]).toLowerCase();
      expect((await importProof(wire(sameNonce), o.deps)).inserted).to.equal(smaller);
      expect(o.store.count()).to.equal(1);
    });

    it("keeps the signature, registration and class checks", async function () {
      const o = await oracle();
      let error: unknown;
      await importProof(wire(forged(proofs[0])), o.deps).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(SignerMismatchError);
      const foreign = signProof(stranger, DOMAIN, { ...proofs[0] } as Parameters<typeof signProof>[2]);
      error = undefined;
      await importProof(wire(foreign), o.deps).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(UnknownDeviceError);
      expect(o.store.count()).to.equal(0);
    });
  });

  describe("GET /v1/sync/proofs", function () {
    it("serves an epoch's proofs in wire form, paged, and counts them in metrics", async function () {
      const o = await oracle();
      await post(o, proofs.slice(0, 5));
      const res = await o.app.inject({ method: "GET", url: `/v1/sync/proofs?epoch=${EPOCH}&limit=3` });
      expect(res.statusCode).to.equal(200);
      const body = res.json() as { epoch: string; proofs: unknown[]; next: number };
      expect(body.epoch).to.equal(EPOCH.toString());
      expect(body.proofs).to.deep.equal(proofs.slice(0, 3).map(wire));
      const rest = await o.app.inject({ method: "GET", url: `/v1/sync/proofs?epoch=${EPOCH}&after=${body.next}` });
      expect(rest.json()).to.deep.equal({ epoch: EPOCH.toString(), proofs: proofs.slice(3, 5).map(wire), next: 5 });
      const empty = await o.app.inject({ method: "GET", url: `/v1/sync/proofs?epoch=7` });
      expect(empty.json()).to.deep.equal({ epoch: "7", proofs: [], next: 0 });
      expect(await servedMetric(o)).to.equal(5);
    });

    it("answers 400 with a JSON reason to bad query values", async function () {
      const o = await oracle();
      const bad = [
        "",
        "epoch=",
        "epoch=x",
        "epoch=-1",
        "epoch=1.5",
        "epoch=01",
        `epoch=${1n << 64n}`,
        "epoch=1&epoch=2",
        "epoch=1&after=-1",
        "epoch=1&after=x",
        `epoch=1&after=${2 ** 53}`,
        "epoch=1&limit=0",
        "epoch=1&limit=1001",
        "epoch=1&limit=abc",
      ];
      for (const q of bad) {
        const res = await o.app.inject({ method: "GET", url: `/v1/sync/proofs?${q}` });
        expect(res.statusCode, q).to.equal(400);
        expect(res.json(), q).to.include({ error: "bad_request" });
        expect(res.json().message, q).to.be.a("string").and.include("bad sync query");
      }
      const max = await o.app.inject({ method: "GET", url: `/v1/sync/proofs?epoch=${(1n << 64n) - 1n}&limit=1000` });
      expect(max.statusCode).to.equal(200);
      // Bad sync queries are not counted as rejected proofs.
      const metrics = await o.app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).to.not.include("meshwork_ingest_proofs_rejected_total{");
    });
  });

  describe("PeerSync", function () {
    it("brings the proofs posted to A and C to B, then only new ones (cursor)", async function () {
      const [a, b, c] = [await oracle(), await oracle(), await oracle()];
      const half = Math.floor(proofs.length / 2);
      await post(a, proofs.slice(0, half));
      await post(c, proofs.slice(half, half + 5));
      const sync = b.sync([
        { id: "a", url: a.url },
        { id: "c", url: c.url },
      ]);

      expect(await sync.pullEpoch(EPOCH)).to.deep.equal({ imported: half + 5, duplicates: 0, invalid: 0, failedPeers: [] });
      expect(digests(b.store)).to.deep.equal(proofs.slice(0, half + 5).map((p) => proofDigest(DOMAIN, p)).sort());

      await post(a, proofs.slice(half + 5));
      const servedBefore = await servedMetric(a);
      const second = await sync.pullEpoch(EPOCH);
      expect(second).to.deep.equal({
        imported: proofs.length - half - 5,
        duplicates: 0,
        invalid: 0,
        failedPeers: [],
      });
      expect(await servedMetric(a)).to.equal(servedBefore + proofs.length - half - 5);
      expect(digests(b.store)).to.deep.equal(proofs.map((p) => proofDigest(DOMAIN, p)).sort());
      expect(await sync.pullEpoch(EPOCH)).to.deep.equal({ imported: 0, duplicates: 0, invalid: 0, failedPeers: [] });

      // A pulling from B gets back its own proofs as duplicates plus C's.
      const back = await a.sync([{ id: "b", url: b.url }]).pullEpoch(EPOCH);
      expect(back).to.deep.equal({ imported: 5, duplicates: proofs.length - 5, invalid: 0, failedPeers: [] });
      expect(digests(a.store)).to.deep.equal(digests(b.store));
    });

    it("equivocation: two proofs under one (device, nonce) sent to different oracles converge on the smaller digest", async function () {
      // The device signs a second, different proof under the nonce of one of its proofs.
      const original = proofs[0];
      const member = fleet.members.find((m) => m.device.address === original.device)!;
      const { signature: _signature, ...unsigned } = original;
      const twin = signProof(member.device.wallet, DOMAIN, { ...unsigned, timestamp: original.timestamp - 1n });
      const [small, large] = [original, twin].sort((x, y) =>
        proofDigest(DOMAIN, x).toLowerCase() < proofDigest(DOMAIN, y).toLowerCase() ? -1 : 1,
      );
      const smallDigest = proofDigest(DOMAIN, small).toLowerCase();

      // Oracle A gets the larger, then the smaller straight from the device: a replayed nonce (409). B gets only the
      // larger, C only the smaller; then they all pull from each other.
      const [a, b, c] = [await oracle(), await oracle(), await oracle()];
      await post(a, [large]);
      const again = await a.app.inject({ method: "POST", url: "/v1/proofs", payload: wire(small) });
      expect(again.statusCode).to.equal(409);
      await post(b, [large]);
      await post(c, [small]);
      for (const [o, peers] of [
        [b, [a, c]],
        [c, [a, b]],
        [a, [b, c]],
      ] as const) {
        await o.sync(peers.map((p, i) => ({ id: `p${i}`, url: p.url }))).pullEpoch(EPOCH);
      }
      for (const o of [a, b, c]) {
        expect(o.store.digestOf(original.device, original.nonce)).to.equal(smallDigest);
        expect(o.store.countByEpoch(EPOCH)).to.equal(1);
      }
      // B's replaced proof has a new id: a peer whose cursor passed the old one is served it again.
      const version = b.store.epochVersion(EPOCH);
      expect(version.count).to.equal(1);
      expect(version.lastId).to.be.greaterThan(1);
    });

    it("follows pages over more proofs than the page size", async function () {
      const [a, b] = [await oracle(), await oracle()];
      await post(a, proofs);
      const counter = countingFetch();
      const sync = b.sync([{ id: "a", url: a.url }], { pageSize: 7, fetch: counter.fetch });
      const report = await sync.pullEpoch(EPOCH);
      expect(report).to.deep.equal({ imported: proofs.length, duplicates: 0, invalid: 0, failedPeers: [] });
      expect(counter.calls).to.have.length(Math.floor(proofs.length / 7) + 1);
      expect(counter.calls[0]).to.match(/after=0&limit=7$/);
      expect(b.store.countByEpoch(EPOCH)).to.equal(proofs.length);
    });

    it("reports a peer that is down, and catches up with it later", async function () {
      const b = await oracle();
      const storeA = new ProofStore(":memory:");
      const probe = await oracle({ store: storeA });
      const port = Number(new URL(probe.url).port);
      await post(probe, proofs.slice(0, 10));
      await probe.app.close(); // A goes down; its store stays
      const [live] = [await oracle()];
      await post(live, proofs.slice(10, 12));
      const sync = b.sync([
        { id: "a", url: `http://127.0.0.1:${port}` },
        { id: "live", url: live.url },
      ]);

      expect(await sync.pullEpoch(EPOCH)).to.deep.equal({ imported: 2, duplicates: 0, invalid: 0, failedPeers: ["a"] });

      await oracle({ store: storeA, port }); // A is back on the same port
      expect(await sync.pullEpoch(EPOCH)).to.deep.equal({ imported: 10, duplicates: 0, invalid: 0, failedPeers: [] });
      expect(b.store.countByEpoch(EPOCH)).to.equal(12);
    });

    it("times out a peer that does not answer", async function () {
      const b = await oracle();
      // The request never gets an answer; closing the server must not wait for it.
      const app = Fastify({ logger: false, forceCloseConnections: true });
      app.get("/v1/sync/proofs", () => new Promise<never>(() => undefined));
      const url = await listen(app);
      const started = Date.now();
      const sync = b.sync([{ id: "slow", url }], { timeoutMs: 100 });
      expect(await sync.pullEpoch(EPOCH)).to.deep.equal({
        imported: 0,
        duplicates: 0,
        invalid: 0,
        failedPeers: ["slow"],
      });
      expect(Date.now() - started).to.be.lessThan(1000);
      await app.close().catch(() => undefined);
    });

    it("lets a lying peer insert nothing: forged, unknown-device and other-epoch proofs are invalid", async function () {
      const [liarOracle, b] = [await oracle(), await oracle()];
      // The lying oracle stores what ingest would refuse, bypassing the checks.
      const foreign = signProof(stranger, DOMAIN, { ...proofs[1] } as Parameters<typeof signProof>[2]);
      const bad = [forged(proofs[0]), foreign, forged(proofs[2])];
      for (const r of bad) liarOracle.store.insert(r, proofDigest(DOMAIN, r));
      liarOracle.store.insert(proofs[3], proofDigest(DOMAIN, proofs[3])); // one honest proof among them
      const sync = b.sync([{ id: "liar", url: liarOracle.url }]);
      expect(await sync.pullEpoch(EPOCH)).to.deep.equal({ imported: 1, duplicates: 0, invalid: 3, failedPeers: [] });
      expect(digests(b.store)).to.deep.equal([proofDigest(DOMAIN, proofs[3])]);

      // A page of the asked epoch with garbage items and a proof of another epoch: all invalid, peer not failed.
      const otherEpoch = fleetProofs(fleet, EPOCH - 5n, SEED, windowOf(EPOCH - 5n))[0];
      const url = await liar(() => ({
        body: JSON.stringify({ epoch: EPOCH.toString(), proofs: [42, null, { epoch: 1 }, wire(otherEpoch)], next: 9 }),
      }));
      const report = await b.sync([{ id: "garbage-items", url }]).pullEpoch(EPOCH);
      expect(report).to.deep.equal({ imported: 0, duplicates: 0, invalid: 4, failedPeers: [] });
      expect(b.store.count()).to.equal(1);
    });

    it("marks a peer serving malformed pages as failed", async function () {
      const b = await oracle();
      const page = (over: Record<string, unknown>) =>
        JSON.stringify({ epoch: EPOCH.toString(), proofs: [wire(proofs[0])], next: 1, ...over });
      const bodies = [
        "not json",
        "[]",
        JSON.stringify({ proofs: [] }),
        page({ proofs: "x" }),
        page({ next: -1 }),
        page({ next: 0 }), // does not advance
        page({ epoch: "41" }),
        page({ next: 1.5 }),
      ];
      const peers: Peer[] = [];
      for (const [i, body] of bodies.entries()) peers.push({ id: `p${i}`, url: await liar(() => ({ body })) });
      peers.push({ id: "500", url: await liar(() => ({ status: 500, body: page({}) })) });
      const report = await b.sync(peers, { maxPageBytes: 1 << 20 }).pullEpoch(EPOCH);
      expect(report.failedPeers).to.deep.equal(peers.map((p) => p.id));
      expect(report.imported + report.duplicates + report.invalid).to.equal(0);
      expect(b.store.count()).to.equal(0);

      const huge = await liar(() => ({ body: page({ padding: "a".repeat(2048) }) }));
      const big = await b.sync([{ id: "huge", url: huge }], { maxPageBytes: 1024 }).pullEpoch(EPOCH);
      expect(big.failedPeers).to.deep.equal(["huge"]);
    });

    it("imports proofs of a closed epoch from a peer, though ingest refuses them from a device", async function () {
      const [a, b] = [await oracle(), await oracle()];
      await post(a, proofs.slice(0, 6));
      a.clock.now = b.clock.now = LATE_IN_EPOCH + 2n * EPOCH_LENGTH; // two epochs on: EPOCH is closed
      const res = await b.app.inject({ method: "POST", url: "/v1/proofs", payload: wire(proofs[0]) });
      expect(res.statusCode).to.equal(422);
      expect(res.json()).to.include({ error: "wrong_epoch" });

      const report = await b.sync([{ id: "a", url: a.url }]).pullEpoch(EPOCH);
      expect(report).to.deep.equal({ imported: 6, duplicates: 0, invalid: 0, failedPeers: [] });
      expect(b.store.countByEpoch(EPOCH)).to.equal(6);
    });

    it("does not skip a page when the import fails for a reason other than the proof (directory down)", async function () {
      const a = await oracle();
      await post(a, proofs.slice(0, 4));
      const healthy = directory();
      let down = true;
      const flaky: DeviceDirectory = {
        lookup: async (device) => {
          if (down) throw new Error("rpc unavailable");
          return healthy.lookup(device);
        },
      };
      const b = await oracle({ directory: flaky });
      const sync = b.sync([{ id: "a", url: a.url }]);
      expect(await sync.pullEpoch(EPOCH)).to.deep.equal({ imported: 0, duplicates: 0, invalid: 0, failedPeers: ["a"] });
      down = false;
      expect(await sync.pullEpoch(EPOCH)).to.deep.equal({ imported: 4, duplicates: 0, invalid: 0, failedPeers: [] });
    });

    it("runs in the background until stopped, one round at a time", async function () {
      const [a, b] = [await oracle(), await oracle()];
      await post(a, proofs.slice(0, 8));
      const counter = countingFetch();
      const sync = b.sync([{ id: "a", url: a.url }], { fetch: counter.fetch, logger: pino({ level: "silent" }) });
      expect(() => new PeerSync({ peers: [], import: async () => ({ inserted: true }), pageSize: 0 })).to.throw(
        RangeError,
      );
      sync.start(() => [EPOCH - 1n, EPOCH], 10);
      expect(() => sync.start(() => [], 10)).to.throw(/already started/);
      const deadline = Date.now() + 3000;
      while (b.store.countByEpoch(EPOCH) < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(b.store.countByEpoch(EPOCH)).to.equal(8);
      await post(a, proofs.slice(8, 10));
      while (b.store.countByEpoch(EPOCH) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(b.store.countByEpoch(EPOCH)).to.equal(10);
      await sync.stop();
      const calls = counter.calls.length;
      await new Promise((r) => setTimeout(r, 50));
      expect(counter.calls.length).to.equal(calls);
    });

    it("stops its loop when the epoch list fails, and stop() reports it", async function () {
      const sync = new PeerSync({ peers: [], import: async () => ({ inserted: true }) });
      sync.start(() => {
        throw new Error("no clock");
      }, 10);
      await new Promise((r) => setTimeout(r, 30));
      let error: unknown;
      await sync.stop().catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(Error).with.property("message", "no clock");
    });
  });
});
