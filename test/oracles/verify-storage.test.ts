import { expect } from "chai";
import { ethers } from "ethers";

import { FaultKind } from "../../sdk/enums";
import {
  STORAGE_CHALLENGE_COUNT,
  STORAGE_CHUNK_SIZE,
  STORAGE_PAD_NODE,
  buildStorageTree,
  challengeIndices,
  chunkAt,
  chunkLeaves,
  hashPair,
  rootFromPath,
  storageDepth,
  verifyStorageResponse,
  type StorageResponse,
  type StorageTree,
  type StorageVerifyInput,
} from "../../oracles/verify/storage";

const SEED = ethers.id("epoch-7-seed");
const DEVICE = ethers.getAddress("0x00000000000000000000000000000000000000d1");
const CHUNKS_PER_GIB = 262_144;

/** Deterministic pseudo-random bytes (keccak stream). */
function bytes(length: number, tag: string): Uint8Array {
  const out = new Uint8Array(length);
  for (let off = 0, i = 0; off < length; off += 32, i++) {
    out.set(ethers.getBytes(ethers.solidityPackedKeccak256(["string", "uint256"], [tag, i])).subarray(0, length - off), off);
  }
  return out;
}

const leafHex = (leaves: Uint8Array, i: number): string => ethers.hexlify(leaves.subarray(i * 32, (i + 1) * 32));

