/**
 * Adversarial suite, peer faults: other oracles that serve garbage or flood.
 * - Sync isolation: one honest peer among peers serving invalid JSON, a huge body, pages of the wrong shape, a cursor
 *   that does not advance, oversized pages, forged / foreign / wrong-epoch proofs, or nothing at all (hanging): every
 *   honest proof is imported, nothing invalid is stored, the liars are reported as failed, and the pull takes about one
 *   peer timeout.
 * - Rate limit (rate-limit.ts): the token bucket itself; 429 `rate_limited` with Retry-After on the four peer routes
 *   only, per client IP; device ingest never limited (1,000 concurrent posts from one address); four peers syncing
 *   every 200 ms from one address stay far below the defaults.
 * - Signature flood: a committee member posting thousands of different signed verdicts for one epoch keeps one row;
 *   signatures for future epochs are refused (409), so storage stays bounded.
 */
import { expect } from "chai";
import Database from "better-sqlite3";
import { ethers } from "ethers";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { createFleet, fleetProofs } from "../../oracles/agent";
import { importProof, type ImportDeps } from "../../oracles/node/admit";
import { buildIngestApp } from "../../oracles/node/app";
import { nodeConfigSchema } from "../../oracles/node/config";
import { FixedEpochClock, MemoryDeviceDirectory } from "../../oracles/node/directory";
import { PEER_ROUTES, registerRateLimit, SIGNATURE_ROUTES, TokenBuckets } from "../../oracles/node/rate-limit";
import { ProofStore } from "../../oracles/node/store";
import { PeerSync, type Peer } from "../../oracles/node/sync";
import { registerVerdictRoutes } from "../../oracles/node/verdict-routes";
import { VerdictStore } from "../../oracles/node/verdict-store";
import { proofDigest, proofDomain, signProof, toProofJson, type ProofRecord } from "../../oracles/proof";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import { hubDomain, signVerdict, verdictToJson } from "../../sdk/verdict";
import { makeVerdict, oracleWallets } from "../helpers/verdicts";

const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DOMAIN = proofDomain(31337n, REGISTRY);
const HUB_DOMAIN = hubDomain(31337n, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const EPOCH_LENGTH = 3600n;
const EPOCH = 42n;
const GENESIS = 1_767_225_600n - EPOCH * EPOCH_LENGTH;
const LATE_IN_EPOCH = GENESIS + (EPOCH + 1n) * EPOCH_LENGTH - 1n;
const windowOf = (epoch: bigint) => ({
  start: Number(GENESIS + epoch * EPOCH_LENGTH),
  end: Number(GENESIS + (epoch + 1n) * EPOCH_LENGTH),
});

const fleet = createFleet({
  count: 10,
  seed: "faults-peers",
  proportions: { honest: 1 },
  classes: [ResourceClass.Energy, ResourceClass.Mapping],
  domain: DOMAIN,
});
const proofs = fleetProofs(fleet, EPOCH, ethers.id("faults-peers seed"), windowOf(EPOCH));
const forger = new ethers.Wallet(ethers.id("faults-peers forger"));
const stranger = new ethers.Wallet(ethers.id("faults-peers stranger"));
const wire = (r: ProofRecord) => JSON.parse(JSON.stringify(toProofJson(r))) as Record<string, unknown>;

function directory(): MemoryDeviceDirectory {
  return new MemoryDeviceDirectory(
    fleet.members.map((m) => [
      m.device.address,
      { operator: ethers.ZeroAddress, resourceClass: m.device.resourceClass, status: DeviceStatus.Active },
    ]),
  );
}

const closers: { close(): Promise<void> | void }[] = [];

async function listen(app: FastifyInstance): Promise<string> {
  closers.push(app);
  return app.listen({ host: "127.0.0.1", port: 0 });
}

/** A fake peer whose sync route is `handler` (connections cut on close: one of them never answers). */
async function peer(handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): Promise<string> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.get("/v1/sync/proofs", handler);
  return listen(app);
}

/** An ingest app over a fresh store (a real oracle's sync route, no rate limit). */
function ingest(store: ProofStore): FastifyInstance {
  return buildIngestApp({
    store,
    directory: directory(),
    clock: new FixedEpochClock(GENESIS, EPOCH_LENGTH),
    domain: DOMAIN,
    now: () => LATE_IN_EPOCH,
  });
}


