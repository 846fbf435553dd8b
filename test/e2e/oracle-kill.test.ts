/**
 * Adversarial suite: SIGKILL an oracle's ingest under load; after a restart on the same store, no acknowledged proof
 * is lost.
 *
 * oracle-network.test.ts kills two oracles mid-epoch, but between two deliveries (nothing in flight at the kill).
 * Here one ingest process (test/helpers/ingest-process.ts: app.ts + a file-backed ProofStore + the VerifierPool) takes
 * proofs from 50 concurrent keep-alive clients (single posts and batches of 5) and is SIGKILLed at a random moment,
 * with requests in flight and group commits under way. It is restarted on the same store file, and every digest it
 * acknowledged (a 202, or an `accepted` item of a 200 batch) must be stored; nothing that was never sent may be.
 *
 * A SIGKILL loses the process, not the kernel's page cache: this checks that nothing is acknowledged before it is
 * committed (and that a torn WAL tail is recovered), not the fsync itself (synchronous = FULL, see store.ts).
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent, request } from "undici";

import { proofDigest, toProofJson, type ProofRecord } from "../../oracles/proof";
import { ProofStore } from "../../oracles/node/store";
import { freePort, REPO_ROOT } from "../../scripts/lib/localnet/network";
import { sleep, startProcess, waitFor, type ServiceProcess } from "../../scripts/lib/localnet/process";
import { INGEST_DOMAIN, INGEST_EPOCH, ingestDevice, ingestProof } from "../helpers/ingest-process";

const CLIENTS = 50;
const BATCH_EVERY = 4; // every 4th request of a client is a batch
const BATCH_SIZE = 5;

async function startIngest(storePath: string): Promise<{ proc: ServiceProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await startProcess({
    name: "ingest process",
    command: process.execPath,
    args: ["-r", "ts-node/register/transpile-only", path.join("test", "helpers", "ingest-process.ts")],
    cwd: REPO_ROOT,
    env: {
      MESHWORK_TEST_STORE: storePath,
      MESHWORK_TEST_PORT: String(port),
      MESHWORK_TEST_DEVICES: String(CLIENTS),
    },
    ready: async () => {
      try {
        return (await fetch(`${url}/health`)).ok;
      } catch {
        return false;
      }
    },
    timeoutMs: 30_000,
  });
  return { proc, url };
}

describe("e2e: SIGKILL an ingest process under load", function () {
  this.timeout(60_000);
  let dir: string;
  const procs: ServiceProcess[] = [];
  before(function () {
    dir = mkdtempSync(path.join(tmpdir(), "meshwork-kill-"));
  });
  after(async function () {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("no acknowledged proof (single or batch item) is lost after a SIGKILL under 50 concurrent clients", async function () {
    const storePath = path.join(dir, "proofs.sqlite");
    const first = await startIngest(storePath);
    procs.push(first.proc);
    const devices = Array.from({ length: CLIENTS }, (_, i) => ingestDevice(i));

    const acked = new Map<string, ProofRecord>(); // digest -> record
    const sent = new Map<string, ProofRecord>(); // every digest that left the client
    const inFlight = new Set<string>(); // sent, no answer (the kill cut it)
    const statuses = new Map<number, number>();
    let requests = 0;
    let batchRequests = 0;
    let killed = false;
    const earlyErrors: string[] = [];
    const agent = new Agent({ connections: CLIENTS, keepAliveTimeout: 30_000, pipelining: 1 });

    const client = async (i: number): Promise<void> => {
      let nonce = 1n;
      for (let k = 0; !killed; k++) {
        const batch = k % BATCH_EVERY === BATCH_EVERY - 1;
        const records = Array.from({ length: batch ? BATCH_SIZE : 1 }, () => ingestProof(devices[i], nonce++));
        const digests = records.map((r) => proofDigest(INGEST_DOMAIN, r));
        records.forEach((r, n) => {
          sent.set(digests[n], r);
          inFlight.add(digests[n]);
        });
        const body = JSON.stringify(batch ? records.map(toProofJson) : toProofJson(records[0]));
        let status: number;
        let reply: unknown;
        try {
          const res = await request(`${first.url}/v1/proofs${batch ? "/batch" : ""}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            dispatcher: agent,
          });
          status = res.statusCode;
          reply = await res.body.json();
        } catch (error) {
          // Once the process is killed: this request's proofs stay "in flight". Before: a failure.
          if (!killed) earlyErrors.push(`client ${i}: ${(error as Error).message}`);
          return;
        }
        requests += 1;
        if (batch) batchRequests += 1;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        for (const d of digests) inFlight.delete(d);
        if (batch) {
          expect(status, JSON.stringify(reply)).to.equal(200);
          const results = (reply as { results: { accepted: boolean; digest?: string }[] }).results;
          results.forEach((r, n) => {
            expect(r.accepted, JSON.stringify(r)).to.equal(true);
            expect(r.digest).to.equal(digests[n]);
            acked.set(digests[n], records[n]);
          });
        } else {
          expect(status, JSON.stringify(reply)).to.equal(202);
          expect((reply as { digest: string }).digest).to.equal(digests[0]);
          acked.set(digests[0], records[0]);
        }
      }
    };

    const started = Date.now();
    const running = Array.from({ length: CLIENTS }, (_, i) => client(i));
    // Under way first (the first answers wait for the verifier workers to boot), then a random moment.
    await waitFor("the first 100 acknowledgements", async () => acked.size >= 100 || earlyErrors.length > 0, {
      timeoutMs: 15_000,
      everyMs: 20,
    });
    const warmMs = Date.now() - started;
    const killAfter = Math.floor(Math.random() * 1_500);
    await sleep(killAfter);
    killed = true;
    const ackedAtKill = acked.size;
    await first.proc.stop("SIGKILL");
    await Promise.all(running);
    await agent.close();
    const loadMs = Date.now() - started;
    expect(earlyErrors, "requests failed before the kill").to.deep.equal([]);

    // Restart on the same file; the process reads it back and serves it.
    const second = await startIngest(storePath);
    procs.push(second.proc);
    const health = (await (await fetch(`${second.url}/health`)).json()) as { ok: boolean; proofs: number };
    const servedKeys = new Set<string>();
    for (let after = 0; ;) {
      const page = (await (
        await fetch(`${second.url}/v1/sync/proofs?epoch=${INGEST_EPOCH}&after=${after}&limit=1000`)
      ).json()) as { proofs: { device: string; nonce: string }[]; next: number };
      for (const p of page.proofs) servedKeys.add(`${p.device}:${p.nonce}`);
      if (page.proofs.length === 0) break;
      after = page.next;
    }
    // A replay of an acknowledged proof is refused, a new one accepted: the restarted process works on the old store.
    const someRecord = [...acked.values()][0];
    const replay = await fetch(`${second.url}/v1/proofs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(toProofJson(someRecord)),
    });
    expect(replay.status).to.equal(409);
    const fresh = await fetch(`${second.url}/v1/proofs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(toProofJson(ingestProof(devices[0], 1_000_000n))),
    });
    expect(fresh.status).to.equal(202);
    await second.proc.stop("SIGTERM");

    // Every acknowledged digest is in the store, under its (device, nonce); nothing unsent is.
    const store = new ProofStore(storePath);
    let inFlightStored = 0;
    try {
      expect(acked.size).to.be.greaterThan(100);
      for (const [digest, r] of acked) {
        expect(store.digestOf(r.device, r.nonce), `acknowledged ${digest} lost`).to.equal(digest.toLowerCase());
      }
      expect(health.proofs).to.equal(servedKeys.size);
      expect(servedKeys.size).to.be.gte(acked.size);
      const sentKeys = new Set([...sent.values()].map((r) => `${r.device}:${r.nonce}`));
      for (const key of servedKeys) expect(sentKeys.has(key), `${key} stored but never sent`).to.equal(true);
      for (const digest of inFlight) {
        const r = sent.get(digest)!;
        if (store.digestOf(r.device, r.nonce) !== null) inFlightStored++;
      }
      // Stored = acknowledged + in-flight ones that were committed but not answered before the kill (+1 fresh).
      expect(store.count()).to.equal(acked.size + inFlightStored + 1);
    } finally {
      store.close();
    }
    console.log(
      `      SIGKILL ${killAfter} ms after the 100th acknowledgement (${warmMs} ms into the load; ${loadMs} ms with ` +
        `shutdown): ${requests} answered requests ` +
        `(${batchRequests} batches), statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `${acked.size} proofs acknowledged (${ackedAtKill} at the kill signal), all ${acked.size} stored after ` +
        `restart; ${inFlight.size} in flight at the kill, ${inFlightStored} of them committed unanswered`,
    );
  });
});
