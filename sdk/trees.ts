/**
 * The rewards, faults and leases Merkle trees, built exactly as `@openzeppelin/merkle-tree`'s `StandardMerkleTree.of(values,
 * encoding)` builds them (same leaf hash, same leaf order, same layout, hence the same root and proofs; the property
 * test in test/sdk/trees.test.ts compares every root and proof), but fast enough for 1,000,000 leaves:
 *
 * - leaf = `keccak256(keccak256(abi.encode(...)))`, abi-encoded by hand for the two leaf types into one scratch
 *   buffer (`RewardsDistributor.leafHash`, `OracleHub.faultLeaf`, `Marketplace.leaseLeaf`);
 * - leaves sorted by hash (bytes ascending; equal hashes keep their input order, as OZ's stable sort does);
 * - nodes in one buffer of 32-byte nodes, OZ's layout: node 0 is the root, node i has children 2i + 1 and 2i + 2,
 *   the sorted leaves fill the last n slots in reverse order; a parent hashes its two children sorted;
 * - hex strings only for what is asked: the root, a proof, a leaf hash.
 *
 * Proofs verify with `StandardMerkleTree.verify(root, encoding, value, proof)` and on-chain with OpenZeppelin's
 * `MerkleProof`. `tree.dump()` is OZ's `standard-v1` format, so `StandardMerkleTree.load(tree.dump())` gives the OZ
 * object for what this class does not offer (multiproofs, `render`).
 */
import type { FaultKind } from "./enums";
import { keccak256Into, keccak256PairInto } from "./keccak";

/** One device's cumulative rewards (a leaf of the rewards tree). */
export interface RewardLeaf {
  device: string;
  cumulativeAmount: bigint;
}

/** One proven fault (a leaf of the faults tree). */
export interface FaultLeaf {
  device: string;
  kind: FaultKind;
  evidence: string;
}

/** One lease's cumulative delivery (a leaf of the leases tree). */
export interface LeaseLeaf {
  leaseId: bigint;
  /** Cumulative delivered basis points over the lease's epochs with a verdict (uint64). */
  delivered: bigint;
  /** Cumulative epochs delivered below the lease's service level (uint32). */
  breaches: bigint;
}

export const REWARD_LEAF_ENCODING = ["address", "uint256"];
export const FAULT_LEAF_ENCODING = ["address", "uint8", "bytes32"];
export const LEASE_LEAF_ENCODING = ["uint256", "uint64", "uint32"];

/** A rewards-tree value as OZ's `StandardMerkleTree` holds it: [device, cumulativeAmount]. */
export type RewardValue = [string, bigint];
/** A faults-tree value: [device, kind, evidence]. */
export type FaultValue = [string, number, string];
/** A leases-tree value: [leaseId, delivered, breaches]. */
export type LeaseValue = [bigint, bigint, bigint];

export type RewardsTree = CompactMerkleTree<RewardValue>;
export type FaultsTree = CompactMerkleTree<FaultValue>;
export type LeasesTree = CompactMerkleTree<LeaseValue>;

/** OZ's `StandardMerkleTreeData` (`standard-v1`), what `StandardMerkleTree.load` takes. */
export interface StandardTreeData<T> {
  format: "standard-v1";
  leafEncoding: string[];
  tree: string[];
  values: { value: T; treeIndex: number }[];
}

