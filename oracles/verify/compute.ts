/**
 * GPU / COMPUTE verification (Render, Akash). Pure: no I/O, randomness only from the epoch seed and the answer.
 *
 * Matrix challenge:
 * - `deriveMatrices(seed, device, n)` gives A and B (n × n, row-major, entries in [0, 2^16)). Word w of matrix M
 *   (tag 0 = A, 1 = B) is keccak256(abi.encodePacked(seed, device, uint8 tag, uint256 n, uint256 w)); its 256 bits are
 *   16 entries of 16 bits, most significant first.
 * - The device computes C = A·B over the prime field p = 2^61 − 1 (`COMPUTE_PRIME`, a Mersenne prime), entries
 *   canonical in [0, p). With 16-bit inputs and n < 2^29 no entry ever wraps, so C is also the integer product.
 *   `multiply` is what the agent runs (bigint arithmetic).
 *
 * Freivalds' check (`verifyProduct`): for each round t, a vector r_t with entries uniform in [0, p) is derived and the
 * oracle checks A(B r_t) == C r_t (mod p): three matrix-vector products, O(n^2) per round. The entries of r_t come from
 * keccak256(abi.encodePacked(seed, device, productDigest(C), uint256 n, uint256 t, uint256 block)), four 64-bit words
 * per hash, each reduced mod p.
 * - Why C's digest is in the derivation (Fiat–Shamir): the seed is public before the device answers, so vectors
 *   derived from (seed, device, round) alone could be computed first and a forger could pick an error E ≠ 0 with
 *   E r_t = 0 for every round, passing with a wrong C. Binding r_t to the submitted C leaves only grinding, which
 *   succeeds with probability ≤ p^−rounds per attempt.
 * - Soundness: for a fixed wrong C, one round with r uniform over F_p accepts with probability ≤ 1/p ≈ 2^−61 (the
 *   textbook 0/1 vectors give ≤ 1/2), so `rounds` rounds give ≤ 2^−61·rounds ≤ 2^−rounds. Default
 *   `FREIVALDS_ROUNDS` = 8, allowed 1..`FREIVALDS_MAX_ROUNDS` (64).
 * - Rules: malformed oracle-side input (seed, device, n outside 1..`COMPUTE_MAX_N`, rounds) -> rejected, no fault;
 *   a C of the wrong shape, with a non-bigint or non-canonical entry, or failing any round -> FaultKind.InvalidProof;
 *   otherwise verified with workUnits = n^3 (multiply-adds).
 *
 * Job receipts (`verifyReceipt`): the client co-signs EIP-712 `JobReceipt(bytes32 jobId,address device,uint256
 * workUnits)` under a domain given as input. A signature that does not recover to the client (or cannot be parsed)
 * -> FaultKind.InvalidProof; malformed fields, zero work or client == device (a self-signed receipt proves nothing)
 * -> rejected, no fault. workUnits on success = the receipt's workUnits.
 */
import { ethers } from "ethers";

import { FaultKind } from "../../sdk/enums";
import { recoverSigner } from "../proof/recover";
import { encodePacked, keccakHex, packedKeccak } from "./hash";
import { rejected, verified, type VerifyResult } from "./result";

/** The field modulus p = 2^61 − 1 (Mersenne prime). */
export const COMPUTE_PRIME = (1n << 61n) - 1n;
/** Matrix entries of A and B lie in [0, 2^ENTRY_BITS). */
export const COMPUTE_ENTRY_BITS = 16;
/** Largest challenge size the verifier accepts. */
export const COMPUTE_MAX_N = 1024;
/** Default Freivalds rounds. */
export const FREIVALDS_ROUNDS = 8;
export const FREIVALDS_MAX_ROUNDS = 64;

/** A square matrix, row-major. */
export type Matrix = readonly (readonly bigint[])[];

export interface ProductVerifyInput {
  /** Epoch seed (bytes32). */
  seed: string;
  /** Device address. */
  device: string;
  /** Matrix size. */
  n: number;
  /** The device's claimed C = A·B mod p. */
  c: Matrix;
  /** Freivalds rounds; defaults to `FREIVALDS_ROUNDS`. */
  rounds?: number;
}

/** A job receipt as the client signs it. */
export interface JobReceipt {
  jobId: string;
  device: string;
  workUnits: bigint;
}

export interface ReceiptVerifyInput extends JobReceipt {
  /** The client's address (the expected signer). */
  client: string;
  /** The client's EIP-712 signature over the receipt. */
  clientSignature: string;
  /** EIP-712 domain of the marketplace/lease the job belongs to. */
  domain: ethers.TypedDataDomain;
}

export const JOB_RECEIPT_TYPES: Record<string, ethers.TypedDataField[]> = {
  JobReceipt: [
    { name: "jobId", type: "bytes32" },
    { name: "device", type: "address" },
    { name: "workUnits", type: "uint256" },
  ],
};

/** A and B for this device and epoch (see the module comment for the derivation). */
export function deriveMatrices(seed: string, device: string, n: number): { a: bigint[][]; b: bigint[][] } {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError("n must be a positive integer");
  return { a: deriveMatrix(seed, device, n, 0), b: deriveMatrix(seed, device, n, 1) };
}

