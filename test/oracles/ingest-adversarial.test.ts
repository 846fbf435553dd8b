/**
 * Adversarial suite of the ingest API (POST /v1/proofs, POST /v1/proofs/batch), next to the hand-written cases of
 * ingest.test.ts:
 * - generated (fast-check): sequences of requests mixing VALID proofs (heartbeat, storage answer, compute product)
 *   with bad input (arbitrary JSON and bytes, mutated valid proofs: a field flipped, replaced by any JSON value,
 *   dropped or added, oversize, re-signed with a wrong epoch / future timestamp / replayed nonce, under another chain
 *   id or registry, high-s malleated, unknown signer, truncated Merkle paths, wrong matrix products), one by one and
 *   inside batches. Every bad one gets a 4xx `{error, message}` (never a 5xx, never a hang), every valid one is
 *   accepted and found in the store afterwards, and the app still answers /health.
 * - hand-written: the content pre-checks (422 `invalid_proof`, stored as evidence, faulted at epoch end as before),
 *   the epoch seed source, and request shapes ingest.test.ts does not cover.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "ethers";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";

import { DeviceStatus, FaultKind, ResourceClass } from "../../sdk/enums";
import { committedChunks, periodicStore, pseudoRandomChunks } from "../../oracles/agent";
import { ChainSeedSource } from "../../oracles/chain/directory";
import { contentFlaw } from "../../oracles/node/admit";
import { buildIngestApp, type IngestAppOptions } from "../../oracles/node/app";
import { FixedEpochClock, MemoryDeviceDirectory, type DeviceInfo, type SeedSource } from "../../oracles/node/directory";
import { ProofStore } from "../../oracles/node/store";
import {
  parseProofRecord,
  proofDigest,
  proofDomain,
  ProofKind,
  signProof,
  toProofJson,
  type ProofDraft,
  type ProofRecord,
} from "../../oracles/proof";
import { deriveMatrices, multiply, productDigest, COMPUTE_PRIME } from "../../oracles/verify/compute";
import { verifyEpoch, type EpochDevice } from "../../oracles/verify/epoch";
import { challengeIndices, STORAGE_CHALLENGE_COUNT } from "../../oracles/verify/storage";

const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const OTHER_REGISTRY = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const DOMAIN = proofDomain(31337n, REGISTRY);
const OTHER_CHAIN = proofDomain(1n, REGISTRY);
const OTHER_REGISTRY_DOMAIN = proofDomain(31337n, OTHER_REGISTRY);
const h32 = (tag: string) => ethers.keccak256(ethers.toUtf8Bytes(tag));

const EPOCH_LENGTH = 3600n;
const EPOCH = 42n;
const EPOCH_START = 1_767_225_600n;
const GENESIS = EPOCH_START - EPOCH * EPOCH_LENGTH;
const NOW = EPOCH_START + 100n;
const SEED = h32("adversarial seed 42");
const GRACE_SEED = h32("adversarial seed 41");

const wallet = (tag: string) => new ethers.Wallet(h32(`adversarial ${tag}`));
const coverage = wallet("coverage");
const storage = wallet("storage");
const storage2 = wallet("storage 2");
const compute = wallet("compute");
const compute2 = wallet("compute 2");
const rooted = wallet("storage with registered root");
const stranger = wallet("stranger");
const operator = wallet("operator").address;

/** 1 GiB committed (262 144 chunks): a periodic store hashes it in O(log n). */
const CAPACITY = 1n;
const CHUNKS = committedChunks(CAPACITY);
const store = periodicStore(pseudoRandomChunks("adversarial data", 4), CHUNKS);
const challenged = challengeIndices(SEED, storage.address, store.dataRoot, CHUNKS, STORAGE_CHALLENGE_COUNT);
const DEPTH = store.proof(0).length;

const N = 4;
const product = (seed: string, device: string, n = N) => {
  const { a, b } = deriveMatrices(seed, device, n);
  return multiply(a, b);
};
const goodProduct = product(SEED, compute.address);

const active = (resourceClass: ResourceClass, extra: Partial<DeviceInfo> = {}): DeviceInfo => ({
  operator,
  resourceClass,
  status: DeviceStatus.Active,
  ...extra,
});

function directory(): MemoryDeviceDirectory {
  return new MemoryDeviceDirectory([
    [coverage.address, active(ResourceClass.Coverage)],
    [storage.address, active(ResourceClass.Storage, { capacity: CAPACITY })],
    [storage2.address, active(ResourceClass.Storage, { capacity: CAPACITY })],
    [compute.address, active(ResourceClass.ComputeCpu, { capacity: 1n })],
    [compute2.address, active(ResourceClass.ComputeCpu, { capacity: 1n })],
    [rooted.address, active(ResourceClass.Storage, { capacity: CAPACITY, dataRoot: h32("registered root") })],
  ]);
}

const seeds: SeedSource = async (epoch) => (epoch === EPOCH ? SEED : epoch === EPOCH - 1n ? GRACE_SEED : null);

// ---------------------------------------------------------------------------------------------------------------
// Drafts and wire forms
// ---------------------------------------------------------------------------------------------------------------

type BaseKind = "heartbeat" | "storage" | "compute";
const BASE_KINDS: readonly BaseKind[] = ["heartbeat", "storage", "compute"];
const signerOf: Record<BaseKind, ethers.Wallet> = { heartbeat: coverage, storage, compute };

interface Header {
  nonce: bigint;
  epoch?: bigint;
  timestamp?: bigint;
}

const header = (h: Header) => ({
  epoch: h.epoch ?? EPOCH,
  nonce: h.nonce,
  timestamp: h.timestamp ?? EPOCH_START + 50n,
});

const heartbeat = (h: Header, resourceClass: ResourceClass = ResourceClass.Coverage): ProofDraft => ({
  ...header(h),
  resourceClass,
  kind: ProofKind.Heartbeat,
  payload: { uptimeSeconds: 3600 },
});

function storageAnswer(h: Header, index: number, tweak: (p: { chunk: string; path: string[] }) => void = () => {}) {
  const payload = {
    dataRoot: store.dataRoot,
    chunkIndex: index,
    chunk: ethers.hexlify(store.chunk(index)!),
    path: store.proof(index),
  };
  tweak(payload);
  return {
    ...header(h),
    resourceClass: ResourceClass.Storage,
    kind: ProofKind.StorageChallenge,
    payload,
  } as ProofDraft;
}