/** How one leaf type is abi-encoded: `size` bytes written by `encode` at offset 0 of `out`. */
interface LeafCodec<T> {
  encoding: string[];
  size: number;
  encode(value: T, out: Buffer): void;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const UINT256_MAX = (1n << 256n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT32_MAX = (1n << 32n) - 1n;

/** abi.encode of an address: 12 zero bytes then the 20 address bytes. */
function encodeAddress(value: string, out: Buffer, offset: number): void {
  if (typeof value !== "string" || !ADDRESS.test(value)) throw new RangeError(`leaf address is not 20 bytes of hex: ${String(value)}`);
  out.fill(0, offset, offset + 12);
  out.write(value.slice(2), offset + 12, 20, "hex");
}

/** abi.encode of a uint256: 32 bytes big-endian. */
function encodeUint256(value: bigint, out: Buffer, offset: number): void {
  if (typeof value !== "bigint" || value < 0n || value > UINT256_MAX) throw new RangeError(`leaf amount is not a uint256: ${String(value)}`);
  if (value <= UINT64_MAX) {
    out.fill(0, offset, offset + 24);
    out.writeBigUInt64BE(value, offset + 24);
    return;
  }
  for (let k = 3; k >= 0; k--, value >>= 64n) out.writeBigUInt64BE(BigInt.asUintN(64, value), offset + 8 * k);
}

const REWARD_CODEC: LeafCodec<RewardValue> = {
  encoding: REWARD_LEAF_ENCODING,
  size: 64,
  encode([device, amount], out) {
    encodeAddress(device, out, 0);
    encodeUint256(amount, out, 32);
  },
};

const FAULT_CODEC: LeafCodec<FaultValue> = {
  encoding: FAULT_LEAF_ENCODING,
  size: 96,
  encode([device, kind, evidence], out) {
    encodeAddress(device, out, 0);
    if (!Number.isInteger(kind) || kind < 0 || kind > 255) throw new RangeError(`fault kind is not a uint8: ${kind}`);
    out.fill(0, 32, 63);
    out[63] = kind;
    if (typeof evidence !== "string" || !BYTES32.test(evidence)) throw new RangeError(`evidence is not bytes32 hex: ${String(evidence)}`);
    out.write(evidence.slice(2), 64, 32, "hex");
  },
};

/** abi.encode of a uint64 or uint32 (`max` its largest value): 32 bytes big-endian. */
function encodeSmallUint(value: bigint, max: bigint, what: string, out: Buffer, offset: number): void {
  if (typeof value !== "bigint" || value < 0n || value > max) throw new RangeError(`${what} is out of range: ${String(value)}`);
  out.fill(0, offset, offset + 24);
  out.writeBigUInt64BE(value, offset + 24);
}

const LEASE_CODEC: LeafCodec<LeaseValue> = {
  encoding: LEASE_LEAF_ENCODING,
  size: 96,
  encode([leaseId, delivered, breaches], out) {
    encodeUint256(leaseId, out, 0);
    encodeSmallUint(delivered, UINT64_MAX, "lease delivered (uint64)", out, 32);
    encodeSmallUint(breaches, UINT32_MAX, "lease breaches (uint32)", out, 64);
  },
};

/** Largest leaf count for the one-pass numeric sort key (32-bit hash prefix x 2^21 + index < 2^53). */
const PACKED_SORT_MAX = 1 << 21;

/**
 * A standard Merkle tree (OZ `StandardMerkleTree` layout and hashing) over values of type `T`, its nodes in one
 * buffer. Values keep their input order: `getProof(i)`, `at(i)` and `entries()` use input indices, as OZ does.
 */
export class CompactMerkleTree<T extends unknown[]> {
  /** Hex of the root. */
  readonly root: string;
  /** Number of leaves. */
  readonly length: number;
  /** OZ's `leafEncoding` (abi types of a value). */
  readonly leafEncoding: string[];
  /** (2 x length - 1) nodes of 32 bytes, OZ's layout. */
  private readonly nodes: Buffer;
  /** Node index of value i's leaf. */
  private readonly treeIndex: Uint32Array;
  private readonly valueAt: (i: number) => T;
  private readonly codec: LeafCodec<T>;
  private lookup: Map<string, number> | null = null;
  /**
   * Hex of the internal nodes met so far in proofs: a proof of every leaf then makes about 2n strings rather than
   * n x depth (the upper nodes are in many proofs): most of the memory of a verdict file's proofs.
   */
  private readonly internalHex: (string | undefined)[];

  private constructor(codec: LeafCodec<T>, count: number, valueAt: (i: number) => T) {
    if (count === 0) throw new RangeError("a Merkle tree needs at least one leaf");
    this.codec = codec;
    this.leafEncoding = [...codec.encoding];
    this.length = count;
    this.valueAt = valueAt;

    // Leaf hashes in input order.
    const hashes = Buffer.allocUnsafeSlow(32 * count);
    const scratch = Buffer.alloc(codec.size);
    const inner = Buffer.alloc(32);
    for (let i = 0; i < count; i++) {
      codec.encode(valueAt(i), scratch);
      keccak256Into(scratch, 0, codec.size, inner, 0);
      keccak256Into(inner, 0, 32, hashes, 32 * i);
    }

    // Leaves sorted by hash into the last `count` slots, in reverse; then the parents, bottom up.
    const order = sortByHash(hashes, count);
    const size = 2 * count - 1;
    const nodes = Buffer.allocUnsafeSlow(32 * size);
    this.treeIndex = new Uint32Array(count);
    for (let k = 0; k < count; k++) {
      const node = size - 1 - k;
      hashes.copy(nodes, 32 * node, 32 * order[k], 32 * order[k] + 32);
      this.treeIndex[order[k]] = node;
    }
    for (let i = size - 1 - count; i >= 0; i--) {
      const left = 32 * (2 * i + 1);
      const right = left + 32;
      if (compareNodes(nodes, left, right) <= 0) keccak256PairInto(nodes, left, right, nodes, 32 * i);
      else keccak256PairInto(nodes, right, left, nodes, 32 * i);
    }
    this.nodes = nodes;
    this.root = hexAt(nodes, 0);
    this.internalHex = new Array<string | undefined>(count - 1);
  }

  /** @internal Builds over `count` values produced by `valueAt(i)` (called during the build and on demand later). */
  static build<T extends unknown[]>(codec: LeafCodec<T>, count: number, valueAt: (i: number) => T): CompactMerkleTree<T> {
    return new CompactMerkleTree(codec, count, valueAt);
  }

  /** Value i (input order), or undefined out of range; negative indices count from the end, as `Array.at`. */
  at(index: number): T | undefined {
    const i = index < 0 ? index + this.length : index;
    return Number.isInteger(i) && i >= 0 && i < this.length ? this.valueAt(i) : undefined;
  }

  /** [input index, value] pairs in input order. */
  *entries(): IterableIterator<[number, T]> {
    for (let i = 0; i < this.length; i++) yield [i, this.valueAt(i)];
  }

  /** `keccak256(keccak256(abi.encode(value)))` as hex (what the contracts' leaf helpers return). */
  leafHash(value: T): string {
    const scratch = Buffer.alloc(this.codec.size);
    this.codec.encode(value, scratch);
    const out = Buffer.alloc(32);
    keccak256Into(scratch, 0, this.codec.size, out, 0);
    keccak256Into(out, 0, 32, out, 0);
    return hexAt(out, 0);
  }

  /** The leaf hash of value i, read from the tree. */
  leafHashAt(index: number): string {
    return hexAt(this.nodes, this.treeIndex[this.checkIndex(index)]);
  }

  /** Input index of `value` (the last one when several values are equal, as OZ). @throws RangeError when absent. */
  leafLookup(value: T): number {
    if (this.lookup === null) {
      this.lookup = new Map();
      for (let i = 0; i < this.length; i++) this.lookup.set(this.leafHashAt(i), i);
    }
    const i = this.lookup.get(this.leafHash(value));
    if (i === undefined) throw new RangeError("leaf is not in the tree");
    return i;
  }

  /** Sibling hashes from leaf to root for value `leaf` (an input index or a value), as OZ's `getProof`. */
  getProof(leaf: number | T): string[] {
    let node = this.treeIndex[typeof leaf === "number" ? this.checkIndex(leaf) : this.leafLookup(leaf)];
    const proof: string[] = [];
    const internal = this.length - 1; // nodes [0, internal) are internal, the rest leaves
    while (node > 0) {
      const sibling = node % 2 === 1 ? node + 1 : node - 1;
      if (sibling >= internal) proof.push(hexAt(this.nodes, sibling));
      else proof.push((this.internalHex[sibling] ??= hexAt(this.nodes, sibling)));
      node = (node - 1) >> 1;
    }
    return proof;
  }

  /** Whether `proof` proves `leaf` (an input index or a value) against this root. */
  verify(leaf: number | T, proof: readonly string[]): boolean {
    const value = typeof leaf === "number" ? this.valueAt(this.checkIndex(leaf)) : leaf;
    return processProof(this.leafHash(value), proof) === this.root;
  }

  /** OZ's `standard-v1` dump: `StandardMerkleTree.load(tree.dump())` rebuilds the same OZ tree. */
  dump(): StandardTreeData<T> {
    const size = 2 * this.length - 1;
    const tree = Array.from({ length: size }, (_, i) => hexAt(this.nodes, i));
    const values = Array.from({ length: this.length }, (_, i) => ({ value: this.valueAt(i), treeIndex: this.treeIndex[i] }));
    return { format: "standard-v1", leafEncoding: [...this.leafEncoding], tree, values };
  }

  /** `index` when it is a value index of this tree. @throws RangeError otherwise. */
  private checkIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`leaf index ${index} out of bounds`);
    return index;
  }
}