function deriveMatrix(seed: string, device: string, n: number, tag: number): bigint[][] {
  const perWord = 256 / COMPUTE_ENTRY_BITS;
  const mask = (1n << BigInt(COMPUTE_ENTRY_BITS)) - 1n;
  const m: bigint[][] = Array.from({ length: n }, () => new Array<bigint>(n));
  // The packed tuple once; only its last word (the counter, below 2^64) changes from hash to hash.
  const packed = encodePacked([
    { type: "bytes32", value: seed },
    { type: "address", value: device },
    { type: "uint8", value: tag },
    { type: "uint256", value: n },
    { type: "uint256", value: 0 },
  ]);
  let word = 0n;
  for (let k = 0; k < n * n; k++) {
    const slot = k % perWord;
    if (slot === 0) {
      packed.writeBigUInt64BE(BigInt(Math.floor(k / perWord)), packed.length - 8);
      word = BigInt(keccakHex(packed));
    }
    const shift = BigInt((perWord - 1 - slot) * COMPUTE_ENTRY_BITS);
    m[Math.floor(k / n)][k % n] = (word >> shift) & mask;
  }
  return m;
}

/** C = A·B mod p (the device/agent side; O(n^3)). */
export function multiply(a: Matrix, b: Matrix): bigint[][] {
  const n = a.length;
  if (b.length !== n || a.some((row) => row.length !== n) || b.some((row) => row.length !== n)) {
    throw new RangeError("multiply needs two n x n matrices");
  }
  const c: bigint[][] = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<bigint>(n).fill(0n);
    const ai = a[i];
    for (let k = 0; k < n; k++) {
      const aik = ai[k];
      if (aik === 0n) continue;
      const bk = b[k];
      for (let j = 0; j < n; j++) row[j] += aik * bk[j];
    }
    c.push(row.map((v) => v % COMPUTE_PRIME));
  }
  return c;
}

/** keccak256 of C's entries as uint64 big-endian, row-major (binds the Freivalds vectors to the answer). */
export function productDigest(c: Matrix): string {
  const n = c.length;
  const buf = new Uint8Array(n * n * 8);
  const view = new DataView(buf.buffer);
  c.forEach((row, i) => row.forEach((v, j) => view.setBigUint64((i * n + j) * 8, v)));
  return keccakHex(buf);
}

/** The Freivalds vector for round `round`: n entries in [0, p). */
export function freivaldsVector(seed: string, device: string, digest: string, n: number, round: number): bigint[] {
  const r: bigint[] = [];
  for (let block = 0; r.length < n; block++) {
    const h = packedKeccak([
      { type: "bytes32", value: seed },
      { type: "address", value: device },
      { type: "bytes32", value: digest },
      { type: "uint256", value: n },
      { type: "uint256", value: round },
      { type: "uint256", value: block },
    ]);
    for (let w = 3; w >= 0 && r.length < n; w--) r.push(((h >> BigInt(64 * w)) & 0xffffffffffffffffn) % COMPUTE_PRIME);
  }
  return r;
}

function mulVec(m: Matrix, v: readonly bigint[]): bigint[] {
  return m.map((row) => {
    let acc = 0n;
    for (let j = 0; j < row.length; j++) acc += row[j] * v[j];
    return acc % COMPUTE_PRIME;
  });
}

/** Freivalds' check of the device's C against the seeded A, B (rules in the module comment). */
export function verifyProduct(input: ProductVerifyInput): VerifyResult {
  const { seed, device, n, c } = input;
  const rounds = input.rounds ?? FREIVALDS_ROUNDS;
  if (!ethers.isHexString(seed, 32)) return rejected("seed is not bytes32");
  if (!ethers.isAddress(device)) return rejected("device is not an address");
  if (!Number.isSafeInteger(n) || n < 1 || n > COMPUTE_MAX_N) return rejected(`n must be in 1..${COMPUTE_MAX_N}`);
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > FREIVALDS_MAX_ROUNDS) {
    return rejected(`rounds must be in 1..${FREIVALDS_MAX_ROUNDS}`);
  }
  if (!Array.isArray(c) || c.length !== n || c.some((row) => !Array.isArray(row) || row.length !== n)) {
    return rejected(`product is not ${n} x ${n}`, FaultKind.InvalidProof);
  }
  if (c.some((row) => row.some((v: unknown) => typeof v !== "bigint" || v < 0n || v >= COMPUTE_PRIME))) {
    return rejected("product has an entry outside [0, p)", FaultKind.InvalidProof);
  }
  const { a, b } = deriveMatrices(seed, device, n);
  const digest = productDigest(c);
  for (let t = 0; t < rounds; t++) {
    const r = freivaldsVector(seed, device, digest, n, t);
    const abr = mulVec(a, mulVec(b, r));
    const cr = mulVec(c, r);
    if (abr.some((v, i) => v !== cr[i])) return rejected(`product fails Freivalds round ${t}`, FaultKind.InvalidProof);
  }
  return verified(BigInt(n) ** 3n);
}

/** Checks a client-co-signed job receipt (rules in the module comment). */
export function verifyReceipt(input: ReceiptVerifyInput): VerifyResult {
  const { jobId, device, client, workUnits, clientSignature, domain } = input;
  if (!ethers.isHexString(jobId, 32)) return rejected("jobId is not bytes32");
  if (!ethers.isAddress(device)) return rejected("device is not an address");
  if (!ethers.isAddress(client)) return rejected("client is not an address");
  if (typeof workUnits !== "bigint" || workUnits <= 0n || workUnits >= 1n << 256n) return rejected("workUnits must be a positive uint256");
  if (ethers.getAddress(client) === ethers.getAddress(device)) return rejected("client and device are the same key");
  let signer: string;
  try {
    // Native recovery, strict like the proofs' own signatures (65 bytes, v 27/28, low s).
    signer = recoverSigner(ethers.TypedDataEncoder.hash(domain, JOB_RECEIPT_TYPES, { jobId, device, workUnits }), clientSignature);
  } catch {
    return rejected("client signature cannot be parsed", FaultKind.InvalidProof);
  }
  if (signer !== ethers.getAddress(client)) return rejected("receipt not signed by the client", FaultKind.InvalidProof);
  return verified(workUnits);
}