describe("verify/storage", function () {
  describe("chunkLeaves and buildStorageTree", function () {
    it("hashes each 4 KiB chunk, zero-padding the last one", function () {
      const data = bytes(2 * STORAGE_CHUNK_SIZE + 100, "pad");
      const leaves = chunkLeaves(data);
      expect(leaves.length).to.equal(3 * 32);
      const last = new Uint8Array(STORAGE_CHUNK_SIZE);
      last.set(data.subarray(2 * STORAGE_CHUNK_SIZE));
      expect(leafHex(leaves, 2)).to.equal(ethers.keccak256(last));
      expect(chunkAt(data, 2)).to.deep.equal(last);
      expect(leafHex(leaves, 0)).to.equal(ethers.keccak256(data.subarray(0, STORAGE_CHUNK_SIZE)));
      expect(chunkLeaves(new Uint8Array(0)).length).to.equal(0);
      expect(() => buildStorageTree(new Uint8Array(0))).to.throw(RangeError);
    });

    it("builds positional roots by hand for 1, 2 and 3 leaves (odd levels padded with bytes32(0))", function () {
      const [l0, l1, l2] = [ethers.id("a"), ethers.id("b"), ethers.id("c")];
      expect(buildStorageTree([l0]).root).to.equal(l0);
      expect(buildStorageTree([l0, l1]).root).to.equal(hashPair(l0, l1));
      expect(buildStorageTree([l1, l0]).root).to.equal(hashPair(l1, l0)); // positional: order matters
      const t3 = buildStorageTree([l0, l1, l2]);
      expect(t3.root).to.equal(hashPair(hashPair(l0, l1), hashPair(l2, STORAGE_PAD_NODE)));
      expect(t3.proof(2)).to.deep.equal([STORAGE_PAD_NODE, hashPair(l0, l1)]);
    });

    const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 33, 100];
    for (const count of sizes) {
      it(`every proof of a ${count}-leaf tree verifies at its index only, with depth ceil(log2 n)`, function () {
        const leaves = Array.from({ length: count }, (_, i) => ethers.id(`leaf-${count}-${i}`));
        const tree = buildStorageTree(leaves);
        expect(tree.depth).to.equal(storageDepth(count)).and.to.equal(Math.ceil(Math.log2(count)));
        for (let i = 0; i < count; i++) {
          const path = tree.proof(i);
          expect(path.length).to.equal(tree.depth);
          expect(rootFromPath(leaves[i], i, path)).to.equal(tree.root);
          if (count > 1) expect(rootFromPath(leaves[i], i ^ 1, path)).to.not.equal(tree.root);
        }
        expect(() => tree.proof(count)).to.throw(RangeError);
        expect(() => tree.proof(-1)).to.throw(RangeError);
      });
    }

    it("the packed-buffer and hex-list inputs give the same tree", function () {
      const leaves = chunkLeaves(bytes(5 * STORAGE_CHUNK_SIZE, "same"));
      const hex = Array.from({ length: 5 }, (_, i) => leafHex(leaves, i));
      expect(buildStorageTree(leaves).root).to.equal(buildStorageTree(hex).root);
    });
  });

  describe("challengeIndices", function () {
    const root = ethers.id("root");
    const table: { chunkCount: number; k: number; expected: number }[] = [
      { chunkCount: 1, k: 32, expected: 1 },
      { chunkCount: 5, k: 5, expected: 5 },
      { chunkCount: 5, k: 32, expected: 5 },
      { chunkCount: 33, k: 32, expected: 32 },
      { chunkCount: 1000, k: 32, expected: 32 },
      { chunkCount: CHUNKS_PER_GIB * 1024, k: 32, expected: 32 },
      { chunkCount: 10, k: 0, expected: 0 },
    ];
    for (const { chunkCount, k, expected } of table) {
      it(`${k} of ${chunkCount}: ${expected} distinct indices in range, deterministic`, function () {
        const got = challengeIndices(SEED, DEVICE, root, chunkCount, k);
        expect(got.length).to.equal(expected);
        expect(new Set(got).size).to.equal(expected);
        for (const i of got) expect(Number.isInteger(i) && i >= 0 && i < chunkCount).to.equal(true);
        expect(challengeIndices(SEED, DEVICE, root, chunkCount, k)).to.deep.equal(got);
      });
    }

    it("a full draw is a permutation; seed, device and root each change the draw", function () {
      expect([...challengeIndices(SEED, DEVICE, root, 64, 64)].sort((a, b) => a - b)).to.deep.equal(
        Array.from({ length: 64 }, (_, i) => i),
      );
      const base = challengeIndices(SEED, DEVICE, root, 1_000_000, 8);
      expect(challengeIndices(ethers.id("other-seed"), DEVICE, root, 1_000_000, 8)).to.not.deep.equal(base);
      expect(challengeIndices(SEED, ethers.ZeroAddress, root, 1_000_000, 8)).to.not.deep.equal(base);
      expect(challengeIndices(SEED, DEVICE, ethers.id("other-root"), 1_000_000, 8)).to.not.deep.equal(base);
    });

    it("rejects a non-positive chunk count", function () {
      expect(() => challengeIndices(SEED, DEVICE, root, 0, 1)).to.throw(RangeError);
      expect(() => challengeIndices(SEED, DEVICE, root, 1.5, 1)).to.throw(RangeError);
    });
  });

  describe("verifyStorageResponse", function () {
    // 1 GiB = 2^18 chunks: the first 16 chunks are random, the rest zero. Hashing 1 GiB would be slow in a test, so the
    // zero chunk's leaf is computed once (chunkLeaves gives the same leaves, checked on a prefix below).
    const DISTINCT = 16;
    let data: Uint8Array;
    let tree: StorageTree;
    let zeroChunk: Uint8Array;
    let indices: number[];

    const chunk = (i: number): Uint8Array => (i < DISTINCT ? chunkAt(data, i) : zeroChunk);
    const honest = (idx: readonly number[] = indices): StorageResponse[] =>
      idx.map((index) => ({ index, chunk: chunk(index), path: tree.proof(index) }));
    const input = (responses: StorageResponse[], over: Partial<StorageVerifyInput> = {}): StorageVerifyInput => ({
      seed: SEED,
      device: DEVICE,
      dataRoot: tree.root,
      chunkCount: CHUNKS_PER_GIB,
      capacityGiB: 1n,
      responses,
      ...over,
    });

    before(function () {
      data = bytes(DISTINCT * STORAGE_CHUNK_SIZE, "data");
      zeroChunk = new Uint8Array(STORAGE_CHUNK_SIZE);
      const leaves = new Uint8Array(CHUNKS_PER_GIB * 32);
      leaves.set(chunkLeaves(data));
      const zeroLeaf = ethers.getBytes(ethers.keccak256(zeroChunk));
      for (let i = DISTINCT; i < CHUNKS_PER_GIB; i++) leaves.set(zeroLeaf, i * 32);
      const prefix = new Uint8Array((DISTINCT + 2) * STORAGE_CHUNK_SIZE);
      prefix.set(data);
      expect(chunkLeaves(prefix)).to.deep.equal(leaves.subarray(0, (DISTINCT + 2) * 32));
      tree = buildStorageTree(leaves);
      indices = challengeIndices(SEED, DEVICE, tree.root, CHUNKS_PER_GIB, STORAGE_CHALLENGE_COUNT);
    });

    it("accepts honest answers (any order) with workUnits = capacityGiB", function () {
      expect(verifyStorageResponse(input(honest()))).to.deep.equal({ ok: true, workUnits: 1n, quality: 1 });
      expect(verifyStorageResponse(input(honest().reverse())).ok).to.equal(true);
    });

    type Cheat = { name: string; responses: () => StorageResponse[]; over?: Partial<StorageVerifyInput>; fault: FaultKind | null };
    const tamper = (mutate: (r: StorageResponse) => StorageResponse) => (): StorageResponse[] => {
      const rs = honest();
      rs[3] = mutate(rs[3]);
      return rs;
    };
    const cheats: Cheat[] = [
      {
        name: "wrong chunk (one byte flipped)",
        responses: tamper((r) => {
          const c = Uint8Array.from(r.chunk);
          c[100] ^= 1;
          return { ...r, chunk: c };
        }),
        fault: FaultKind.InvalidProof,
      },
      {
        name: "wrong path (one sibling changed)",
        responses: tamper((r) => ({ ...r, path: r.path.map((p, d) => (d === 5 ? ethers.id("x") : p)) })),
        fault: FaultKind.InvalidProof,
      },
      { name: "truncated path", responses: tamper((r) => ({ ...r, path: r.path.slice(0, -1) })), fault: FaultKind.InvalidProof },
      { name: "path one node too long", responses: tamper((r) => ({ ...r, path: [...r.path, ethers.ZeroHash] })), fault: FaultKind.InvalidProof },
      { name: "path node not bytes32", responses: tamper((r) => ({ ...r, path: r.path.map((p, d) => (d === 0 ? "0x12" : p)) })), fault: FaultKind.InvalidProof },
      { name: "short chunk", responses: tamper((r) => ({ ...r, chunk: r.chunk.subarray(0, 4095) })), fault: FaultKind.InvalidProof },
      { name: "long chunk", responses: tamper((r) => ({ ...r, chunk: new Uint8Array(STORAGE_CHUNK_SIZE + 1) })), fault: FaultKind.InvalidProof },
      {
        name: "valid proof for a non-challenged index",
        responses: () => {
          const other = [0, 1, 2, 3].find((i) => !indices.includes(i)) as number;
          return [...honest(), { index: other, chunk: chunk(other), path: tree.proof(other) }];
        },
        fault: FaultKind.InvalidProof,
      },
      {
        name: "all answers for non-challenged indices",
        responses: () => honest(Array.from({ length: 40 }, (_, i) => i).filter((i) => !indices.includes(i)).slice(0, 32)),
        fault: FaultKind.InvalidProof,
      },
      { name: "duplicate answer", responses: () => [...honest(), honest()[0]], fault: FaultKind.InvalidProof },
      { name: "out-of-range index", responses: () => [...honest(), { ...honest()[0], index: CHUNKS_PER_GIB }], fault: FaultKind.InvalidProof },
      { name: "answers against another root", responses: honest, over: { dataRoot: ethers.id("other") }, fault: FaultKind.InvalidProof },
      { name: "missing one answer", responses: () => honest().slice(1), fault: FaultKind.InvalidProof },
      { name: "no answers", responses: () => [], fault: null },
      {
        name: "missing answers and a forged one: the forgery wins",
        responses: () => tamper((r) => ({ ...r, chunk: new Uint8Array(STORAGE_CHUNK_SIZE).fill(7) }))().slice(2),
        fault: FaultKind.InvalidProof,
      },
      { name: "capacity above the committed chunks", responses: honest, over: { capacityGiB: 2n }, fault: null },
      { name: "zero capacity", responses: honest, over: { capacityGiB: 0n }, fault: null },
      { name: "seed not bytes32", responses: honest, over: { seed: "0x1234" }, fault: null },
      { name: "device not an address", responses: honest, over: { device: "0xdead" }, fault: null },
      { name: "dataRoot not bytes32", responses: honest, over: { dataRoot: "0x" }, fault: null },
      { name: "chunkCount zero", responses: honest, over: { chunkCount: 0 }, fault: null },
      { name: "chunkCount not an integer", responses: honest, over: { chunkCount: 2.5 }, fault: null },
      { name: "challengeCount zero", responses: honest, over: { challengeCount: 0 }, fault: null },
    ];
    for (const { name, responses, over, fault } of cheats) {
      it(`rejects: ${name} -> ${fault === null ? "no fault" : "InvalidProof"}`, function () {
        const res = verifyStorageResponse(input(responses(), over));
        expect(res.ok).to.equal(false);
        if (!res.ok) {
          expect(res.fault).to.equal(fault);
          expect(res.reason).to.be.a("string").and.not.equal("");
        }
      });
    }

    it("a different seed challenges different chunks, so old answers fail", function () {
      const res = verifyStorageResponse(input(honest(), { seed: ethers.id("next-epoch") }));
      expect(res).to.deep.include({ ok: false, fault: FaultKind.InvalidProof });
    });

    it("a one-chunk commitment has an empty path", function () {
      const one = buildStorageTree(chunkLeaves(data.subarray(0, STORAGE_CHUNK_SIZE)));
      expect(one.proof(0)).to.deep.equal([]);
      const r = verifyStorageResponse({
        ...input([{ index: 0, chunk: chunkAt(data, 0), path: [] }]),
        dataRoot: one.root,
        chunkCount: 1,
      });
      expect(r).to.deep.include({ ok: false, fault: null }); // proofs fine, but 4 KiB < 1 GiB capacity
      expect(r.ok === false && r.reason).to.match(/capacity/);
    });
  });
});