/** The verdict routes on `app` for a 3-of-5 committee of `members`, in epoch EPOCH, nothing submitted yet. */
function signatureRoutes(app: FastifyInstance, verdicts: VerdictStore, members: readonly ethers.Wallet[]): Promise<void> {
  return registerVerdictRoutes(app, {
    store: verdicts,
    domain: HUB_DOMAIN,
    committee: async () => ({ members: members.map((m) => m.address), threshold: 3 }),
    submitted: async () => null,
    currentEpoch: () => EPOCH,
  });
}
describe("adversarial: peers that send garbage or flood", function () {
  this.timeout(30_000);

  afterEach(async function () {
    for (const c of closers.splice(0).reverse()) await c.close();
  });

  describe("sync isolation", function () {
    it("imports every honest proof and nothing invalid while six lying peers and a silent one fail", async function () {
      // The honest peer holds every proof.
      const honestStore = new ProofStore(":memory:");
      closers.push({ close: () => honestStore.close() });
      const honestApp = ingest(honestStore);
      for (const r of proofs) {
        const res = await honestApp.inject({ method: "POST", url: "/v1/proofs", payload: wire(r) });
        expect(res.statusCode, res.body).to.equal(202);
      }
      const honest = await listen(honestApp);

      // Proofs a lying oracle would serve: forged signatures, unregistered devices, another epoch, junk objects.
      const forged = proofs
        .slice(0, 5)
        .map((r) => ({
          ...r,
          nonce: r.nonce + 1_000n,
          signature: forger.signingKey.sign(proofDigest(DOMAIN, { ...r, nonce: r.nonce + 1_000n })).serialized,
        }));
      const foreign = proofs
        .slice(0, 5)
        .map((r) => signProof(stranger, DOMAIN, { ...r } as Parameters<typeof signProof>[2]));
      const otherEpoch = proofs.slice(0, 3).map((r) => ({ ...wire(r), epoch: (EPOCH - 1n).toString() }));
      const junk = [null, 7, "proof", { epoch: EPOCH.toString() }, { epoch: EPOCH.toString(), device: "0xnope" }];
      const lies = [...forged.map(wire), ...foreign.map(wire), ...otherEpoch, ...junk];

      const page = (body: unknown) => JSON.stringify(body);
      const liars: Peer[] = [
        {
          id: "invalid-json",
          url: await peer(async (_q, r) => r.type("application/json").send('{"epoch":"42","proofs":[{')),
        },
        {
          id: "huge-body",
          url: await peer(async (_q, r) =>
            r
              .type("application/json")
              .send(`{"epoch":"42","proofs":[],"pad":"${"x".repeat(3 * 1024 * 1024)}","next":0}`),
          ),
        },
        {
          id: "wrong-shape",
          url: await peer(async (_q, r) =>
            r.type("application/json").send(page({ epoch: 42, proofs: "all of them", next: -1 })),
          ),
        },
        {
          id: "stuck-cursor",
          url: await peer(async (_q, r) =>
            r.type("application/json").send(page({ epoch: "42", proofs: lies.slice(0, 2), next: 0 })),
          ),
        },
        {
          id: "oversized-page",
          url: await peer(async (_q, r) =>
            r.type("application/json").send(page({ epoch: "42", proofs: Array(300).fill(lies[0]), next: 300 })),
          ),
        },
        {
          id: "forger",
          url: await peer(async (q, r) => {
            const after = Number((q.query as { after?: string }).after ?? 0);
            return r
              .type("application/json")
              .send(page({ epoch: "42", proofs: after === 0 ? lies : [], next: after === 0 ? lies.length : after }));
          }),
        },
        { id: "silent", url: await peer(() => new Promise<never>(() => undefined)) },
      ];

      const store = new ProofStore(":memory:");
      closers.push({ close: () => store.close() });
      const deps: ImportDeps = { store, directory: directory(), domain: DOMAIN, now: () => LATE_IN_EPOCH };
      const sync = new PeerSync({
        peers: [...liars, { id: "honest", url: honest }],
        import: (input) => importProof(input, deps),
        pageSize: 200,
        timeoutMs: 1_000,
        maxPageBytes: 1024 * 1024,
      });
      closers.push({ close: () => sync.stop() });

      const started = Date.now();
      const report = await sync.pullEpoch(EPOCH);
      const elapsed = Date.now() - started;

      expect(report.imported).to.equal(proofs.length);
      expect([...report.failedPeers].sort()).to.deep.equal(
        ["invalid-json", "huge-body", "wrong-shape", "stuck-cursor", "oversized-page", "silent"].sort(),
      );
      // The forger's page is well formed: each of its proofs is counted invalid and skipped.
      expect(report.invalid).to.equal(lies.length);
      const stored = store
        .byEpoch(EPOCH)
        .map((p) => p.digest)
        .sort();
      expect(stored).to.deep.equal(proofs.map((r) => proofDigest(DOMAIN, r).toLowerCase()).sort());
      expect(store.count()).to.equal(proofs.length);
      expect(elapsed, "one peer timeout, not one per liar").to.be.lessThan(2_500);

      // Again: the honest cursor moved on, the liars still fail, nothing new is stored.
      const again = await sync.pullEpoch(EPOCH);
      expect(again.imported).to.equal(0);
      expect(again.failedPeers).to.not.include("honest");
      expect(store.count()).to.equal(proofs.length);
      console.log(`      pull with 7 bad peers and 1 honest: ${elapsed} ms; ${report.invalid} lies skipped`);
    });
  });

  describe("rate limit", function () {
    it("TokenBuckets: burst, refill, Retry-After, and bounded memory", function () {
      let now = 0;
      const buckets = new TokenBuckets({ ratePerSec: 2, burst: 4, maxClients: 100, now: () => now });
      for (let i = 0; i < 4; i++) expect(buckets.take("a").ok).to.equal(true);
      expect(buckets.take("a")).to.deep.equal({ ok: false, retryAfterSec: 1 });
      expect(buckets.take("b").ok, "another client is not affected").to.equal(true);
      now += 500; // one token back
      expect(buckets.take("a").ok).to.equal(true);
      expect(buckets.take("a").ok).to.equal(false);
      expect(buckets.limited).to.equal(2);

      // 10,000 clients: at most 100 buckets; the most recent are kept.
      for (let i = 0; i < 10_000; i++) buckets.take(`c${i}`);
      expect(buckets.size).to.equal(100);
      // Idle buckets (full again after burst / rate = 2 s) are dropped on the next request.
      now += 2_000;
      buckets.take("fresh");
      expect(buckets.size).to.equal(1);

      const slow = new TokenBuckets({ ratePerSec: 0.1, burst: 1, now: () => now });
      expect(slow.take("x").ok).to.equal(true);
      expect(slow.take("x")).to.deep.equal({ ok: false, retryAfterSec: 10 });
      expect(() => new TokenBuckets({ ratePerSec: 0, burst: 1 })).to.throw(RangeError);
    });

    it("answers 429 rate_limited with Retry-After on the peer routes only, per IP; ingest is never limited", async function () {
      const store = new ProofStore(":memory:");
      const verdicts = new VerdictStore(":memory:");
      closers.push({ close: () => (store.close(), verdicts.close()) });
      const app = ingest(store);
      const members = oracleWallets(5);
      await signatureRoutes(app, verdicts, members);
      const reads = registerRateLimit(app, PEER_ROUTES, { ratePerSec: 1, burst: 3 });
      const signatures = registerRateLimit(app, SIGNATURE_ROUTES, { ratePerSec: 1, burst: 3 });
      closers.push(app);

      const routes: { method: "GET" | "POST"; url: string; payload?: Record<string, unknown> }[] = [
        { method: "GET", url: `/v1/sync/proofs?epoch=${EPOCH}` },
        { method: "GET", url: `/v1/verdict-files/0x${"a".repeat(64)}` },
        { method: "GET", url: `/v1/verdicts/${EPOCH}/leaves` },
        { method: "POST", url: `/v1/verdicts/${EPOCH}/signatures`, payload: {} },
      ];
      for (const [i, route] of routes.entries()) {
        const remoteAddress = `10.0.0.${i + 1}`;
        const statuses: number[] = [];
        for (let k = 0; k < 3; k++) statuses.push((await app.inject({ ...route, remoteAddress })).statusCode);
        expect(statuses, `${route.url}: within the burst`).to.not.include(429);
        const limited = await app.inject({ ...route, remoteAddress });
        expect(limited.statusCode, route.url).to.equal(429);
        expect(limited.headers["retry-after"]).to.equal("1");
        expect(limited.json()).to.deep.equal({
          error: "rate_limited",
          message: `too many requests from ${remoteAddress}; retry in 1 s`,
        });
        // Another address is served.
        expect((await app.inject({ ...route, remoteAddress: `10.9.9.${i}` })).statusCode).to.not.equal(429);
      }

      // Not limited: device ingest (1,000 concurrent posts from one address), operator and health routes.
      const posts = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          app.inject({
            method: "POST",
            url: i % 2 === 0 ? "/v1/proofs" : "/v1/proofs/batch",
            remoteAddress: "127.0.0.1",
            payload: i % 2 === 0 ? wire(proofs[i % proofs.length]) : [wire(proofs[i % proofs.length])],
          }),
        ),
      );
      expect(posts.filter((r) => r.statusCode === 429).length).to.equal(0);
      expect(posts.filter((r) => r.statusCode === 202).length, "each proof stored once").to.equal(
        new Set(Array.from({ length: 500 }, (_, k) => (2 * k) % proofs.length)).size,
      );
      for (const url of ["/health", "/metrics", `/v1/verdicts/${EPOCH}`, `/v1/verdicts/${EPOCH}/file`]) {
        for (let k = 0; k < 10; k++)
          expect((await app.inject({ url, remoteAddress: "10.0.0.1" })).statusCode).to.not.equal(429);
      }
      expect(reads.limited).to.equal(3);
      expect(signatures.limited).to.equal(1);
    });

    it("with the default limits, four peers syncing every 200 ms from one address are never limited", async function () {
      const defaults = nodeConfigSchema.parse({ rpcUrl: "http://127.0.0.1:8545", oracleKey: `0x${"11".repeat(32)}` });
      const source = new ProofStore(":memory:");
      closers.push({ close: () => source.close() });
      const app = ingest(source);
      const buckets = registerRateLimit(app, PEER_ROUTES, {
        ratePerSec: defaults.peerRateLimit,
        burst: defaults.peerRateBurst,
      });
      for (const r of proofs) await app.inject({ method: "POST", url: "/v1/proofs", payload: wire(r) });
      const url = await listen(app);
      const at: number[] = [];
      const counting: typeof fetch = (input, init) => {
        at.push(Date.now());
        return fetch(input, init);
      };
      const syncs = Array.from({ length: 4 }, () => {
        const store = new ProofStore(":memory:");
        closers.push({ close: () => store.close() });
        const deps: ImportDeps = { store, directory: directory(), domain: DOMAIN, now: () => LATE_IN_EPOCH };
        // pageSize 1: many pages per pull, as when catching up.
        return new PeerSync({
          peers: [{ id: "o", url }],
          import: (i) => importProof(i, deps),
          pageSize: 1,
          fetch: counting,
        });
      });
      const started = Date.now();
      for (const s of syncs) s.start(() => [EPOCH, EPOCH - 1n], 200);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const ended = Date.now();
      await Promise.all(syncs.map((s) => s.stop()));
      const perSecond = at.length / ((ended - started) / 1000);
      const steady = at.filter((t) => t > ended - 1_000).length;
      expect(buckets.limited).to.equal(0);
      expect(at.length).to.be.greaterThan(4 * proofs.length);
      expect(steady, "steady state, after the catch-up").to.be.below(defaults.peerRateLimit / 2);
      console.log(
        `      4 peers x 2 epochs every 200 ms from one address (catch-up of ${proofs.length} proofs at 1 per page): ` +
          `${at.length} requests in 3 s (${perSecond.toFixed(0)}/s), then ${steady}/s steady; ` +
          `limit ${defaults.peerRateLimit}/s, burst ${defaults.peerRateBurst}`,
      );
    });
  });

  describe("signature flood", function () {
    it("keeps one row per member and epoch however many verdicts it signs; refuses future epochs", async function () {
      const dir = mkdtempSync(path.join(tmpdir(), "meshwork-faults-peers-"));
      const file = path.join(dir, "verdicts.sqlite");
      const verdicts = new VerdictStore(file);
      closers.push({ close: () => (verdicts.close(), rmSync(dir, { recursive: true, force: true })) });
      const members = oracleWallets(5);
      const app = Fastify({ logger: false });
      closers.push(app);
      await signatureRoutes(app, verdicts, members);
      const [flooder, honest] = members;
      const post = async (signer: ethers.Wallet, epoch: bigint, n: number) => {
        const verdict = makeVerdict(epoch, { totalWorkUnits: BigInt(n) });
        const { signature } = await signVerdict(signer, HUB_DOMAIN, verdict);
        return app.inject({
          method: "POST",
          url: `/v1/verdicts/${epoch}/signatures`,
          payload: { signer: signer.address, verdict: verdictToJson(verdict), signature },
        });
      };
      expect((await post(honest, EPOCH - 1n, 0)).statusCode).to.equal(202);

      const FLOOD = 1_000;
      const started = Date.now();
      for (let n = 1; n <= FLOOD; n++) {
        const res = await post(flooder, EPOCH - 1n, n);
        expect(res.statusCode, res.body).to.equal(202);
      }
      const elapsed = Date.now() - started;
      // Future epochs: refused before any check or write.
      for (const epoch of [EPOCH + 1n, EPOCH + 1_000n, (1n << 64n) - 1n]) {
        const res = await post(flooder, epoch, 1);
        expect(res.statusCode).to.equal(409);
        expect(res.json()).to.include({ error: "epoch_in_future" });
      }
      // The current epoch is accepted (a peer one block ahead may already see it closed).
      expect((await post(flooder, EPOCH, 1)).statusCode).to.equal(202);

      const rows = new Database(file, { readonly: true });
      try {
        const count = (epoch: bigint) =>
          (
            rows.prepare("SELECT COUNT(*) AS n FROM verdict_signatures WHERE epoch = ?").get(epoch.toString()) as {
              n: number;
            }
          ).n;
        expect(count(EPOCH - 1n), "one row per member").to.equal(2);
        expect((rows.prepare("SELECT COUNT(*) AS n FROM verdict_signatures").get() as { n: number }).n).to.equal(3);
      } finally {
        rows.close();
      }
      const latest = verdicts.signatures(EPOCH - 1n).find((s) => s.signer === flooder.address)!;
      expect(latest.verdict.totalWorkUnits, "the latest is kept").to.equal(BigInt(FLOOD));
      console.log(
        `      ${FLOOD} signed verdicts from one member in ${elapsed} ms (${((FLOOD * 1000) / elapsed).toFixed(0)}/s): 1 row kept`,
      );
    });

    it("with the default signature limit, a flood from one address is refused past the burst, cheaply", async function () {
      const defaults = nodeConfigSchema.parse({ rpcUrl: "http://127.0.0.1:8545", oracleKey: `0x${"11".repeat(32)}` });
      const verdicts = new VerdictStore(":memory:");
      closers.push({ close: () => verdicts.close() });
      const members = oracleWallets(5);
      const app = Fastify({ logger: false });
      closers.push(app);
      await signatureRoutes(app, verdicts, members);
      const limiter = registerRateLimit(app, SIGNATURE_ROUTES, {
        ratePerSec: defaults.signatureRateLimit,
        burst: defaults.signatureRateBurst,
      });
      const bodies = await Promise.all(
        Array.from({ length: 300 }, async (_, n) => {
          const verdict = makeVerdict(EPOCH - 1n, { totalWorkUnits: BigInt(n) });
          const { signature } = await signVerdict(members[0], HUB_DOMAIN, verdict);
          return { signer: members[0].address, verdict: verdictToJson(verdict), signature };
        }),
      );
      const started = Date.now();
      const statuses = await Promise.all(
        bodies.map(
          async (payload) =>
            (await app.inject({ method: "POST", url: `/v1/verdicts/${EPOCH - 1n}/signatures`, payload })).statusCode,
        ),
      );
      const elapsed = Date.now() - started;
      const accepted = statuses.filter((s) => s === 202).length;
      expect(accepted).to.be.within(defaults.signatureRateBurst, defaults.signatureRateBurst + 5);
      expect(statuses.filter((s) => s === 429).length).to.equal(bodies.length - accepted);
      expect(limiter.limited).to.equal(bodies.length - accepted);
      // A member's own peers are unaffected: another address still posts.
      const other = await app.inject({
        method: "POST",
        url: `/v1/verdicts/${EPOCH - 1n}/signatures`,
        payload: bodies[0],
        remoteAddress: "10.1.1.1",
      });
      expect(other.statusCode).to.equal(202);
      console.log(
        `      ${bodies.length} signature posts at once from one address: ${accepted} accepted, the rest 429, in ${elapsed} ms`,
      );
    });
  });
});
