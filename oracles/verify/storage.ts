/**
 * STORAGE verification (Filecoin-style proof of retrievability). Pure: no I/O, randomness only from the epoch seed.
 *
 * Commitment (what a device registers as its data root):
 * - The data is cut into chunks of exactly `STORAGE_CHUNK_SIZE` (4 KiB) bytes; the last chunk is right-padded with
 *   zero bytes, so every chunk on the wire has the same size. Empty data has no commitment.
 * - Leaf i = keccak256(chunk_i) (a 4096-byte preimage, so a leaf can never be confused with an inner node, whose
 *   preimage is 64 bytes).
 * - Positional hashing: parent = keccak256(left ‖ right), where left/right come from the node's index at that level
 *   (bit d of the leaf index tells whether the node is a right child at depth d). No sorting: a path proves the index.
 * - A level with an odd number of nodes is padded with `STORAGE_PAD_NODE` (bytes32(0), which has no known keccak
 *   preimage), never by duplicating the last node.
 * - A tree of one leaf has root = that leaf and an empty path. Path length = ceil(log2(chunkCount)).
 * - `chunkCount` is committed next to the root (on-chain), so the depth and the valid index range are known.
 *
 * Challenge: `challengeIndices` draws k distinct indices with a partial Fisher–Yates shuffle driven by
 * keccak256(seed, device, dataRoot, chunkCount, i): exactly k hashes, no rejection loop, unpredictable before the
 * epoch seed exists. `STORAGE_CHALLENGE_COUNT` = 32: a device that kept a fraction f of its chunks passes with f^32
 * (f = 0.9 -> 3.4 %, f = 0.5 -> 2^-32).
 *
 * Verdict rules (`verifyStorageResponse`), in this order:
 * - malformed oracle-side input (seed, device, root, chunkCount, capacity) -> rejected, no fault;
 * - capacity larger than the committed data (capacityGiB · 2^30 > chunkCount · 4096) -> rejected, no fault
 *   (the claim is not backed, but nothing was forged);
 * - any answer for an index that was not challenged, a duplicate answer, a chunk of the wrong size, a path of the
 *   wrong length or a path that does not lead to the root -> FaultKind.InvalidProof (a forged or wrong proof is
 *   penalised even when other answers are also missing);
 * - no answer at all -> rejected, no fault (the device did not take part: the aggregate stage's missed-duty rule);
 * - some challenged indexes answered and others not -> FaultKind.InvalidProof: the device claims a capacity it can
 *   no longer prove (a lazy device that dropped data it is paid to keep);
 * - otherwise verified with workUnits = capacityGiB, quality 1.
 */
import { ethers } from "ethers";

import { FaultKind } from "../../sdk/enums";
import { keccakBytes, keccakHex, packedKeccak } from "./hash";
import { rejected, verified, type VerifyResult } from "./result";

/** Bytes per chunk (4 KiB). */
export const STORAGE_CHUNK_SIZE = 4096;
/** Challenged chunks per device per epoch. */
export const STORAGE_CHALLENGE_COUNT = 32;
/** Node used to pad odd levels: bytes32(0). */
export const STORAGE_PAD_NODE: string = ethers.ZeroHash;
/** Bytes per GiB, for the capacity check. */
export const GIB = 1n << 30n;

const HASH_BYTES = 32;

/** A Merkle tree over chunk leaves: its root and the path (siblings, leaf level first) for any leaf index. */
export interface StorageTree {
  root: string;
  leafCount: number;
  depth: number;
  proof(index: number): string[];
}

/** One answer to a challenge: the chunk at `index` and its Merkle path (siblings from the leaf level up). */
export interface StorageResponse {
  index: number;
  chunk: Uint8Array;
  path: readonly string[];
}

export interface StorageVerifyInput {
  /** Epoch seed (bytes32) from the chain. */
  seed: string;
  /** Device address. */
  device: string;
  /** Committed data root (bytes32). */
  dataRoot: string;
  /** Committed number of chunks. */
  chunkCount: number;
  /** Declared capacity in GiB (the work units on success). */
  capacityGiB: bigint;
  responses: readonly StorageResponse[];
  /** Number of challenged chunks; defaults to `STORAGE_CHALLENGE_COUNT`. */
  challengeCount?: number;
}

/** Leaves (keccak256 of each zero-padded 4 KiB chunk), packed as one buffer of 32-byte hashes. */
export function chunkLeaves(data: Uint8Array): Uint8Array {
  const count = Math.ceil(data.length / STORAGE_CHUNK_SIZE);
  const leaves = new Uint8Array(count * HASH_BYTES);
  for (let i = 0; i < count; i++) {
    leaves.set(keccakBytes(chunkAt(data, i)), i * HASH_BYTES);
  }
  return leaves;
}

