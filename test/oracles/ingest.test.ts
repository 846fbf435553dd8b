import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "ethers";
import type { FastifyInstance } from "fastify";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import {
  proofDigest,
  proofDomain,
  ProofKind,
  signProof,
  toProofJson,
  type ProofDraft,
  type ProofRecord,
} from "../../oracles/proof";
import { buildIngestApp, type IngestAppOptions } from "../../oracles/node/app";
import { FixedEpochClock, MemoryDeviceDirectory, type DeviceDirectory } from "../../oracles/node/directory";
import { ProofStore } from "../../oracles/node/store";

const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DOMAIN = proofDomain(31337n, REGISTRY);
const OTHER_CHAIN = proofDomain(1n, REGISTRY);
const h32 = (tag: string) => ethers.keccak256(ethers.toUtf8Bytes(tag));

const device = new ethers.Wallet(h32("ingest device"));
const storageDevice = new ethers.Wallet(h32("ingest storage device"));
const jailed = new ethers.Wallet(h32("ingest jailed device"));
const removed = new ethers.Wallet(h32("ingest removed device"));
const stranger = new ethers.Wallet(h32("ingest unknown device"));
const operator = new ethers.Wallet(h32("ingest operator")).address;

const EPOCH_LENGTH = 3600n;
const EPOCH = 42n;
const EPOCH_START = 1_767_225_600n;
const GENESIS = EPOCH_START - EPOCH * EPOCH_LENGTH;
const NOW = EPOCH_START + 100n;

function draft(overrides: Partial<{ epoch: bigint; nonce: bigint; timestamp: bigint; uptime: number }> = {}): ProofDraft {
  return {
    epoch: overrides.epoch ?? EPOCH,
    nonce: overrides.nonce ?? 1n,
    timestamp: overrides.timestamp ?? EPOCH_START + 50n,
    resourceClass: ResourceClass.Coverage,
    kind: ProofKind.Heartbeat,
    payload: { uptimeSeconds: overrides.uptime ?? 3600 },
  };
}

const sign = (wallet: ethers.Wallet, d: ProofDraft = draft(), domain = DOMAIN) => signProof(wallet, domain, d);
const wire = (record: ProofRecord) => JSON.parse(JSON.stringify(toProofJson(record))) as Record<string, unknown>;

function directory(): MemoryDeviceDirectory {
  return new MemoryDeviceDirectory([
    [device.address, { operator, resourceClass: ResourceClass.Coverage, status: DeviceStatus.Active }],
    [storageDevice.address, { operator, resourceClass: ResourceClass.Storage, status: DeviceStatus.Active }],
    [jailed.address, { operator, resourceClass: ResourceClass.Coverage, status: DeviceStatus.Jailed }],
    [removed.address, { operator, resourceClass: ResourceClass.Coverage, status: DeviceStatus.Removed }],
  ]);
}

interface Harness {
  app: FastifyInstance;
  store: ProofStore;
}

function harness(overrides: Partial<IngestAppOptions> = {}, storePath = ":memory:"): Harness {
  const store = new ProofStore(storePath);
  const app = buildIngestApp({
    store,
    directory: directory(),
    clock: new FixedEpochClock(GENESIS, EPOCH_LENGTH),
    domain: DOMAIN,
    now: () => NOW,
    maxBatchItems: 10,
    ...overrides,
  });
  return { app, store };
}

async function post(app: FastifyInstance, body: unknown, url = "/v1/proofs") {
  const res = await app.inject({ method: "POST", url, payload: body as object });
  return { status: res.statusCode, body: res.json() as Record<string, unknown>, res };
}

async function expectRejected(app: FastifyInstance, body: unknown, status: number, error: string, fragment?: string) {
  const r = await post(app, body);
  expect(r.status, JSON.stringify(r.body)).to.equal(status);
  expect(r.res.headers["content-type"]).to.match(/application\/json/);
  expect(r.body.error).to.equal(error);
  expect(r.body.message).to.be.a("string");
  if (fragment) expect(r.body.message).to.include(fragment);
}