/**
 * The rewards tree the distributor verifies (`RewardsDistributor.leafHash`). `at`, `entries` and `dump` read the
 * values from the leaf objects given (not copied): do not mutate them afterwards.
 *
 * @throws RangeError on no leaves, a device that is not 20 bytes of hex or an amount outside uint256.
 */
export function buildRewardsTree(leaves: readonly RewardLeaf[]): RewardsTree {
  const source = [...leaves];
  return CompactMerkleTree.build(REWARD_CODEC, source.length, (i) => [source[i].device, source[i].cumulativeAmount]);
}

/**
 * The faults tree the hub verifies (`OracleHub.faultLeaf`); same notes as `buildRewardsTree`.
 *
 * @throws RangeError on no leaves, a bad device, a kind outside uint8 or evidence that is not bytes32 hex.
 */
export function buildFaultsTree(leaves: readonly FaultLeaf[]): FaultsTree {
  const source = [...leaves];
  return CompactMerkleTree.build(FAULT_CODEC, source.length, (i) => [source[i].device, source[i].kind, source[i].evidence]);
}

/**
 * The leases tree the marketplace verifies (`Marketplace.leaseLeaf(leaseId, delivered, breaches)`); same notes as
 * `buildRewardsTree`.
 *
 * @throws RangeError on no leaves, a lease id outside uint256, `delivered` outside uint64 or `breaches` outside uint32.
 */