function computeAnswer(h: Header, c: readonly (readonly bigint[])[] = goodProduct, resultHash = productDigest(c)) {
  return {
    ...header(h),
    resourceClass: ResourceClass.ComputeCpu,
    kind: ProofKind.ComputeChallenge,
    payload: { n: c.length, resultHash, result: c.flat().map((v) => v.toString()) },
  } as ProofDraft;
}

function baseDraft(kind: BaseKind, h: Header, pick = 0): ProofDraft {
  if (kind === "heartbeat") return heartbeat(h);
  if (kind === "storage") return storageAnswer(h, challenged[pick % challenged.length]);
  return computeAnswer(h);
}

const sign = (w: ethers.Wallet, d: ProofDraft, domain = DOMAIN) => signProof(w, domain, d);
type Wire = Record<string, unknown> & { payload: Record<string, unknown> };
const wire = (record: ProofRecord) => JSON.parse(JSON.stringify(toProofJson(record))) as Wire;

/** The same signature with s replaced by n - s and v flipped: recovers the same key, but is the malleable twin. */
function highS(signature: string): string {
  const bytes = ethers.getBytes(signature);
  const s = BigInt(ethers.hexlify(bytes.subarray(32, 64)));
  const twin = ethers.toBeHex(ethers.N - s, 32).slice(2);
  const v = bytes[64] === 27 ? "1c" : "1b";
  return `${signature.slice(0, 66)}${twin}${v}`;
}

/** Whether `body` parses to exactly `record` (a mutation that changed nothing the oracle reads). */
function parsesTo(body: unknown, record: ProofRecord): boolean {
  try {
    return (
      proofDigest(DOMAIN, parseProofRecord(body)) === proofDigest(DOMAIN, record) &&
      parseProofRecord(body).signature === record.signature
    );
  } catch {
    return false;
  }
}

/** Any JSON value without the keys the JSON parser refuses as a whole body (checked on their own below). */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
function hasForbiddenKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasForbiddenKey);
  if (typeof v === "object" && v !== null) {
    return Object.keys(v).some((k) => FORBIDDEN_KEYS.has(k) || hasForbiddenKey((v as Record<string, unknown>)[k]));
  }
  return false;
}
const json = fc.jsonValue({ maxDepth: 3 }).filter((v) => !hasForbiddenKey(v));

// ---------------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------------

const BODY_LIMIT = 32 * 1024;
const BATCH_BODY_LIMIT = 512 * 1024;
const MAX_ITEMS = 20;

interface Harness {
  app: FastifyInstance;
  store: ProofStore;
}

function harness(overrides: Partial<IngestAppOptions> = {}): Harness {
  const proofs = new ProofStore(":memory:");
  const app = buildIngestApp({
    store: proofs,
    directory: directory(),
    clock: new FixedEpochClock(GENESIS, EPOCH_LENGTH),
    domain: DOMAIN,
    now: () => NOW,
    bodyLimit: BODY_LIMIT,
    batchBodyLimit: BATCH_BODY_LIMIT,
    maxBatchItems: MAX_ITEMS,
    seedOf: seeds,
    ...overrides,
  });
  return { app, store: proofs };
}