describe("oracles/node ingest", function () {
  let h: Harness;
  beforeEach(function () {
    h = harness();
  });
  afterEach(async function () {
    await h.app.close();
    h.store.close();
  });

  describe("POST /v1/proofs: accepted", function () {
    it("stores a valid proof before replying 202 with its digest", async function () {
      const record = sign(device);
      const r = await post(h.app, wire(record));
      expect(r.status).to.equal(202);
      expect(r.body).to.deep.equal({ accepted: true, digest: proofDigest(DOMAIN, record) });
      expect(h.store.count()).to.equal(1);
      const [stored] = h.store.byEpoch(EPOCH);
      expect(stored.record).to.deep.equal(record);
      expect(stored.digest).to.equal(proofDigest(DOMAIN, record));
      expect(stored.receivedAt).to.equal(Number(NOW) * 1000);
      expect(h.store.byEpoch(EPOCH - 1n)).to.deep.equal([]);
    });

    it("is durable: readable after reopening a file-backed store", async function () {
      const dir = mkdtempSync(join(tmpdir(), "meshwork-ingest-"));
      try {
        const path = join(dir, "proofs.sqlite");
        const first = harness({}, path);
        const records = [sign(device, draft({ nonce: 1n })), sign(jailed, draft({ nonce: 1n, epoch: EPOCH - 1n }))];
        for (const record of records) expect((await post(first.app, wire(record))).status).to.equal(202);
        await first.app.close();
        first.store.close();

        const reopened = new ProofStore(path);
        try {
          expect(reopened.count()).to.equal(2);
          expect(reopened.byEpoch(EPOCH).map((p) => p.record)).to.deep.equal([records[0]]);
          expect(reopened.byEpoch(EPOCH - 1n).map((p) => p.record)).to.deep.equal([records[1]]);
          // The replay guard survives the restart too.
          expect(reopened.insert(records[0], proofDigest(DOMAIN, records[0]))).to.equal("duplicate");
        } finally {
          reopened.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("accepts Jailed devices, the previous epoch (grace) and timestamps within the skew", async function () {
      expect((await post(h.app, wire(sign(jailed)))).status).to.equal(202);
      expect((await post(h.app, wire(sign(device, draft({ nonce: 2n, epoch: EPOCH - 1n }))))).status).to.equal(202);
      expect((await post(h.app, wire(sign(device, draft({ nonce: 3n, timestamp: NOW + 60n }))))).status).to.equal(202);
    });
  });

  describe("POST /v1/proofs: rejected with a JSON reason", function () {
    it("400 malformed JSON", async function () {
      const res = await h.app.inject({
        method: "POST",
        url: "/v1/proofs",
        headers: { "content-type": "application/json" },
        payload: '{"device": "0x12',
      });
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.include({ error: "malformed_json" });
    });

    it("400 empty body and wrong content type", async function () {
      const empty = await h.app.inject({ method: "POST", url: "/v1/proofs", headers: { "content-type": "application/json" } });
      expect(empty.statusCode).to.equal(400);
      expect(empty.json().error).to.be.a("string");
      const text = await h.app.inject({
        method: "POST",
        url: "/v1/proofs",
        headers: { "content-type": "text/plain" },
        payload: JSON.stringify(wire(sign(device))),
      });
      expect(text.statusCode).to.equal(400);
      expect(text.json()).to.include({ error: "unsupported_media_type" });
      const missing = await h.app.inject({ method: "POST", url: "/v1/proofs", payload: "x" });
      expect(missing.statusCode).to.equal(400);
      expect(missing.json().error).to.be.a("string");
    });

    it("400 wrong types", async function () {
      await expectRejected(h.app, { ...wire(sign(device)), epoch: true }, 400, "malformed_proof", "epoch");
      await expectRejected(h.app, { ...wire(sign(device)), payload: { uptimeSeconds: "x" } }, 400, "malformed_proof");
      await expectRejected(h.app, [], 400, "malformed_proof");
      await expectRejected(h.app, { ...wire(sign(device)), extra: 1 }, 400, "malformed_proof");
    });

    it("413 huge body", async function () {
      const huge = { ...wire(sign(device)), padding: "a".repeat(600 * 1024) };
      await expectRejected(h.app, huge, 413, "payload_too_large");
    });

    it("403 unknown or Removed device", async function () {
      await expectRejected(h.app, wire(sign(stranger)), 403, "unknown_device", stranger.address);
      await expectRejected(h.app, wire(sign(removed)), 403, "unknown_device");
    });

    it("422 class other than the registered one", async function () {
      await expectRejected(h.app, wire(sign(storageDevice)), 422, "class_mismatch");
    });

    it("422 wrong epoch (older than the grace epoch, or future)", async function () {
      await expectRejected(h.app, wire(sign(device, draft({ epoch: EPOCH - 2n }))), 422, "wrong_epoch");
      await expectRejected(h.app, wire(sign(device, draft({ epoch: EPOCH + 1n }))), 422, "wrong_epoch");
    });

    it("422 timestamp in the future beyond the skew", async function () {
      await expectRejected(h.app, wire(sign(device, draft({ timestamp: NOW + 61n }))), 422, "future_timestamp");
    });

    it("409 replayed nonce (another record with the same device and nonce)", async function () {
      expect((await post(h.app, wire(sign(device, draft({ uptime: 1 }))))).status).to.equal(202);
      await expectRejected(h.app, wire(sign(device, draft({ uptime: 2 }))), 409, "replay");
      expect(h.store.count()).to.equal(1);
    });

    it("409 same proof (same digest) twice", async function () {
      const body = wire(sign(device));
      expect((await post(h.app, body)).status).to.equal(202);
      await expectRejected(h.app, body, 409, "replay");
      expect(h.store.count()).to.equal(1);
    });

    it("400 forged signature (another key over the same digest)", async function () {
      const record = sign(device);
      const forged = new ethers.Wallet(h32("forger")).signingKey.sign(proofDigest(DOMAIN, record)).serialized;
      await expectRejected(h.app, { ...wire(record), signature: forged }, 400, "invalid_signature");
      await expectRejected(h.app, { ...wire(record), signature: "0x" + "00".repeat(65) }, 400, "invalid_signature");
      expect(h.store.count()).to.equal(0);
    });

    it("400 signature made for another chain (domain differs)", async function () {
      await expectRejected(h.app, wire(sign(device, draft(), OTHER_CHAIN)), 400, "invalid_signature");
    });

    it("404 JSON for unknown routes", async function () {
      const res = await h.app.inject({ method: "GET", url: "/nope" });
      expect(res.statusCode).to.equal(404);
      expect(res.json()).to.include({ error: "not_found" });
    });

    it("500 without leaking internals when a dependency fails", async function () {
      const failing: DeviceDirectory = {
        lookup: async () => {
          throw new Error("rpc https://user:secret@node failed");
        },
      };
      const broken = harness({ directory: failing });
      try {
        const r = await post(broken.app, wire(sign(device)));
        expect(r.status).to.equal(500);
        expect(r.body).to.deep.equal({ error: "internal", message: "internal error" });
      } finally {
        await broken.app.close();
        broken.store.close();
      }
    });
  });

  describe("POST /v1/proofs/batch", function () {
    it("answers each item independently", async function () {
      const good = sign(device, draft({ nonce: 10n }));
      const forged = { ...wire(sign(device, draft({ nonce: 11n }))), signature: wire(sign(jailed)).signature };
      const batch = [wire(good), forged, wire(good), wire(sign(stranger)), 42, wire(sign(jailed, draft({ nonce: 12n })))];
      const r = await post(h.app, batch, "/v1/proofs/batch");
      expect(r.status).to.equal(200);
      expect(r.body.accepted).to.equal(2);
      expect(r.body.rejected).to.equal(4);
      const results = r.body.results as Array<Record<string, unknown>>;
      expect(results.map((x) => x.index)).to.deep.equal([0, 1, 2, 3, 4, 5]);
      expect(results[0]).to.deep.equal({ index: 0, accepted: true, digest: proofDigest(DOMAIN, good) });
      expect(results.slice(1, 5).map((x) => [x.accepted, x.status, x.error])).to.deep.equal([
        [false, 400, "invalid_signature"],
        [false, 409, "replay"],
        [false, 403, "unknown_device"],
        [false, 400, "malformed_proof"],
      ]);
      expect(results[5].accepted).to.equal(true);
      expect(h.store.count()).to.equal(2);
    });

    it("rejects a body that is not an array (400) or has too many items (413)", async function () {
      const notArray = await post(h.app, { proofs: [] }, "/v1/proofs/batch");
      expect(notArray.status).to.equal(400);
      expect(notArray.body.error).to.equal("bad_request");
      const tooMany = await post(h.app, Array.from({ length: 11 }, () => 1), "/v1/proofs/batch");
      expect(tooMany.status).to.equal(413);
      expect(tooMany.body.error).to.equal("payload_too_large");
    });
  });

  describe("GET /health and /metrics", function () {
    it("report the store size and counters by reason", async function () {
      await post(h.app, wire(sign(device)));
      await post(h.app, wire(sign(device)));
      await post(h.app, wire(sign(stranger)));
      await post(h.app, [wire(sign(jailed)), 7], "/v1/proofs/batch");

      const health = await h.app.inject({ method: "GET", url: "/health" });
      expect(health.statusCode).to.equal(200);
      expect(health.json()).to.deep.equal({ ok: true, proofs: 2 });

      const metrics = await h.app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.statusCode).to.equal(200);
      expect(metrics.headers["content-type"]).to.match(/^text\/plain/);
      expect(metrics.body).to.include("# TYPE meshwork_ingest_proofs_accepted_total counter");
      expect(metrics.body).to.include("meshwork_ingest_proofs_accepted_total 2\n");
      expect(metrics.body).to.include('meshwork_ingest_proofs_rejected_total{reason="replay"} 1\n');
      expect(metrics.body).to.include('meshwork_ingest_proofs_rejected_total{reason="unknown_device"} 1\n');
      expect(metrics.body).to.include('meshwork_ingest_proofs_rejected_total{reason="malformed_proof"} 1\n');
      expect(metrics.body).to.include("meshwork_ingest_proofs_stored 2\n");
    });
  });

  describe("never crashes", function () {
    const check = async (body: string) => {
      const res = await h.app.inject({
        method: "POST",
        url: "/v1/proofs",
        headers: { "content-type": "application/json" },
        payload: body,
      });
      expect(res.statusCode, body.slice(0, 200)).to.be.within(400, 499);
      expect(res.json().error).to.be.a("string");
    };

    it("answers 4xx to any JSON value", async function () {
      await fc.assert(fc.asyncProperty(fc.jsonValue(), (value) => check(JSON.stringify(value) ?? "null")), {
        numRuns: 300,
      });
    });

    it("answers 4xx to a valid record with one field replaced by any JSON value", async function () {
      const base = wire(sign(device, draft({ nonce: 99n })));
      const keys = [...Object.keys(base), "payload.uptimeSeconds", "extra"];
      // Store the record first: a value that happens to rebuild it is then a replay (409), still a 4xx.
      expect((await post(h.app, base)).status).to.equal(202);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...keys), fc.jsonValue(), async (key, value) => {
          const body: Record<string, unknown> = { ...base };
          if (key === "payload.uptimeSeconds") body.payload = { uptimeSeconds: value };
          else body[key] = value;
          await check(JSON.stringify(body));
        }),
        { numRuns: 300 },
      );
    });

    it("answers 4xx to arbitrary bytes sent as JSON", async function () {
      await fc.assert(fc.asyncProperty(fc.string({ maxLength: 200 }), (s) => check(s.length === 0 ? " " : s)), {
        numRuns: 200,
      });
    });
  });
});