export function buildLeasesTree(leaves: readonly LeaseLeaf[]): LeasesTree {
  const source = [...leaves];
  return CompactMerkleTree.build(LEASE_CODEC, source.length, (i) => [source[i].leaseId, source[i].delivered, source[i].breaches]);
}

/** Root obtained by folding `proof` into `leaf` with sorted-pair hashing (OZ `processProof`), hex. */
export function processProof(leaf: string, proof: readonly string[]): string {
  const pair = Buffer.alloc(64);
  if (!BYTES32.test(leaf)) throw new RangeError(`leaf is not bytes32 hex: ${leaf}`);
  pair.write(leaf.slice(2), 0, 32, "hex");
  for (const sibling of proof) {
    if (!BYTES32.test(sibling)) throw new RangeError(`proof node is not bytes32 hex: ${sibling}`);
    pair.write(sibling.slice(2), 32, 32, "hex");
    if (compareNodes(pair, 0, 32) <= 0) keccak256PairInto(pair, 0, 32, pair, 0);
    else keccak256PairInto(pair, 32, 0, pair, 0);
  }
  return hexAt(pair, 0);
}

// ---------------------------------------------------------------------------------------------------------------

function hexAt(buf: Buffer, node: number): string {
  return "0x" + buf.toString("hex", 32 * node, 32 * node + 32);
}

/** Byte order of the 32-byte nodes at byte offsets `a` and `b` of `buf`. */
function compareNodes(buf: Uint8Array, a: number, b: number): number {
  for (let k = 0; k < 32; k++) {
    const d = buf[a + k] - buf[b + k];
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Input indices sorted by leaf hash ascending, equal hashes by index (OZ sorts with a stable sort). Up to 2^21 leaves:
 * one native numeric sort of (32-bit hash prefix x 2^21 + index), then the rare runs sharing a prefix re-sorted on the
 * whole hash; above, a comparison sort.
 */
function sortByHash(hashes: Buffer, count: number): Uint32Array {
  const byHash = (x: number, y: number): number => compareNodes(hashes, 32 * x, 32 * y) || x - y;
  if (count > PACKED_SORT_MAX) return new Uint32Array(count).map((_, i) => i).sort(byHash);
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) keys[i] = hashes.readUInt32BE(32 * i) * PACKED_SORT_MAX + i;
  keys.sort();
  const order = new Uint32Array(count);
  for (let k = 0; k < count; k++) order[k] = keys[k] % PACKED_SORT_MAX;
  for (let k = 0; k < count; ) {
    const prefix = Math.floor(keys[k] / PACKED_SORT_MAX);
    let end = k + 1;
    while (end < count && Math.floor(keys[end] / PACKED_SORT_MAX) === prefix) end++;
    if (end - k > 1) order.subarray(k, end).sort(byHash);
    k = end;
  }
  return order;
}
