import { expect } from "chai";
import { ethers } from "ethers";
import { ResourceClass } from "../../sdk/enums";
import {
  InvalidSignatureError,
  proofDigest,
  proofDomain,
  ProofKind,
  signProof,
  SignerMismatchError,
  VerifierUnavailableError,
  type ProofRecord,
} from "../../oracles/proof";
import { VerifierPool } from "../../oracles/proof/verifier-pool";
import { classifyError } from "../../oracles/node/errors";
import { benchDevices, benchProofs } from "../../scripts/bench/lib/proofs";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const DOMAIN = proofDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const OTHER = proofDomain(1n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const device = new ethers.Wallet(ethers.id("pool device"));
const forger = new ethers.Wallet(ethers.id("pool forger"));

const heartbeat = (nonce: bigint, domain = DOMAIN): ProofRecord =>
  signProof(device, domain, {
    epoch: 42n,
    nonce,
    timestamp: 1_767_225_650n,
    resourceClass: ResourceClass.Coverage,
    kind: ProofKind.Heartbeat,
    payload: { uptimeSeconds: 60 },
  });

/** A mix of valid proofs of every kind a fleet sends (signed with native libsecp256k1). */
const mixed = benchProofs(benchDevices(21, "pool test"), DOMAIN, 300, { epoch: 42n, timestamp: 1_767_225_650n });

function highS(record: ProofRecord): ProofRecord {
  const sig = ethers.Signature.from(record.signature);
  const twin = ethers.concat([sig.r, ethers.toBeHex(N - BigInt(sig.s), 32), ethers.toBeHex(sig.v === 27 ? 28 : 27, 1)]);
  return { ...record, signature: twin };
}

describe("oracles/proof VerifierPool", function () {
  this.timeout(30_000);
  let pool: VerifierPool;
  beforeEach(function () {
    pool = new VerifierPool({ size: 2 });
  });
  afterEach(async function () {
    await pool.close();
  });

  it("verifies valid proofs of every kind on the workers, with the in-thread digests", async function () {
    const outcomes = await pool.verifyMany(DOMAIN, mixed);
    expect(outcomes.map((o) => (o.ok ? o.digest : o.error))).to.deep.equal(mixed.map((r) => proofDigest(DOMAIN, r)));
    expect(await pool.verify(DOMAIN, heartbeat(1n))).to.deep.equal({ digest: proofDigest(DOMAIN, heartbeat(1n)) });
  });

  it("coalesces concurrent calls and answers each one", async function () {
    const calls = mixed.slice(0, 50).map((r) => pool.verify(DOMAIN, r));
    const results = await Promise.all(calls);
    expect(results.map((r) => r.digest)).to.deep.equal(mixed.slice(0, 50).map((r) => proofDigest(DOMAIN, r)));
  });

  it("rejects forged, tampered, other-domain and malformed signatures like the in-thread path", async function () {
    const good = heartbeat(2n);
    const forged = { ...good, signature: forger.signingKey.sign(proofDigest(DOMAIN, good)).serialized };
    const tampered = { ...good, nonce: 3n } as ProofRecord;
    const rs = good.signature.slice(0, 130);
    const cases: [ProofRecord, new (...args: never[]) => Error, string?][] = [
      [forged, SignerMismatchError],
      [tampered, SignerMismatchError],
      [heartbeat(4n, OTHER), SignerMismatchError],
      [highS(good), InvalidSignatureError, "high"],
      [{ ...good, signature: rs + "1d" }, InvalidSignatureError, "27 or 28"],
      [{ ...good, signature: "0x" + "00".repeat(32) + good.signature.slice(66) }, InvalidSignatureError, "r out"],
      [{ ...good, signature: good.signature.slice(0, 66) + "00".repeat(32) + "1b" }, InvalidSignatureError, "s out"],
      [{ ...good, signature: "0x1234" }, InvalidSignatureError],
    ];
    const outcomes = await pool.verifyMany(DOMAIN, [good, ...cases.map(([r]) => r)]);
    expect(outcomes[0]).to.deep.equal({ ok: true, digest: proofDigest(DOMAIN, good) });
    cases.forEach(([, cls, fragment], i) => {
      const o = outcomes[i + 1];
      expect(o.ok, `case ${i}`).to.equal(false);
      if (o.ok) return;
      expect(o.error, `case ${i}`).to.be.instanceOf(cls);
      if (fragment) expect(o.error.message).to.include(fragment);
    });
    const forgedOutcome = outcomes[1];
    if (!forgedOutcome.ok) expect(forgedOutcome.error.details).to.include({ signer: forger.address });
    let caught: unknown;
    await pool.verify(DOMAIN, forged).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(SignerMismatchError);
  });

  it("loses and wrongly accepts nothing when a worker dies mid-batch (in-thread fallback), and replaces it", async function () {
    const forged = { ...mixed[0], signature: forger.signingKey.sign(proofDigest(DOMAIN, mixed[0])).serialized };
    const records = [...mixed, forged, ...mixed];
    const pending = pool.verifyMany(DOMAIN, records);
    pool.crashWorkerForTest(0);
    pool.crashWorkerForTest(1);
    const outcomes = await pending;
    expect(outcomes.filter((o) => o.ok)).to.have.length(2 * mixed.length);
    const bad = outcomes[mixed.length];
    expect(bad.ok).to.equal(false);
    if (!bad.ok) expect(bad.error).to.be.instanceOf(SignerMismatchError);
    // Replacements are up and verify again.
    expect((await pool.verifyMany(DOMAIN, mixed)).every((o) => o.ok)).to.equal(true);
    expect(pool.workers).to.equal(2);
  });

  it("rejects with a 503-class error instead when told to (onWorkerFailure: reject, no restarts)", async function () {
    const strict = new VerifierPool({ size: 1, onWorkerFailure: "reject", maxRestarts: 0 });
    try {
      const pending = strict.verifyMany(DOMAIN, mixed);
      strict.crashWorkerForTest(0);
      const outcomes = await pending;
      // Whatever the worker finished before dying is answered; the rest is refused, never accepted unchecked.
      for (const o of outcomes) if (!o.ok) expect(o.error).to.be.instanceOf(VerifierUnavailableError);
      expect(outcomes.some((o) => !o.ok)).to.equal(true);
      expect(classifyError(new VerifierUnavailableError("x")).status).to.equal(503);
      const after = await strict.verifyMany(DOMAIN, mixed.slice(0, 3));
      expect(strict.workers).to.equal(0);
      for (const o of after) expect(!o.ok && o.error instanceof VerifierUnavailableError).to.equal(true);
    } finally {
      await strict.close();
    }
  });

  it("close() waits for batches in flight, terminates the workers and refuses later calls", async function () {
    const pending = pool.verifyMany(DOMAIN, mixed);
    await new Promise((resolve) => setImmediate(resolve)); // let the batch go out
    await pool.close();
    expect((await pending).every((o) => o.ok)).to.equal(true);
    expect(pool.workers).to.equal(0);
    let caught: unknown;
    await pool.verify(DOMAIN, mixed[0]).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(VerifierUnavailableError);
    await pool.close(); // idempotent
  });

  it("verifies in-thread with size 0", async function () {
    const inline = new VerifierPool({ size: 0 });
    const outcomes = await inline.verifyMany(DOMAIN, mixed.slice(0, 10));
    expect(outcomes.every((o) => o.ok)).to.equal(true);
    await inline.close();
  });
});
