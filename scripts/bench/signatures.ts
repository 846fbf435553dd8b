/**
 * Proof signature verification per second: the libraries available in Node on one core, our verification path
 * (digest + recovery + signer match) on one core, and on every core (native libsecp256k1 in N workers against our
 * `VerifierPool`), with ratios to native `ecdsaVerify` measured in the same run.
 *
 * Run by hand: `BENCH_MODE=quick node -r ts-node/register/transpile-only scripts/bench/signatures.ts` (prints the
 * JSON result; `BENCH_RESULT=<path>` writes it there instead).
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { secp256k1 as noble } from "@noble/curves/secp256k1";
import { ethers } from "ethers";
import { ecdsaRecover, ecdsaSign, ecdsaVerify, publicKeyCreate } from "secp256k1";
import { proofDomain } from "../../oracles/proof/digest";
import { KECCAK_IMPLEMENTATION } from "../../oracles/proof/hash";
import { VerifierPool } from "../../oracles/proof/verifier-pool";
import { verifyProofSignature } from "../../oracles/proof/verify";
import { benchDevices, benchProofs } from "./lib/proofs";
import { benchMode, fmt, median, writeResult, type BenchSection, type BenchTarget } from "./lib/report";

const mode = benchMode();
const RUNS = mode === "full" ? 5 : 2;
const RUN_MS = mode === "full" ? 1500 : 500;
const CORES = availableParallelism();
const DATA = 512;

const version = (name: string): string =>
  (JSON.parse(readFileSync(join(__dirname, "../../node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;

/** Calls `fn(i)` for i = 0, 1, ... (mod `DATA`) for `ms` milliseconds; ops per second. */
function rate(fn: (i: number) => unknown, ms: number): number {
  for (let i = 0; i < 200; i++) fn(i % DATA); // warm up
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let n = 0;
  let now = start;
  while (now < end) {
    for (let k = 0; k < 32; k++, n++) fn(n % DATA);
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

// ---------------------------------------------------------------------------------------------------------------
// Data: DATA keys, digests and signatures in every encoding the libraries want, made before any clock starts.
// ---------------------------------------------------------------------------------------------------------------

interface Sample {
  digest: Uint8Array;
  digestHex: string;
  key: Uint8Array;
  publicKey: Uint8Array;
  compact: Uint8Array;
  recid: number;
  ethersSig: string;
  nodeKey: KeyObject;
  nodeSig: Buffer;
}

function samples(): Sample[] {
  return Array.from({ length: DATA }, (_, i) => {
    const key = ethers.getBytes(ethers.id(`signature bench ${i}`));
    const digest = ethers.getBytes(ethers.id(`digest ${i}`));
    const { signature, recid } = ecdsaSign(digest, key);
    const publicKey = publicKeyCreate(key, false);
    const d = Buffer.from(key).toString("base64url");
    const x = Buffer.from(publicKey.subarray(1, 33)).toString("base64url");
    const y = Buffer.from(publicKey.subarray(33)).toString("base64url");
    const privateJwk = createPrivateKey({ key: { kty: "EC", crv: "secp256k1", d, x, y }, format: "jwk" });
    const nodeKey = createPublicKey(privateJwk);
    const nodeSig = nodeSign("sha256", digest, { key: privateJwk, dsaEncoding: "ieee-p1363" });
    return {
      digest,
      digestHex: ethers.hexlify(digest),
      key,
      publicKey,
      compact: signature,
      recid,
      ethersSig: ethers.hexlify(signature) + (27 + recid).toString(16),
      nodeKey,
      nodeSig,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// N cores
// ---------------------------------------------------------------------------------------------------------------

/** Native ecdsaVerify in `n` workers at once, each on its own copy of the data; total ops per second. */
async function nativeVerifyWorkers(n: number, data: Sample[], ms: number): Promise<number> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { ecdsaVerify } = require(workerData.lib);
    const data = workerData.data;
    parentPort.once("message", () => {
      for (let i = 0; i < 200; i++) ecdsaVerify(data[i % data.length].s, data[i % data.length].d, data[i % data.length].p);
      const start = process.hrtime.bigint();
      const end = start + BigInt(workerData.ms) * 1000000n;
      let k = 0, now = start;
      while (now < end) {
        for (let j = 0; j < 32; j++, k++) { const x = data[k % data.length]; if (!ecdsaVerify(x.s, x.d, x.p)) throw new Error("bad"); }
        now = process.hrtime.bigint();
      }
      parentPort.postMessage({ k, seconds: Number(now - start) / 1e9 });
    });
    parentPort.postMessage("ready");`;
  const workerData = {
    lib: require.resolve("secp256k1"),
    ms,
    data: data.map((x) => ({ s: x.compact, d: x.digest, p: x.publicKey })),
  };
  const workers = Array.from({ length: n }, () => new Worker(code, { eval: true, workerData }));
  try {
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once("message", resolve))));
    const results = workers.map(
      (w) =>
        new Promise<{ k: number; seconds: number }>((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    for (const w of workers) w.postMessage("go");
    return (await Promise.all(results)).reduce((sum, r) => sum + r.k / r.seconds, 0);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Our pool: batches of `batch` proofs, `depth` of them in flight per worker, for `ms`; verified per second. */
async function poolRate(
  pool: VerifierPool,
  domain: ethers.TypedDataDomain,
  records: Parameters<VerifierPool["verifyMany"]>[1],
  ms: number,
): Promise<number> {
  const batch = 256;
  const depth = 2 * Math.max(1, pool.size);
  let verified = 0;
  let next = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  const lane = async (): Promise<void> => {
    while (process.hrtime.bigint() < end) {
      const from = (next += batch) % records.length;
      const slice = records.slice(from, from + batch);
      const out = await pool.verifyMany(domain, slice);
      for (const o of out) if (!o.ok) throw new Error("a valid proof failed verification");
      verified += out.length;
    }
  };
  await Promise.all(Array.from({ length: depth }, lane));
  return verified / (Number(process.hrtime.bigint() - start) / 1e9);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const data = samples();
  const domain = proofDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  const devices = benchDevices(256, "signatures");
  const records = benchProofs(devices, domain, 4096, { epoch: 42n, timestamp: 1_767_225_650n });
  for (const r of records.slice(0, 64)) if (!verifyProofSignature(r, domain)) throw new Error("bad bench proof");

  const oneCore: Record<string, (i: number) => unknown> = {
    "ethers `recoverAddress`": (i) => ethers.recoverAddress(data[i].digestHex, data[i].ethersSig),
    "node:crypto `verify` (ECDSA secp256k1, KeyObject)": (i) =>
      nodeVerify("sha256", data[i].digest, { key: data[i].nodeKey, dsaEncoding: "ieee-p1363" }, data[i].nodeSig),
    "@noble/curves `secp256k1.verify`": (i) => noble.verify(data[i].compact, data[i].digest, data[i].publicKey),
    "@noble/curves recover (`Signature.recoverPublicKey`)": (i) =>
      noble.Signature.fromCompact(data[i].compact).addRecoveryBit(data[i].recid).recoverPublicKey(data[i].digest),
    "native `secp256k1` `ecdsaVerify`": (i) => ecdsaVerify(data[i].compact, data[i].digest, data[i].publicKey),
    "native `secp256k1` `ecdsaRecover`": (i) => ecdsaRecover(data[i].compact, data[i].recid, data[i].digest, false),
    "our path in-thread (`verifyProofSignature`: digest + recover + match)": (i) =>
      verifyProofSignature(records[i], domain),
  };
  const NATIVE = "native `secp256k1` `ecdsaVerify`";

  // Runs interleaved (one run of every method, then the next run), so a burst of noise hits all of them alike.
  const single: Record<string, number[]> = Object.fromEntries(Object.keys(oneCore).map((k) => [k, []]));
  const multiNative: number[] = [];
  const multiPool: number[] = [];
  const pool = new VerifierPool({ size: CORES });
  try {
    await pool.verifyMany(domain, records.slice(0, 64)); // workers up
    for (let run = 0; run < RUNS; run++) {
      for (const [name, fn] of Object.entries(oneCore)) {
        // ethers is ~30x slower than native: a shorter run is enough for it.
        single[name].push(rate(fn, name.startsWith("ethers") || name.startsWith("node") ? RUN_MS / 2 : RUN_MS));
      }
      multiNative.push(await nativeVerifyWorkers(CORES, data, RUN_MS));
      multiPool.push(await poolRate(pool, domain, records, RUN_MS));
    }
  } finally {
    await pool.close();
  }

  const med = Object.fromEntries(Object.entries(single).map(([k, v]) => [k, median(v)]));
  const native1 = med[NATIVE];
  const nativeN = median(multiNative);
  const poolN = median(multiPool);
  const ratio = (x: number, y: number): string => `${fmt((100 * x) / y, 1)}%`;

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const sections: BenchSection[] = [
    {
      heading: "Signature verification, one core",
      notes: [
        `Median of ${RUNS} runs of ${RUN_MS} ms each (ethers and node:crypto: ${RUN_MS / 2} ms), runs interleaved ` +
          `across methods; ${DATA} distinct keys and digests; ${cpu}, ${CORES} cores, Node ${process.version}.`,
        `Libraries: ethers ${version("ethers")}, @noble/curves ${version("@noble/curves")}, secp256k1 ` +
          `${version("secp256k1")} (native libsecp256k1 binding); our Keccak-256: ${KECCAK_IMPLEMENTATION} ` +
          `(keccak ${version("keccak")}; sdk/keccak.ts is the fallback).`,
        "node:crypto verifies a DER-less (IEEE P1363) signature over SHA-256 of the 32-byte digest with a public " +
          "KeyObject; ethers, noble recover and native recover return the public key (ethers: the address).",
        "Our path is what ingest runs per proof: canonical JSON of the payload and its Keccak-256, the EIP-712 " +
          "struct hash and digest (domain separator cached), strict low-s / v checks, native `ecdsaRecover`, " +
          "Keccak-256 of the public key (cached per key: a device signs all its proofs with one key) and a byte " +
          "comparison with the device address. Records are a fleet mix " +
          "(heartbeats, coverage beacons and witnesses, mapping, energy, compute receipts, 256-byte storage chunks).",
      ],
      table: {
        columns: ["method", "verifications/s (1 core)", "÷ native ecdsaVerify"],
        rows: Object.keys(oneCore).map((k) => [k, fmt(med[k]), ratio(med[k], native1)]),
      },
    },
    {
      heading: `Signature verification, all ${CORES} cores`,
      notes: [
        `Native: \`ecdsaVerify\` in ${CORES} worker threads at once, each looping on its own copy of the data ` +
          "(no messaging: the ceiling). Ours: `VerifierPool` with " +
          `${CORES} workers, fed by the main thread with batches of 256 parsed records (${2 * CORES} in flight), ` +
          "encoded into one transferred buffer per batch; the main thread's encoding and result handling run on " +
          "the same cores.",
      ],
      table: {
        columns: ["method", `verifications/s (${CORES} cores)`, "÷ native ecdsaVerify on all cores", "÷ native 1 core × cores"],
        rows: [
          [`native \`ecdsaVerify\`, ${CORES} workers`, fmt(nativeN), "100.0%", ratio(nativeN, native1 * CORES)],
          [`our \`VerifierPool\`, ${CORES} workers`, fmt(poolN), ratio(poolN, nativeN), ratio(poolN, native1 * CORES)],
        ],
      },
    },
  ];
  const targets: BenchTarget[] = [
    {
      label: `our verification path on ${CORES} cores ÷ native ecdsaVerify on ${CORES} cores`,
      value: (100 * poolN) / nativeN,
      target: 70,
      unit: "%",
      higherIsBetter: true,
    },
  ];
  writeResult({ name: "signatures", title: "Proof signature verification", sections, targets });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