/** inject, failing the test instead of hanging. */
async function request(
  app: FastifyInstance,
  url: string,
  payload: string | Buffer,
  contentType = "application/json",
): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to POST ${url} within 10 s`)), 10_000);
  });
  try {
    return await Promise.race([
      app.inject({ method: "POST", url, headers: { "content-type": contentType }, payload }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A 4xx with a JSON `{error, message}` body; returns the body. */
function expectClientError(res: LightMyRequestResponse, what: string): { error: string; message: string } {
  expect(res.statusCode, `${what}: ${res.body.slice(0, 300)}`).to.be.within(400, 499);
  expect(res.headers["content-type"], what).to.match(/application\/json/);
  const body = res.json() as { error: unknown; message: unknown };
  expect(body.error, what).to.be.a("string").and.not.equal("");
  expect(body.message, what).to.be.a("string");
  return body as { error: string; message: string };
}

// ---------------------------------------------------------------------------------------------------------------
// Generated cases
// ---------------------------------------------------------------------------------------------------------------

/** What a request item should get: accepted (and stored), or a 4xx, optionally a given one, stored or not. */
type Expect =
  { valid: true; record: ProofRecord } | { valid: false; status?: number; error?: string; stored?: ProofRecord };

interface Case {
  /** The JSON body of the item; a string when `raw` (sent as is, single requests only). */
  body: unknown;
  raw?: boolean;
  expect: Expect;
  label: string;
}

/** Every key of the records and payloads generated here: an "extra" key is none of them. */
const KNOWN_KEYS = new Set([
  ...["device", "epoch", "resourceClass", "nonce", "timestamp", "kind", "payload", "signature"],
  ...["uptimeSeconds", "dataRoot", "chunkIndex", "chunk", "path", "n", "resultHash", "result"],
]);

const FLIPS = ["epoch", "nonce", "timestamp", "device", "resourceClass", "kind", "signature", "payload"] as const;

type Plan =
  | { t: "valid"; kind: BaseKind; pick: number }
  | { t: "json"; value: unknown }
  | { t: "bytes"; text: string }
  | { t: "binary"; bytes: Uint8Array }
  | { t: "flip"; kind: BaseKind; field: (typeof FLIPS)[number] }
  | { t: "replace"; kind: BaseKind; key: string; value: unknown }
  | { t: "drop"; kind: BaseKind; key: string }
  | { t: "extra"; kind: BaseKind; inPayload: boolean; key: string; value: unknown }
  | { t: "oversize"; kind: BaseKind }
  | { t: "resign"; kind: BaseKind; change: "old epoch" | "future epoch" | "future timestamp" | "replayed nonce" }
  | { t: "domain"; kind: BaseKind; which: "chain" | "registry" }
  | { t: "high-s"; kind: BaseKind }
  | { t: "unknown" }
  | { t: "resend" }
  | { t: "truncated path"; drop: number; pick: number }
  | { t: "wrong sibling"; level: number; pick: number }
  | { t: "wrong product"; entry: number; delta: bigint }
  | { t: "wrong result hash" };

const kindArb = fc.constantFrom(...BASE_KINDS);
const validPlan: fc.Arbitrary<Plan> = fc.record({
  t: fc.constant("valid" as const),
  kind: kindArb,
  pick: fc.nat(STORAGE_CHALLENGE_COUNT - 1),
});
const badPlan: fc.Arbitrary<Plan> = fc.oneof(
  fc.record({ t: fc.constant("json" as const), value: json }),
  fc.record({ t: fc.constant("bytes" as const), text: fc.string({ maxLength: 120 }) }),
  fc.record({ t: fc.constant("binary" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 200 }) }),
  fc.record({ t: fc.constant("flip" as const), kind: kindArb, field: fc.constantFrom(...FLIPS) }),
  fc.record({
    t: fc.constant("replace" as const),
    kind: kindArb,
    key: fc.constantFrom(...FLIPS, "payload.*"),
    value: json,
  }),
  fc.record({ t: fc.constant("drop" as const), kind: kindArb, key: fc.constantFrom(...FLIPS, "payload.*") }),
  fc.record({
    t: fc.constant("extra" as const),
    kind: kindArb,
    inPayload: fc.boolean(),
    key: fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !FORBIDDEN_KEYS.has(k) && !KNOWN_KEYS.has(k)),
    value: json,
  }),
  fc.record({ t: fc.constant("oversize" as const), kind: kindArb }),
  fc.record({
    t: fc.constant("resign" as const),
    kind: kindArb,
    change: fc.constantFrom(
      "old epoch" as const,
      "future epoch" as const,
      "future timestamp" as const,
      "replayed nonce" as const,
    ),
  }),
  fc.record({
    t: fc.constant("domain" as const),
    kind: kindArb,
    which: fc.constantFrom("chain" as const, "registry" as const),
  }),
  fc.record({ t: fc.constant("high-s" as const), kind: kindArb }),
  fc.record({ t: fc.constant("unknown" as const) }),
  fc.record({ t: fc.constant("resend" as const) }),
  fc.record({ t: fc.constant("truncated path" as const), drop: fc.integer({ min: 1, max: DEPTH }), pick: fc.nat(31) }),
  fc.record({ t: fc.constant("wrong sibling" as const), level: fc.nat(DEPTH - 1), pick: fc.nat(31) }),
  fc.record({
    t: fc.constant("wrong product" as const),
    entry: fc.nat(N * N - 1),
    delta: fc.bigInt({ min: 1n, max: COMPUTE_PRIME - 1n }),
  }),
  fc.record({ t: fc.constant("wrong result hash" as const) }),
);

/** Turns plans into concrete cases with fresh nonces (shared across runs, so every run's valid proofs are new). */
class CaseMaker {
  private next = 1_000n;
  /** Proofs accepted before the generated requests: targets of replays and resends. */
  readonly accepted: Record<BaseKind, ProofRecord>;

  constructor() {
    this.accepted = {
      heartbeat: sign(coverage, heartbeat({ nonce: 1n })),
      storage: sign(storage, storageAnswer({ nonce: 1n }, challenged[0])),
      compute: sign(compute, computeAnswer({ nonce: 1n })),
    };
  }

  private nonce(): bigint {
    this.next += 1n;
    return this.next;
  }

  make(plan: Plan, inBatch: boolean): Case {
    const label = JSON.stringify(plan, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)).slice(0, 200);
    const fresh = (kind: BaseKind, h: Partial<Header> = {}, pick = 0) =>
      sign(signerOf[kind], baseDraft(kind, { nonce: this.nonce(), ...h }, pick));
    const bad = (body: unknown, e: Omit<Extract<Expect, { valid: false }>, "valid"> = {}): Case => ({
      body,
      expect: { valid: false, ...e },
      label,
    });
    switch (plan.t) {
      case "valid": {
        const record = fresh(plan.kind, {}, plan.pick);
        return { body: wire(record), expect: { valid: true, record }, label };
      }
      case "json":
        return bad(plan.value);
      case "bytes":
        return { body: plan.text.length === 0 ? " " : plan.text, raw: true, expect: { valid: false }, label };
      case "binary":
        // Any bytes (invalid UTF-8 included); inside a batch they travel as a JSON string.
        return inBatch
          ? bad(Buffer.from(plan.bytes).toString("latin1"))
          : { body: Buffer.from(plan.bytes), raw: true, expect: { valid: false }, label };
      case "flip": {
        const record = fresh(plan.kind);
        const w = wire(record);
        switch (plan.field) {
          case "epoch":
            w.epoch = String(EPOCH - 1n);
            break;
          case "nonce":
            w.nonce = String(record.nonce + 1n);
            break;
          case "timestamp":
            w.timestamp = String(record.timestamp - 1n);
            break;
          case "device":
            w.device = (record.device === coverage.address ? storage : coverage).address;
            break;
          case "resourceClass":
            w.resourceClass =
              record.resourceClass === ResourceClass.ComputeCpu ? ResourceClass.ComputeGpu : ResourceClass.Energy;
            break;
          case "kind":
            w.kind = record.kind === ProofKind.Heartbeat ? ProofKind.ComputeChallenge : ProofKind.Heartbeat;
            break;
          case "signature": {
            const s = record.signature;
            w.signature = `${s.slice(0, 10)}${s[10] === "0" ? "1" : "0"}${s.slice(11)}`;
            break;
          }
          case "payload":
            if (record.kind === ProofKind.Heartbeat) w.payload.uptimeSeconds = 3599;
            else if (record.kind === ProofKind.StorageChallenge) w.payload.chunkIndex = record.payload.chunkIndex + 1;
            else w.payload.resultHash = h32("another hash");
            break;
        }
        return bad(w, { status: plan.field === "epoch" || plan.field === "nonce" ? 400 : undefined });
      }
      case "replace": {
        const record = fresh(plan.kind);
        const w = wire(record);
        const key = plan.key === "payload.*" ? Object.keys(w.payload)[0] : plan.key;
        if (plan.key === "payload.*") w.payload = { ...w.payload, [key]: plan.value };
        else w[key] = plan.value;
        // A value that reads as the same record (e.g. epoch 42 for "42") is no mutation: the proof stays valid.
        if (parsesTo(w, record)) return { body: w, expect: { valid: true, record }, label };
        return bad(w);
      }
      case "drop": {
        const w = wire(fresh(plan.kind));
        if (plan.key === "payload.*") delete w.payload[Object.keys(w.payload)[0]];
        else delete w[plan.key];
        return bad(w, { status: 400, error: "malformed_proof" });
      }
      case "extra": {
        const w = wire(fresh(plan.kind));
        const target: Record<string, unknown> = plan.inPayload ? w.payload : w;
        Object.defineProperty(target, plan.key, {
          value: plan.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        return bad(w, { status: 400, error: "malformed_proof" });
      }
      case "oversize": {
        const w = wire(fresh(plan.kind));
        if (inBatch) {
          // The batch body limit is larger: an oversize field fails the item's schema.
          w.payload = { ...w.payload, [Object.keys(w.payload)[0]]: "9".repeat(10_000) };
          return bad(w, { status: 400, error: "malformed_proof" });
        }
        return bad({ ...w, padding: "a".repeat(BODY_LIMIT) }, { status: 413, error: "payload_too_large" });
      }
      case "resign": {
        const e =
          plan.change === "old epoch"
            ? { epoch: EPOCH - 2n }
            : plan.change === "future epoch"
              ? { epoch: EPOCH + 1n }
              : plan.change === "future timestamp"
                ? { timestamp: NOW + 61n }
                : {};
        if (plan.change === "replayed nonce") {
          // A different record under the nonce of an accepted one (a different chunk, product or uptime).
          const original = this.accepted[plan.kind];
          const draft =
            plan.kind === "heartbeat"
              ? heartbeat({ nonce: original.nonce, timestamp: EPOCH_START + 51n })
              : baseDraft(plan.kind, { nonce: original.nonce, timestamp: EPOCH_START + 51n }, 1);
          return bad(wire(sign(signerOf[plan.kind], draft)), { status: 409, error: "replay" });
        }
        const record = fresh(plan.kind, e);
        const error = plan.change === "future timestamp" ? "future_timestamp" : "wrong_epoch";
        return bad(wire(record), { status: 422, error });
      }
      case "domain": {
        const domain = plan.which === "chain" ? OTHER_CHAIN : OTHER_REGISTRY_DOMAIN;
        const record = sign(signerOf[plan.kind], baseDraft(plan.kind, { nonce: this.nonce() }), domain);
        return bad(wire(record), { status: 400, error: "invalid_signature" });
      }
      case "high-s": {
        const w = wire(fresh(plan.kind));
        w.signature = highS(w.signature as string);
        return bad(w, { status: 400, error: "invalid_signature" });
      }
      case "unknown":
        return bad(wire(sign(stranger, heartbeat({ nonce: this.nonce() }))), { status: 403, error: "unknown_device" });
      case "resend":
        return bad(wire(this.accepted.heartbeat), { status: 409, error: "replay" });
      case "truncated path": {
        const record = sign(
          storage,
          storageAnswer({ nonce: this.nonce() }, challenged[plan.pick], (p) => {
            p.path = p.path.slice(0, DEPTH - plan.drop);
          }),
        );
        return bad(wire(record), { status: 422, error: "invalid_proof", stored: record });
      }
      case "wrong sibling": {
        const record = sign(
          storage,
          storageAnswer({ nonce: this.nonce() }, challenged[plan.pick], (p) => {
            p.path = p.path.map((node, d) => (d === plan.level ? h32(`not a sibling ${node}`) : node));
          }),
        );
        return bad(wire(record), { status: 422, error: "invalid_proof", stored: record });
      }
      case "wrong product": {
        const c = goodProduct.map((row) => [...row]);
        const i = Math.floor(plan.entry / N);
        const j = plan.entry % N;
        c[i][j] = (c[i][j] + plan.delta) % COMPUTE_PRIME;
        const record = sign(compute, computeAnswer({ nonce: this.nonce() }, c));
        return bad(wire(record), { status: 422, error: "invalid_proof", stored: record });
      }
      case "wrong result hash": {
        const record = sign(compute, computeAnswer({ nonce: this.nonce() }, goodProduct, h32("wrong hash")));
        return bad(wire(record), { status: 422, error: "invalid_proof", stored: record });
      }
    }
  }
}

/** What the store must hold: (device, nonce) -> digest of every proof accepted or kept as evidence. */
class Ledger {
  readonly expected = new Map<string, string>();
  valid = 0;
  evidence = 0;

  add(record: ProofRecord, evidence = false): void {
    this.expected.set(`${record.device}/${record.nonce}`, proofDigest(DOMAIN, record));
    if (evidence) this.evidence += 1;
    else this.valid += 1;
  }

  check(proofs: ProofStore): void {
    for (const [key, digest] of this.expected) {
      const [device, nonce] = key.split("/");
      expect(proofs.digestOf(device, BigInt(nonce)), `stored ${key}`).to.equal(digest);
    }
    // Nothing else: no bad input got in.
    expect(proofs.count()).to.equal(this.expected.size);
  }
}

/** Checks one item's answer (a single request's status/body, or a batch result) against its case. */
function checkItem(c: Case, status: number, body: Record<string, unknown>, ledger: Ledger, what: string): void {
  const e = c.expect;
  if (e.valid) {
    expect(status, `${what} (valid) ${c.label}: ${JSON.stringify(body).slice(0, 300)}`).to.be.oneOf([200, 202]);
    expect(body.accepted, what).to.equal(true);
    expect(body.digest, what).to.equal(proofDigest(DOMAIN, e.record));
    ledger.add(e.record);
    return;
  }
  const msg = `${what} ${c.label}: ${JSON.stringify(body).slice(0, 300)}`;
  expect(status, msg).to.be.within(400, 499);
  expect(body.error, msg).to.be.a("string");
  expect(body.message, msg).to.be.a("string");
  if (e.status !== undefined) expect(status, msg).to.equal(e.status);
  if (e.error !== undefined) expect(body.error, msg).to.equal(e.error);
  if (e.stored !== undefined) {
    expect(body.message, msg).to.include("kept as evidence");
    ledger.add(e.stored, true);
  }
}

describe("oracles/node ingest: adversarial", function () {
  this.timeout(60_000);

  describe("generated bad input interleaved with valid proofs", function () {
    let h: Harness;
    let maker: CaseMaker;
    let ledger: Ledger;

    beforeEach(async function () {
      h = harness();
      maker = new CaseMaker();
      ledger = new Ledger();
      for (const record of Object.values(maker.accepted)) {
        const res = await request(h.app, "/v1/proofs", JSON.stringify(wire(record)));
        expect(res.statusCode, res.body).to.equal(202);
        ledger.add(record);
      }
    });

    afterEach(async function () {
      const health = await h.app.inject({ method: "GET", url: "/health" });
      expect(health.statusCode).to.equal(200);
      expect(health.json()).to.deep.equal({ ok: true, proofs: ledger.expected.size });
      await h.app.close();
      h.store.close();
    });

    it("POST /v1/proofs: every bad request gets a 4xx JSON reason, every valid proof is stored", async function () {
      let bad = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(validPlan, badPlan, badPlan), { minLength: 1, maxLength: 12 }),
          async (plans) => {
            for (const plan of plans) {
              const c = maker.make(plan, false);
              const payload = c.raw ? (c.body as string | Buffer) : JSON.stringify(c.body);
              const res = await request(h.app, "/v1/proofs", payload);
              if (!c.expect.valid) {
                expectClientError(res, c.label);
                bad += 1;
              }
              checkItem(c, res.statusCode, res.json() as Record<string, unknown>, ledger, "single");
            }
          },
        ),
        { numRuns: 100 },
      );
      ledger.check(h.store);
      expect(ledger.valid).to.be.greaterThan(20);
      expect(ledger.evidence).to.be.greaterThan(5);
      expect(bad).to.be.greaterThan(200);
    });

    it("POST /v1/proofs/batch: bad items get their own 4xx, valid items are stored, bad bodies a 4xx", async function () {
      type Req =
        { t: "batch"; plans: Plan[] } | { t: "body"; body: "bytes" | "object" | "too many" | "too big"; text: string };
      const requestArb: fc.Arbitrary<Req> = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            t: fc.constant("batch" as const),
            plans: fc.array(fc.oneof(validPlan, badPlan), { maxLength: MAX_ITEMS }),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            t: fc.constant("body" as const),
            body: fc.constantFrom("bytes" as const, "object" as const, "too many" as const, "too big" as const),
            text: fc.string({ maxLength: 80 }),
          }),
        },
      );
      let items = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 4 }), async (requests) => {
          for (const r of requests) {
            if (r.t === "body") {
              // Interleaved whole-request failures: nothing of them is stored.
              const payload =
                r.body === "bytes"
                  ? r.text.length === 0
                    ? "{"
                    : `[${r.text}`
                  : r.body === "object"
                    ? JSON.stringify({ proofs: [maker.make({ t: "valid", kind: "heartbeat", pick: 0 }, true).body] })
                    : r.body === "too many"
                      ? JSON.stringify(Array.from({ length: MAX_ITEMS + 1 }, () => 1))
                      : JSON.stringify(["a".repeat(BATCH_BODY_LIMIT)]);
              const body = expectClientError(await request(h.app, "/v1/proofs/batch", payload), `batch body ${r.body}`);
              if (r.body === "too many" || r.body === "too big") expect(body.error).to.equal("payload_too_large");
              continue;
            }
            // Raw bytes cannot be one item of a JSON array: send them as a JSON string instead.
            const cases = r.plans.map((p) => maker.make(p, true)).map((c) => (c.raw ? { ...c, raw: false } : c));
            const res = await request(h.app, "/v1/proofs/batch", JSON.stringify(cases.map((c) => c.body)));
            expect(res.statusCode, res.body.slice(0, 300)).to.equal(200);
            const out = res.json() as { accepted: number; rejected: number; results: Array<Record<string, unknown>> };
            expect(out.results.map((x) => x.index)).to.deep.equal(cases.map((_, i) => i));
            expect(out.accepted + out.rejected).to.equal(cases.length);
            cases.forEach((c, i) => {
              const result = out.results[i];
              const status = result.accepted ? 200 : (result.status as number);
              checkItem(c, status, result, ledger, `batch item ${i}`);
            });
            items += cases.length;
          }
        }),
        { numRuns: 50 },
      );
      ledger.check(h.store);
      expect(items).to.be.greaterThan(200);
      expect(ledger.evidence).to.be.greaterThan(5);
    });
  });

  // -------------------------------------------------------------------------------------------------------------

  describe("content pre-checks: 422 invalid_proof, kept as evidence", function () {
    let h: Harness;
    beforeEach(function () {
      h = harness();
    });
    afterEach(async function () {
      await h.app.close();
      h.store.close();
    });

    async function post(body: unknown, url = "/v1/proofs") {
      const res = await request(h.app, url, JSON.stringify(body));
      return { status: res.statusCode, body: res.json() as Record<string, unknown>, res };
    }

    async function expectEvidence(record: ProofRecord, fragment: string) {
      const r = await post(wire(record));
      expect(r.status, JSON.stringify(r.body)).to.equal(422);
      expect(r.body.error).to.equal("invalid_proof");
      expect(r.body.message).to.include(fragment).and.include("kept as evidence");
      expect(h.store.digestOf(record.device, record.nonce)).to.equal(proofDigest(DOMAIN, record));
      // Stored: the same proof again is a replay.
      const again = await post(wire(record));
      expect(again.status).to.equal(409);
      expect(again.body.error).to.equal("replay");
    }

    it("storage: truncated path, path too long, wrong sibling, wrong chunk", async function () {
      const at = challenged[3];
      await expectEvidence(
        sign(
          storage,
          storageAnswer({ nonce: 1n }, at, (p) => void (p.path = p.path.slice(0, -1))),
        ),
        `has ${DEPTH - 1} nodes, expected ${DEPTH}`,
      );
      await expectEvidence(
        sign(
          storage,
          storageAnswer({ nonce: 2n }, at, (p) => void (p.path = [...p.path, h32("x")])),
        ),
        `has ${DEPTH + 1} nodes`,
      );
      await expectEvidence(
        sign(
          storage,
          storageAnswer({ nonce: 3n }, at, (p) => void (p.path[0] = h32("y"))),
        ),
        "does not lead to the data root",
      );
      await expectEvidence(
        sign(
          storage,
          storageAnswer({ nonce: 4n }, at, (p) => void (p.chunk = `0x${"00".repeat(4096)}`)),
        ),
        "does not lead to the data root",
      );
      // The path of the neighbouring chunk (its first node is this chunk's own leaf).
      await expectEvidence(
        sign(
          storage,
          storageAnswer({ nonce: 5n }, at, (p) => void (p.path = store.proof(at ^ 1))),
        ),
        "does not lead to the data root",
      );
    });

    it("storage: wrong chunk size, index out of range or not challenged, data root not the registered one", async function () {
      await expectEvidence(
        sign(
          storage,
          storageAnswer({ nonce: 1n }, challenged[0], (p) => void (p.chunk = p.chunk.slice(0, 2 + 2 * 100))),
        ),
        "is 100 bytes, not 4096",
      );
      const outside = { ...storageAnswer({ nonce: 2n }, challenged[0]) } as Extract<ProofDraft, { kind: 3 }>;
      outside.payload = { ...outside.payload, chunkIndex: CHUNKS };
      await expectEvidence(sign(storage, outside), `outside the ${CHUNKS} committed chunks`);
      const unchallenged = [0, 1, 2, 3, 4, 5, 6, 7].find((i) => !challenged.includes(i))!;
      await expectEvidence(
        sign(storage, storageAnswer({ nonce: 3n }, unchallenged)),
        `chunk ${unchallenged} was not challenged in epoch ${EPOCH}`,
      );
      // A device with a registered root must answer for it (here: a correct answer for another root).
      await expectEvidence(sign(rooted, storageAnswer({ nonce: 1n }, challenged[0])), "registered");
    });

    it("compute: a wrong product (Freivalds) and a resultHash that is not the product's digest", async function () {
      const wrong = goodProduct.map((row) => [...row]);
      wrong[1][2] = (wrong[1][2] + 1n) % COMPUTE_PRIME;
      await expectEvidence(sign(compute, computeAnswer({ nonce: 1n }, wrong)), "fails Freivalds");
      await expectEvidence(sign(compute, computeAnswer({ nonce: 2n }, goodProduct, h32("x"))), "resultHash");
      const guessed = goodProduct.map((row, i) => row.map((_, j) => BigInt(i * N + j)));
      await expectEvidence(sign(compute, computeAnswer({ nonce: 3n }, guessed)), "fails Freivalds");
      // The product of another device's matrices.
      await expectEvidence(sign(compute2, computeAnswer({ nonce: 1n })), "fails Freivalds");
    });

    it("accepts correct answers, the grace epoch's under its own seed, and the largest matrix (n = 64)", async function () {
      expect((await post(wire(sign(storage, storageAnswer({ nonce: 1n }, challenged[0]))))).status).to.equal(202);
      expect((await post(wire(sign(compute, computeAnswer({ nonce: 1n }))))).status).to.equal(202);
      const grace = product(GRACE_SEED, compute.address);
      expect((await post(wire(sign(compute, computeAnswer({ nonce: 2n, epoch: EPOCH - 1n }, grace))))).status).to.equal(
        202,
      );
      // This epoch's product is wrong for the grace epoch.
      const r = await post(wire(sign(compute, computeAnswer({ nonce: 3n, epoch: EPOCH - 1n }))));
      expect(r.status).to.equal(422);
      const graceIndex = challengeIndices(
        GRACE_SEED,
        storage.address,
        store.dataRoot,
        CHUNKS,
        STORAGE_CHALLENGE_COUNT,
      )[0];
      expect(
        (await post(wire(sign(storage, storageAnswer({ nonce: 4n, epoch: EPOCH - 1n }, graceIndex))))).status,
      ).to.equal(202);
      // n = 64 is above the single-proof body limit of this harness: sent as a batch.
      const big = [sign(compute, computeAnswer({ nonce: 5n }, product(SEED, compute.address, 64)))];
      const started = Date.now();
      const r2 = await post(big.map(wire), "/v1/proofs/batch");
      expect(r2.body.accepted, JSON.stringify(r2.body).slice(0, 300)).to.equal(1);
      expect(Date.now() - started).to.be.below(3_000);
    });

    it("skips what it cannot check: no seed yet (or a failing seed read), no capacity in the directory", async function () {
      const wrong = goodProduct.map((row) => row.map((v) => (v + 1n) % COMPUTE_PRIME));
      const unchallenged = [0, 1, 2, 3, 4, 5, 6, 7].find((i) => !challenged.includes(i))!;
      const sources: Array<SeedSource | undefined> = [
        undefined,
        async () => null,
        async () => {
          throw new Error("rpc down");
        },
        () => {
          throw new Error("sync throw");
        },
        async () => "not a seed",
      ];
      let nonce = 1n;
      for (const seedOf of sources) {
        const g = harness({ seedOf });
        try {
          const accepted = [
            sign(compute, computeAnswer({ nonce: nonce++ }, wrong)),
            sign(storage, storageAnswer({ nonce: nonce++ }, unchallenged)),
          ];
          const res = await request(g.app, "/v1/proofs/batch", JSON.stringify(accepted.map(wire)));
          expect(res.statusCode).to.equal(200);
          expect(res.json().accepted, res.body).to.equal(2);
          // Checks that need no seed still apply.
          const truncated = sign(
            storage,
            storageAnswer({ nonce: nonce++ }, 0, (p) => void (p.path = p.path.slice(1))),
          );
          expect((await request(g.app, "/v1/proofs", JSON.stringify(wire(truncated)))).statusCode).to.equal(422);
        } finally {
          await g.app.close();
          g.store.close();
        }
      }
      // Without the capacity the committed chunk count is unknown: storage answers are not pre-checked.
      const noCapacity = harness({
        directory: new MemoryDeviceDirectory([[storage.address, active(ResourceClass.Storage)]]),
      });
      try {
        const truncated = sign(
          storage,
          storageAnswer({ nonce: 1n }, 0, (p) => void (p.path = p.path.slice(1))),
        );
        expect((await request(noCapacity.app, "/v1/proofs", JSON.stringify(wire(truncated)))).statusCode).to.equal(202);
      } finally {
        await noCapacity.app.close();
        noCapacity.store.close();
      }
    });

    it("batch: the bad answer gets 422 while the others are accepted; metrics count it as rejected", async function () {
      const good = sign(storage, storageAnswer({ nonce: 1n }, challenged[0]));
      const truncated = sign(
        storage,
        storageAnswer({ nonce: 2n }, challenged[1], (p) => void (p.path = p.path.slice(2))),
      );
      const wrong = sign(compute, computeAnswer({ nonce: 1n }, goodProduct, h32("x")));
      const hb = sign(coverage, heartbeat({ nonce: 1n }));
      const r = await post([wire(good), wire(truncated), wire(hb), wire(wrong), wire(truncated)], "/v1/proofs/batch");
      expect(r.status).to.equal(200);
      expect(r.body.accepted).to.equal(2);
      const results = r.body.results as Array<Record<string, unknown>>;
      expect(results.map((x) => [x.accepted, x.status, x.error])).to.deep.equal([
        [true, undefined, undefined],
        [false, 422, "invalid_proof"],
        [true, undefined, undefined],
        [false, 422, "invalid_proof"],
        [false, 409, "replay"],
      ]);
      expect(results[1].message).to.include("kept as evidence");
      expect(h.store.count()).to.equal(4);
      const metrics = await h.app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).to.include('meshwork_ingest_proofs_rejected_total{reason="invalid_proof"} 2\n');
      expect(metrics.body).to.include("meshwork_ingest_proofs_accepted_total 2\n");
    });

    it("epoch verification judges the stored evidence exactly as before: forgers faulted, honest devices verified", async function () {
      // storage: all 32 challenges, honestly; storage2: all 32, one with a truncated path; compute: right; compute2:
      // a guessed product.
      const challenged2 = challengeIndices(SEED, storage2.address, store.dataRoot, CHUNKS, STORAGE_CHALLENGE_COUNT);
      const honestStorage = challenged.map((index, k) => sign(storage, storageAnswer({ nonce: BigInt(k + 1) }, index)));
      const forgedStorage = challenged2.map((index, k) =>
        sign(
          storage2,
          storageAnswer({ nonce: BigInt(k + 1) }, index, (p) => {
            if (k === 7) p.path = p.path.slice(0, 3);
          }),
        ),
      );
      const guessed = goodProduct.map((row, i) => row.map((_, j) => BigInt(i * N + j)));
      const batch = [
        ...honestStorage,
        ...forgedStorage,
        sign(compute, computeAnswer({ nonce: 1n })),
        sign(compute2, computeAnswer({ nonce: 1n }, guessed)),
      ];
      const statuses: number[] = [];
      for (let k = 0; k < batch.length; k += MAX_ITEMS) {
        const r = await post(batch.slice(k, k + MAX_ITEMS).map(wire), "/v1/proofs/batch");
        expect(r.status).to.equal(200);
        for (const x of r.body.results as Array<Record<string, unknown>>)
          statuses.push(x.accepted ? 202 : (x.status as number));
      }
      expect(statuses.filter((s) => s === 422)).to.have.length(2);
      expect(statuses.filter((s) => s === 202)).to.have.length(batch.length - 2);
      expect(h.store.count()).to.equal(batch.length);

      const devices = new Map<string, EpochDevice>([
        [storage.address, { resourceClass: ResourceClass.Storage, capacity: CAPACITY }],
        [storage2.address, { resourceClass: ResourceClass.Storage, capacity: CAPACITY }],
        [compute.address, { resourceClass: ResourceClass.ComputeCpu, capacity: 1n }],
        [compute2.address, { resourceClass: ResourceClass.ComputeCpu, capacity: 1n }],
      ]);
      const outcomes = verifyEpoch({
        epoch: EPOCH,
        seed: SEED,
        window: { start: Number(EPOCH_START), end: Number(EPOCH_START + EPOCH_LENGTH) },
        devices,
        proofs: h.store.byEpoch(EPOCH).map((p) => ({ record: p.record, digest: p.digest })),
      });
      const faults = outcomes.filter((o) => !o.result.ok && o.result.fault !== null);
      expect(faults.map((o) => [o.device, o.result.ok ? null : o.result.fault]).sort()).to.deep.equal(
        [
          [storage2.address, FaultKind.InvalidProof],
          [compute2.address, FaultKind.InvalidProof],
        ].sort(),
      );
      // The fault's evidence is a stored proof's digest.
      const stored = new Set(h.store.byEpoch(EPOCH).map((p) => p.digest.toLowerCase()));
      for (const f of faults) expect(stored.has(f.evidence)).to.equal(true);
      const verified = outcomes.filter((o) => o.result.ok && o.result.workUnits > 0n).map((o) => o.device);
      expect(verified).to.have.members([storage.address, compute.address]);
    });

    it("contentFlaw is pure and says nothing about other kinds", function () {
      const info = active(ResourceClass.Storage, { capacity: CAPACITY });
      const ok = sign(storage, storageAnswer({ nonce: 1n }, challenged[0]));
      expect(contentFlaw(ok, info, SEED)).to.equal(null);
      expect(contentFlaw(ok, info, null)).to.equal(null);
      expect(contentFlaw(ok, { ...info, capacity: 0n }, SEED)).to.equal(null);
      expect(contentFlaw(ok, { ...info, capacity: 1n << 60n }, SEED)).to.equal(null);
      expect(contentFlaw(sign(coverage, heartbeat({ nonce: 1n })), active(ResourceClass.Coverage), SEED)).to.equal(
        null,
      );
      const wrong = sign(compute, computeAnswer({ nonce: 1n }, goodProduct, h32("x")));
      expect(contentFlaw(wrong, active(ResourceClass.ComputeCpu), null)).to.equal(null);
      expect(contentFlaw(wrong, active(ResourceClass.ComputeCpu), SEED)).to.include("resultHash");
    });
  });

  // -------------------------------------------------------------------------------------------------------------

  describe("hand-written requests not covered by ingest.test.ts", function () {
    let h: Harness;
    beforeEach(function () {
      h = harness();
    });
    afterEach(async function () {
      const health = await h.app.inject({ method: "GET", url: "/health" });
      expect(health.statusCode).to.equal(200);
      await h.app.close();
      h.store.close();
    });

    it("400 for a signature under another registry address, and for the high-s twin of a valid signature", async function () {
      const foreign = sign(coverage, heartbeat({ nonce: 1n }), OTHER_REGISTRY_DOMAIN);
      let r = await request(h.app, "/v1/proofs", JSON.stringify(wire(foreign)));
      expect(expectClientError(r, "registry").error).to.equal("invalid_signature");
      const valid = wire(sign(coverage, heartbeat({ nonce: 2n })));
      r = await request(h.app, "/v1/proofs", JSON.stringify({ ...valid, signature: highS(valid.signature as string) }));
      expect(r.statusCode).to.equal(400);
      expect(expectClientError(r, "high-s").error).to.equal("invalid_signature");
      expect(h.store.count()).to.equal(0);
      // The low-s original is still accepted afterwards.
      expect((await request(h.app, "/v1/proofs", JSON.stringify(valid))).statusCode).to.equal(202);
    });

    it("400 for prototype-pollution keys, deep nesting, a BOM, NUL, and a batch of them", async function () {
      const bodies = [
        '{"__proto__":{"polluted":1}}',
        '[{"constructor":{"prototype":{"polluted":1}}}]',
        "\ufeff{}",
        "\u0000",
        '{"device":"\\ud800"}',
        "1e400",
        "-0",
        '"' + "x".repeat(1000) + '"',
      ];
      for (const url of ["/v1/proofs", "/v1/proofs/batch"]) {
        for (const body of bodies) expectClientError(await request(h.app, url, body), `${url} ${body.slice(0, 20)}`);
      }
      // Deep nesting: no stack overflow; a proof that is an array (or, in a batch, an item that is one) is malformed.
      const deep = "[".repeat(15_000) + "]".repeat(15_000);
      expect(expectClientError(await request(h.app, "/v1/proofs", deep), "deep").error).to.equal("malformed_proof");
      const batch = await request(h.app, "/v1/proofs/batch", deep);
      expect(batch.statusCode).to.equal(200);
      expect(batch.json().results[0]).to.include({ accepted: false, status: 400, error: "malformed_proof" });
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      expect(h.store.count()).to.equal(0);
    });

    it("400 for content types other than JSON on the batch route too; 413 for a batch body over its limit", async function () {
      const body = JSON.stringify([wire(sign(coverage, heartbeat({ nonce: 1n })))]);
      for (const type of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/json-patch+json",
      ]) {
        const r = await request(h.app, "/v1/proofs/batch", body, type);
        expect(r.statusCode, type).to.equal(400);
        expect(r.json().error, type).to.equal("unsupported_media_type");
      }
      const big = await request(h.app, "/v1/proofs/batch", JSON.stringify(["a".repeat(BATCH_BODY_LIMIT)]));
      expect(big.statusCode).to.equal(413);
      expect(big.json().error).to.equal("payload_too_large");
      // A batch of a valid proof after all that is accepted.
      const ok = await request(h.app, "/v1/proofs/batch", body);
      expect(ok.json().accepted).to.equal(1);
    });

    it("an empty batch is answered, not an error; a batch of the maximum size is taken whole", async function () {
      const empty = await request(h.app, "/v1/proofs/batch", "[]");
      expect(empty.statusCode).to.equal(200);
      expect(empty.json()).to.deep.equal({ accepted: 0, rejected: 0, results: [] });
      const full = Array.from({ length: MAX_ITEMS }, (_, k) =>
        wire(sign(coverage, heartbeat({ nonce: BigInt(k + 1) }))),
      );
      const r = await request(h.app, "/v1/proofs/batch", JSON.stringify(full));
      expect(r.json().accepted).to.equal(MAX_ITEMS);
      expect(h.store.count()).to.equal(MAX_ITEMS);
    });

    it("a valid record with a stored (device, nonce) is a replay whatever the epoch, also in a later batch", async function () {
      expect(
        (await request(h.app, "/v1/proofs", JSON.stringify(wire(sign(coverage, heartbeat({ nonce: 7n })))))).statusCode,
      ).to.equal(202);
      const grace = sign(coverage, heartbeat({ nonce: 7n, epoch: EPOCH - 1n }));
      const r = await request(h.app, "/v1/proofs/batch", JSON.stringify([wire(grace)]));
      expect(r.json().results[0]).to.include({ accepted: false, status: 409, error: "replay" });
    });
  });

  // -------------------------------------------------------------------------------------------------------------

  describe("ChainSeedSource", function () {
    function reader(recordedAt: Map<bigint, string>) {
      const calls = { has: 0, seed: 0 };
      let fail = false;
      return {
        calls,
        setFail: (f: boolean) => (fail = f),
        hasSeed: async (epoch: bigint) => {
          calls.has++;
          if (fail) throw new Error("rpc down");
          return recordedAt.has(epoch);
        },
        seedOf: async (epoch: bigint) => {
          calls.seed++;
          return recordedAt.get(epoch)!;
        },
      };
    }

    it("keeps a recorded seed, re-reads 'not recorded' after unknownTtlMs, shares reads and does not cache failures", async function () {
      const recorded = new Map<bigint, string>();
      const r = reader(recorded);
      let now = 0;
      const source = new ChainSeedSource(r, { unknownTtlMs: 1000, now: () => now, maxEpochs: 2 });
      expect(await source.seedOf(5n)).to.equal(null);
      recorded.set(5n, SEED.toUpperCase().replace("0X", "0x"));
      expect(await source.seedOf(5n)).to.equal(null); // still the cached "not recorded"
      expect(r.calls.has).to.equal(1);
      now = 1000;
      const [a, b] = await Promise.all([source.seedOf(5n), source.source(5n)]);
      expect([a, b]).to.deep.equal([SEED, SEED]);
      expect(r.calls).to.deep.equal({ has: 2, seed: 1 });
      now = 10_000_000;
      expect(await source.seedOf(5n)).to.equal(SEED);
      expect(r.calls.has).to.equal(2);

      r.setFail(true);
      let failed = false;
      await source.seedOf(6n).catch(() => (failed = true));
      expect(failed).to.equal(true);
      r.setFail(false);
      expect(await source.seedOf(6n)).to.equal(null);
      // maxEpochs: 2 -> epoch 5 was dropped after 6 and 7 were read.
      await source.seedOf(7n);
      const before = r.calls.has;
      expect(await source.seedOf(5n)).to.equal(SEED);
      expect(r.calls.has).to.equal(before + 1);
    });
  });
});