/** Chunk `index` of `data`, zero-padded to `STORAGE_CHUNK_SIZE` (what a device sends as an answer). */
export function chunkAt(data: Uint8Array, index: number): Uint8Array {
  const start = index * STORAGE_CHUNK_SIZE;
  if (!Number.isSafeInteger(index) || index < 0 || start >= data.length) throw new RangeError(`no chunk ${index}`);
  const end = Math.min(start + STORAGE_CHUNK_SIZE, data.length);
  if (end - start === STORAGE_CHUNK_SIZE) return data.subarray(start, end);
  const chunk = new Uint8Array(STORAGE_CHUNK_SIZE);
  chunk.set(data.subarray(start, end));
  return chunk;
}

/** keccak256(left ‖ right) of two 32-byte nodes. */
export function hashPair(left: string, right: string): string {
  return keccakHex(Buffer.from(left.slice(2) + right.slice(2), "hex"));
}

/**
 * Builds the tree level by level (iterative; each level is one flat buffer, pairs are hashed in place), so 262 144
 * leaves (1 GiB) need ~2 · 262 144 hashes and ~16 MiB. `leaves` is the packed buffer from `chunkLeaves` or a list of
 * bytes32 hex strings.
 */
export function buildStorageTree(leaves: Uint8Array | readonly string[]): StorageTree {
  const base = leaves instanceof Uint8Array ? leaves : packHashes(leaves);
  if (base.length === 0 || base.length % HASH_BYTES !== 0) throw new RangeError("need at least one 32-byte leaf");
  const levels: Uint8Array[] = [base];
  let level = base;
  while (level.length > HASH_BYTES) {
    const count = level.length / HASH_BYTES;
    let padded = level;
    if (count % 2 === 1) {
      padded = new Uint8Array(level.length + HASH_BYTES); // zero-filled: STORAGE_PAD_NODE
      padded.set(level);
    }
    const parents = new Uint8Array((padded.length / 2) | 0);
    for (let i = 0; i < padded.length / (2 * HASH_BYTES); i++) {
      const pair = padded.subarray(i * 2 * HASH_BYTES, (i + 1) * 2 * HASH_BYTES);
      parents.set(keccakBytes(pair), i * HASH_BYTES);
    }
    levels.push(parents);
    level = parents;
  }
  const leafCount = base.length / HASH_BYTES;
  return {
    root: ethers.hexlify(level),
    leafCount,
    depth: levels.length - 1,
    proof(index: number): string[] {
      if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount) throw new RangeError(`no leaf ${index}`);
      const path: string[] = [];
      let at = index;
      for (let d = 0; d < levels.length - 1; d++) {
        const nodes = levels[d];
        const sibling = at ^ 1;
        path.push(
          sibling * HASH_BYTES < nodes.length
            ? ethers.hexlify(nodes.subarray(sibling * HASH_BYTES, (sibling + 1) * HASH_BYTES))
            : STORAGE_PAD_NODE,
        );
        at >>= 1;
      }
      return path;
    },
  };
}

/** Tree depth (path length) for `chunkCount` leaves: ceil(log2(chunkCount)), 0 for a single chunk. */
export function storageDepth(chunkCount: number): number {
  let depth = 0;
  while (2 ** depth < chunkCount) depth++;
  return depth;
}

/** Recomputes the root from a leaf, its index and its path (positional: bit d of the index picks the side). */
export function rootFromPath(leaf: string, index: number, path: readonly string[]): string {
  // On bytes: one 64-byte buffer holds the pair being hashed, the node goes left or right by the index bit.
  const pair = Buffer.alloc(2 * HASH_BYTES);
  let node: Uint8Array = Buffer.from(leaf.slice(2), "hex");
  let at = index;
  for (const sibling of path) {
    const left = at % 2 === 0;
    pair.set(node, left ? 0 : HASH_BYTES);
    pair.write(sibling.slice(2), left ? HASH_BYTES : 0, HASH_BYTES, "hex");
    node = keccakBytes(pair);
    at = Math.floor(at / 2);
  }
  return `0x${Buffer.from(node).toString("hex")}`;
}

/**
 * k distinct chunk indices in [0, chunkCount) for this device and epoch (k is capped at chunkCount), by a partial
 * Fisher–Yates shuffle: step i swaps position i with i + (H_i mod (chunkCount − i)), where
 * H_i = keccak256(abi.encodePacked(seed, device, dataRoot, uint256 chunkCount, uint256 i)). Order is the draw order.
 */
export function challengeIndices(seed: string, device: string, dataRoot: string, chunkCount: number, k: number): number[] {
  if (!Number.isSafeInteger(chunkCount) || chunkCount <= 0) throw new RangeError("chunkCount must be a positive integer");
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError("k must be a non-negative integer");
  const draws = Math.min(k, chunkCount);
  const swapped = new Map<number, number>(); // sparse permutation: position -> value, identity where absent
  const out: number[] = [];
  for (let i = 0; i < draws; i++) {
    const h = packedKeccak([
      { type: "bytes32", value: seed },
      { type: "address", value: device },
      { type: "bytes32", value: dataRoot },
      { type: "uint256", value: chunkCount },
      { type: "uint256", value: i },
    ]);
    const j = i + Number(h % BigInt(chunkCount - i));
    const atI = swapped.get(i) ?? i;
    const atJ = swapped.get(j) ?? j;
    swapped.set(j, atI);
    swapped.set(i, atJ);
    out.push(atJ);
  }
  return out;
}

/**
 * Why one answer (whatever its index) cannot be right for `dataRoot`, a tree of `depth` levels: a chunk of the wrong
 * size, a path of the wrong length or with a node that is not bytes32, a path that does not lead to the root. Null
 * when it proves its chunk. Whether the index was challenged is the caller's check.
 */
export function storageAnswerFlaw(answer: StorageResponse, dataRoot: string, depth: number): string | null {
  const { index, chunk, path } = answer;
  if (!(chunk instanceof Uint8Array) || chunk.length !== STORAGE_CHUNK_SIZE) {
    return `chunk ${index} is ${chunk?.length} bytes, not ${STORAGE_CHUNK_SIZE}`;
  }
  if (!Array.isArray(path) || path.length !== depth) {
    return `Merkle path of chunk ${index} has ${path?.length} nodes, expected ${depth}`;
  }
  if (!path.every((node) => ethers.isHexString(node, 32))) {
    return `Merkle path of chunk ${index} has a node that is not bytes32`;
  }
  if (rootFromPath(keccakHex(chunk), index, path) !== dataRoot.toLowerCase()) {
    return `Merkle path of chunk ${index} does not lead to the data root ${dataRoot.toLowerCase()}`;
  }
  return null;
}

/** Checks one epoch's storage answers against the committed root (rules in the module comment). */
export function verifyStorageResponse(input: StorageVerifyInput): VerifyResult {
  const { seed, device, dataRoot, chunkCount, capacityGiB, responses } = input;
  const k = input.challengeCount ?? STORAGE_CHALLENGE_COUNT;
  if (!ethers.isHexString(seed, 32)) return rejected("seed is not bytes32");
  if (!ethers.isAddress(device)) return rejected("device is not an address");
  if (!ethers.isHexString(dataRoot, 32)) return rejected("dataRoot is not bytes32");
  if (!Number.isSafeInteger(chunkCount) || chunkCount <= 0) return rejected("chunkCount must be a positive integer");
  if (!Number.isSafeInteger(k) || k <= 0) return rejected("challengeCount must be a positive integer");
  if (typeof capacityGiB !== "bigint" || capacityGiB <= 0n) return rejected("capacityGiB must be positive");
  if (capacityGiB * GIB > BigInt(chunkCount) * BigInt(STORAGE_CHUNK_SIZE)) {
    return rejected(`capacity ${capacityGiB} GiB exceeds the ${chunkCount} committed chunks`);
  }

  const challenged = new Set(challengeIndices(seed, device, dataRoot, chunkCount, k));
  const depth = storageDepth(chunkCount);
  const answered = new Set<number>();
  for (const r of responses) {
    if (!challenged.has(r.index)) return rejected(`answer for index ${r.index}, which was not challenged`, FaultKind.InvalidProof);
    if (answered.has(r.index)) return rejected(`duplicate answer for index ${r.index}`, FaultKind.InvalidProof);
    answered.add(r.index);
    const flaw = storageAnswerFlaw(r, dataRoot, depth);
    if (flaw !== null) return rejected(flaw, FaultKind.InvalidProof);
  }
  const missing = [...challenged].filter((i) => !answered.has(i));
  if (answered.size === 0) return rejected("no challenged chunk answered");
  if (missing.length > 0) {
    return rejected(`${missing.length} of ${challenged.size} challenged chunks unanswered`, FaultKind.InvalidProof);
  }
  return verified(capacityGiB);
}

function packHashes(hashes: readonly string[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_BYTES);
  hashes.forEach((h, i) => {
    if (!ethers.isHexString(h, 32)) throw new TypeError(`leaf ${i} is not bytes32`);
    out.set(ethers.getBytes(h), i * HASH_BYTES);
  });
  return out;
}
